"""backends has one default, BenchOptions', which the sweep's [bench] and `liteship bench` without --backends read."""

from liteship.bench import BenchOptions, backends, parse_backends
from liteship.workflow.sweep_config import BenchTable


def test_the_default_is_the_registrys_default_backends_without_the_counts():
    by_hand = tuple(n for n, b in backends.registry().items() if b.in_default and not b.kind.counts)
    assert BenchOptions().backends == by_hand and "xnnpack" in by_hand
    assert not any(backends.get(n).kind.counts for n in by_hand)


def test_the_sweep_table_and_the_flag_read_it():
    assert BenchTable().backends == BenchOptions().backends
    assert parse_backends(None) == BenchOptions().backends


def test_all_is_still_every_available_backend_by_name():
    everything = parse_backends("all")
    assert set(BenchOptions().backends) <= set(everything)
    assert everything == backends.default_backends() and len(everything) > len(BenchOptions().backends)
