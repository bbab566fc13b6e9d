"""bench: measure .tflite files. Static facts, latency, accuracy, memory, contract, runtime
compatibility and delegate coverage, one :class:`BenchRecord` per (variant, backend, threads).

Needs only ai-edge-litert and numpy (no TensorFlow). Judging the records is
:mod:`liteship.judge`'s job, rendering them :mod:`liteship.report`'s.
"""

from liteship.bench.record import BenchRecord, LatencyStats
from liteship.bench.run import BenchOptions, Target, bench_file, bench_run, bench_target

__all__ = ["BenchOptions", "BenchRecord", "LatencyStats", "Target", "bench_file", "bench_run", "bench_target"]
