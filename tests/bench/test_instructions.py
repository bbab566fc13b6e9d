"""Instruction counts per invoke under valgrind: exact, repeatable, and judged by a budget without noise."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from liteship.app.cli import main
from liteship.bench import instructions as ins

from tests.conftest import full_int8_tflite

needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")


@pytest.mark.slow  # a sweep or valgrind count of its own: 14 to 31 s
@needs_valgrind
def test_one_invoke_is_counted_exactly_and_the_same_every_time(optimized_run):
    out, variants = optimized_run
    path = out / variants["float32"]["file"]
    first = ins.count_instructions(path)
    again = ins.count_instructions(path)
    assert first["per_invoke"] == again["per_invoke"] and first["by_op"] == again["by_op"]
    # another way to the same numbers, without per-invoke dumps: callgrind's own total over 12 invokes minus its
    # total over 2 is 10 steady invokes; the total over 2 is the first invoke and one steady one
    two, twelve = _callgrind_total(path, 2), _callgrind_total(path, 12)
    assert twelve - two == 10 * first["per_invoke"]
    assert two == first["first_invoke"] + first["per_invoke"]
    assert sum(first["by_op"].values()) == first["per_invoke"]  # every function of the invoke is attributed
    assert max(first["by_op"], key=first["by_op"].get).startswith("gemm")  # small_cnn is its convolutions
    assert first["tool"]["valgrind"].startswith("valgrind-")


def _callgrind_total(path: Path, invokes: int) -> int:
    """callgrind's summary line: every instruction inside the toggled Invoke over ``invokes`` invokes."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        subprocess.run(["valgrind", "--tool=callgrind", f"--toggle-collect={ins.TOGGLE}",
                        f"--callgrind-out-file={out}", sys.executable, str(ins.CHILD), str(path), str(invokes)],
                       capture_output=True, check=True, timeout=900)
        return int(re.search(r"^summary: (\d+)$", out.read_text(), re.M).group(1))


@needs_valgrind
def test_bench_records_and_the_budget_judges_them(optimized_run, tmp_path, capsys):
    out, variants = optimized_run
    path = out / variants["int8"]["file"]
    report = tmp_path / "r.json"
    assert main(["bench", str(path), "--backends", "xnnpack,builtin", "--runs", "3", "--rounds", "1", "--instructions",
                 "--json", str(report), "--quiet"]) == 0
    import json

    records = {r["backend"]: r for r in json.loads(report.read_text())}
    assert records["xnnpack"]["instructions"]["per_invoke"] > 1_000_000 and records["builtin"]["instructions"] is None
    from liteship.bench.record import BenchRecord
    from liteship.judge.budgets import Budgets, judge

    recs = [BenchRecord.from_dict(r) for r in records.values()]
    per = records["xnnpack"]["instructions"]["per_invoke"] / 1e6
    ok, = judge(Budgets(max_instructions_m=per, require_contract=False), "v", recs, recs)
    over, = judge(Budgets(max_instructions_m=per - 1e-6, require_contract=False), "v", recs, recs)
    assert ok.passed and ok.margin == 0 and not over.passed  # judged exactly: no interval, no noise


def test_without_valgrind_asking_for_counts_is_exit_2_with_the_install(optimized_run, monkeypatch, capsys):
    monkeypatch.setattr(ins.shutil, "which", lambda name: None)
    out, variants = optimized_run
    assert main(["bench", str(out / variants["int8"]["file"]), "--instructions"]) == 2
    err = capsys.readouterr().err
    assert "Instruction counts need valgrind, which is not installed" in err and "apt-get install valgrind" in err


