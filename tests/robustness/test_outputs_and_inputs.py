"""An output never overwrites an input (issue 32), each case a real `liteship` process.

Every output flag (gate --junit/--markdown, compare --json/--markdown, bench --json of a run and of a file) is
aimed at each thing the command reads: the files it opens, a file inside the run directory or the data folder it
reads (existing or new), each reached as the same path, a symbolic link, a hard link, a path through a linked
folder and a path with ``..`` in it. What the command reads is written down in ``worlds.READS`` from the README
and the issue, not from liteship's code. Every case checks the exit code, the first line of the message, the
flag named, no traceback, a timeout, and every file of the user's world byte for byte before and after.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.robustness.worlds import READS, commands, make_world, resolve, snapshot

INTERNALS = ("Traceback", "Ellipsis", "<class", "__init__(", "NoneType", "KeyError", "ValueError")
TIMEOUT = 60


def liteship(*args, env=None, cwd=None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "liteship", *map(str, args)], capture_output=True, text=True,
                          timeout=TIMEOUT, env={**os.environ, **(env or {})}, cwd=cwd, stdin=subprocess.DEVNULL)
    assert not any(word in proc.stderr + proc.stdout for word in INTERNALS), proc.stderr
    return proc


def refused(proc, command: str, flag: str) -> list[str]:
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, proc.stderr
    assert lines[0] == f"liteship {command}: error: 1 problem in the input; nothing was started or written:", lines
    assert lines[1].startswith(f"  - {flag} = "), lines
    return lines


# --------------------------------------------------------------------------- every output flag × every input


def _victims(key: str) -> list[tuple[str, bool]]:
    """(a world path, whether it exists) the output of ``key`` must never be: each file it reads, and an existing
    and a new file inside each folder it reads."""
    files, folders = READS[key.rsplit(" ", 1)[0]]
    inner = {"base": ["base/report.md", "base/new.out"], "new": ["new/report.md", "new/new.out"],
             "data": ["data/a/img0.png", "data/a/new.png"]}
    return [(f, True) for f in files] + [(p, not p.endswith((".out", "new.png"))) for f in folders for p in inner[f]]


HOWS = ("same", "symlink", "hardlink", "linked-folder", "dotdot")
CASES = [pytest.param(key, victim, how, id=f"{key}-{victim}-{how}")
         for key in ("gate --junit", "gate --markdown", "compare --json", "compare --markdown", "bench RUN --json",
                     "bench FILE --json")
         for victim, exists in _victims(key) for how in HOWS if exists or how != "hardlink"]


def _aim(tmp: Path, target: Path, how: str) -> Path:
    """An output path that reaches ``target`` the way ``how`` says (links made in the user's folder out/)."""
    out = tmp / "out"
    out.mkdir(exist_ok=True)
    if how == "same":
        return target
    if how == "symlink":
        (out / "link.out").symlink_to(target)
        return out / "link.out"
    if how == "hardlink":
        os.link(target, out / "hard.out")
        return out / "hard.out"
    if how == "linked-folder":
        (out / "folder").symlink_to(target.parent, target_is_directory=True)
        return out / "folder" / target.name
    return target.parent / ".." / target.parent.name / target.name  # dotdot


@pytest.mark.parametrize("key, victim, how", CASES)
def test_an_output_that_is_an_input_is_refused_before_any_work(tmp_path, key, victim, how):
    world = make_world(tmp_path)
    argv, flag = commands(world)[key]
    out = _aim(tmp_path, resolve(world, victim), how)
    before = snapshot(tmp_path)
    proc = liteship(*argv, flag, out)
    lines = refused(proc, argv[0], flag)
    assert "the output would overwrite it" in lines[1], lines
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command, flags", [("gate", ("--junit", "--markdown")), ("compare", ("--json", "--markdown"))])
@pytest.mark.parametrize("how", ["same", "symlink", "hardlink"])
def test_two_outputs_naming_one_file_are_refused(tmp_path, command, flags, how):
    world = make_world(tmp_path)
    argv = commands(world)[f"{command} {flags[0]}"][0]
    first = tmp_path / "report.out"
    second = first if how == "same" else tmp_path / "alias.out"
    if how == "symlink":
        second.symlink_to(first)
    if how == "hardlink":
        first.write_text("last week's report\n")
        os.link(first, second)
    before = snapshot(tmp_path)
    proc = liteship(*argv, flags[0], first, flags[1], second)
    line = refused(proc, command, flags[1])[1]
    assert f"{flags[1]} and {flags[0]} ({first}) name one file" in line, line  # the other output, named
    through = {"same": "", "symlink": " (through a link)", "hardlink": " (through a hard link)"}[how]
    assert line.endswith(f" name one file{through}: each output would overwrite the other. Fix: pass {flags[1]} and "
                         f"{flags[0]} two different files."), line
    assert "reads" not in line  # an output is not something the command reads
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("key", ["gate --junit", "compare --json"])
def test_a_file_a_link_in_the_run_directory_points_at_is_refused(tmp_path, key):
    world = make_world(tmp_path)
    (world["base"] / "notes.md").symlink_to(world["own"])  # the run directory reaches the user's file
    argv, flag = commands(world)[key]
    before = snapshot(tmp_path)
    lines = refused(liteship(*argv, flag, world["own"]), argv[0], flag)
    assert "through a link" in lines[1]
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("key", ["gate --junit", "gate --markdown", "compare --json", "compare --markdown"])
@pytest.mark.parametrize("where", ["new-file", "stdout", "devnull"])
def test_an_output_apart_from_the_inputs_is_written(tmp_path, key, where):
    """The rule is not wider than the inputs: a new file beside them, standard output and /dev/null are taken."""
    world = make_world(tmp_path)
    argv, flag = commands(world)[key]
    out = {"new-file": tmp_path / "reports" / "out.txt", "stdout": "-", "devnull": os.devnull}[where]
    (tmp_path / "reports").mkdir()
    before = snapshot(tmp_path)
    proc = liteship(*argv, flag, out)
    assert proc.returncode in (0, 1), proc.stderr
    after = snapshot(tmp_path)
    if where == "new-file":
        assert after.pop("reports/out.txt")[1]
    if where == "stdout":  # the output itself, after the summary: the world's 2 variants, 2 checks each in gate
        lines = proc.stdout.splitlines()  # and 4 metrics each in compare
        assert any(line.startswith(STDOUT_LINE[key]) for line in lines), proc.stdout
        if key == "gate --junit":
            suite = ElementTree.fromstring(next(line for line in lines if line.startswith("<testsuite")))
            assert [case.get("name") for case in suite] == [f"mnv2-{r}.{c}" for r in ("float32", "int8")
                                                            for c in ("max_accuracy_drop", "require_contract")]
        if key == "compare --json":
            found = json.loads(proc.stdout[proc.stdout.index("\n{\n") + 1:])
            assert (found["failed"], len(found["changes"])) == (0, 8)
    assert after == before


STDOUT_LINE = {  # how one line of each output begins, by hand from the world make_world builds
    "gate --junit": '<testsuite name="liteship.gate" tests="4" failures="0">',
    "gate --markdown": "## liteship gate",
    "compare --json": '  "failed": 0,',
    "compare --markdown": "**liteship compare passed: 0 of 8 checks failed, 2 variants matched, 0 added, 0 removed**",
}


# --------------------------------------------------------------------------- compare a run with itself


@pytest.mark.parametrize("how", ["same-dir", "dir-and-its-results", "results-and-its-dir", "symlink", "hardlink",
                                 "dotdot"])
def test_comparing_a_run_with_itself_is_refused(tmp_path, how):
    world = make_world(tmp_path)
    run = world["base"]
    (tmp_path / "link").symlink_to(run, target_is_directory=True)
    os.link(run / "results.jsonl", tmp_path / "hard.jsonl")
    base, new = {"same-dir": (run, run), "dir-and-its-results": (run, run / "results.jsonl"),
                 "results-and-its-dir": (run / "results.jsonl", run), "symlink": (run, tmp_path / "link"),
                 "hardlink": (run, tmp_path / "hard.jsonl"), "dotdot": (run, run / ".." / run.name)}[how]
    before = snapshot(tmp_path)
    lines = refused(liteship("compare", base, new), "compare", "NEW")
    assert "comparing a run with itself proves nothing" in lines[1]
    assert snapshot(tmp_path) == before


def test_two_runs_with_equal_results_but_one_timing_are_still_compared(tmp_path):
    """A copy of the results is one run, refused (test_run_state_round2); a re-run that kept every record but timed
    one again is two runs, and a comparison worth making."""
    world = make_world(tmp_path)
    records = [json.loads(line) for line in (world["base"] / "results.jsonl").read_text().splitlines()]
    records[-1]["latency_ms"]["p50"] *= 1.01
    (world["new"] / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    proc = liteship("compare", world["base"], world["new"])
    assert proc.returncode == 0 and "compare passed" in proc.stdout, proc.stderr


@pytest.mark.parametrize("key", ["gate --junit", "gate --markdown", "compare --json", "compare --markdown"])
@pytest.mark.parametrize("how", ["same", "symlink", "hardlink"])
def test_the_archive_a_run_was_made_from_is_never_overwritten(tmp_path, key, how):
    """A sweep of an archive names it in run.json: the archive is data the run was made from."""
    import tarfile

    world = make_world(tmp_path)
    archive = tmp_path / "photos.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(world["data"], arcname="photos")
    run_json = world["base"] / "run.json"
    run_json.write_text(run_json.read_text().replace(str(world["data"]), str(archive)))
    argv, flag = commands(world)[key]
    out = _aim(tmp_path, archive, how)
    before = snapshot(tmp_path)
    lines = refused(liteship(*argv, flag, out), argv[0], flag)
    assert str(archive) in lines[1] and "the output would overwrite it" in lines[1]
    assert snapshot(tmp_path) == before
