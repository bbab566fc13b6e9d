"""`liteship device import` and `liteship device predict` on the hand-made run of
tests/bench/test_device_predictions.py: the import predicts with its own --chip, `device predict --device` touches
that device's predictions only, a --chip without --device on a run of two devices is refused; and a budget on a
prediction's backend judges a device's measurement only at the budget's threads. Each outcome worked out here.
"""

import pytest

from liteship.app.cli import main
from liteship.judge import Budgets
from tests.bench.test_device_predictions import IPHONE, make_run
from tests.judge.test_phone_verdicts import _one
from tests.judge.test_predicted_budgets import measured, predicted as predicted_record, x86
from tests.workflow.test_device_predict import lines, phone, predicted

PIXEL = {"v1aaaaaaaaaa": 24.0, "v2bbbbbbbbbb": 9.5, "v3cccccccccc": 4.2}  # ms on a Pixel 9 Pro (by hand)


@pytest.fixture
def run(tmp_path):
    return make_run(tmp_path)[0]


def _raw(run, backend: str) -> list[str]:
    return [x for x in (run / "results.jsonl").read_text().splitlines() if f'"backend": "{backend}"' in x]


def _two_devices(run, tmp_path):
    iphone = [phone(tmp_path, v, ms) for v, ms in IPHONE.items()]
    assert main(["device", "import", str(run), *iphone, "--device", "iPhone 13"]) == 0
    (tmp_path / "pixel").mkdir()
    pixel = [phone(tmp_path / "pixel", v, ms) for v, ms in PIXEL.items()]
    assert main(["device", "import", str(run), *pixel, "--device", "Pixel 9 Pro"]) == 0
    assert sorted(predicted(run)) == sorted(predicted(run, "predicted:pixel-9-pro")) == \
        ["v4dddddddddd", "v5eeeeeeeeee", "v6ffffffffff"]


def test_a_reimport_with_the_right_chip_after_a_wrong_one_was_refused_predicts(run, tmp_path, capsys):
    files = [phone(tmp_path, v, ms) for v, ms in IPHONE.items()]
    before = (run / "results.jsonl").read_bytes()
    # the name says iPhone 13 has A15; --chip M4 (SME2) contradicts it: exit 2, nothing written
    assert main(["device", "import", str(run), *files, "--device", "iPhone 13", "--chip", "M4"]) == 2
    assert "--chip M4 says M4 (sme2)" in capsys.readouterr().err
    assert (run / "results.jsonl").read_bytes() == before
    assert main(["device", "import", str(run), *files, "--device", "iPhone 13", "--chip", "A15"]) == 0
    got = predicted(run)
    assert sorted(got) == ["v4dddddddddd", "v5eeeeeeeeee", "v6ffffffffff"]
    assert {(r["device"]["chip"], r["device"]["profile"]) for r in got.values()} == {("A15", "arm64-a15")}
    assert "predicted 3 variants on predicted:iphone-13 from arm64-a15 counts" in capsys.readouterr().out


def test_a_reimport_of_an_unknown_device_with_a_known_chip_after_an_unknown_one_predicts_from_it(run, tmp_path,
                                                                                                 capsys):
    files = [phone(tmp_path, v, ms) for v, ms in IPHONE.items()]
    before = (run / "results.jsonl").read_bytes()
    assert main(["device", "import", str(run), *files, "--device", "my phone", "--chip", "Z80"]) == 2
    assert (run / "results.jsonl").read_bytes() == before
    assert main(["device", "import", str(run), *files, "--device", "my phone", "--chip", "A15"]) == 0
    got = predicted(run, "predicted:my-phone")
    assert sorted(got) == ["v4dddddddddd", "v5eeeeeeeeee", "v6ffffffffff"]
    assert {(r["device"]["chip"], r["device"]["chip_from"]) for r in got.values()} == {("A15", "--chip")}


def test_device_predict_with_a_device_predicts_for_that_device_only(run, tmp_path, capsys):
    _two_devices(run, tmp_path)
    pixel_before = _raw(run, "predicted:pixel-9-pro")
    assert len(pixel_before) == 3
    # v6's count gone: predicting again would drop v6's prediction on whichever device is predicted
    kept = [x for x in (run / "results.jsonl").read_text().splitlines()
            if not ('"backend": "arm64-a15"' in x and '"variant": "v6ffffffffff"' in x)]
    (run / "results.jsonl").write_text("".join(x + "\n" for x in kept))
    capsys.readouterr()
    assert main(["device", "predict", str(run), "--device", "iPhone 13"]) == 0
    assert sorted(predicted(run)) == ["v4dddddddddd", "v5eeeeeeeeee"]  # the iPhone's: predicted again
    assert _raw(run, "predicted:pixel-9-pro") == pixel_before  # the Pixel's: as they were, byte for byte
    assert "predicted:pixel-9-pro" not in capsys.readouterr().out


def test_a_chip_without_a_device_on_a_run_of_two_devices_is_exit_2(run, tmp_path, capsys):
    _two_devices(run, tmp_path)
    before = (run / "results.jsonl").read_bytes()
    capsys.readouterr()
    assert main(["device", "predict", str(run), "--chip", "A15"]) == 2
    err = capsys.readouterr().err
    assert "the run has measurements of 2 devices (Pixel 9 Pro, iPhone 13), and a chip is one device's" in err
    assert "--device NAME" in err
    assert (run / "results.jsonl").read_bytes() == before
    assert {r["backend"] for r in lines(run) if r["backend"].startswith("predicted:")} == \
        {"predicted:iphone-13", "predicted:pixel-9-pro"}


ON = dict(backend="predicted:iphone-13", require_contract=False)


def test_a_four_thread_measurement_never_stands_in_for_a_one_thread_prediction():
    # w: no prediction at 1 thread, measured 1.2 ms on the iPhone 13 at 4 threads only; p is predicted at 1 thread.
    # A 1-thread budget of 3.5 ms has nothing to judge w on: not passed, no number
    records = [predicted_record("p", 3.1, 2.6, 3.7), x86("p"), measured("w", 1.2, recipe="int8", threads=4),
               x86("w", "dynamic")]
    v = _one(Budgets(max_latency_ms=3.5, **ON), records, "w")
    assert not v.passed and v.measured is None
    # with a 1-thread prediction of w (upper end 3.7) beside the 4-thread measurement, the upper end is judged
    records.append(predicted_record("w", 3.1, 2.6, 3.7, recipe="dynamic"))
    v = _one(Budgets(max_latency_ms=3.5, **ON), records, "w")
    assert not v.passed and v.measured == 3.7 and v.record.backend == "predicted:iphone-13"
    # at 4 threads the 4-thread measurement is the number judged: 1.2 <= 3.5
    at4 = [predicted_record("p", 3.1, 2.6, 3.7, threads=4), x86("p"), measured("w", 1.2, recipe="int8", threads=4),
           x86("w", "dynamic")]
    v = _one(Budgets(max_latency_ms=3.5, threads=4, **ON), at4, "w")
    assert v.passed and v.measured == 1.2 and v.record.backend == "device:iphone-13"
