"""compare on a phone's numbers: a device's imported median is said as measured on the device, its change moving with
the phone session (never "wall time", never "the machine"); a prediction's as predicted from counts, never judged.

Records by hand (tests/judge/test_predicted_budgets.py's makers): on the iPhone 13, main measured float32 at
3.300 ms and int8 at 1.650 ms (0.5x float32), and predicted dynamic at 3.10 ms; this change measured both twice as
slow (6.600 and 3.300 ms: +100 %, still 0.5x), predicted dynamic at 6.20 ms, and in a second case int8 at 5.280 ms
(0.8x float32: +60 % relative to float32, over the default 30 %).
"""

from liteship.judge import Thresholds, compare
from liteship.report.compare import render
from tests.judge.test_predicted_budgets import measured, predicted

BASE = [measured("f32", 3.3), measured("i8", 1.65, recipe="int8"), predicted("dy", 3.1, 2.6, 3.7, recipe="dynamic")]
NEW = [measured("f32", 6.6), measured("i8", 3.3, recipe="int8"), predicted("dy", 6.2, 5.2, 7.4, recipe="dynamic")]


def _by_recipe(changes):
    return {c.key[1]: c for c in changes if c.metric in ("p50_ms", "p50_vs_float32")}


def test_a_device_median_is_said_as_measured_on_the_device_moving_with_the_phone_session():
    changes, added, removed = compare(BASE, NEW, Thresholds())
    by = _by_recipe(changes)
    f32 = by["float32"]
    assert (f32.metric, f32.base, f32.new, f32.change) == ("p50_ms", 3.3, 6.6, 1.0)  # +100 %, shown, not judged
    assert f32.verdict == "not judged: a device's time in two runs"
    assert f32.note == ("the reference itself; measured on the iPhone 13 by its own benchmark tool and imported "
                        "(liteship device import), not on this machine: its change between two runs moves with the "
                        "phone session (the phone's temperature, power state and background load), which liteship "
                        "neither controls nor measures")
    i8 = by["int8"]  # 1.65 / 3.3 = 0.5 in both runs: no change relative to float32 measured on the same device
    assert (i8.metric, i8.base, i8.new, i8.change, i8.verdict) == ("p50_vs_float32", 0.5, 0.5, 0.0, "ok")
    assert i8.note == ("p50 1.650 -> 3.300 ms on the iPhone 13 (+100.0 %, not judged: measured on the device and "
                       "imported, it moves with the phone session), each against float32 measured on the same device")
    printed = render(changes, added, removed)
    assert "wall time" not in printed and "moves with the machine" not in printed


def test_a_prediction_is_said_as_predicted_from_counts_and_never_judged():
    dy = _by_recipe(compare(BASE, NEW, Thresholds())[0])["dynamic"]
    assert (dy.metric, dy.base, dy.new, dy.change) == ("p50_ms", 3.1, 6.2, 1.0)
    assert dy.verdict == "not judged: predicted from counts, not measured"
    assert dy.note == ("a prediction moves with the device measurements it is calibrated on; the instructions it is "
                       "predicted from are compared, exactly, on the count backend's own records")


def test_a_device_s_ratio_to_its_float32_still_fails_over_the_threshold():
    slower = [measured("f32", 6.6), measured("i8", 5.28, recipe="int8")]  # 5.28 / 6.6 = 0.8: +60 % over 0.5
    i8 = _by_recipe(compare(BASE[:2], slower, Thresholds())[0])["int8"]
    assert (i8.base, i8.new, i8.verdict) == (0.5, 0.8, "FAILED") and abs(i8.change - 0.6) < 1e-6
