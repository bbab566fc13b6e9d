"""`liteship bench` writing counts on a profile a device's predictions use predicts them again, in the hold it
already has: on the hand-made run of tests/bench/test_device_predictions.py, bench's measuring replaced by the count
records it would write, and every number worked by hand there (by_hand_scale: numpy)."""

import importlib

import pytest

from liteship.bench import BenchOptions, bench_run, BenchRecord, read_results
from liteship.bench.device_predictions import refresh
from tests.bench.test_device_predictions import by_hand_scale, count_line, iphone, IPHONE, make_run, NO_SME2


def _predicted(run) -> dict:
    return {(r.variant, r.threads): r for r in read_results(run) if r.backend == "predicted:iphone-13"}


def test_bench_writing_new_counts_on_the_profile_predicts_again(tmp_path, monkeypatch):
    run, shas = make_run(tmp_path, lambda shas: iphone(shas))
    refresh(run, registered=NO_SME2)
    a = by_hand_scale(IPHONE)[0]
    assert _predicted(run)[("v5eeeeeeeeee", 1)].device["instructions"] == 200_000_000
    module = importlib.import_module("liteship.bench.run")
    recount = BenchRecord.from_dict({**count_line("v5eeeeeeeeee", shas["v5eeeeeeeeee"], 0.25), "model": "mnv2"})

    def bench_group(run_dir, mine, *args):  # bench counted v5 again: 0.25 G now
        return [recount] if any(t.variant == "v5eeeeeeeeee" for t in mine) else []

    monkeypatch.setattr(module, "_bench_group", bench_group)
    bench_run(run, BenchOptions(backends=("arm64-a15",)))
    v5 = _predicted(run)[("v5eeeeeeeeee", 1)]
    assert v5.device["instructions"] == 250_000_000 and v5.latency_ms.p50 == pytest.approx(a * 0.25)
    # counts on a profile no prediction uses leave the predictions as they are
    before = {k: r.to_dict() for k, r in _predicted(run).items()}
    recount = BenchRecord.from_dict({**count_line("v5eeeeeeeeee", shas["v5eeeeeeeeee"], 0.3, "arm64-a14"),
                                     "model": "mnv2"})
    bench_run(run, BenchOptions(backends=("arm64-a14",)))
    assert {k: r.to_dict() for k, r in _predicted(run).items()} == before
    assert [r.variant for r in read_results(run) if r.backend == "arm64-a14"] == ["v5eeeeeeeeee"]
