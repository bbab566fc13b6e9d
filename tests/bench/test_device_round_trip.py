"""The device round trip, kit -> phone -> import -> gate, on a run directory made by hand (no training).

The phone's output is written here in benchmark_model's stdout format (the lines of
tests/bench/device_fixtures/benchmark_model_stdout.txt, microseconds), so every number the records and verdicts
should hold is worked out by hand from the text below, not read back from liteship.
"""

import hashlib
import json
from pathlib import Path

import pytest

from liteship.app.cli import main
from tests.judge.test_findings import FLOAT, rec

F32, I8, OLD = "aaaaaaaaaaa1", "bbbbbbbbbbb2", "ccccccccccc3"  # current float32, current int8, a replaced int8


def _variant(run: Path, vid: str, recipe: str) -> bytes:
    data = f"TFL3 stand-in model {recipe} {vid}".encode()
    (run / "variants" / f"{vid}.tflite").write_bytes(data)
    (run / "variants" / f"{vid}.json").write_text(json.dumps({
        "id": vid, "model": "mnv2", "recipe": recipe, "file": f"variants/{vid}.tflite", "status": "ok",
        "sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data), "gzip_bytes": len(data)}))
    return data


def _x86(vid: str, recipe: str, correct: str, data: bytes):
    d = rec(recipe, correct).to_dict()
    return json.dumps({**d, "variant": vid, "sha256": hashlib.sha256(data).hexdigest()}, sort_keys=True)


@pytest.fixture
def run(tmp_path) -> Path:
    run = tmp_path / "run"
    (run / "variants").mkdir(parents=True)
    (run / ".liteship-run").write_text("{}\n")
    data = tmp_path / "photos"
    (data / "a").mkdir(parents=True)
    (data / "a" / "1.png").write_bytes(b"png")
    (run / "run.json").write_text(json.dumps({"command": "sweep", "data": str(data)}))
    made = {vid: _variant(run, vid, recipe) for vid, recipe in ((F32, "float32"), (I8, "int8"), (OLD, "int8"))}
    (run / "current_variants.json").write_text(json.dumps({"mnv2": {"float32": F32, "int8": I8}}))
    (run / "results.jsonl").write_text(_x86(F32, "float32", FLOAT, made[F32]) + "\n" +
                                       _x86(I8, "int8", FLOAT, made[I8]) + "\n")
    return run


def stdout(graph: str, median_us: int, threads: int = 1, runs: int = 50) -> str:
    """benchmark_model's stdout (2.x): the warm-up phase, then the timed one, in microseconds."""
    m = median_us
    return (f"INFO: STARTING!\nINFO: Num threads: [{threads}]\nINFO: Graph: [{graph}]\nINFO: Use xnnpack: [1]\n"
            f"INFO: Loaded model {graph}\nINFO: Initialized session in 12.834ms.\n"
            "INFO: Running benchmark for at least 1 iterations and at least 0.5 seconds but terminate if exceeding "
            "150 seconds.\n"
            f"INFO: count=3 first={m + 900} curr={m} min={m - 50} max={m + 900} avg={m + 100} std=40 p5={m - 50} "
            f"median={m} p95={m + 900}\n\n"
            "INFO: Running benchmark for at least 50 iterations and at least 1 seconds but terminate if exceeding "
            "150 seconds.\n"
            f"INFO: count={runs} first={m + 10} curr={m} min={m - 100} max={m + 400} avg={m + 20} std=61 "
            f"p5={m - 80} median={m} p95={m + 300}\n\n"
            f"INFO: Inference timings in us: Init: 12834, First inference: {m + 900}, Warmup (avg): {m + 100}, "
            f"Inference (avg): {m + 20}\n")


def _kit(run: Path, tmp_path: Path) -> Path:
    assert main(["device", "kit", str(run), "--out", str(tmp_path / "kit")]) == 0
    return tmp_path / "kit"


def test_the_kit_names_each_current_variant_by_its_id_with_the_benchmark_flags(run, tmp_path):
    kit = _kit(run, tmp_path)
    # by hand: the two current variants of mnv2 (not the replaced one), <model>-<recipe>-<ID>.tflite, their bytes
    assert sorted(p.name for p in (kit / "models").iterdir()) == [f"mnv2-float32-{F32}.tflite",
                                                                  f"mnv2-int8-{I8}.tflite"]
    assert (kit / "models" / f"mnv2-int8-{I8}.tflite").read_bytes() == (run / "variants" / f"{I8}.tflite").read_bytes()
    # BenchOptions' defaults, read by hand: 1 thread, 50 runs in each of 10 rounds, 5 warm-up runs
    params = json.loads((kit / "ios" / f"mnv2-int8-{I8}" / "benchmark_params.json").read_text())
    assert params == {"benchmark_name": f"mnv2-int8-{I8}", "graph": f"mnv2-int8-{I8}.tflite", "num_threads": "1",
                      "num_runs": "500", "warmup_runs": "5"}
    adb = (kit / "android_adb.sh").read_text()
    assert f'--graph=$DEST/mnv2-int8-{I8}.tflite --num_threads=1 --num_runs=500 --warmup_runs=5"' in adb
    assert f'./run_ios.sh "$PHONE" "$KIT/models/mnv2-float32-{F32}.tflite"' in (kit / "run_ios_list.sh").read_text()
    assert "liteship device import" in (kit / "README.md").read_text()
    # a second kit into the same folder replaces it (it is liteship's); nothing is written beside it
    before = sorted(p.name for p in tmp_path.iterdir())
    _kit(run, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("where", ["run", "data", "inside", "another run"])
def test_the_kit_is_never_written_over_what_it_reads(run, tmp_path, capsys, where):
    other = tmp_path / "other"
    other.mkdir()
    (other / ".liteship-run").write_text("{}\n")  # another run directory liteship made, with its results
    (other / "results.jsonl").write_text("")
    out = {"run": run, "data": tmp_path / "photos", "inside": run / "kit", "another run": other}[where]
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert main(["device", "kit", str(run), "--out", str(out)]) == 2
    assert "--out" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def _phone(tmp_path: Path, name: str, graph: str, median_us: int) -> Path:
    path = tmp_path / "phone" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(stdout(graph, median_us))
    return path


def test_round_trip_kit_phone_import_gate(run, tmp_path, capsys):
    kit = _kit(run, tmp_path)
    names = sorted(p.name for p in (kit / "models").iterdir())
    f32 = _phone(tmp_path, "f32.txt", f"/data/local/tmp/liteship/{names[0]}", 3100)
    i8 = _phone(tmp_path, "i8.txt", f"/data/local/tmp/liteship/{names[1]}", 1850)
    assert main(["device", "import", str(run), str(f32), str(i8), "--device", "iPhone 13", "--chip", "A15"]) == 0
    lines = (run / "results.jsonl").read_text().splitlines()
    device = {r["variant"]: r for r in map(json.loads, lines) if r["backend"] == "device:iphone-13"}
    assert set(device) == {F32, I8} and len(lines) == 4
    lat = device[F32]["latency_ms"]
    # the timed phase's line, by hand: median 3100 us, average 3120, min 3000, std 61, 50 runs; no p90, p99, interval
    assert (lat["p50"], lat["mean"], lat["min"], lat["std"], lat["runs"]) == (3.1, 3.12, 3.0, 0.061, 50)
    assert (lat["p90"], lat["p99"], lat["ci_low"], lat["rounds"]) == (None, None, None, None)
    d = device[F32]["device"]
    assert d["statistics"] == {"p50": "median", "p90": None, "p99": None} and d["threads"] == 1
    assert d["source_sha256"] == hashlib.sha256(f32.read_bytes()).hexdigest() and d["matched_by"] == "file name"
    assert d["chip"] == "A15" and d["measured"]["p95_ms"] == 3.4
    out = capsys.readouterr().out
    assert "measured on an iPhone 13, A15 (LiteRT version not given, 1 thread), median 3.100 ms over 50 runs" in out

    # importing the same files again adds nothing: the same lines, byte for byte
    before = (run / "results.jsonl").read_bytes()
    assert main(["device", "import", str(run), str(f32), str(i8), "--device", "iPhone 13", "--chip", "A15"]) == 0
    assert (run / "results.jsonl").read_bytes() == before

    # gate on the phone's own median: float32 3.100 > 2.5 (margin -0.600), int8 1.850 <= 2.5 (margin +0.650)
    (tmp_path / "b.toml").write_text('[budgets]\nbackend = "device:iphone-13"\nmax_latency_ms = 2.5\n')
    capsys.readouterr()
    main(["gate", str(run), "--budgets", str(tmp_path / "b.toml")])
    out = capsys.readouterr().out
    assert "max_latency_ms (p50, device:iphone-13, 1 thr) FAILED: 3.100 ms > 2.500 ms (margin -0.600 ms)" in out
    assert "max_latency_ms (p50, device:iphone-13, 1 thr) ok: 1.850 ms <= 2.500 ms (margin +0.650 ms)" in out
    assert "not re-measured" in out and "1 of 2 variants pass" in out


def test_a_file_with_no_id_is_matched_by_model_flag_or_by_the_file_s_sha256(run, tmp_path, capsys):
    plain = _phone(tmp_path, "plain.txt", "/data/local/tmp/model.tflite", 2000)
    assert main(["device", "import", str(run), str(plain), "--device", "Pixel 8", "--model",
                 f"model.tflite={I8}"]) == 0
    # the model file the log names is here, beside the log, with the float32 variant's bytes: its sha256 says which
    (tmp_path / "phone" / "copy.tflite").write_bytes((run / "variants" / f"{F32}.tflite").read_bytes())
    by_sha = _phone(tmp_path, "copy.txt", "/sdcard/copy.tflite", 2500)
    assert main(["device", "import", str(run), str(by_sha), "--device", "Pixel 8"]) == 0
    got = {r["variant"]: r["device"]["matched_by"] for r in map(json.loads, (run / "results.jsonl").read_text()
                                                                   .splitlines()) if r["backend"] == "device:pixel-8"}
    assert got == {I8: "--model", F32: "sha256"}


def test_refusals_name_the_file_and_write_nothing(run, tmp_path, capsys):
    good = _phone(tmp_path, "good.txt", f"/x/mnv2-int8-{I8}.tflite", 1850)
    nothing = _phone(tmp_path, "nothing.txt", "/x/mobilenet.tflite", 1850)
    stale = _phone(tmp_path, "stale.txt", f"/x/mnv2-int8-{OLD}.tflite", 1850)
    cut = tmp_path / "phone" / "cut.txt"
    cut.write_text("INFO: STARTING!\nINFO: Num threads: [1]\nINFO: count=50 first=10 curr=9 min=8 max=notanumber\n")
    before = (run / "results.jsonl").read_bytes()
    code = main(["device", "import", str(run), str(good), str(nothing), str(stale), str(cut), "--device", "iPhone 13"])
    err = capsys.readouterr().err
    assert code == 2 and (run / "results.jsonl").read_bytes() == before and not (run / "results.csv").exists()
    assert f"{nothing}, line 13: a measurement of /x/mobilenet.tflite matches no variant" in err
    assert f"is of variant {OLD}, which is not current" in err and "replaced by a variant" in err
    assert f"{cut}, line 3" in err
    assert "good.txt" not in err  # the good file is not refused, and not imported either: nothing is written



def test_a_device_backend_is_made_from_its_name_judged_but_never_run_here():
    from liteship.bench import backends, parse_backends
    from liteship.config import Problems, from_mapping
    from liteship.judge import Budgets

    made = backends.get("device:iphone-13-gpu")
    assert made.times and not made.kind.here and made.kind.per_thread  # timed, on the phone, a record per thread count
    assert "device:iphone-13" not in backends.names() and "device:iphone-13" not in parse_backends("all")
    with pytest.raises(Problems, match="device:iphone-13: a device's own measurements"):
        parse_backends("xnnpack,device:iphone-13")
    assert from_mapping(Budgets, {"backend": "device:iphone-13"}, "[budgets]").backend == "device:iphone-13"
    with pytest.raises(Problems, match="device:iPhone 13"):  # names are the slug: lower case, dashes
        from_mapping(Budgets, {"backend": "device:iPhone 13"}, "[budgets]")


LEADERBOARD = Path(__file__).parent / "device_fixtures" / "leaderboard_measurements.jsonl"


def test_a_leaderboard_row_says_no_threads_so_the_import_is_told(run, tmp_path, capsys):
    argv = ["device", "import", str(run), str(LEADERBOARD), "--device", "Pixel 9 Pro", "--model",
            f"mobilenet_v2.tflite={I8}"]
    assert main(argv) == 2 and f"{LEADERBOARD}, line 1: the measurement does not say how many threads ran" in \
        capsys.readouterr().err
    assert main(argv + ["--threads", "1"]) == 0
    (got,) = [r for r in map(json.loads, (run / "results.jsonl").read_text().splitlines())
              if r["backend"] == "device:pixel-9-pro"]
    # line 1 of the fixture, by hand: median 9.847 ms over 101 runs, Android 15 (API 35), LiteRT 2.2.0
    assert (got["variant"], got["threads"], got["latency_ms"]["p50"], got["latency_ms"]["runs"]) == (I8, 1, 9.847, 101)
    assert (got["device"]["os"], got["device"]["runtime_version"]) == ("Android 15 (API 35)", "2.2.0")
    # a log that says its own threads is never overridden
    log = _phone(tmp_path, "one.txt", f"/x/mnv2-int8-{I8}.tflite", 1850)
    assert main(["device", "import", str(run), str(log), "--device", "Pixel 9 Pro", "--threads", "4"]) == 2
    assert "it ran on 1 thread(s), --threads says 4" in capsys.readouterr().err


def test_one_file_named_twice_is_one_record_two_measurements_of_one_record_are_refused(run, tmp_path, capsys):
    a = _phone(tmp_path, "a.txt", f"/x/mnv2-int8-{I8}.tflite", 1850)
    b = _phone(tmp_path, "b.txt", f"/x/mnv2-int8-{I8}.tflite", 1900)
    before = (run / "results.jsonl").read_bytes()
    assert main(["device", "import", str(run), str(a), str(b), "--device", "iPhone 13"]) == 2
    assert f"{b}, line 13: it measures {I8} on device:iphone-13 at 1 thread(s) again ({a}, line 13 did too)" in \
        capsys.readouterr().err
    assert (run / "results.jsonl").read_bytes() == before
    assert main(["device", "import", str(run), str(a), str(a), "--device", "iPhone 13"]) == 0
    assert len((run / "results.jsonl").read_text().splitlines()) == 3  # two x86 records and one of the phone


def test_the_python_api_writes_the_same_kit_and_refuses_the_same_outs(run, tmp_path):
    import liteship

    out = liteship.device_kit(run, tmp_path / "kit", quiet=True)
    assert sorted(p.name for p in (out / "models").iterdir()) == [f"mnv2-float32-{F32}.tflite",
                                                                 f"mnv2-int8-{I8}.tflite"]
    with pytest.raises(liteship.Problems, match="out="):  # said in Python's words: out=, not --out
        liteship.device_kit(run, run, quiet=True)
