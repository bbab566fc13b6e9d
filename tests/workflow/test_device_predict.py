"""`liteship device import` predicts, `liteship device predict` refreshes, and `liteship.device_predict` does the
same from Python: on the hand-made run of tests/bench/test_device_predictions.py, with the phone's output written
in benchmark_model's stdout format, and every number recomputed by hand there (numpy, scipy.stats.t).
"""

import json

import pytest

import liteship
from liteship.app.cli import main
from tests.bench.test_device_predictions import by_hand_scale, IPHONE, make_run
from tests.bench.test_device_round_trip import stdout


@pytest.fixture
def run(tmp_path):
    return make_run(tmp_path)[0]


def phone(tmp_path, vid: str, ms: float):
    path = tmp_path / f"phone-{vid}.txt"
    path.write_text(stdout(f"/data/local/tmp/liteship/mnv2-x-{vid}.tflite", round(ms * 1000)))
    return str(path)


def lines(run) -> list[dict]:
    return [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]


def predicted(run, backend="predicted:iphone-13") -> dict:
    return {r["variant"]: r for r in lines(run) if r["backend"] == backend}


def test_import_predicts_the_variants_not_measured_and_a_new_measurement_replaces_its_prediction(run, tmp_path,
                                                                                                 capsys):
    files = [phone(tmp_path, v, ms) for v, ms in IPHONE.items()]
    assert main(["device", "import", str(run), *files, "--device", "iPhone 13"]) == 0
    out = capsys.readouterr().out
    a, loo, factor = by_hand_scale(IPHONE)
    worst, median = sorted(abs(e) for e in loo.values())[2], sorted(abs(e) for e in loo.values())[1]
    assert (f"predicted 3 variants on predicted:iphone-13 from arm64-a15 counts: ms = {a:.4g} x G instructions, "
            f"leave-one-out error median {median * 100:.0f} %, worst {worst * 100:.0f} % over 3 measurements") in out
    assert f"v5eeeeeeeeee (mnv2 prune_int8): predicted {a * 0.2:.3f} ms, 95 % interval {a * 0.2 / factor:.3f}-" \
           f"{a * 0.2 * factor:.3f} ms" in out
    got = predicted(run)
    assert sorted(got) == ["v4dddddddddd", "v5eeeeeeeeee", "v6ffffffffff"]
    # the chip the import resolved from the device's name is kept in the device records and the predictions
    measured = [r for r in lines(run) if r["backend"] == "device:iphone-13"]
    assert {(r["device"]["chip"], r["device"]["chip_from"]) for r in measured} == {("A15", "device name")}
    assert got["v6ffffffffff"]["device"]["chip"] == "A15"

    # v4 measured on the phone now: its prediction goes, the others are predicted again from four measurements
    assert main(["device", "import", str(run), phone(tmp_path, "v4dddddddddd", 49.0), "--device", "iPhone 13"]) == 0
    got = predicted(run)
    assert sorted(got) == ["v5eeeeeeeeee", "v6ffffffffff"]
    assert got["v5eeeeeeeeee"]["device"]["fit"]["measurements"] == 4
    assert "over 4 measurements" in capsys.readouterr().out


def test_device_predict_refreshes_after_new_counts(run, tmp_path, capsys):
    files = [phone(tmp_path, v, ms) for v, ms in IPHONE.items()]
    assert main(["device", "import", str(run), *files, "--device", "iPhone 13"]) == 0
    # a count gone from the results (as before `liteship bench RUN --backends arm64-a15` counts it): not predicted
    kept = [r for r in lines(run) if not (r["backend"] == "arm64-a15" and r["variant"] == "v6ffffffffff")]
    (run / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept))
    capsys.readouterr()
    assert main(["device", "predict", str(run)]) == 0
    assert sorted(predicted(run)) == ["v4dddddddddd", "v5eeeeeeeeee"]
    assert "predicted 2 variants on predicted:iphone-13" in capsys.readouterr().out


def test_the_python_api_returns_the_outcomes(run, tmp_path):
    liteship.device_import(run, [phone(tmp_path, v, ms) for v, ms in IPHONE.items()], device="iPhone 13",
                           quiet=True)
    (outcome,) = liteship.device_predict(run, device="iPhone 13", quiet=True)
    a, _, _ = by_hand_scale(IPHONE)
    assert outcome.predicted and outcome.calibration.terms["ms_per_G"] == pytest.approx(a)
    assert [r.variant for r in outcome.records] == ["v4dddddddddd", "v5eeeeeeeeee", "v6ffffffffff"]
    with pytest.raises(liteship.Problems, match="chip='Z80': it takes a chip liteship knows"):
        liteship.device_predict(run, chip="Z80", quiet=True)


def test_an_sme2_iphone_is_not_predicted_from_arm64_a15(run, tmp_path, capsys):
    files = [phone(tmp_path, v, ms) for v, ms in IPHONE.items()]
    assert main(["device", "import", str(run), *files, "--device", "iPhone 16 Pro"]) == 0  # the import stands
    out = capsys.readouterr().out
    assert "device:iphone-16-pro not predicted:" in out and "arm64-a18" in out  # refused, or no arm64-a18 count
    assert not predicted(run, "predicted:iphone-16-pro")
    assert main(["device", "predict", str(run)]) == 1  # nothing predicted: the answer is no


def test_the_chip_comes_from_the_model_identifier_a_source_gives(run, tmp_path):
    row = {"file": "mnv2-x-{}.tflite", "platform": "ios", "device_id": "iPhone14,5", "device": "my phone",
           "os": "iOS 17.4", "accelerator": "cpu", "delegate": "XNNPACK", "runs": 50, "runtime_version": "2.2.0",
           "latency_ms": {"median": 0, "avg": 0}}
    rows = [{**row, "file": row["file"].format(v), "latency_ms": {"median": ms, "avg": ms}} for v, ms in IPHONE.items()]
    board = tmp_path / "measurements.jsonl"
    board.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["device", "import", str(run), str(board), "--device", "my phone", "--threads", "1"]) == 0
    got = predicted(run, "predicted:my-phone")
    assert sorted(got) == ["v4dddddddddd", "v5eeeeeeeeee", "v6ffffffffff"]
    assert got["v4dddddddddd"]["device"]["chip_from"] == "model identifier iPhone14,5"
    assert got["v4dddddddddd"]["runtime"] == "predicted for my phone from arm64-a15 instructions (LiteRT 2.2.0 on " \
                                             "the device)"


@pytest.mark.parametrize("argv, said", [
    (["--chip", "Z80"], '--chip = "Z80": it takes a chip liteship knows: A14, M1, A15'),
    (["--device", "Pixel 8"], "the run has no measurements of it; it has measurements of iPhone 13"),
])
def test_bad_input_is_exit_2_and_writes_nothing(run, tmp_path, capsys, argv, said):
    assert main(["device", "import", str(run), *[phone(tmp_path, v, ms) for v, ms in IPHONE.items()], "--device",
                 "iPhone 13"]) == 0
    before = (run / "results.jsonl").read_bytes()
    assert main(["device", "predict", str(run), *argv]) == 2
    assert said in capsys.readouterr().err and (run / "results.jsonl").read_bytes() == before


def test_a_run_without_device_measurements_is_exit_2(run, capsys):
    assert main(["device", "predict", str(run)]) == 2
    assert "it has no device measurements to calibrate on" in capsys.readouterr().err
    assert main(["device", "import", str(run), "x.txt", "--device", "iPhone 13", "--chip", "Z80"]) == 2
    assert '--chip = "Z80"' in capsys.readouterr().err
