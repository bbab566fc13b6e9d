"""Budgets, the pick and MODEL.md on a device's imported measurements, with answers worked out by hand.

The run is the hand-made one of tests/bench/test_device_round_trip.py; here x86 times int8 slower than float32
(0.6 vs 0.4 ms, as x86 often does) while the phone times it faster (1.850 vs 3.100 ms), so a ranking on the
wrong record shows.
"""

import json

import pytest

import liteship
from liteship.judge import Budgets
from tests.bench.test_device_round_trip import F32, I8, _phone, run  # noqa: F401 (run: the fixture)


@pytest.fixture
def imported(run, tmp_path):  # noqa: F811
    lines = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    for r in lines:  # x86: float32 0.4 ms, int8 0.6 ms
        p50 = 0.4 if r["variant"] == F32 else 0.6
        r["latency_ms"].update(p50=p50, p90=p50, p99=p50, mean=p50, min=p50, ci_low=p50 * 0.98, ci_high=p50 * 1.02)
    (run / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    files = [_phone(tmp_path, "f32.txt", f"/p/mnv2-float32-{F32}.tflite", 3100),
             _phone(tmp_path, "i8.txt", f"/p/mnv2-int8-{I8}.tflite", 1850)]
    records = liteship.device_import(run, files, device="iPhone 13", quiet=True)
    assert sorted(r.variant for r in records) == sorted([F32, I8])
    return run


def _verdicts(run_dir, budgets):
    return {vv.variant: {v.id: v for v in vv.verdicts} for vv in liteship.gate(run_dir, budgets, quiet=True).verdicts}


def test_accuracy_budgets_on_a_device_are_judged_on_the_records_scored_here(imported):
    got = _verdicts(imported, Budgets(backend="device:iphone-13", max_latency_ms=2.5, max_accuracy_drop=0.02,
                                      require_contract=False))
    # int8: 1.850 ms on the phone, within 2.5; its top-1 equals float32's on every image here: a change of +0.00 pt
    assert got[I8]["max_latency_ms"].passed and got[I8]["max_latency_ms"].measured == pytest.approx(1.85)
    drop = got[I8]["max_accuracy_drop"]
    assert drop.passed and drop.measured == 0.0 and drop.record.backend == "xnnpack"
    assert "scored on xnnpack, 1 thread(s): device:iphone-13 brought times only" in drop.message
    assert not got[F32]["max_latency_ms"].passed  # 3.100 > 2.5


def test_a_p90_budget_on_a_device_is_not_measured_never_taken_from_p95(imported):
    got = _verdicts(imported, Budgets(backend="device:iphone-13", max_latency_ms=50.0, latency_stat="p90",
                                      require_contract=False))
    # benchmark_model prints p5, median and p95: no p90, so nothing passes a p90 budget, however loose
    assert all(not v["max_latency_ms"].passed and v["max_latency_ms"].measured is None for v in got.values())


def test_pick_prefer_latency_ranks_on_the_phone_s_median_and_model_md_says_where(imported):
    from liteship.bench import read_results
    from liteship.judge import decide, gate
    from liteship.judge.release_docs import model_md

    records = read_results(imported)
    for backend, fastest in (("xnnpack", F32), ("device:iphone-13", I8)):  # x86 says float32, the phone int8
        budgets = Budgets(backend=backend, max_size_kb=1000.0, require_contract=False)
        decision = decide(records, budgets, "latency", gate(imported, budgets, records=records, remeasure=False))
        assert decision.chosen.variant == fastest
    chosen = [r for r in records if r.variant == I8]
    contract = {"input": {"shape": [1, 32, 32, 3], "dtype": "float32"}, "output": {"shape": [1, 2], "dtype": "float32"}}
    text = model_md(decision, chosen, contract, ["a", "b"], "here", None)
    # A15: the import reads the chip from the device's name
    assert "- device:iphone-13: measured on an iPhone 13, A15 (LiteRT version not given, 1 thread), median 1.850 ms " \
           "over 50 runs" in text
    assert "No number here was measured on a phone" not in text
    assert "Where: the device:iphone-13 line was measured on an iPhone 13 by the device's own benchmark tool and " \
           "imported (`liteship device import`), not on this machine. Every other number: here." in text.splitlines()


def test_the_python_api_refuses_every_problem_at_once_and_writes_nothing(run, tmp_path):  # noqa: F811
    before = (run / "results.jsonl").read_bytes()
    bad = _phone(tmp_path, "bad.txt", "/p/unknown.tflite", 1000)
    with pytest.raises(liteship.Problems) as refused:
        liteship.device_import(run, [bad, tmp_path / "missing.txt"], device="iPhone 13", quiet=True)
    said = str(refused.value)
    assert "bad.txt, line 13" in said and "missing.txt" in said and "2 problems" in said
    assert (run / "results.jsonl").read_bytes() == before
    with pytest.raises(liteship.Problems, match="device"):
        liteship.device_import(run, [bad], quiet=True)


def test_the_variants_table_shows_the_phone_s_median_beside_the_top1_scored_here(imported):
    from liteship.bench import read_results
    from liteship.report.tables import rows

    got = {r.variant: r for r in rows(read_results(imported), Budgets(backend="device:iphone-13"))}
    # the phone's medians (3.100, 1.850 ms), and top-1 150 of 200 = 0.75 from the x86 records
    assert (got[F32].p50_ms, got[I8].p50_ms) == (3.1, 1.85) and got[I8].ci is None
    assert got[I8].top1 == 0.75 and got[I8].backend == "device:iphone-13@1, top-1 xnnpack@1"
