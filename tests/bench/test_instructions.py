"""Instruction counts per invoke under valgrind: exact, repeatable, and judged by a budget without noise."""

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from liteship.app.cli import main
from liteship.bench import instructions as ins

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
