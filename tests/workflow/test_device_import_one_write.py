"""`liteship device import` writes results.jsonl once, with the device's measurements and the predictions made from
them; a `--chip` that contradicts what is known of the device is exit 2 with nothing written.

On the hand-made run of tests/bench/test_device_predictions.py (six variants counted on arm64-a15 by hand), with the
phone's output in benchmark_model's stdout format.
"""

import importlib
import json

import pytest

from liteship.app.cli import main
from tests.bench.test_device_predictions import by_hand_scale, IPHONE, make_run
from tests.workflow.test_device_predict import phone, predicted


@pytest.fixture
def run(tmp_path):
    return make_run(tmp_path)[0]


def test_the_import_writes_the_results_once(run, tmp_path, monkeypatch):
    results = importlib.import_module("liteship.bench.results")
    written, write = [], results.atomic_write_text
    monkeypatch.setattr(results, "atomic_write_text",
                        lambda path, text, *a, **k: (written.append(path.name), write(path, text, *a, **k))[1])
    assert main(["device", "import", str(run), *[phone(tmp_path, v, ms) for v, ms in IPHONE.items()], "--device",
                 "iPhone 13"]) == 0
    assert written.count("results.jsonl") == 1  # the measurements and their predictions in one write
    assert sorted(predicted(run)) == ["v4dddddddddd", "v5eeeeeeeeee", "v6ffffffffff"]


def test_an_import_stopped_while_predicting_leaves_the_results_as_they_were(run, tmp_path, monkeypatch):
    assert main(["device", "import", str(run), *[phone(tmp_path, v, ms) for v, ms in IPHONE.items()], "--device",
                 "iPhone 13"]) == 0
    before = (run / "results.jsonl").read_bytes()
    predictions = importlib.import_module("liteship.bench.device_predictions")

    def stopped(points):  # SIGTERM (Ctrl-C's path) after the new measurement is merged, while predicting
        raise KeyboardInterrupt

    monkeypatch.setattr(predictions, "fit", stopped)
    assert main(["device", "import", str(run), phone(tmp_path, "v5eeeeeeeeee", 18.0), "--device",
                 "iPhone 13"]) == 130
    # as it was: v5 not measured, and still predicted from the three measurements
    assert (run / "results.jsonl").read_bytes() == before
    monkeypatch.undo()
    assert main(["device", "import", str(run), phone(tmp_path, "v5eeeeeeeeee", 18.0), "--device", "iPhone 13"]) == 0
    lines = [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]
    assert {(r["variant"], r["backend"]) for r in lines if r["variant"] == "v5eeeeeeeeee" and ":" in r["backend"]} \
        == {("v5eeeeeeeeee", "device:iphone-13")}
    a, _, _ = by_hand_scale({**IPHONE, "v5eeeeeeeeee": 18.0})
    if predicted(run)["v6ffffffffff"]["device"]["fit"]["form"] == "scale":
        assert predicted(run)["v6ffffffffff"]["latency_ms"]["p50"] == pytest.approx(a * 0.08)


@pytest.mark.parametrize("device, chip, known", [
    ("iPhone 16", "A15", "the device name says iPhone 16 has A18 (sme2)"),  # Apple: iPhone 16, A18
    ("iPhone 13", "M4", "the device name says iPhone 13 has A15 (neon-i8mm)"),  # Apple: iPhone 13, A15
    ("iPhone 13", "A16", "the device name says iPhone 13 has A15 (neon-i8mm)"),  # the same ISA class, another chip
])
def test_a_chip_that_contradicts_the_device_s_name_is_exit_2_and_writes_nothing(run, tmp_path, capsys, device, chip,
                                                                                 known):
    before = (run / "results.jsonl").read_bytes()
    files = [phone(tmp_path, v, ms) for v, ms in IPHONE.items()]
    assert main(["device", "import", str(run), *files, "--device", device, "--chip", chip]) == 2
    err = capsys.readouterr().err
    assert f'--chip = "{chip}": --chip {chip} says {chip}' in err and known in err
    assert "Fix: drop --chip (the device name says the chip), or correct --device" in err
    assert (run / "results.jsonl").read_bytes() == before


def test_a_chip_that_contradicts_the_device_s_records_is_exit_2_on_import_and_on_predict(run, tmp_path, capsys):
    files = [phone(tmp_path, v, ms) for v, ms in IPHONE.items()]
    # a device liteship does not know, said to be an A15 the first time
    assert main(["device", "import", str(run), *files, "--device", "bench phone", "--chip", "A15"]) == 0
    before = (run / "results.jsonl").read_bytes()
    assert len(predicted(run, "predicted:bench-phone")) == 3
    capsys.readouterr()
    assert main(["device", "import", str(run), phone(tmp_path, "v4dddddddddd", 49.0), "--device", "bench phone",
                 "--chip", "M4"]) == 2
    err = capsys.readouterr().err
    assert "--chip M4 says M4 (sme2), and bench phone's records already hold A15 (neon-i8mm, from --chip)" in err
    assert "Fix: drop --chip, or import these measurements as another device (--device NAME)" in err
    assert main(["device", "predict", str(run), "--chip", "M4"]) == 2  # predictions kept, not deleted
    assert "records already hold A15" in capsys.readouterr().err
    assert (run / "results.jsonl").read_bytes() == before
    # the ISA class of the chip the records hold agrees with them
    assert main(["device", "predict", str(run), "--chip", "neon-i8mm"]) == 0
    assert len(predicted(run, "predicted:bench-phone")) == 3
