"""`liteship device import` refuses, before writing anything, what would put a wrong number in a run: a --model that
contradicts the file's name, itself or every measurement; a device name that cannot name a backend or whose backend
holds another device's records; and it says its refusals in the words of what was given. On the hand-made run of
tests/bench/test_device_round_trip.py, each expected record and message written here by hand.
"""

import json
from pathlib import Path

import pytest

import liteship
from liteship.app.cli import main
from tests.bench.test_device_import import results_pb
from tests.bench.test_device_round_trip import F32, I8, OLD, run, stdout  # noqa: F401  (the run fixture)

FIXTURES = Path(__file__).parents[1] / "bench" / "device_fixtures"


def phone(tmp_path, name: str, graph: str, median_us: int = 1850, gpu: bool = False) -> str:
    path = tmp_path / "phone" / name
    path.parent.mkdir(exist_ok=True)
    text = stdout(graph, median_us)
    path.write_text(text.replace("INFO: Use xnnpack: [1]", "INFO: Use gpu: [1]") if gpu else text)
    return str(path)


def device_records(run_dir) -> list[dict]:
    return [r for r in map(json.loads, (run_dir / "results.jsonl").read_text().splitlines())
            if r["backend"].startswith("device:")]


def refused(run_dir, capsys, *argv) -> str:
    before = (run_dir / "results.jsonl").read_bytes()
    capsys.readouterr()
    assert main(["device", "import", str(run_dir), *argv]) == 2
    assert (run_dir / "results.jsonl").read_bytes() == before
    return capsys.readouterr().err


# ----------------------------------------------------------------------------------------------------- --model

def test_a_model_pair_whose_file_name_holds_another_variants_id_is_refused(run, tmp_path, capsys):  # noqa: F811
    log = phone(tmp_path, "i8.txt", f"/data/local/tmp/liteship/mnv2-int8-{I8}.tflite")
    err = refused(run, capsys, log, "--device", "Pixel 8", "--model", f"mnv2-int8-{I8}.tflite={F32}")
    assert f"--model: mnv2-int8-{I8}.tflite={F32}: the name mnv2-int8-{I8}.tflite holds the ID of variant {I8}" in err
    assert f"would import a measurement of {I8} as one of {F32}" in err


def test_one_file_given_two_variants_is_refused_never_the_last_kept(run, tmp_path, capsys):  # noqa: F811
    log = phone(tmp_path, "plain.txt", "/data/local/tmp/model.tflite")
    err = refused(run, capsys, log, "--device", "Pixel 8", "--model", f"model.tflite={I8}", "--model",
                  f"model.tflite={F32}")
    assert f'--model = "model.tflite={F32}": it names model.tflite again, which an earlier --model gave the variant ' \
           f"{I8}" in err
    # two FILEs that both name the one measurement (its file name, and its path as the log prints it)
    err = refused(run, capsys, log, "--device", "Pixel 8", "--model", f"model.tflite={I8}", "--model",
                  f"/data/local/tmp/model.tflite={F32}")
    assert f"--model gives it 2 variants: /data/local/tmp/model.tflite={F32}, model.tflite={I8}" in err


def test_a_model_pair_that_names_no_measurement_or_no_current_variant_is_refused(run, tmp_path, capsys):  # noqa: F811
    log = phone(tmp_path, "i8.txt", f"/x/mnv2-int8-{I8}.tflite")
    err = refused(run, capsys, log, "--device", "Pixel 8", "--model", f"nothing.tflite={F32}", "--model",
                  "other.tflite=0123456789ab", "--model", f"old.tflite={OLD}")
    assert f"--model: nothing.tflite={F32}: no measurement imported names nothing.tflite" in err
    assert "--model: other.tflite=0123456789ab: the run has no variant 0123456789ab" in err
    assert f"--model: old.tflite={OLD}: variant {OLD} is not current" in err


@pytest.mark.parametrize("models, said", [({"x.tflite": 5}, "{'x.tflite': 5}"), ({"": I8}, f"{{'': '{I8}'}}"),
                                          ({"x.tflite": None}, "{'x.tflite': None}"), (5, "5")])
