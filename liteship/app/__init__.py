"""app (layer 7): what a user runs from a shell. The ``liteship`` CLI parses flags (:mod:`~liteship.app.cli`,
:mod:`~liteship.app.flags`), builds the command's typed request (:mod:`~liteship.app.requests`), runs it with
:func:`liteship.workflow.execute.execute` and prints the result (:mod:`~liteship.app.commands`); the pytest plugin
gates a run in CI (:mod:`~liteship.app.pytest_plugin`, :mod:`~liteship.app.gate_items`,
:mod:`~liteship.app.baseline_items`). Checking, planning, the sweep and its executors are :mod:`liteship.workflow`'s.

Imports nothing on its own: the pytest plugin is loaded by every pytest run in
an environment that has liteship, and must cost nothing there.
"""
