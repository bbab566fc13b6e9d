"""The report's phone column and the terminal lines say an extrapolated prediction is extrapolated, and show a stale
one as stale, never as a plain prediction, on the hand-made run of tests/report/phone_run.py:

- dynamic is predicted at 2.400 ms [2.050, 2.810] from float32, int8 and float16, scaling its arm64-a15 count of
  3.000 M; written by hand below as extrapolated (its count 1.80x below the counts measured), it says so;
- counted again at 3.300 M since (arm64-a15), or with float32 measured again on the device at 3.500 ms (the
  prediction rests on 3.100 ms), the prediction is stale: no number, and what predicts it again.
"""

from dataclasses import replace

from liteship.judge import Budgets, findings
from liteship.report import build, sweep_summary
from tests.report.phone_run import arm, decision, device, phone_run
from tests.report.test_phone_column import _variants

BUDGETS = Budgets(max_latency_ms=1.0, require_contract=False)
COLUMN = "iPhone 13 (1 thread)"
STALE = "stale: run liteship device predict RUN_DIR"


def _swap(records, old_backend, recipe, new):
    """``records`` with the record of ``recipe`` on ``old_backend`` replaced by ``new``."""
    return [new if r.backend == old_backend and r.recipe == recipe else r for r in records]


def _extrapolated(records):
    far = {"side": "below", "ratio": 1.8, "instructions": 3_000_000,
           "measured_instructions": [5_400_000, 5_200_000], "nearest": ["mnv2-float32"]}
    return [replace(r, device={**r.device, "extrapolated": far}) if r.backend == "predicted:iphone-13" else r
            for r in records]


def _page(records):
    d = decision(records, BUDGETS)
    return build(records, d, findings(records, BUDGETS, "runs/x", d), "runs/x").html


def test_an_extrapolated_prediction_says_so_in_the_column_and_the_terminal():
    records = _extrapolated(phone_run())
    assert _variants(_page(records))["dynamic"][COLUMN] == (
        "2.400 ms predicted [2.050, 2.810] from 3 measurements, extrapolated", "2.4")
    lines = {line.split()[2]: line for line in sweep_summary(records).splitlines()}
    assert lines["dynamic"].endswith("iPhone 13: 2.400 ms predicted [2.050, 2.810] from 3 measurements, extrapolated")
    assert "extrapolated" not in _variants(_page(phone_run()))["dynamic"][COLUMN][0]  # inside: not said


def test_a_prediction_whose_count_changed_is_shown_stale_without_its_number():
    records = _swap(phone_run(), "arm64-a15", "dynamic", arm("dynamic", per_invoke=3_300_000))
    assert _variants(_page(records))["dynamic"][COLUMN] == (STALE, None)  # no number, sorts last
    lines = {line.split()[2]: line for line in sweep_summary(records).splitlines()}
    assert lines["dynamic"].endswith(f"iPhone 13: {STALE}") and "2.400 ms predicted" not in lines["dynamic"]
    assert lines["float32"].endswith("iPhone 13: 3.100 ms measured (50 runs)")  # a measurement is never stale


def test_a_prediction_whose_measurements_changed_is_shown_stale():
    records = _swap(phone_run(), "device:iphone-13", "float32", device("float32", ms=3.5, runs=50))
    rows = _variants(_page(records))
    assert rows["dynamic"][COLUMN] == (STALE, None)
    assert rows["float32"][COLUMN] == ("3.500 ms measured (50 runs)", "3.5")
