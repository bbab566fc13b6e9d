"""bench: measure .tflite files. Static facts, latency, accuracy, memory, contract, runtime
compatibility and delegate coverage, one :class:`BenchRecord` per (variant, backend, threads).

Needs only ai-edge-litert and numpy (no TensorFlow). Judging the records is
:mod:`liteship.judge`'s job, rendering them :mod:`liteship.report`'s.
"""

from liteship.bench.measure import BenchOptions, Target, bench_target, parse_backends
from liteship.bench.record import BenchRecord, LatencyStats
from liteship.bench.results import read_results, write_results
from liteship.bench.run import bench_run, plan_bench
from liteship.bench.single import bench_file

__all__ = ["BenchOptions", "BenchRecord", "LatencyStats", "Target", "bench_file", "bench_run", "bench_target",
           "parse_backends", "plan_bench", "read_results", "write_results"]
