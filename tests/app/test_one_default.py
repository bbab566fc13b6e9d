"""One home per bench default: the flags of `liteship bench` and a sweep's [bench] table give the same options.

Before, --rounds was 5 on the command line and 10 in a sweep, so a sweep re-benched everything `liteship bench`
had measured (the skip check compares the options the records were measured with).
"""

from liteship.app.cli import build_parser
from liteship.app.commands import _bench_options
from liteship.app.sweep import BenchTable
from liteship.bench.measure import BenchOptions, options_record


def test_flags_and_the_sweep_table_give_equal_options_by_default():
    flags = _bench_options(build_parser().parse_args(["bench", "RUN", "--backends", "xnnpack"]))
    table = BenchTable(backends=("xnnpack",))
    from_table = BenchOptions(backends=table.backends, threads=table.threads, runs=table.runs, warmup=table.warmup,
                              rounds=table.rounds, target_runtime=table.target_runtime)
    assert options_record(flags) == options_record(from_table)
    assert (flags.runs, flags.rounds, flags.warmup, flags.threads) == (50, 10, 5, (1,))  # as the README says
