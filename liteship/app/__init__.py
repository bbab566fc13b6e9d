"""app: what a user runs. The ``liteship`` CLI (:mod:`~liteship.app.cli`), the sweep
(:mod:`~liteship.workflow.sweep`, :mod:`~liteship.workflow.plan`), where its work runs
(:mod:`~liteship.workflow.executors`) and the pytest plugin (:mod:`~liteship.app.pytest_plugin`).

Imports nothing on its own: the pytest plugin is loaded by every pytest run in
an environment that has liteship, and must cost nothing there.
"""