def test_the_python_api_refuses_models_that_are_not_file_variant_names(run, tmp_path, models, said):  # noqa: F811
    log = phone(tmp_path, "plain.txt", "/data/local/tmp/model.tflite")
    with pytest.raises(liteship.Problems, match=r"models=") as caught:
        liteship.device_import(run, log, device="Pixel 8", models=models, quiet=True)
    assert said in str(caught.value) and "FILE=VARIANT" in str(caught.value)
    assert liteship.device_import(run, log, device="Pixel 8", models={"model.tflite": I8}, quiet=True)[0].variant == I8


# ----------------------------------------------------------------------------------------------------- devices

@pytest.mark.parametrize("device, said", [("Pix\x00el 8", "the control character U+0000"),
                                          ("Pixel\n8", "the control character U+000A"),
                                          ("\U0001F4F1", "no letter A-Z or digit 0-9"), ("小米", "no letter A-Z")])
def test_a_device_name_that_cannot_name_a_backend_is_refused(run, tmp_path, device, said):  # noqa: F811
    log = phone(tmp_path, "i8.txt", f"/x/mnv2-int8-{I8}.tflite")
    before = (run / "results.jsonl").read_bytes()
    with pytest.raises(liteship.Problems, match="device=") as caught:
        liteship.device_import(run, log, device=device, quiet=True)
    assert said in str(caught.value) and (run / "results.jsonl").read_bytes() == before


def test_two_devices_whose_names_make_one_backend_are_refused_naming_both(run, tmp_path, capsys):  # noqa: F811
    i8 = phone(tmp_path, "i8.txt", f"/x/mnv2-int8-{I8}.tflite")
    f32 = phone(tmp_path, "f32.txt", f"/x/mnv2-float32-{F32}.tflite")
    assert main(["device", "import", str(run), i8, "--device", "小米 14"]) == 0
    err = refused(run, capsys, f32, "--device", "华为 14")
    assert "'华为 14': its CPU records would be of device:14, which holds the CPU records of 小米 14" in err
    # a phone's GPU records, then another phone named "Pixel 8 GPU" measured on its CPU: both device:pixel-8-gpu
    assert main(["device", "import", str(run), phone(tmp_path, "g.txt", f"/x/mnv2-int8-{I8}.tflite", gpu=True),
                 "--device", "Pixel 8"]) == 0
    err = refused(run, capsys, f32, "--device", "Pixel 8 GPU")
    assert "'Pixel 8 GPU': its CPU records would be of device:pixel-8-gpu, which holds the GPU records of Pixel 8" in err
    assert {(r["backend"], r["device"]["device"]) for r in device_records(run)} == {
        ("device:14", "小米 14"), ("device:pixel-8-gpu", "Pixel 8")}


def test_a_name_differing_only_in_case_and_spaces_is_the_device_already_held(run, tmp_path):  # noqa: F811
    assert main(["device", "import", str(run), phone(tmp_path, "i8.txt", f"/x/mnv2-int8-{I8}.tflite"),
                 "--device", "iPhone 13"]) == 0
    assert main(["device", "import", str(run), phone(tmp_path, "f32.txt", f"/x/mnv2-float32-{F32}.tflite"),
                 "--device", "iphone  13"]) == 0
    got = {(r["variant"], r["backend"], r["device"]["device"], r["node"]) for r in device_records(run)}
    assert got == {(I8, "device:iphone-13", "iPhone 13", "iPhone 13"), (F32, "device:iphone-13", "iPhone 13",
                                                                        "iPhone 13")}


def test_an_upper_case_cpu_row_is_the_cpu_and_a_path_is_no_accelerator(run, tmp_path, capsys):  # noqa: F811
    row = json.loads((FIXTURES / "leaderboard_measurements.jsonl").read_text().splitlines()[0])
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({**row, "accelerator": "CPU"}) + "\n")
    assert main(["device", "import", str(run), str(rows), "--device", "Pixel 9 Pro", "--threads", "1", "--model",
                 f"mobilenet_v2.tflite={I8}"]) == 0
    (got,) = device_records(run)
    assert (got["backend"], got["device"]["accelerator"]) == ("device:pixel-9-pro", "cpu")
    # said as a CPU measurement: no delegate named in capitals as if it ran off the CPU
    assert "Pixel 9 Pro, Tensor G4 (Android 15 (API 35), LiteRT 2.2.0, 1 thread), median 9.847 ms" in \
        capsys.readouterr().out
    rows.write_text(json.dumps({**row, "accelerator": "../../x"}) + "\n")
    err = refused(run, capsys, str(rows), "--device", "Pixel 9 Pro", "--threads", "1", "--model",
                  f"mobilenet_v2.tflite={F32}")
    assert "rows.jsonl, line 1: the accelerator is '../../x'" in err


