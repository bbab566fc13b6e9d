"""Where the release says its numbers come from, for each mix of records, against sentences written here by hand:
MODEL.md's closing sentences (only this machine's numbers; a device's measurement; a prediction, which rests on the
device's measurements of other variants; both) and Classifier.swift's comment on the budgets' backend (an x86 CPU, a
device's tool, a prediction, an aarch64 count).

The records are tests/judge/test_predicted_budgets.py's: a prediction of 3.10 ms (95 % interval 2.60-3.70 ms) for an
iPhone 13 (A15) from arm64-a15 counts, resting on 4 measurements (leave-one-out error median 6 %, worst 16 %); a
median of 1.850 ms over 50 runs measured on the iPhone 13 (iOS 17.4, LiteRT 2.2.0, 1 thread).
"""

from liteship.judge import Budgets
from liteship.judge.release_docs import model_md, swift
from tests.judge.test_predicted_budgets import _decide, measured, predicted, x86
from tests.judge.test_uncounted_budgets import arm, on

CONTRACT = {"input": {"shape": [1, 32, 32, 3], "dtype": "float32"}, "output": {"shape": [1, 2], "dtype": "float32"}}
CPU = "Test CPU 9000"
TAIL = " MODEL.md says where each of its numbers comes from; time the app on the device it ships to."


def _closing(records, budgets, prefer="accuracy"):
    """MODEL.md's closing line on where the numbers come from, "HERE" standing for this machine's words."""
    decision = _decide(records, budgets, prefer)
    text = model_md(decision, [r for r in records if r.variant == "v"], CONTRACT, ["a", "b"], "HERE.", None)
    (line,) = [s for s in text.splitlines() if s.startswith("Where:")]
    return line, text


def test_model_md_with_only_this_machine_s_numbers_says_no_phone_measured_any():
    line, _ = _closing([x86("v"), arm("v")], Budgets(require_contract=False))
    assert line == "Where: HERE. No number here was measured on a phone."


def test_model_md_with_a_device_s_measurement_says_where_it_was_measured_and_this_machine_for_the_rest():
    line, text = _closing([x86("v"), measured("v", 1.85, "int8")],
                          Budgets(backend="device:iphone-13", require_contract=False), "latency")
    assert line == ("Where: the device:iphone-13 line was measured on an iPhone 13 by the device's own benchmark tool "
                    "and imported (`liteship device import`), not on this machine. Every other number: HERE.")
    assert "No number here was measured on a phone" not in text


def test_model_md_with_a_prediction_says_it_was_measured_on_no_phone_and_what_it_rests_on():
    line, text = _closing([x86("v"), predicted("v", 3.1, 2.6, 3.7)],
                          Budgets(backend="predicted:iphone-13", require_contract=False), "latency")
    assert line == ("Where: the predicted:iphone-13 line was measured on no phone: it is predicted from the variant's "
                    "arm64-a15 instruction count by a calibration fitted on 4 measurements of other variants on an "
                    "iPhone 13 (the medians listed under it, each measured on the device by its own benchmark tool "
                    "and imported). Every other number: HERE.")
    # the medians it rests on were measured on a phone: nothing says no number here was
    assert "No number here was measured on a phone" not in text and "`m2` 1.850 ms (-16 %)" in text


def test_model_md_with_a_prediction_and_another_device_s_measurement_says_both():
    line, _ = _closing([x86("v"), predicted("v", 3.1, 2.6, 3.7), on("Pixel 9 Pro", "Tensor G4")],
                       Budgets(require_contract=False))
    assert line == ("Where: the predicted:iphone-13 line was measured on no phone: it is predicted from the variant's "
                    "arm64-a15 instruction count by a calibration fitted on 4 measurements of other variants on an "
                    "iPhone 13 (the medians listed under it, each measured on the device by its own benchmark tool "
                    "and imported); the device:pixel-9-pro line was measured on a Pixel 9 Pro by the device's own "
                    "benchmark tool and imported (`liteship device import`), not on this machine. Every other "
                    "number: HERE.")


def _swift_comment(records, budgets, prefer="accuracy") -> str:
    """Classifier.swift's comment on where the budgets' number came from, its lines joined."""
    lines = swift(_decide(records, budgets, prefer), CONTRACT, CPU).splitlines()
    return " ".join(s[3:] for s in lines[3:lines.index("import CoreGraphics")])


def test_classifier_swift_says_where_the_budget_s_number_came_from():
    assert _swift_comment([x86("v"), arm("v")], Budgets(require_contract=False)) == (
        "The numbers of the budgets' backend (xnnpack, 1 thread(s)) were measured on an x86 CPU (Test CPU 9000) "
        "through LiteRT's Python API, not on a phone." + TAIL)
    assert _swift_comment([x86("v"), measured("v", 1.85, "int8")],
                          Budgets(backend="device:iphone-13", require_contract=False)) == (
        "The milliseconds of the budgets' backend (device:iphone-13) were measured on an iPhone 13, A15 (iOS 17.4, "
        "LiteRT 2.2.0, 1 thread), median 1.850 ms over 50 runs, by the device's own benchmark tool, and imported "
        "(liteship device import); liteship did not time them." + TAIL)
    assert _swift_comment([x86("v"), predicted("v", 3.1, 2.6, 3.7)],
                          Budgets(backend="predicted:iphone-13", require_contract=False)) == (
        "The milliseconds of the budgets' backend (predicted:iphone-13) were not measured: predicted for an iPhone 13 "
        "(A15) from arm64-a15 instructions: 3.10 ms (95 % interval 2.60-3.70 ms) from 4 measurements on the device "
        "(leave-one-out error median 6 %, worst 16 %); not measured. Measure it on the device (liteship device kit, "
        "then liteship device import)." + TAIL)
    # judged on predictions, a variant measured on the device is judged on its measurement, which stands in
    stand_in = _swift_comment([x86("v"), measured("v", 1.85, "int8"), x86("w", "dynamic"),
                               predicted("w", 3.1, 2.6, 3.7, recipe="dynamic")],
                              Budgets(backend="predicted:iphone-13", require_contract=False), "latency")
    assert stand_in.startswith("The milliseconds of the budgets' backend (device:iphone-13, standing in for "
                               "predicted:iphone-13) were measured on an iPhone 13, A15")
    assert _swift_comment([x86("v"), arm("v")], Budgets(backend="arm64-a15", require_contract=False)) == (
        "The number of the budgets' backend (arm64-a15) is an aarch64 instruction count under QEMU on an x86 CPU "
        "(Test CPU 9000): the phone's instruction set, not a phone's time." + TAIL)
