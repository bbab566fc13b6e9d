"""workflow (layer 6): what a run of liteship does, whoever asked for it (the Python API or the CLI).

Typed requests, their checks before any work (every problem at once, nothing
written), the run directory's lock and the framework-log redirect around the
work, the sweep (plan, estimate, jobs, executors), pick's release and reports,
and the experiment tracker. :mod:`liteship.app` (the CLI, the pytest plugin)
sits above it and only parses and prints.

Imports nothing on its own: ``import liteship`` stays cheap.
"""
