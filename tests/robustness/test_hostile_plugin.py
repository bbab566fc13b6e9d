"""The pytest plugin's hostile inputs (issue 32.1), each a real `pytest` process.

An option given to the plugin means a CI gate was asked for: an empty value, a missing run directory or budgets
file, an unreadable budgets file or baseline must stop pytest with its usage error (exit 4) and liteship's
message, never collect nothing and pass, never a collection error with liteship's stack. Every case checks the
exit code, the message's first line, no traceback, a timeout, and that no file in the folder changed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.robustness.test_not_ours import INTERNALS, snapshot

USER_TEST = "def test_users_own():\n    assert True\n"  # the suite beside the gate: it passes whatever liteship does


def _deep(opening: str, closing: str) -> str:
    return "[budgets]\nmax_size_kb = 500\nx = " + opening * 6000 + closing * 6000 + "\n"


BUDGETS = {  # name -> the budgets file's text
    "good": "[budgets]\nmax_size_kb = 500\n",
    "syntax": "[budgets]\nmax_size_kb = = 500\n",
    "no_table": "[compare]\nmax_size_increase = 0.1\n",
    "bad_value": '[budgets]\nmax_size_kb = "big"\n',
    "unknown_key": "[budgets]\nmax_size_kbb = 500\n",
    "not_a_table": "budgets = 5\n",
    "deep_arrays": _deep("[", "]"),
    "deep_tables": _deep("{a = ", "}"),
    "binary": "\x00\x01\x02\xff",
}

# id -> (the plugin's options, with RUN, BUDGETS and BASE standing for the files below; what the first line says)
CASES = {
    "empty_run": (["--liteship-run", "", "--liteship-budgets", "BUDGETS:good"], "--liteship-run is empty"),
    "blank_run": (["--liteship-run", "  ", "--liteship-budgets", "BUDGETS:good"], "--liteship-run is empty"),
    "empty_run_invalid_budgets": (["--liteship-run", "", "--liteship-budgets", "BUDGETS:syntax"],
                                  "--liteship-run is empty"),
    "empty_run_alone": (["--liteship-run="], "--liteship-run is empty"),
    "empty_budgets": (["--liteship-run", "RUN", "--liteship-budgets", ""], "--liteship-budgets is empty"),
    "empty_baseline": (["--liteship-run", "RUN", "--liteship-baseline", ""], "--liteship-baseline is empty"),
    "budgets_without_run": (["--liteship-budgets", "BUDGETS:good"], "--liteship-budgets given without"),
    "baseline_without_run": (["--liteship-baseline", "RUN"], "--liteship-baseline given without"),
    "missing_run": (["--liteship-run", "nowhere", "--liteship-budgets", "BUDGETS:good"],
                    "there is no such run directory"),
    "run_is_a_file": (["--liteship-run", "BUDGETS:good"], "it is a file, not a run directory"),
    "run_without_results": (["--liteship-run", "EMPTY"], "it has no results.jsonl"),
    "missing_budgets": (["--liteship-run", "RUN", "--liteship-budgets", "missing.toml"], "cannot be read"),
    "budgets_is_a_folder": (["--liteship-run", "RUN", "--liteship-budgets", "EMPTY"], "EMPTY"),
    **{f"budgets_{name}": (["--liteship-run", "RUN", "--liteship-budgets", f"BUDGETS:{name}"], f"{name}.toml")
       for name in BUDGETS if name != "good"},
    "missing_baseline": (["--liteship-run", "RUN", "--liteship-baseline", "gone.jsonl"], "do not exist"),
    "garbage_baseline": (["--liteship-run", "RUN", "--liteship-baseline", "BUDGETS:binary"],
                         "is not a liteship bench record"),
    "empty_baseline_file": (["--liteship-run", "RUN", "--liteship-baseline", "BUDGETS:empty_file"], "empty_file"),
    "garbage_results": (["--liteship-run", "RUN:garbage", "--liteship-budgets", "BUDGETS:good"],
                        "is not a liteship bench record"),
    "empty_results": (["--liteship-run", "RUN"], "results.jsonl"),
    "budgets_in_proc": (["--liteship-run", "RUN", "--liteship-budgets", "/proc/kmsg"], "It is in /proc"),
    "baseline_in_proc": (["--liteship-run", "RUN", "--liteship-baseline", "/proc/kmsg"], "It is in /proc"),
    "run_in_proc": (["--liteship-run", "/proc/self", "--liteship-budgets", "BUDGETS:good"], "it has no results.jsonl"),
    "baseline_thresholds_deep": (["--liteship-run", "RUN", "--liteship-baseline", "RUN", "--liteship-budgets",
                                  "BUDGETS:deep_tables"], "deep_tables.toml"),
}


def _run_dir(path):
    """A run directory as the plugin's checks see it (marked, with results): each case is refused before its
    records are read, so none needs a real sweep."""
    from liteship.rundir import MARKER, RESULTS

    path.mkdir()
    (path / MARKER).write_text("{}\n")
    (path / RESULTS).write_text("")
    return path


def _arg(token: str, tmp_path, run) -> str:
    if token == "RUN":
        return str(run)
    if token == "RUN:garbage":
        (run / "results.jsonl").write_text("garbage\n")
        return str(run)
    if token == "EMPTY":
        (tmp_path / "EMPTY").mkdir(exist_ok=True)
        return "EMPTY"
    if token.startswith("BUDGETS:"):
        name = token.split(":", 1)[1]
        path = tmp_path / f"{name}.toml"
        path.write_bytes(BUDGETS.get(name, "").encode("utf-8", "surrogateescape"))
        return path.name
    return token


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_gate_asked_for_never_silently_vanishes(case, tmp_path):
    options, first = CASES[case]
    run = _run_dir(tmp_path / "run")
    (tmp_path / "test_users.py").write_text(USER_TEST)
    args = [_arg(token, tmp_path, run) for token in options]
    before = snapshot(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 4, proc.stdout[-1500:] + proc.stderr[-1500:]
    assert "passed" not in proc.stdout
    assert proc.stderr.strip().splitlines()[0].startswith("ERROR: liteship gate: "), proc.stderr
    assert first in proc.stderr.split("\n\n")[0], proc.stderr  # in liteship's message, however many lines
    assert not any(word in proc.stdout + proc.stderr for word in INTERNALS), proc.stdout + proc.stderr
    assert snapshot(tmp_path) == before


def test_a_good_gate_still_runs_its_items(run_copy, tmp_path):
    """The checks refuse only what is wrong: the same run and budgets give their items (a control for the above)."""
    budgets = tmp_path / "budgets.toml"
    budgets.write_text(BUDGETS["good"])
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--liteship-run",
                           str(run_copy), "--liteship-budgets", str(budgets)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0 and "passed" in proc.stdout, proc.stdout[-2000:]
    assert "test_budget" in proc.stdout or "6 passed" in proc.stdout


def _pytest(tmp_path, *args, timeout: float = 300):
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *map(str, args)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    assert not any(word in proc.stdout + proc.stderr for word in INTERNALS), proc.stdout + proc.stderr
    return proc


# id -> the baseline given for the run: the run itself, a link to it, a hard link to its results (one file)
ITSELF = {
    "same_path": lambda run, tmp: run,
    "link_to_run": lambda run, tmp: Path(os.symlink(run, tmp / "base") or tmp / "base"),
    "hard_link_to_results": lambda run, tmp: Path(os.link(run / "results.jsonl", tmp / "main.jsonl")
                                                  or tmp / "main.jsonl"),
}


@pytest.mark.parametrize("case", sorted(ITSELF))
def test_a_run_is_not_its_own_baseline(run_copy, tmp_path, case):
    """`liteship compare RUN RUN` is refused; --liteship-baseline naming the run (however) is pytest's usage error."""
    base = ITSELF[case](run_copy, tmp_path)
    before = snapshot(tmp_path)
    proc = _pytest(tmp_path, "--liteship-run", run_copy, "--liteship-baseline", base)
    assert proc.returncode == 4, proc.stdout[-1500:] + proc.stderr[-1500:]
    assert proc.stderr.strip().splitlines()[0].startswith(f"ERROR: liteship gate: --liteship-baseline {base} is the "
                                                          f"run --liteship-run {run_copy} gates. "), proc.stderr
    assert "comparing a run with itself proves nothing" in proc.stderr, proc.stderr
    assert "passed" not in proc.stdout
    assert snapshot(tmp_path) == before


def test_the_plugin_does_not_gate_a_run_being_written(run_copy, tmp_path):
    from tests.robustness.test_run_state_round2 import held_by_a_sweep

    with held_by_a_sweep(run_copy) as pid:
        before = snapshot(tmp_path)
        proc = _pytest(tmp_path, "--liteship-run", run_copy, timeout=120)
        assert snapshot(tmp_path) == before
    assert proc.returncode == 4, proc.stdout[-1500:] + proc.stderr[-1500:]
    assert proc.stderr.strip().splitlines()[0].startswith(
        f"ERROR: liteship gate: {run_copy} is being written by `liteship sweep` (PID {pid} on "), proc.stderr
    assert "passed" not in proc.stdout and "failed" not in proc.stdout, proc.stdout
