"""Every function that writes a run directory holds it while it writes, whoever calls it (issue 33: "a Python
caller cannot skip them by calling a lower function by accident").

A second process holds the run as a sweep does (``rundir.exclusive`` in a child that waits), so the PID the refusal
must name is known; then train, optimize_run, bench_run, the release and the reports are called from Python, each
must raise the "in use" error naming that PID, and every file of the run must be the same bytes after. Within one
process the hold is the thread's: the thread that holds it re-enters it for its command's work, another thread is
refused as another process is. A Session made by hand never passes for one that holds the run.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from liteship.errors import LiteshipError
from liteship.rundir import LOCK, MARKER, claim, exclusive, writer
from tests.robustness.hostile import held_by_a_sweep

def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (the lock file aside: the holder's own) by path, with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != LOCK}


@pytest.fixture
def run(tmp_path) -> Path:
    """A marked run directory holding files a sweep would have written (their content is not read here)."""
    run = claim(tmp_path / "run")
    (run / "results.jsonl").write_text('{"variant": "a1", "backend": "xnnpack"}\n', encoding="utf-8")
    (run / "variants").mkdir()
    (run / "variants" / "a1.json").write_text('{"id": "a1", "file": "variants/a1.tflite"}', encoding="utf-8")
    (run / "variants" / "a1.tflite").write_bytes(b"TFL3 not a real model")
    (run / "release").mkdir()
    (run / "release" / "manifest.json").write_text('{"variant": "a0"}', encoding="utf-8")
    (run / "report.md").write_text("# the last report\n", encoding="utf-8")
    return run


def _bench(run):
    from liteship.bench import BenchOptions, bench_run

    return bench_run(Path(run), BenchOptions(backends=("xnnpack",), runs=5, rounds=1))


def _optimize(run):
    from liteship.optimize import optimize_run

    return optimize_run(run, "float32,int8")


def _release(run):
    from liteship.judge.release import write_release

    return write_release(Path(run), None, [])  # the hold comes first: what it would release is never looked at


def _reports(run):
    from liteship.workflow.reports import write_reports

    return write_reports(Path(run), [])


def _train(run):
    from liteship.trainer import TrainConfig, train

    return train("digits", TrainConfig(arch="small_cnn", epochs=1, size=16), run)


WRITERS = {"bench_run": _bench, "optimize_run": _optimize, "write_release": _release, "write_reports": _reports,
           "train": _train}


@pytest.mark.parametrize("name", list(WRITERS))
def test_a_writer_called_from_python_is_refused_while_another_process_holds_the_run(run, name):
    before = snapshot(run)
    with held_by_a_sweep(run) as pid:
        with pytest.raises(LiteshipError) as caught:
            WRITERS[name](run)
        assert snapshot(run) == before  # byte for byte, while the holder still holds it
    assert "is in use by `liteship sweep`" in caught.value.message and f"PID {pid} " in caught.value.message
    assert snapshot(run) == before


def test_the_bypass_of_the_hostile_pass_is_refused(run):
    """bench_run and the pick's work while another command holds the run (the report's reproduction)."""
    from liteship.judge import DEFAULT_BUDGETS
    from liteship.workflow import work
    from liteship.workflow.checks import Checked
    from liteship.workflow.requests import PickRequest

    before = snapshot(run)
    with held_by_a_sweep(run) as pid:
        with pytest.raises(LiteshipError, match=f"in use by `liteship sweep` \\(PID {pid} "):
            _bench(run)
        with pytest.raises(LiteshipError, match="outside a session that holds the run directory"):
            work.pick(PickRequest(run_dir=str(run)), Checked(budgets=DEFAULT_BUDGETS), None, None)
    assert snapshot(run) == before and not (run / "release" / "model.tflite").exists()


def test_once_the_holder_is_gone_the_writer_gets_past_the_hold(run, monkeypatch):
    """The refusal above is the hold's, not the run's: with no holder bench_run runs (here on no variants)."""
    import liteship.bench.run as bench_module

    seen = []
    monkeypatch.setattr(bench_module, "run_targets", lambda run_dir: seen.append(writer(run_dir)) or [])
    assert _bench(run) == [] and len(seen) == 1
    assert seen[0].startswith(f"`liteship bench` (PID {os.getpid()} ")  # it held the run while it read it
    assert not (run / LOCK).exists()  # let go when done


def test_a_writer_refuses_a_folder_liteship_did_not_make(tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "results.jsonl").write_text("mine\n", encoding="utf-8")
    for name in ("bench_run", "optimize_run", "write_release", "write_reports"):
        with pytest.raises(LiteshipError, match="is not a liteship run directory") as caught:
            WRITERS[name](theirs)
        assert MARKER in caught.value.why
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "thesis.tex").write_text("mine", encoding="utf-8")
    with pytest.raises(LiteshipError, match="cannot be a run directory"):
        _train(thesis)
    assert sorted(p.name for p in theirs.iterdir()) == ["results.jsonl"]  # no marker, no lock file left behind
    assert sorted(p.name for p in thesis.iterdir()) == ["thesis.tex"]


def test_the_holding_thread_re_enters_for_its_own_work_and_keeps_the_hold(run, monkeypatch):
    import liteship.bench.run as bench_module

    monkeypatch.setattr(bench_module, "run_targets", lambda run_dir: [])
    with exclusive(run, "bench"):  # as `liteship bench`'s session holds it
        assert _bench(run) == []  # re-entered, not refused
        assert writer(run) is not None and "liteship bench" in writer(run)  # still held: the inner let nothing go
    with exclusive(run, "sweep"):
        assert _bench(run) == []  # a sweep's bench is part of its work
        with pytest.raises(LiteshipError, match="in use by `liteship sweep` in this thread"):
            _optimize(run)  # a sweep never runs optimize_run on its own run directory
        with pytest.raises(LiteshipError, match="in use by `liteship sweep` in this thread"):
            _release(run)  # nor writes a release
    assert writer(run) is None and not (run / LOCK).exists()


def test_two_threads_of_one_process_never_write_one_run_at_once(run, monkeypatch):
    """The second thread is refused, as a second process is, naming the first thread; the first finishes."""
    import liteship.bench.run as bench_module

    inside, leave = threading.Event(), threading.Event()

    def slow_targets(run_dir):
        inside.set()
        assert leave.wait(30)
        return []

    monkeypatch.setattr(bench_module, "run_targets", slow_targets)
    outcome = {}

    def first():
        try:
            outcome["first"] = _bench(run)
        except BaseException as exc:  # said in the assertion below
            outcome["first"] = exc

    thread = threading.Thread(target=first, name="first-writer")
    thread.start()
    try:
        assert inside.wait(30)  # the first thread holds the run and is writing it
        monkeypatch.setattr(bench_module, "run_targets", lambda run_dir: pytest.fail("a second writer got in"))
        with pytest.raises(LiteshipError) as caught:
            _bench(run)
    finally:
        leave.set()
        thread.join(30)
    assert "in use by `liteship bench` in another thread of this process (first-writer" in caught.value.message
    assert outcome["first"] == []
    assert not (run / LOCK).exists()


def test_a_session_made_by_hand_does_not_pass(run):
    from liteship.workflow.requests import SweepRequest
    from liteship.workflow.session import Session, open_session, require_session

    forged = Session("sweep", run)
    with pytest.raises(LiteshipError, match="outside a session"):
        require_session(forged, run, "SweepRequest")
    with exclusive(run, "sweep"):  # the lock held by hand: the forged session is still not one
        with pytest.raises(LiteshipError, match="outside a session"):
            require_session(forged, run, "SweepRequest")
    with open_session(SweepRequest(data="digits", out=str(run), verbose=True)) as session:
        require_session(session, run, "SweepRequest")  # the real one passes
        seen = {}
        worker = threading.Thread(target=lambda: seen.update(error=_refused(session, run)))
        worker.start()
        worker.join(30)
        assert "outside a session" in seen["error"]  # another thread does not hold it
    with pytest.raises(LiteshipError, match="outside a session"):
        require_session(session, run, "SweepRequest")  # closed


def _refused(session, run) -> str:
    from liteship.workflow.session import require_session

    try:
        require_session(session, run, "SweepRequest")
    except LiteshipError as exc:
        return exc.message
    return "passed"
