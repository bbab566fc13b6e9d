"""The run handle (``liteship.open_run``, the ``Run`` a sweep returns) on runs that cannot be read now, and after a
pick where nothing passes: a notebook still shows the object, with what is wrong written in it, and the properties
raise; what it decides is what ``report.html`` says.

Each run is built by hand from the judge tests' records (three variants of one model, the same 150 of 200 images
right, so under the default budgets every one passes and the smallest, int8 at 100 KB, ships), in well under a
second each: no TensorFlow.
"""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

import liteship
from tests.judge.test_findings import FLOAT, rec
from tests.report.test_notebook_html import _parse, _words

SIZES = {"float32": 400_000, "float16": 200_000, "int8": 100_000}
SHIPS = "mnv2-int8"  # every variant passes the default budgets with the same top-1: the tie goes to the smallest


def _run(path: Path) -> Path:
    from liteship.bench.results import write_results
    from liteship.rundir import claim

    out = claim(path)
    write_results(out, [replace(rec(recipe, FLOAT, size=size), agreement=1.0) for recipe, size in SIZES.items()])
    return out


def _decision_text(page: str) -> str:
    """The words of the decision section of report.html or of a notebook fragment."""
    return _words(_parse(page).text["decision"])


def _raises_everywhere(run, match: str, names=("records", "variants", "decision", "findings")) -> None:
    for name in names:
        with pytest.raises(liteship.LiteshipError, match=match):
            getattr(run, name)


def test_the_hand_built_run_ships_its_smallest_variant(tmp_path):
    run = liteship.open_run(_run(tmp_path / "ok"))
    assert run.decision.variant == SHIPS and run.decision.made_by == "sweep"
    assert sorted(run.variants) == sorted(f"mnv2-{r}" for r in SIZES)


@pytest.mark.parametrize("damage", ["cut results", "bad manifest"])
def test_a_damaged_run_shows_the_problem_and_its_properties_raise(tmp_path, damage):
    path = _run(tmp_path / "run")
    if damage == "cut results":
        text = (path / "results.jsonl").read_text()
        (path / "results.jsonl").write_text(text[: len(text) - 200])  # the last record cut in the middle
        named, match = "results.jsonl line 3", "results.jsonl"
    else:
        (path / "release").mkdir()
        (path / "release" / "manifest.json").write_text('{"variant": ')
        named, match = "manifest.json is damaged", "manifest.json"
    run = liteship.open_run(path)
    shown = repr(run)
    assert shown.startswith(f"<Run {path}: this run cannot be read: ") and named in shown, shown
    assert "Fix" not in shown and "restore" in shown  # what is wrong; what to do
    said = _decision_text(run._repr_html_())
    assert "this run cannot be read" in said and named in said, said
    if damage == "cut results":
        _raises_everywhere(run, match)
    else:  # the records are whole: only what reads the release raises
        assert len(run.records) == 3
        _raises_everywhere(run, match, ("decision", "findings", "release"))


def test_a_manifest_without_picks_fields_shows_itself(tmp_path):
    path = _run(tmp_path / "run")
    (path / "release").mkdir()
    (path / "release" / "manifest.json").write_text("{}")  # an object, without a model or labels
    release = liteship.open_run(path).release
    assert "cannot be read" in repr(release) and "cannot be read" in _decision_text(release._repr_html_())


def test_a_run_opened_by_a_relative_path_survives_a_chdir_and_a_move_is_said(tmp_path, monkeypatch):
    _run(tmp_path / "r_mv")
    monkeypatch.chdir(tmp_path)
    run = liteship.open_run("r_mv")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert run.decision.variant == SHIPS and len(run.records) == 3  # the folder opened, not ./r_mv here
    os.rename(tmp_path / "r_mv", tmp_path / "r_mv2")
    assert repr(run) == f"<Run {tmp_path / 'r_mv'}: this run's folder no longer exists (moved or deleted?)>"
    assert "no longer exists (moved or deleted?)" in _decision_text(run._repr_html_())
    _raises_everywhere(run, "no longer exists")
    with pytest.raises(liteship.LiteshipError, match="no longer exists"):
        run.release  # noqa: B018
    moved = liteship.open_run(tmp_path / "r_mv2")
    (tmp_path / "r_mv2" / ".liteship-run").unlink()
    assert "no longer holds .liteship-run (moved or deleted?)" in repr(moved)
    shutil.rmtree(tmp_path / "r_mv2")
    assert "no longer exists" in repr(moved) and "no longer exists" in _decision_text(moved._repr_html_())


