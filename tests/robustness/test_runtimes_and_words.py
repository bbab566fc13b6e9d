"""Issue 32, the rest, each case a real `liteship` process: `runtimes remove` deletes only environments liteship
made, `--workers` of digits only Python's ``int`` refuses, `--address` without Ray found up front, the words of
messages (a dangling link, a URL, a path never capitalised, sizes that show the verdict), `--version`, and a run
directory moved while a command writes it is never made again at its old path."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from tests.robustness.test_outputs_and_inputs import liteship, refused
from tests.robustness.worlds import make_world, snapshot

PYVENV = "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.7\n"
# The three kinds of environment in the cache: `runtimes remove` argument, folder name, liteship's record file.
KINDS = {"tflite-runtime": ("2.14", "tflite-runtime-2.14.0", "liteship-runtime.json"),
         "arm64": ("arm64", "arm64", "liteship-arm64.json"),
         "mediapipe": ("mediapipe", "mediapipe-0.10.21", "liteship-mediapipe.json")}


def _venv_layout(env: Path, record: str | None) -> None:
    """What `python -m venv` + pip leave (bin, lib, include, pyvenv.cfg), and liteship's record when given."""
    for sub in ("bin", "lib/python3.11/site-packages", "include"):
        (env / sub).mkdir(parents=True, exist_ok=True)
    (env / "pyvenv.cfg").write_text(PYVENV)
    (env / "bin" / "python").write_text("#!/bin/sh\n")
    if record:
        (env / record).write_text(json.dumps({"dist": "x", "version": "2.14.0"}))


def _user_folder(env: Path, how: str, record: str, elsewhere: Path) -> None:
    """A folder of liteship's environment name that the user made."""
    if how == "thesis":
        env.mkdir(parents=True)
        (env / "thesis.tex").write_text("\\chapter{Results}\n")
    elif how == "venv-with-thesis":  # a venv of the user's, holding their work
        _venv_layout(env, None)
        (env / "thesis.tex").write_text("\\chapter{Results}\n")
    elif how == "record-with-thesis":  # even liteship's record file beside a user's file: not the layout it makes
        _venv_layout(env, record) if record != "liteship-arm64.json" else env.mkdir(parents=True)
        (env / record).write_text("{}")
        (env / "thesis.tex").write_text("\\chapter{Results}\n")
    elif how == "link-to-user-folder":
        elsewhere.mkdir()
        (elsewhere / "thesis.tex").write_text("\\chapter{Results}\n")
        env.parent.mkdir(parents=True, exist_ok=True)
        env.symlink_to(elsewhere, target_is_directory=True)


