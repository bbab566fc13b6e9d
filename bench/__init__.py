"""bench: measure .tflite files. Static facts, latency, accuracy, memory, contract, runtime
compatibility, delegate coverage and instruction counts, one :class:`BenchRecord` per (variant, backend, threads).

Each backend is an object of the registry (:mod:`liteship.bench.backends`) whose kind says what it yields; an
instruction count is an :class:`Instructions`. Needs only the core install (ai-edge-litert, numpy, Pillow,
pyelftools; no TensorFlow). Judging the records is :mod:`liteship.judge`'s job, rendering them
:mod:`liteship.report`'s.
"""

from liteship.bench.measure import (arm_pixels, bench_target, BenchOptions, count_kinds, count_target, EvalSet,
                                    parse_backends, Target)
from liteship.bench.accuracy import subset_words
from liteship.bench.counts import count_key, read_count, write_count
from liteship.bench.record import AARCH64, BenchRecord, Instructions, LatencyStats, to_json, X86_64
from liteship.bench.results import (one_variant_each, parse_results, read_results, record_line, results_path,
                                    same_records, write_results)
from liteship.bench.run import bench_run, current_results, plan_bench, run_targets, variant_status
from liteship.bench.single import bench_file
from liteship.bench.arm64_env import missing_tools, SYSTEM_PACKAGES
from liteship.bench.compat import check_runtime, runtime_problem, runtime_verdict, version_key
from liteship.bench.contract import check_contract
from liteship.bench.explain import differences, explain, Explained, with_op_errors
from liteship.bench.explorer_data import (INSTALL as EXPLORER_INSTALL, missing as explorer_missing,
                                       node_data as explorer_node_data)
from liteship.bench.instructions import require_valgrind, valgrind
from liteship.bench.legacy import missing_op
from liteship.bench.device_records import import_records, measured_on, with_article
from liteship.bench.device_kit import kit_problems, write_kit
from liteship.bench.device_chips import (chip_of, chips_taken, from_flag as chip_named, from_kept as chip_kept,
                                         profile_for)
from liteship.bench.device_predictions import (chip_contradictions, measured_records, Outcome as PredictionOutcome,
                                               refresh as refresh_predictions)

__all__ = ["AARCH64", "Instructions", "X86_64", "arm_pixels", "bench_file", "bench_run", "bench_target", "BenchOptions", "BenchRecord", "check_contract",
           "check_runtime", "count_key", "count_kinds", "count_target", "current_results", "differences", "EvalSet", "explain", "Explained", "LatencyStats", "missing_op",
           "missing_tools", "one_variant_each", "parse_backends", "parse_results", "plan_bench", "read_count", "read_results",
           "record_line", "require_valgrind", "results_path", "run_targets", "runtime_problem", "runtime_verdict", "same_records", "version_key", "SYSTEM_PACKAGES",
           "subset_words", "Target", "to_json", "valgrind", "variant_status", "write_count", "write_results",
           "import_records", "measured_on", "with_article", "kit_problems", "write_kit", "chip_kept", "chip_named", "chip_of", "chips_taken",
           "chip_contradictions", "measured_records", "PredictionOutcome", "profile_for", "refresh_predictions",
           "EXPLORER_INSTALL", "explorer_missing", "explorer_node_data", "with_op_errors"]

# liteship.bench(...) is the Python API's bench step (liteship.workflow.api.bench), imported only when called:
# see liteship.callable_module for why the package is also a function.
from liteship.callable_module import callable_module as _callable_module  # noqa: E402

_callable_module(__name__, "liteship.workflow.api", "bench")