# ------------------------------------------------------------------------------------------- what was given

def test_files_that_are_not_paths_are_problems_not_type_errors(run, tmp_path):  # noqa: F811
    log = phone(tmp_path, "i8.txt", f"/x/mnv2-int8-{I8}.tflite")
    for files, said in (([log, None], "FILE = nothing"), (b"/tmp/x", "FILE = b'/tmp/x'"), (5, "FILE = 5")):
        with pytest.raises(liteship.Problems, match="it takes the path of a file or session folder") as caught:
            liteship.device_import(run, files, device="Pixel 8", quiet=True)
        assert said in str(caught.value)


def test_a_kit_file_of_another_run_says_its_id_is_not_this_runs(run, tmp_path, capsys):  # noqa: F811
    err = refused(run, capsys, phone(tmp_path, "x.txt", "/x/mnv2-int8-0123456789ab.tflite"), "--device", "Pixel 8")
    assert "its file name holds the variant ID 0123456789ab, which is not a variant of this run" in err
    assert "holds no variant ID" not in err


def test_a_model_path_into_proc_is_refused_naming_the_log_and_line(run, tmp_path, capsys):  # noqa: F811
    log = phone(tmp_path, "p.txt", "/proc/self/status")
    err = refused(run, capsys, log, "--device", "Pixel 8")
    assert f"{log}, line 13: a measurement of /proc/self/status matches no variant" in err
    assert "the model file it names, /proc/self/status, is here but it is in /proc" in err


def _session(tmp_path, device: str) -> Path:
    session = tmp_path / "session"
    job = session / "cpu-00008140-001A"
    job.mkdir(parents=True)
    (session / "session.json").write_text(json.dumps({"platform": "ios", "device": device, "device_id":
                                                      "00008140-001A", "os": "iOS 18.1", "runtime_version": "2.2.0"}))
    (job / "results.pb").write_bytes(results_pb())
    (job / "stdout.txt").write_text(f"INFO: STARTING!\nINFO: Num threads: [1]\nINFO: Graph: [mnv2-int8-{I8}.tflite]\n")
    return session


def test_a_session_naming_its_iphone_by_model_identifier_takes_the_phones_name(run, tmp_path, capsys):  # noqa: F811
    session = _session(tmp_path, "iPhone17,3")
    err = refused(run, capsys, str(session), "--device", "iPhone 13")
    assert "it is of an iPhone17,3 (chip A18), and iPhone 13's chip is A15" in err
    assert main(["device", "import", str(run), str(session), "--device", "iPhone 16"]) == 0
    (got,) = device_records(run)
    # results.pb's median, 3.125 ms; the identifier kept as what the source named, the chip read from it
    assert (got["backend"], got["latency_ms"]["p50"], got["device"]["device_named"]) == ("device:iphone-16", 3.125,
                                                                                           "iPhone17,3")
    assert (got["device"]["chip"], got["device"]["chip_from"]) == ("A18", "model identifier iPhone17,3")


def test_the_ios_apps_screen_is_refused_with_the_ios_fix(run, tmp_path, capsys):  # noqa: F811
    err = refused(run, capsys, str(FIXTURES / "ios_app_screen.txt"), "--device", "iPhone 13", "--threads", "1",
                  "--model", f"ios_app_screen.txt={I8}")
    assert "the measurement has no median: iOS benchmark app gave an average (3.1502 ms) only" in err
    assert "Xcode's console" in err and "session folder" in err and "benchmark_model that prints" not in err


def test_the_how_to_page_tells_ios_users_to_keep_what_the_import_reads(run, tmp_path, capsys):  # noqa: F811
    page = (Path(__file__).parents[2] / "docs" / "how-to" / "phone-ms.md").read_text()
    ios = page[page.index("- **iOS**"):page.index("## 3. The import")]
    err = refused(run, capsys, str(FIXTURES / "ios_app_screen.txt"), "--device", "iPhone 13", "--threads", "1",
                  "--model", f"ios_app_screen.txt={I8}")
    # the page and the refusal name the same two things to keep, and the page says the screen is refused
    for keep in ("Xcode's console", "session folder"):
        assert keep in " ".join(ios.split()) and keep in err
    assert "averages only" in ios and "refuses" in ios