@pytest.mark.parametrize("how", ["thesis", "venv-with-thesis", "record-with-thesis", "link-to-user-folder"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_runtimes_remove_leaves_a_folder_liteship_did_not_make(tmp_path, kind, how):
    version, name, record = KINDS[kind]
    cache = tmp_path / "cache"
    _user_folder(cache / "runtimes" / name, how, record, tmp_path / "mine")
    before = snapshot(tmp_path)
    proc = liteship("runtimes", "remove", version, env={"LITESHIP_CACHE": str(cache)})
    assert proc.returncode == 2, proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first.startswith(f"liteship runtimes: error: {cache / 'runtimes' / name} is in the way") \
        and "left as it is" in first, first
    assert "removed" not in proc.stdout
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("made", ["marked", "layout-before-the-marker"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_runtimes_remove_deletes_an_environment_liteship_made(tmp_path, kind, made):
    """The marker written at install, or for an environment installed before it, the exact layout liteship made
    (the venv's files and liteship's record; arm64: sysroot, plugin, cpus, site and the record)."""
    version, name, record = KINDS[kind]
    env = tmp_path / "cache" / "runtimes" / name
    if kind == "arm64":
        for sub in ("sysroot/usr/lib", "plugin", "cpus/arm64-a14", "site"):
            (env / sub).mkdir(parents=True)
        (env / record).write_text("{}")
    else:
        _venv_layout(env, record)
    if made == "marked":
        (env / ".liteship-env").write_text("{}")
    keep = tmp_path / "cache" / "runtimes" / "notes.txt"
    keep.write_text("mine\n")
    proc = liteship("runtimes", "remove", version, env={"LITESHIP_CACHE": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"removed {env}"
    assert not env.exists() and keep.read_text() == "mine\n"


def test_installing_over_a_users_folder_is_refused_before_any_download(tmp_path):
    cache = tmp_path / "cache"
    _user_folder(cache / "runtimes" / "mediapipe-0.10.21", "venv-with-thesis", "liteship-mediapipe.json", tmp_path)
    before = snapshot(tmp_path)
    proc = liteship("runtimes", "install", "mediapipe", env={"LITESHIP_CACHE": str(cache), "PIP_NO_INDEX": "1"})
    assert proc.returncode == 2 and "is in the way" in proc.stderr.splitlines()[0], proc.stderr
    assert snapshot(tmp_path) == before


# --------------------------------------------------------------------------- the sweep's flags, found up front


@pytest.mark.parametrize("workers", ["²", "³", "①", "1²", "٣", "-1", "1e3", ""])
def test_workers_that_are_not_plain_digits_are_refused(tmp_path, workers):
    proc = liteship("sweep", "--data", "digits", "--out", tmp_path / "run", "--workers", workers)
    lines = refused(proc, "sweep", "--workers")
    assert "whole number" in lines[1]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("executor", [None, "local"])
def test_an_address_without_ray_is_found_before_the_estimate_and_makes_nothing(tmp_path, executor):
    extra = ["--executor", executor] if executor else []
    proc = liteship("sweep", "--data", "digits", "--out", tmp_path / "run", "--address", "127.0.0.1:1", *extra)
    lines = refused(proc, "sweep", "--address")
    assert "--executor ray" in lines[1] and "estimated" not in proc.stdout + proc.stderr
    assert not (tmp_path / "run").exists()


# --------------------------------------------------------------------------- the words


@pytest.mark.parametrize("url", ["https://example.org/flowers.tgz", "http://x/d.zip", "s3://bucket/data",
                                 "file:///data/flowers"])
def test_a_url_as_data_says_urls_are_not_fetched(tmp_path, url):
    proc = liteship("sweep", "--data", url, "--out", tmp_path / "run")
    lines = refused(proc, "sweep", "--data")
    assert "it is a URL" in lines[1] and "download it first" in lines[1] and "check the path" not in lines[1]


@pytest.mark.parametrize("flag", ["--out", "--data"])
def test_a_dangling_link_is_called_a_dangling_link(tmp_path, flag):
    (tmp_path / "gone").symlink_to(tmp_path / "nowhere")
    args = {"--out": ["--data", "digits", "--out", tmp_path / "gone"],
            "--data": ["--data", tmp_path / "gone", "--out", tmp_path / "run"]}[flag]
    lines = refused(liteship("train", *args), "train", flag)
    assert "dangling link" in lines[1] and "it is a file" not in lines[1]
    assert (tmp_path / "gone").is_symlink() and not (tmp_path / "nowhere").exists()


def test_explain_never_capitalises_the_run_path(tmp_path):
    world = make_world(tmp_path)
    proc = liteship("explain", "runs/base", "nope", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "runs/base has no current variant" in proc.stderr and "Runs/base" not in proc.stderr
    assert world["base"].is_dir()


def test_sizes_in_a_refusal_differ_as_the_verdict_does():
    """2.4 MB needed, 2.1 MB free: the numbers shown must show need > free (they read "2 MB and 2 MB")."""
    from liteship.workflow.resources import _pair

    for need, have in [(2.4e6, 2.1e6), (2.04e6, 2.01e6), (1.52e9, 1.48e9), (150.6e6, 150.2e6), (3.01e12, 3.0e12)]:
        shown = _pair(need, have)
        numbers = [float(re.match(r"[\d.,]+", s).group().replace(",", "")) for s in shown]
        assert shown[0].split()[1] != shown[1].split()[1] or numbers[0] > numbers[1], shown


def test_version_names_liteship_and_its_tools_without_importing_tensorflow():
    code = ("import runpy, sys\nsys.argv = ['liteship', '--version']\ntry:\n    runpy.run_module('liteship', "
            "run_name='__main__')\nexcept SystemExit as e:\n    print('exit', e.code)\nprint('tf', 'tensorflow' in "
            "sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    first = proc.stdout.splitlines()[0]
    assert first.startswith(f"liteship {metadata.version('liteship')} (python ")
    assert f"numpy {metadata.version('numpy')}" in first and "ai-edge-litert" in first
    assert f"litert-quantizer {metadata.version('litert-quantizer')}" in first  # it makes the quantized variants
    assert proc.stdout.splitlines()[1:] == ["exit 0", "tf False"], proc.stdout


# --------------------------------------------------------------------------- a run directory moved mid-write


def test_a_run_directory_moved_while_held_is_not_made_again(tmp_path):
    """A command writing a run directory that is moved away stops with a message; the old path stays absent."""
    code = ("import os, sys\nfrom pathlib import Path\nfrom liteship.rundir import claim, exclusive\n"
            "from liteship.files import atomic_write_json\nfrom liteship.errors import LiteshipError\n"
            "run, moved = Path(sys.argv[1]), Path(sys.argv[2])\nclaim(run)\n"
            "with exclusive(run, 'sweep'):\n    atomic_write_json(run / 'variants' / 'a.json', {})\n"
            "    os.rename(run, moved)\n    try:\n        atomic_write_json(run / 'variants' / 'b.json', {})\n"
            "    except LiteshipError as exc:\n        print(exc.message)\n")
    proc = subprocess.run([sys.executable, "-c", code, tmp_path / "run", tmp_path / "moved"], capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout.startswith(f"The run directory {tmp_path / 'run'} was moved or removed"), proc.stderr
    assert not (tmp_path / "run").exists()
    assert sorted(p.name for p in (tmp_path / "moved" / "variants").iterdir()) == ["a.json"]


@pytest.mark.parametrize("flag", ["--out", "--json"])
def test_a_read_only_file_system_is_called_so_not_permission_denied(tmp_path, monkeypatch, flag):
    """The kernel's answer for a read-only mount (statvfs's ST_RDONLY) simulated: root's access() says nothing of
    it, and this machine has no read-only mount a test may use."""
    from liteship.workflow.validate import out_problems, output_problems

    real = os.statvfs

    def statvfs(path):
        got = real(path)
        return os.statvfs_result((*got[:8], got.f_flag | os.ST_RDONLY, got.f_namemax))

    monkeypatch.setattr(os, "statvfs", statvfs)
    found = out_problems(str(tmp_path / "run")) if flag == "--out" else output_problems(str(tmp_path / "o.json"),
                                                                                       "--json")
    assert len(found) == 1 and "read-only file system" in found[0].allowed and "permission" not in found[0].allowed


def test_a_users_folder_with_liteships_record_is_never_taken_for_an_installed_environment(tmp_path):
    """`runtimes list` (and every use: --target-runtime, --task-api, the arm64 backends) skips it: its Python is
    never run."""
    cache = tmp_path / "cache"
    for kind, (_, name, record) in KINDS.items():
        env = cache / "runtimes" / name
        _venv_layout(env, record) if kind != "arm64" else env.mkdir(parents=True)
        (env / record).write_text(json.dumps({"dist": kind, "version": "2.14.0"}))
        (env / "thesis.tex").write_text("\\chapter{Results}\n")
    before = snapshot(tmp_path)
    proc = liteship("runtimes", "list", env={"LITESHIP_CACHE": str(cache)})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("arm64  not installed") and lines[1].startswith("mediapipe  not installed")
    assert lines[-1].startswith("no runtime installed")
    assert snapshot(tmp_path) == before