def test_after_a_pick_where_nothing_passes_the_run_says_what_report_html_says(tmp_path):
    from liteship.workflow.reports import write_reports

    path = _run(tmp_path / "run")
    run = liteship.open_run(path)
    liteship.pick(run, budgets=liteship.Budgets(max_size_kb=1), quiet=True)  # 1 KB: no variant is that small
    assert not (path / "release").exists()
    report = _decision_text((path / "report.html").read_text())
    assert "No variant passes every budget (3 judged)" in report, report
    for handle in (run, liteship.open_run(path)):
        assert handle.decision.variant is None and handle.decision.made_by == "pick"
        assert "nothing passes" in repr(handle)
        assert _decision_text(handle._repr_html_()) == report
    # A later report under the default budgets (a sweep writes one): the pick no longer says what the report says.
    write_reports(path, run.records)
    assert SHIPS in _decision_text((path / "report.html").read_text())
    assert run.decision.variant == SHIPS and run.decision.made_by == "sweep"
    assert _decision_text(run._repr_html_()) == _decision_text((path / "report.html").read_text())


def test_a_damaged_pick_json_is_said(tmp_path):
    path = _run(tmp_path / "run")
    liteship.pick(path, budgets=liteship.Budgets(max_size_kb=1), quiet=True)
    (path / "pick.json").write_text("[1, 2]")
    run = liteship.open_run(path)
    assert "pick.json is damaged" in repr(run) and "liteship pick" in repr(run)
    assert len(run.records) == 3
    _raises_everywhere(run, "pick.json", ("decision", "findings"))


HOLD = """
import sys
from liteship.rundir import exclusive
with exclusive(sys.argv[1], "sweep"):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_run_being_written_shows_no_decision_and_refuses_as_gate_does(tmp_path):
    path = _run(tmp_path / "run")
    run = liteship.open_run(path)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        writing = f"being written by `liteship sweep` (PID {holder.pid} on "
        shown = repr(run)
        assert writing in shown and shown.endswith("the decision is shown when it ends>") and SHIPS not in shown
        said = _decision_text(run._repr_html_())
        assert writing.replace("`", "") in said and "the decision is shown when it ends" in said and "Ship" not in said
        with pytest.raises(liteship.LiteshipError) as gate_refusal:
            liteship.gate(run)
        for name in ("records", "decision", "findings", "release"):
            with pytest.raises(liteship.LiteshipError) as caught:
                getattr(run, name)
            assert caught.value.what == gate_refusal.value.what, name  # the same run, the same writer named
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert run.decision.variant == SHIPS  # it ended: the decision is shown


def test_a_run_with_no_records_says_there_is_nothing_to_plot(tmp_path):
    pytest.importorskip("matplotlib")
    from liteship.rundir import claim

    page = liteship.open_run(claim(tmp_path / "empty"))._repr_html_()
    plots = _words(_parse(page).text["plots"])
    assert "nothing to plot yet" in plots and "matplotlib" not in plots, plots


def test_open_run_says_its_fix_in_python(tmp_path):
    with pytest.raises(liteship.LiteshipError) as caught:
        liteship.open_run(tmp_path / "nothing")
    assert "--out" not in caught.value.fix and "liteship.sweep(data, out)" in caught.value.fix


def test_help_shows_how_to_call_optimize_and_bench_without_importing_the_workflow_first():
    code = textwrap.dedent("""
        import inspect, pydoc, sys
        import liteship.optimize, liteship.bench
        print(any(m.startswith("liteship.workflow") for m in sys.modules))
        for f in (liteship.optimize, liteship.bench):
            print(list(inspect.signature(f).parameters))
        page = pydoc.render_doc(liteship.optimize, renderer=pydoc.plaintext)
        print(page.index("Make ``.tflite`` variants") < page.index("optimize: a float model -> .tflite variants"))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["False", "['run', 'recipes', 'config', 'settings']",
                                        "['target', 'options', 'settings']", "True"]
    from liteship.workflow import api

    assert inspect.signature(liteship.optimize) == inspect.signature(api.optimize)


@pytest.mark.parametrize("value", [None, 5, b"runs/demo"])
def test_open_run_of_what_is_not_a_path_is_a_problem_not_a_type_error(value):
    """Written by hand: the one problem names the argument as Python does, and no TypeError escapes."""
    import liteship

    with pytest.raises(liteship.Problems) as caught:
        liteship.open_run(value)
    assert [p.where for p in caught.value.problems] == ["path"]
    assert f"path={value!r}: it takes the path of a run directory" in str(caught.value)
