"""liteship never destroys or corrupts what is not its own (issue 19), each case in a real `liteship` process.

Every test takes a picture of the user's files before the command (bytes, link targets, kinds) and compares
it after; checks the exit code, that the message names the path or key, that no traceback leaked, and that
the command ended (every child has a timeout).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import write_class_folder
from tests.robustness.hostile import snapshot  # noqa: F401 (the hostile tests import it from here too)

INTERNALS = ("Traceback", "Ellipsis", "<class", "__init__(", "NoneType", "ReadError", "KeyError")


def liteship(*args, cwd=None, env=None, timeout=120):
    proc = subprocess.run([sys.executable, "-m", "liteship", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
    assert not any(word in proc.stderr + proc.stdout for word in INTERNALS), proc.stderr
    return proc


def project_folder(root: Path) -> Path:
    """A user's project: a git folder, secrets, CI config, and files named like liteship's."""
    (root / ".git" / "objects").mkdir(parents=True)
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "ci.yml").write_text("on: push\n")
    (root / ".env").write_text("API_KEY=secret\n")
    (root / "report.md").write_text("# my own report\n")
    (root / "results.csv").write_text("a,b\n1,2\n")
    (root / "release").mkdir()
    (root / "release" / "notes.txt").write_text("my release notes\n")
    return root


# --------------------------------------------------------------------------- --out


@pytest.mark.parametrize("how", ["folder", "dot", "empty"])
def test_sweep_into_a_users_folder_is_refused_and_touches_nothing(tmp_path, how):
    project = project_folder(tmp_path / "project")
    before = snapshot(project)
    out, cwd = {"folder": (project, tmp_path), "dot": (".", project), "empty": ("", project)}[how]
    proc = liteship("sweep", "--data", "digits", "--out", out, cwd=cwd, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert snapshot(project) == before
    if how == "empty":
        assert "--out" in proc.stderr and "empty" in proc.stderr
    else:
        assert "liteship did not make" in proc.stderr and ".env" in proc.stderr and ".git" in proc.stderr
    assert "removed" not in proc.stderr


def test_train_into_a_users_folder_is_refused(tmp_path, class_folder):
    project = project_folder(tmp_path / "project")
    before = snapshot(project)
    proc = liteship("train", "--data", class_folder, "--out", project, timeout=60)
    assert proc.returncode == 2 and "liteship did not make" in proc.stderr
    assert snapshot(project) == before


def test_out_inside_or_around_the_data_is_refused(tmp_path):
    data = write_class_folder(tmp_path / "photos", per_class=3)
    before = snapshot(tmp_path)
    for out in (data, data / "run", tmp_path):
        proc = liteship("train", "--data", data, "--out", out, timeout=60)
        assert proc.returncode == 2 and "the data" in proc.stderr and str(out) in proc.stderr, proc.stderr
    assert snapshot(tmp_path) == before


def test_cleanup_removes_only_liteships_temp_entries_in_a_marked_run(tmp_path):
    from liteship.files import TEMP_PREFIX
    from liteship.rundir import MARKER, claim, remove_stale_temps

    run = claim(tmp_path / "run")
    assert (run / MARKER).is_file()
    (run / "float" / "m").mkdir(parents=True)
    ours = [run / f"{TEMP_PREFIX}results.jsonl.abc.tmp", run / "float" / f"{TEMP_PREFIX}m.x1",
            run / "float" / "m" / f"{TEMP_PREFIX}card.json.y.tmp"]
    ours[0].write_text("half")
    ours[1].mkdir()
    ours[2].write_text("half")
    users = [run / ".env", run / "float" / ".hidden", run / "float" / "m" / ".notes"]
    for p in users:
        p.write_text("mine")
    assert sorted(remove_stale_temps(run)) == sorted(ours)
    assert all(p.read_text() == "mine" for p in users) and not any(p.exists() for p in ours)
    unmarked = tmp_path / "plain"
    unmarked.mkdir()
    (unmarked / f"{TEMP_PREFIX}x").write_text("not proven ours")
    assert remove_stale_temps(unmarked) == [] and (unmarked / f"{TEMP_PREFIX}x").exists()


# --------------------------------------------------------------------------- release/ and labels


def test_pick_keeps_a_users_files_in_release(run_copy):
    release = run_copy / "release"
    shutil.rmtree(release, ignore_errors=True)
    release.mkdir()
    (release / "notes.txt").write_text("mine\n")  # a folder liteship never wrote: no manifest
    proc = liteship("pick", run_copy)
    assert proc.returncode == 2 and "release" in proc.stderr and "not a release folder liteship wrote" in proc.stderr
    assert (release / "notes.txt").read_text() == "mine\n" and len(list(release.iterdir())) == 1
    shutil.rmtree(release)
    assert liteship("pick", run_copy).returncode == 0  # liteship's own release ...
    (release / "notes.txt").write_text("mine\n")  # ... with a user's file added to it
    before = snapshot(release)
    proc = liteship("pick", run_copy)
    assert proc.returncode == 2 and "notes.txt" in proc.stderr and snapshot(release) == before


def test_a_labels_file_that_does_not_match_the_outputs_fails_pick(run_copy):
    labels = next((run_copy / "float").glob("*/labels.txt"))
    classes = labels.read_text().split("\n")[:-1]
    assert len(classes) == 10
    labels.write_text("\n".join(classes[:3] + ["a\u2028b"] + classes[3:]) + "\n")  # 11 lines as the app splits them
    proc = liteship("pick", run_copy)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "labels.txt does not match the model" in proc.stderr and "11 labels" in proc.stderr
    assert not (run_copy / "release" / "manifest.json").exists() or "a\u2028b" not in \
        (run_copy / "release" / "labels.txt").read_text()


@pytest.mark.parametrize("name", ["two\nlines", "cr\rname", "para\u2029sep", "line\u2028sep"])
def test_a_class_name_that_would_split_labels_txt_is_refused_before_training(tmp_path, name):
    data = write_class_folder(tmp_path / "data", per_class=3)
    os.rename(data / "two", data / name)
    proc = liteship("train", "--data", data, "--out", tmp_path / "run", timeout=60)
    assert proc.returncode == 2 and "cannot be a class" in proc.stderr, proc.stderr
    assert not (tmp_path / "run").exists()


def test_labels_read_the_way_the_swift_app_reads_them():
    from liteship.contract import labels_text, read_labels

    # Classifier.swift: String(contentsOfFile:).split(separator: "\n") drops empty pieces; a U+2028 does not split.
    assert read_labels("a\nb\n\nc\n") == ["a", "b", "c"]
    assert read_labels(labels_text(["x", "y"])) == ["x", "y"]


# --------------------------------------------------------------------------- output flags


def _again(tmp_path: Path, results_file: Path) -> Path:
    """The results as a re-run that timed one record again writes them: compare of a file with itself, or of a copy
    of it, is refused (it proves nothing); another run is compared."""
    again = tmp_path / "again.jsonl"
    if not again.exists():
        records = [json.loads(line) for line in results_file.read_text().splitlines()]
        next(r for r in records if r.get("latency_ms"))["latency_ms"]["p50"] *= 1.01
        again.write_text("".join(json.dumps(r) + "\n" for r in records))
    return again


def test_an_output_symlink_is_written_through_and_kept(tmp_path, results_file):
    target = tmp_path / "target.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    proc = liteship("compare", results_file, _again(tmp_path, results_file), "--json", link)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["failed"] == 0


def test_output_files_get_the_users_umask(tmp_path, results_file):
    out = tmp_path / "summary.md"
    code = "import os, sys; os.umask(0o022); from liteship.app.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run([sys.executable, "-c", code, "compare", str(results_file), str(_again(tmp_path, results_file)),
                           "--markdown", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_a_fifo_is_written_into_not_replaced(tmp_path, results_file):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo).read()), daemon=True)
    reader.start()
    proc = liteship("compare", results_file, _again(tmp_path, results_file), "--json", fifo)
    reader.join(30)
    assert proc.returncode == 0 and stat.S_ISFIFO(fifo.lstat().st_mode)
    assert json.loads(got[0])["failed"] == 0


def test_standard_output_as_dash(tmp_path, results_file):
    proc = liteship("compare", results_file, _again(tmp_path, results_file), "--json", "-")
    assert proc.returncode == 0 and '"failed": 0' in proc.stdout


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/full"), reason="as root, with /dev/full")
def test_dev_full_stays_a_device_and_the_disk_full_is_said(tmp_path, results_file):
    proc = liteship("compare", results_file, _again(tmp_path, results_file), "--json", "/dev/full")
    assert proc.returncode == 2 and "disk is full" in proc.stderr.lower()
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


@pytest.mark.parametrize("where", ["folder", "proc", "missing_folder", "long_name"])
def test_an_output_path_that_cannot_take_a_file_is_exit_2_naming_it(tmp_path, results_file, where):
    path = {"folder": tmp_path, "proc": Path("/proc/self/liteship.json"),
            "missing_folder": tmp_path / "no" / "such" / "x.json", "long_name": tmp_path / ("n" * 300)}[where]
    proc = liteship("compare", results_file, _again(tmp_path, results_file), "--json", path)
    assert proc.returncode == 2 and "--json" in proc.stderr, proc.stderr
    assert str(path)[:60] in proc.stderr


# --------------------------------------------------------------------------- temp paths


def test_a_planted_log_symlink_is_never_followed(tmp_path, optimized_run):
    out, variants = optimized_run
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    shared = tmp_path / "tmp"
    (shared / "liteship-logs").mkdir(parents=True)
    (shared / "liteship-logs" / "frameworks.log").symlink_to(victim)  # the old fixed name, planted
    model = out / "variants" / f"{variants['int8']['id']}.tflite"
    proc = liteship("bench", model, "--backends", "xnnpack", "--runs", "2", "--rounds", "1", "--warmup", "0",
                    env={"TMPDIR": str(shared)})
    assert proc.returncode == 0, proc.stderr
    assert victim.read_text() == "precious\n"
    saved = [line.split(": ", 1)[1] for line in proc.stderr.splitlines() if line.startswith("framework messages")]
    for path in saved:  # a folder of its own, private
        folder = Path(path).parent
        assert folder.name.startswith("liteship-logs-") and stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_appending_a_log_refuses_a_symlink(tmp_path):
    from liteship.logs import _append

    victim = tmp_path / "victim"
    victim.write_text("x")
    (tmp_path / "frameworks.log").symlink_to(victim)
    with pytest.raises(OSError):
        _append(tmp_path / "frameworks.log", b"appended")
    assert victim.read_text() == "x"


# --------------------------------------------------------------------------- reads that cannot hang


def test_fifos_devices_and_eps_in_the_data_are_skipped_unopened(tmp_path):
    data = write_class_folder(tmp_path / "data", per_class=4)
    os.mkfifo(data / "one" / "pipe.jpg")
    (data / "one" / "zero.png").symlink_to("/dev/zero")
    (data / "two" / "page.jpg").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    code = (f"from liteship.dataset import load_folder, data_fingerprint; from pathlib import Path; "
            f"d = load_folder(Path({str(data)!r}), 16); data_fingerprint({str(data)!r}); "
            "print(sorted((s['file'], s['reason']) for s in d.skipped)); print(len(d.items))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    skipped = proc.stdout.splitlines()[0]
    assert "('one/pipe.jpg', 'a FIFO, never opened')" in skipped
    assert "('one/zero.png', 'a symbolic link out of the data folder (to /dev/zero), never opened')" in skipped
    assert "('two/page.jpg', 'not a readable image')" in skipped
    assert proc.stdout.splitlines()[1] == "12"


@pytest.mark.slow
def test_train_with_a_fifo_in_the_data_finishes(tmp_path):
    data = write_class_folder(tmp_path / "data", per_class=6)
    os.mkfifo(data / "zero" / "pipe.png")
    proc = liteship("train", "--data", data, "--size", "16", "--epochs", "1", "--out", tmp_path / "run", timeout=300)
    assert proc.returncode == 0, proc.stderr
    card = json.loads(next((tmp_path / "run" / "float").glob("*/card.json")).read_text())
    assert {"file": "zero/pipe.png", "reason": "a FIFO, never opened"} in card["skipped"]
