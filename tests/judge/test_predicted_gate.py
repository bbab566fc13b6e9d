"""The gate on a hand-made run holding a device's measurement of one variant and a prediction of the other, judged in
one run by one budget on ``predicted:iphone-13``; compare and explain beside them.

The run is tests/bench/test_device_round_trip.py's (float32 F32 and int8 I8 of mnv2, timed here at 1 ms); its
results get, written by hand, F32's median on the iPhone 13 (3.300 ms) and a prediction of I8 (3.10 ms, 95 %
interval 2.60-3.70 ms), as bench would write them.
"""

import hashlib
import importlib
import json

import pytest

from liteship.app.cli import main
from tests.bench.test_device_round_trip import F32, I8, run  # noqa: F401 (run: the fixture)
from tests.judge.test_predicted_budgets import measured, predicted


def _add(run_dir, *records):  # noqa: F811
    """Append records to results.jsonl, each carrying its variant's sha256 as a real record does."""
    lines = []
    for r in records:
        sha = hashlib.sha256((run_dir / "variants" / f"{r.variant}.tflite").read_bytes()).hexdigest()
        lines.append(json.dumps({**r.to_dict(), "sha256": sha}, sort_keys=True) + "\n")
    with (run_dir / "results.jsonl").open("a") as f:
        f.write("".join(lines))


@pytest.fixture
def mixed(run, monkeypatch):  # noqa: F811
    _add(run, measured(F32, 3.3), predicted(I8, 3.1, 2.6, 3.7))

    def no_remeasure(*args, **kwargs):
        raise AssertionError("gate tried to time a phone's number on this machine")

    monkeypatch.setattr(importlib.import_module("liteship.judge.gate"), "remeasure_latency", no_remeasure)
    return run


def _gate(run_dir, tmp_path, capsys, limit, *flags):
    (tmp_path / "b.toml").write_text(f'[budgets]\nbackend = "predicted:iphone-13"\nmax_latency_ms = {limit}\n'
                                     "require_contract = false\n")
    capsys.readouterr()
    code = main(["gate", str(run_dir), "--budgets", str(tmp_path / "b.toml"), *flags])
    return code, capsys.readouterr().out


def test_a_measured_and_a_predicted_variant_judged_in_one_gate(mixed, tmp_path, capsys):
    code, out = _gate(mixed, tmp_path, capsys, 3.5, "--all")
    lines = out.splitlines()
    # F32: measured 3.300 <= 3.5 (margin +0.200); I8: upper end 3.700 > 3.5 (margin -0.200), its median 3.10 under it
    assert code == 1 and f"PASS {F32} (mnv2 float32)" in lines and f"FAIL {I8} (mnv2 int8)" in lines
    f32 = next(line for line in lines if "3.300 ms" in line)
    assert f32.strip() == ("max_latency_ms (p50, predicted:iphone-13, 1 thr) ok: 3.300 ms <= 3.500 ms (margin "
                           "+0.200 ms) [measured on the device, not predicted: device:iphone-13's median]")
    i8 = next(line for line in lines if "3.700 ms" in line)
    assert "max_latency_ms (p50 upper end, predicted:iphone-13, 1 thr) FAILED: 3.700 ms > 3.500 ms (margin " \
           "-0.200 ms) [predicted 3.100 ms, 95 % interval 2.600-3.700 ms, upper end judged]" in i8
    # never re-measured (the fixture fails the test if gate tries); says what it is and how to make it a measurement
    assert "[not re-measured: predicted:iphone-13 is a prediction from arm64-a15 instruction counts, not a " \
           "measurement; to make it one, measure the variant on the iPhone 13 (liteship device kit" in i8
    assert f"(liteship device kit {mixed} --out DIR, then liteship device import {mixed} FILE --device " \
           '"iPhone 13"): a variant measured there is judged on its measurement]' in i8
    assert main(["gate", str(mixed), "--budgets", str(tmp_path / "b.toml")]) == 0  # one variant passing is enough


def test_a_measurement_over_the_budget_on_a_predicted_backend_is_not_re_measured_either(mixed, tmp_path, capsys):
    code, out = _gate(mixed, tmp_path, capsys, 2.9)
    # F32 measured 3.300 > 2.9 (margin -0.400), I8's upper end 3.700 > 2.9 (margin -0.800): both fail
    assert code == 1
    assert "FAILED: 3.300 ms > 2.900 ms (margin -0.400 ms) [measured on the device, not predicted: " \
           "device:iphone-13's median] [not re-measured: device:iphone-13 is a device's imported measurement; " \
           "measure it there again]" in out
    assert "FAILED: 3.700 ms > 2.900 ms (margin -0.800 ms)" in out


def test_markdown_and_junit_say_which_number_was_judged(mixed, tmp_path, capsys):
    md, junit = tmp_path / "gate.md", tmp_path / "gate.xml"
    _gate(mixed, tmp_path, capsys, 3.5, "--markdown", str(md), "--junit", str(junit))
    row = next(line for line in md.read_text().splitlines() if I8 in line and "max_latency_ms" in line)
    assert "| max_latency_ms (p50 upper end, predicted:iphone-13, 1 thr) | 3.7 | 3.5 | -0.2 | ❌ |" in row
    assert f'name="{I8}.max_latency_ms (p50 upper end, predicted:iphone-13, 1 thr)"' in junit.read_text()


def test_compare_takes_predicted_records_and_never_judges_a_prediction_as_a_time(mixed, tmp_path):
    from liteship.judge import Thresholds, compare, read_side

    base = read_side(mixed, "base")
    new = [r if r.backend != "predicted:iphone-13" else predicted(I8, 6.2, 5.2, 7.4) for r in base]
    changes, added, removed = compare(base, new, Thresholds())
    (p,) = [c for c in changes if c.key[2] == "predicted:iphone-13" and c.metric == "p50_ms"]
    # a prediction twice as slow (3.1 -> 6.2: +100 %) is not a latency regression: its calibration moved
    assert p.verdict == "not judged: predicted from counts, not measured" and p.change == pytest.approx(1.0)
    assert not any(c.failed for c in changes) and added == removed == []


def test_explain_takes_a_variant_with_a_prediction(mixed):
    from liteship.bench import explain, read_results

    records = [r for r in read_results(mixed) if r.variant == I8]
    assert [r.backend for r in records] == ["xnnpack", "predicted:iphone-13"]
    try:
        e = explain(mixed / "variants" / f"{I8}.tflite", records)
    except Exception as exc:  # the hand-made run's files are stand-ins, not flatbuffers: refused in words
        assert "predicted" not in str(exc) and type(exc).__name__ in ("LiteshipError", "ValueError"), exc
    else:
        assert e.latency_backend == "xnnpack"
