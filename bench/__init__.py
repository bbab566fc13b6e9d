"""bench: run .tflite variants, measure them, judge them; the ``liteship`` CLI and pytest plugin.

Works without TensorFlow: only ai-edge-litert and numpy are needed here. The
names below load on first use, so the pytest plugin (imported by every pytest
run in an environment that has liteship) costs nothing until it is used.
"""

from importlib import import_module

_EXPORTS = {
    "BenchOptions": "bench.run", "bench_file": "bench.run", "bench_run": "bench.run", "Target": "bench.run",
    "BenchRecord": "bench.record", "LatencyStats": "bench.record",
    "BACKENDS": "bench.backends", "open_session": "bench.backends",
    "Budgets": "bench.budget", "load_budgets": "bench.budget",
    "load_sweep_config": "bench.sweep",
}
# The three jobs are modules of the same name: bench.sweep.sweep, bench.gate.gate, bench.pick.pick.

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'bench' has no attribute {name!r}")
