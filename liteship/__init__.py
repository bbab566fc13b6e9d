"""liteship: train an image classifier, make its .tflite variants, measure them, pick the one to ship.

One import name, layered (ARCHITECTURE.md); each layer imports only those below it:

- ``liteship`` (this package, the core): :mod:`~liteship.errors`, :mod:`~liteship.config`,
  :mod:`~liteship.files`, :mod:`~liteship.rundir`, :mod:`~liteship.progress`, :mod:`~liteship.logs`,
  :mod:`~liteship.contract`, :mod:`~liteship.tflite_file`, :mod:`~liteship.runtime`, :mod:`~liteship.versions`
- :mod:`liteship.trainer`: labelled images -> a float Keras model
- :mod:`liteship.optimize`: a float model -> .tflite variants
- :mod:`liteship.bench`: measuring .tflite files
- :mod:`liteship.judge` (budgets, gate, pick, release) and :mod:`liteship.report` (markdown, HTML, plots)
- :mod:`liteship.app`: the CLI, the sweep plan, executors, the pytest plugin

Importing this package is cheap: nothing below is imported until used.
"""

from liteship.errors import LiteshipError

__all__ = ["LiteshipError"]