@pytest.mark.slow  # a sweep or valgrind count of its own: 14 to 31 s
def test_a_sweep_without_valgrind_says_so_in_the_records(tf_available, tmp_path, monkeypatch):
    import json

    monkeypatch.setattr(ins.shutil, "which", lambda name: None)
    cfg = tmp_path / "sweep.toml"
    cfg.write_text('[train]\nepochs = 1\n[[models]]\narch = "small_cnn"\nsize = 8\n[optimize]\nrecipes = ["float32"]\n'
                   '[bench]\nruns = 3\nrounds = 1\n')  # instructions unset: on only where valgrind is installed
    assert main(["sweep", "--data", "digits", "--config", str(cfg), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    row = json.loads((tmp_path / "run" / "results.jsonl").read_text().splitlines()[0])
    assert row["instructions"] is None
    assert any("valgrind is not installed (apt-get install valgrind" in note for note in row["notes"])


@needs_valgrind
@pytest.mark.slow
def test_a_toggle_symbol_that_matches_nothing_is_no_count_not_zero(optimized_run, monkeypatch):
    """After a LiteRT upgrade renames the invoke, callgrind counts nothing: that is an error, never 0."""
    out, variants = optimized_run
    monkeypatch.setattr(ins, "TOGGLE", "*NoSuchInterpreterWrapper::Invoke*")
    with pytest.raises(RuntimeError, match="not matched"):
        ins.count_instructions(out / variants["int8"]["file"])


@needs_valgrind
def test_a_failed_count_leaves_the_record_without_one_and_the_budget_unmet(optimized_run, tmp_path, monkeypatch):
    import json

    from liteship.bench.record import BenchRecord
    from liteship.judge.budgets import Budgets, judge

    out, variants = optimized_run

    def nothing_counted(path):
        raise RuntimeError("callgrind counted 0 instructions per invoke inside X: the symbol was not matched")
    monkeypatch.setattr(ins, "count_instructions", nothing_counted)
    report = tmp_path / "r.json"
    assert main(["bench", str(out / variants["int8"]["file"]), "--backends", "xnnpack", "--runs", "3", "--rounds",
                 "1", "--instructions", "--json", str(report), "--quiet"]) == 0
    (record,) = [BenchRecord.from_dict(r) for r in json.loads(report.read_text())]
    assert record.instructions is None and any("symbol was not matched" in n for n in record.notes)
    (verdict,) = judge(Budgets(max_instructions_m=1e9, require_contract=False), "v", [record], [record])
    assert not verdict.passed and "not measured" in verdict.message  # a huge limit is not passed by no count


# ---------------------------------------------------------------- a failed count is kept as its reason; the limit


def _fake_valgrind(folder: Path, body: str) -> Path:
    """A script named valgrind, first on PATH: answers --version like valgrind, then runs ``body`` (sh)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "valgrind"
    script.write_text('#!/bin/sh\nif [ "$1" = "--version" ]; then echo valgrind-3.19.0-fake; exit 0; fi\n' + body)
    script.chmod(0o755)
    return folder


@pytest.fixture(scope="module")
def int8_input(tmp_path_factory):
    """A tiny model with an int8 input (scale 1/255, zero point -128) and its multiply-adds counted by hand:
    Conv2D(4, 3x3, valid) on 8x8x3 is 6*6*4 outputs x 3*3*3 = 3,888, Dense(3) on 4 values is 12: 3,900."""
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("tf_keras")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    path = tmp_path_factory.mktemp("int8_input") / "int8_input.tflite"
    path.write_bytes(full_int8_tflite(model, 8, tf.int8))
    return path


def test_the_time_limit_grows_with_the_multiply_adds_by_hand(int8_input):
    assert ins.model_macs(int8_input) == 6 * 6 * 4 * 3 * 3 * 3 + 3 * 4  # 3,900, counted by hand
    assert ins.time_limit(0) == ins.time_limit(3_900) == 900  # a small model: the floor
    # 3 x 1.2e-7 s per multiply-add x 3 invokes: ResNet-50's 3.9 G multiply-adds get 4,212 s (valgrind took 1,351 s
    # on this machine), InceptionV3's 5.7 G 6,156 s (it took 1,260 s), MobileNetV2's 0.3 G the floor
    assert ins.time_limit(3.9e9) == pytest.approx(4212) and ins.time_limit(3.9e9) > 1351
    assert ins.time_limit(5.7e9) == pytest.approx(6156) and ins.time_limit(5.7e9) > 1260
    assert ins.time_limit(0.3e9) == 900


def test_an_int8_input_is_fed_its_mid_grey_not_128(int8_input):
    from liteship.bench.instructions_child import mid_grey

    # by hand: 0.5 / scale + zero point, clipped to the dtype
    assert mid_grey({"dtype": np.int8, "quantization": (1 / 255, -128)}) == 0
    assert mid_grey({"dtype": np.uint8, "quantization": (1 / 255, 0)}) == 128
    assert mid_grey({"dtype": np.int8, "quantization": (0.02, 5)}) == 30
    assert mid_grey({"dtype": np.int8, "quantization": (0.001, 100)}) == 127
    assert mid_grey({"dtype": np.float32, "quantization": (0.0, 0)}) == 0.5
    # the child as valgrind runs it, without valgrind: 128 does not fit an int8 input (OverflowError before)
    proc = subprocess.run([sys.executable, str(ins.CHILD), str(int8_input), "2"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-500:]


@needs_valgrind
@pytest.mark.slow  # one valgrind count: about 10 s
def test_a_model_with_an_int8_input_is_counted(int8_input):
    counted = ins.count_instructions(int8_input)
    assert counted["per_invoke"] > 0 and sum(counted["by_op"].values()) == counted["per_invoke"]


def test_valgrind_exiting_1_is_a_count_kept_as_its_reason(int8_input, tmp_path, monkeypatch):
    from liteship.bench import count_target

    bin_dir = _fake_valgrind(tmp_path / "bin", 'echo "fake valgrind: cannot start the tool" >&2\nexit 1\n')
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    found = count_target(int8_input, ["x86"], None, False)
    assert found["x86"].startswith("instructions not counted: valgrind exited with code 1")
    assert "cannot start the tool" in found["x86"]


def test_valgrind_past_its_time_limit_is_a_count_kept_as_its_reason(int8_input, tmp_path, monkeypatch):
    import time

    from liteship.bench import count_target

    bin_dir = _fake_valgrind(tmp_path / "bin", "exec sleep 120\n")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setattr(ins, "LIMIT_FLOOR_S", 1.5)
    started = time.monotonic()
    found = count_target(int8_input, ["x86"], None, False)
    assert time.monotonic() - started < 30  # stopped at its limit, not waited for
    assert found["x86"].startswith("instructions not counted: valgrind took over its limit of 2 s")


def test_a_failed_count_is_typed_on_the_record_it_was_asked_of(int8_input, tmp_path, monkeypatch):
    """valgrind exits 1: the reference backend's one-thread record says so in ``count_failed`` (and its note), the
    finding is decided from that field; another backend's record, and a bench that did not ask, have none."""
    from liteship.bench import BenchOptions, bench_target, Target
    from liteship.judge.findings import counts_failed

    bin_dir = _fake_valgrind(tmp_path / "bin", 'echo "fake valgrind: cannot start the tool" >&2\nexit 1\n')
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    target = Target(int8_input, "v1", recipe="int8", group="m")
    quick = dict(backends=("xnnpack", "builtin"), runs=2, warmup=0, rounds=1, min_round_ms=0.0)
    records = {r.backend: r for r in bench_target(target, BenchOptions(instructions=True, **quick))[0]}
    failed = records["xnnpack"].count_failed
    assert failed.startswith("instructions not counted: valgrind exited with code 1") and failed in records["xnnpack"].notes
    assert records["xnnpack"].instructions is None and records["builtin"].count_failed is None
    (f,) = counts_failed(list(records.values()))
    assert f.variants == ("v1",) and "no x86 instruction count" in f.message
    unasked = bench_target(target, BenchOptions(**quick))[0]
    assert [r.count_failed for r in unasked] == [None, None] and counts_failed(unasked) == []
