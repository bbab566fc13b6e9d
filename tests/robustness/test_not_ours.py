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
import textwrap
import threading
import zipfile
from pathlib import Path

import pytest

from tests.conftest import write_class_folder

INTERNALS = ("Traceback", "Ellipsis", "<class", "__init__(", "NoneType", "ReadError", "KeyError")


def liteship(*args, cwd=None, env=None, timeout=120):
    proc = subprocess.run([sys.executable, "-m", "liteship", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
    assert not any(word in proc.stderr + proc.stdout for word in INTERNALS), proc.stderr
    return proc


def snapshot(root: Path) -> dict:
    """Every entry below ``root``: its kind and bytes (files), target (links) or nothing (folders, FIFOs)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            out[rel] = ("link", os.readlink(path))
        elif stat.S_ISREG(info.st_mode):
            out[rel] = ("file", path.read_bytes(), stat.S_IMODE(info.st_mode))
        else:
            out[rel] = (stat.S_IFMT(info.st_mode),)
    return out


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


@pytest.fixture()
def run_copy(swept, tmp_path):
    out, _, _ = swept
    copy = tmp_path / "run"
    shutil.copytree(out, copy, symlinks=True, ignore=shutil.ignore_patterns(".liteship.lock"))
    return copy


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
    assert proc.returncode == 2 and "cannot be a class name" in proc.stderr, proc.stderr
    assert not (tmp_path / "run").exists()


def test_labels_read_the_way_the_swift_app_reads_them():
    from liteship.contract import labels_text, read_labels

    # Classifier.swift: String(contentsOfFile:).split(separator: "\n") drops empty pieces; a U+2028 does not split.
    assert read_labels("a\nb\n\nc\n") == ["a", "b", "c"]
    assert read_labels(labels_text(["x", "y"])) == ["x", "y"]


# --------------------------------------------------------------------------- output flags


@pytest.fixture(scope="module")
def results_file(swept):
    return swept[0] / "results.jsonl"


def test_an_output_symlink_is_written_through_and_kept(tmp_path, results_file):
    target = tmp_path / "target.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    proc = liteship("compare", results_file, results_file, "--json", link)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["failed"] == 0


def test_output_files_get_the_users_umask(tmp_path, results_file):
    out = tmp_path / "summary.md"
    code = "import os, sys; os.umask(0o022); from liteship.app.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run([sys.executable, "-c", code, "compare", str(results_file), str(results_file),
                           "--markdown", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_a_fifo_is_written_into_not_replaced(tmp_path, results_file):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo).read()), daemon=True)
    reader.start()
    proc = liteship("compare", results_file, results_file, "--json", fifo)
    reader.join(30)
    assert proc.returncode == 0 and stat.S_ISFIFO(fifo.lstat().st_mode)
    assert json.loads(got[0])["failed"] == 0


def test_standard_output_as_dash(results_file):
    proc = liteship("compare", results_file, results_file, "--json", "-")
    assert proc.returncode == 0 and '"failed": 0' in proc.stdout


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/full"), reason="as root, with /dev/full")
def test_dev_full_stays_a_device_and_the_disk_full_is_said(results_file):
    proc = liteship("compare", results_file, results_file, "--json", "/dev/full")
    assert proc.returncode == 2 and "disk is full" in proc.stderr.lower()
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


@pytest.mark.parametrize("where", ["folder", "proc", "missing_folder", "long_name"])
def test_an_output_path_that_cannot_take_a_file_is_exit_2_naming_it(tmp_path, results_file, where):
    path = {"folder": tmp_path, "proc": Path("/proc/self/liteship.json"),
            "missing_folder": tmp_path / "no" / "such" / "x.json", "long_name": tmp_path / ("n" * 300)}[where]
    proc = liteship("compare", results_file, results_file, "--json", path)
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
    code = (f"from liteship.trainer.data import load_folder, data_fingerprint; from pathlib import Path; "
            f"d = load_folder(Path({str(data)!r}), 16); data_fingerprint({str(data)!r}); "
            "print(sorted((s['file'], s['reason']) for s in d.skipped)); print(len(d.items))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    skipped = proc.stdout.splitlines()[0]
    assert "('one/pipe.jpg', 'a FIFO, never opened')" in skipped
    assert "('one/zero.png', 'a device (behind a symbolic link), never opened')" in skipped
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


# --------------------------------------------------------------------------- checks up front


@pytest.mark.parametrize("value", ["banana", "v2.14", "", "2.99"])
def test_a_target_runtime_liteship_does_not_know_is_exit_2(tmp_path, results_file, value):
    (tmp_path / "liteship.toml").write_text(f'[budgets]\ntarget_runtime = "{value}"\n')
    proc = liteship("gate", results_file.parent, "--budgets", tmp_path / "liteship.toml")
    assert proc.returncode == 2 and "target_runtime" in proc.stderr, proc.stderr


def test_a_sweep_target_runtime_is_refused_before_training(tmp_path):
    (tmp_path / "s.toml").write_text('[[models]]\narch = "small_cnn"\nsize = 16\n[bench]\ntarget_runtime = "2.99"\n')
    proc = liteship("sweep", "--data", "digits", "--config", tmp_path / "s.toml", "--out", tmp_path / "run",
                    timeout=60)
    assert proc.returncode == 2 and "target_runtime" in proc.stderr and not (tmp_path / "run").exists()


def test_a_misspelt_table_is_named_as_a_likely_typo(tmp_path, results_file):
    (tmp_path / "liteship.toml").write_text("[budgets]\nmax_size_kb = 500\n[comapre]\nmax_size_increase = 0\n")
    proc = liteship("gate", results_file.parent, "--budgets", tmp_path / "liteship.toml")
    assert proc.returncode == 2 and "[comapre]" in proc.stderr and "did you mean [compare]" in proc.stderr


def test_a_budget_on_a_backend_the_results_lack_is_exit_2(tmp_path, results_file):
    (tmp_path / "liteship.toml").write_text('[budgets]\nbackend = "fp16"\nmax_latency_ms = 100\n')
    proc = liteship("gate", results_file.parent, "--budgets", tmp_path / "liteship.toml")
    assert proc.returncode == 2 and "fp16" in proc.stderr and "xnnpack@1" in proc.stderr, proc.stderr


def test_compare_of_two_runs_that_share_no_variant_is_exit_2(tmp_path, results_file):
    other = tmp_path / "other.jsonl"
    lines = [json.loads(line) for line in results_file.read_text().splitlines()]
    other.write_text("".join(json.dumps({**r, "model": "another_model"}) + "\n" for r in lines))
    proc = liteship("compare", results_file, other)
    assert proc.returncode == 2 and "share no variant" in proc.stderr and "compare passed" not in proc.stdout


def test_compare_says_when_the_test_images_differ(tmp_path, results_file):
    other = tmp_path / "other.jsonl"
    lines = [json.loads(line) for line in results_file.read_text().splitlines()]
    other.write_text("".join(json.dumps({**r, "data": {**(r.get("data") or {}), "content_hash": "f" * 64}}) + "\n"
                             for r in lines))
    proc = liteship("compare", results_file, other, "--json", tmp_path / "c.json")
    accuracy = [c for c in json.loads((tmp_path / "c.json").read_text())["changes"] if c["metric"] == "top1"]
    assert accuracy and all("different test images" in c["note"] for c in accuracy), proc.stdout


# --------------------------------------------------------------------------- damaged run-directory files


def _damage(run: Path, which: str) -> Path:
    vid = json.loads((run / "current_variants.json").read_text())
    first = next(iter(next(iter(vid.values())).values()))
    path = {"current": run / "current_variants.json", "current_list": run / "current_variants.json",
            "variant": run / "variants" / f"{first}.json", "card": next((run / "float").glob("*/card.json")),
            "split": run / "data" / "split.json"}[which]
    path.write_text("[1, 2]\n" if which == "current_list" else '{"truncated": ')
    return path


@pytest.mark.parametrize("which,command", [("current", "gate"), ("current_list", "pick"), ("variant", "gate"),
                                           ("card", "gate"), ("split", "bench")])
def test_a_damaged_run_file_is_exit_2_naming_it_and_its_rebuild(run_copy, which, command):
    path = _damage(run_copy, which)
    args = [command, run_copy] + (["--backends", "xnnpack", "--runs", "2", "--rounds", "1"] if command == "bench"
                                  else [])
    before = snapshot(run_copy)
    proc = liteship(*args, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert str(path) in proc.stderr and "damaged" in proc.stderr and "re-run `liteship" in proc.stderr
    after = snapshot(run_copy)
    assert {k: v for k, v in after.items() if not k.startswith("logs/")} == \
        {k: v for k, v in before.items() if not k.startswith("logs/")}


def test_a_record_that_contradicts_itself_is_refused(run_copy):
    results = run_copy / "results.jsonl"
    lines = results.read_text().splitlines()
    first = json.loads(lines[0])
    assert first["correct"] and first["top1"] is not None
    first["top1"] = round(min(1.0, first["top1"] + 0.05), 6)  # a hand-edited top-1
    results.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    proc = liteship("gate", run_copy)
    assert proc.returncode == 2 and "line 1" in proc.stderr and "contradicts itself" in proc.stderr


# --------------------------------------------------------------------------- paths and archives


def test_a_path_component_over_255_bytes_is_exit_2(tmp_path):
    long = tmp_path / ("x" * 300)
    for args in (["train", "--data", long, "--out", tmp_path / "r"], ["gate", long], ["sweep", "--data", "digits",
                                                                                      "--out", long / "r"]):
        proc = liteship(*args, timeout=60)
        assert proc.returncode == 2 and "xxxxxxxx" in proc.stderr, proc.stderr


@pytest.mark.parametrize("case", ["clash", "long_member", "mislabelled"])
def test_a_hostile_archive_is_refused_in_words(tmp_path, case):
    archive = tmp_path / ("photos.tar.gz" if case == "mislabelled" else "photos.zip")
    with zipfile.ZipFile(archive, "w") as zf:
        for c in ("a", "b"):
            for i in range(3):
                zf.writestr(f"{c}/img{i}.png", b"not really")
        if case == "clash":
            zf.writestr("a/x", b"a file ...")
            zf.writestr("a/x/y.png", b"... and a folder")
        if case == "long_member":
            zf.writestr("a/" + "n" * 300 + ".png", b"x")
    proc = liteship("train", "--data", archive, "--size", "16", "--out", tmp_path / "run", timeout=120)
    assert proc.returncode == 2, proc.stderr
    said = {"clash": "is a file and also a folder", "long_member": "more than the 255",
            "mislabelled": "look like a zip archive"}[case]
    assert said in proc.stderr and archive.name in proc.stderr


# --------------------------------------------------------------------------- messages


def test_bench_of_a_run_refuses_data_and_labels(run_copy, tmp_path):
    proc = liteship("bench", run_copy, "--data", "digits", "--labels", tmp_path, timeout=60)
    assert proc.returncode == 2 and "--data" in proc.stderr and "--labels" in proc.stderr


def test_labels_that_are_a_folder_are_called_a_folder(tmp_path, optimized_run):
    out, variants = optimized_run
    proc = liteship("bench", out / "variants" / f"{variants['int8']['id']}.tflite", "--labels", tmp_path,
                    "--data", "digits")
    assert proc.returncode == 2 and "it is a folder" in proc.stderr and "does not exist" not in proc.stderr


def test_weights_and_fine_tune_at_for_small_cnn_are_refused(tmp_path):
    proc = liteship("train", "--data", "digits", "--arch", "small_cnn", "--weights", "none", "--fine-tune-at", "3",
                    "--out", tmp_path / "run", timeout=60)
    assert proc.returncode == 2 and "--weights" in proc.stderr and "--fine-tune-at" in proc.stderr


def test_report_markdown_escapes_html_from_class_names():
    from liteship.report.document import Para, Section, Table, markdown

    text = markdown("t", [Section("s", "s", [Para("class <img src=x onerror=alert(1)>"),
                                             Table(["class"], [["<script>x</script>"]])])])
    assert "<img" not in text and "<script>" not in text and "&lt;script&gt;" in text


def test_the_sweep_estimate_grows_with_runs_and_rounds():
    from liteship.app.checks import sweep_estimates
    from liteship.app.sweep import DEFAULT_SWEEP
    from dataclasses import replace

    base = sum(e.seconds for _, _, e in sweep_estimates(DEFAULT_SWEEP, "digits"))
    more = replace(DEFAULT_SWEEP, bench=replace(DEFAULT_SWEEP.bench, runs=DEFAULT_SWEEP.bench.runs * 10))
    assert sum(e.seconds for _, _, e in sweep_estimates(more, "digits")) > base * 1.1


@pytest.mark.slow
def test_a_model_with_two_outputs_is_not_given_a_top1(tmp_path):
    code = textwrap.dedent(f"""
        import tensorflow as tf, tf_keras as keras
        inp = keras.Input((8, 8, 3))
        x = keras.layers.GlobalAveragePooling2D()(inp)
        m = keras.Model(inp, [keras.layers.Dense(3, activation="softmax")(x), keras.layers.Dense(2)(x)])
        open({str(tmp_path / 'two.tflite')!r}, "wb").write(tf.lite.TFLiteConverter.from_keras_model(m).convert())
    """)
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=300)
    (tmp_path / "labels.txt").write_text("a\nb\nc\n")
    proc = liteship("bench", tmp_path / "two.tflite", "--data", "digits", "--backends", "xnnpack")
    assert proc.returncode == 2 and "expected 1 output tensor, found 2" in proc.stderr and "top-1" in proc.stderr


def test_a_large_skip_list_is_summarised_on_the_terminal_and_kept_whole_in_the_card(tmp_path):
    import io

    from liteship.progress import Progress
    from liteship.rundir import claim
    from liteship.trainer import TrainConfig
    from liteship.trainer.training import SHOWN_SKIPS, prepare_data

    data = write_class_folder(tmp_path / "data", per_class=4)
    for i in range(60):
        (data / "one" / f"note_{i:03d}.txt").write_text("not an image")
    stream = io.StringIO()
    prep = prepare_data(str(data), TrainConfig(arch="small_cnn", size=16).resolved(), claim(tmp_path / "run"),
                        Progress(stream=stream, bar=False))
    lines = stream.getvalue().splitlines()
    assert sum(line.startswith("skipped ") for line in lines) == SHOWN_SKIPS == 20
    assert any("60 files skipped (40 not shown above)" in line and "60 not an image file type" in line
               for line in lines), lines
    assert len(prep.dataset.skipped) == 60
