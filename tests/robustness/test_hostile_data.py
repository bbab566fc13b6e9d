"""Data folders and archives that are not photos (issue 32), each in a real `liteship` process: class folders
that lead out of the data folder, names that are not UTF-8 or clash by case, files that are kernel files, devices,
FIFOs or links out, archive members with names that are not UTF-8.

Before: a link to ``/proc/kmsg`` hung at "reading images" for ever, a class folder linked to ``/`` walked and
hashed the whole file system, a name that is not UTF-8 ended in a UnicodeEncodeError (a _RemoteTraceback in a
sweep), and "Cat" beside "cat" became two classes. Now each is refused before any work or skipped and said;
every process has a timeout, and the user's data is the same, byte for byte, afterwards.
"""

from __future__ import annotations

import os
import socket
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.robustness.hostile import first_line, run, snapshot

SMALL = """[train]
epochs = 1
[[models]]
arch = "small_cnn"
size = 16
[optimize]
recipes = ["int8"]
[bench]
backends = ["xnnpack"]
threads = [1]
runs = 2
warmup = 1
rounds = 1
instructions = false
arm64 = false
"""


def photo(path: Path, value: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((20, 20, 3), value, dtype=np.uint8)).save(path)
    return path


def tiny(root: Path, per_class: int = 15) -> Path:
    """data/red and data/blue, ``per_class`` PNGs each (the issue's data/tiny)."""
    for c, name in enumerate(("red", "blue")):
        for i in range(per_class):
            photo(root / name / f"img{i}.png", (c * 120 + i * 7) % 256)
    return root


def user_files(tmp: Path) -> dict:
    """Every file of the test's folder but the run directory liteship may make (``out``), byte for byte."""
    return {k: v for k, v in snapshot(tmp).items() if k != "out" and not k.startswith("out/")}


def command(which: str, data, tmp: Path) -> list:
    if which == "train":
        return ["train", "--data", data, "--size", "16", "--epochs", "1", "--out", tmp / "out"]
    (tmp / "small.toml").write_text(SMALL)
    return ["sweep", "--data", data, "--config", tmp / "small.toml", "--out", tmp / "out"]


# --------------------------------------------------------------------------- class folders: refused up front

def _class_link(target):
    def make(data: Path):
        (data / "evil").symlink_to(target if not callable(target) else target(data))
    return make


def _outside(data: Path) -> str:
    tiny(data.parent / "elsewhere", 2)
    return str(data.parent / "elsewhere" / "red")


def _named(raw: bytes):
    def make(data: Path):
        photo(Path(os.fsdecode(os.path.join(os.fsencode(data), raw, b"img0.png"))), 9)
        photo(Path(os.fsdecode(os.path.join(os.fsencode(data), raw, b"img1.png"))), 19)
    return make


CLASS_CASES = {  # what is wrong with one class folder, and a word the message says about it
    "link_to_root": (_class_link("/"), "outside the data folder"),
    "link_to_proc": (_class_link("/proc"), "outside the data folder"),
    "link_to_proc_self": (_class_link("/proc/self/cwd"), "outside the data folder"),
    "link_to_dev": (_class_link("/dev"), "outside the data folder"),
    "link_to_a_sibling": (_class_link(_outside), "outside the data folder"),
    "link_climbing_out": (_class_link("../.."), "outside the data folder"),
    "name_not_utf8": (_named(b"\xff"), "not UTF-8"),
    "name_latin1": (_named("café".encode("latin-1")), "not UTF-8"),
    "case_red": (_named(b"Red"), "only in case"),
    "case_blue": (_named(b"BLUE"), "only in case"),
    "accents_nfc_nfd": (lambda d: (_named("caf\u00e9".encode())(d), _named("cafe\u0301".encode())(d)),
                        "only in case or accent encoding"),  # one folder on macOS, two on Linux
}


@pytest.mark.parametrize("which", ["train", "sweep"])
@pytest.mark.parametrize("case", list(CLASS_CASES))
def test_a_class_folder_that_cannot_be_a_class_is_refused_before_any_work(tmp_path, case, which):
    data = tiny(tmp_path / "data", 3)
    make, word = CLASS_CASES[case]
    make(data)
    argv = command(which, data, tmp_path)
    before = user_files(tmp_path)
    code, err, _, _ = run(*argv, cwd=tmp_path)
    assert code == 2, err
    assert first_line(err) == f"liteship {which}: error: 1 problem in the input; nothing was started or written:", err
    assert word in err and "cannot be a class" in err, err
    assert not (tmp_path / "out").exists()
    assert user_files(tmp_path) == before


@pytest.mark.parametrize("which", ["train", "sweep"])
@pytest.mark.parametrize("data", ["/proc", "/proc/self", "/sys", "/dev", "link_to_proc", "/proc/kmsg"])
def test_data_in_the_kernels_trees_is_refused(tmp_path, data, which):
    if data == "link_to_proc":
        data = str(tmp_path / "photos")
        os.symlink("/proc", data)
    code, err, _, _ = run(*command(which, data, tmp_path), cwd=tmp_path)
    assert code == 2, err
    assert first_line(err).startswith(f"liteship {which}: error:"), err
    assert "the kernel's own files" in err, err
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- files: skipped and said, never opened

def _file_link(target):
    def make(path: Path):
        path.symlink_to(target(path) if callable(target) else target)
    return make


def _fifo(path: Path):
    os.mkfifo(path)


def _socket(path: Path):
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()


def _fifo_behind_a_link(path: Path):
    os.mkfifo(path.with_name(f".{path.name}.fifo"))  # hidden: the link alone is a data file
    path.symlink_to(f".{path.name}.fifo")


def _outside_file(path: Path) -> str:
    return str(photo(path.parent.parent.parent / "elsewhere" / path.name, 50))


def _bad_name(path: Path):
    photo(Path(os.fsdecode(os.fsencode(path.parent) + b"/\xff\xfe" + os.fsencode(path.name))), 70)


def _empty(path: Path):
    path.write_bytes(b"")


FILE_CASES = {  # what every file of the data is, and the reason the message gives for skipping it
    "proc_kmsg": (_file_link("/proc/kmsg"), "a symbolic link out of the data folder"),
    "proc_self_mem": (_file_link("/proc/self/mem"), "a symbolic link out of the data folder"),
    "proc_self_fd": (_file_link("/proc/self/fd/0"), "a symbolic link out of the data folder"),
    "dev_zero": (_file_link("/dev/zero"), "a symbolic link out of the data folder"),
    "dev_urandom": (_file_link("/dev/urandom"), "a symbolic link out of the data folder"),
    "sys_file": (_file_link("/sys/devices/system/cpu/online"), "a symbolic link out of the data folder"),
    "etc_passwd": (_file_link("/etc/passwd"), "a symbolic link out of the data folder"),
    "photo_outside": (_file_link(_outside_file), "a symbolic link out of the data folder"),
    "fifo": (_fifo, "a FIFO"),
    "fifo_behind_a_link": (_fifo_behind_a_link, "a FIFO"),
    "socket": (_socket, "a socket"),
    "link_loop": (_file_link(lambda p: p.name), "symbolic links loop"),
    "name_not_utf8": (_bad_name, "its name is not UTF-8"),
    "empty": (_empty, "empty file"),
}


@pytest.mark.parametrize("case", list(FILE_CASES))
def test_files_that_are_not_photos_are_skipped_unopened_and_said(tmp_path, case):
    make, reason = FILE_CASES[case]
    data = tmp_path / "data"
    for cls in ("red", "blue"):
        (data / cls).mkdir(parents=True)
        for i in range(2):
            make(data / cls / f"img{i}.png")
    argv = command("train", data, tmp_path)
    before = user_files(tmp_path)
    code, err, _, _ = run(*argv, cwd=tmp_path)
    assert code == 2, err
    assert err.strip().splitlines()[-1].startswith("liteship train: error: No usable images in"), err
    assert "(4 files skipped)" in err and f"4 {reason}" in err, err  # 2 classes x 2 files, counted by hand
    assert user_files(tmp_path) == before


@pytest.mark.parametrize("case", ["proc_kmsg", "fifo", "name_not_utf8", "dev_zero"])
def test_a_sweep_skips_them_too(tmp_path, case):
    make, reason = FILE_CASES[case]
    data = tmp_path / "data"
    for cls in ("red", "blue"):
        (data / cls).mkdir(parents=True)
        make(data / cls / "img0.png")
    argv = command("sweep", data, tmp_path)
    before = user_files(tmp_path)
    code, err, _, _ = run(*argv, cwd=tmp_path)
    assert code == 2, err
    assert "No usable images" in err and f"2 {reason}" in err, err
    assert user_files(tmp_path) == before


# --------------------------------------------------------------------------- archives

def _tar(path: Path, members: dict[bytes, bytes]) -> Path:
    import io

    with tarfile.open(path, "w", encoding="utf-8", errors="surrogateescape") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(os.fsdecode(name))
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("which", ["train", "sweep"])
@pytest.mark.parametrize("bad", [b"\xff/img0.png", b"red/\xff.png", "café/img0.png".encode("latin-1")])
def test_an_archive_member_whose_name_is_not_utf8_is_refused(tmp_path, bad, which):
    png = photo(tmp_path / "p.png", 40).read_bytes()
    members = {f"{c}/img{i}.png".encode(): png for c in ("red", "blue") for i in range(3)}
    archive = _tar(tmp_path / "photos.tar", {**members, bad: png})
    argv = command(which, archive, tmp_path)
    before = user_files(tmp_path)
    code, err, _, _ = run(*argv, cwd=tmp_path)
    assert code == 2, err
    assert f"liteship {which}: error: Refused archive photos.tar: member" in err and "not UTF-8" in err, err
    assert user_files(tmp_path) == before


# --------------------------------------------------------------------------- a sweep says what it skipped

@pytest.mark.slow
def test_a_sweep_over_thousands_of_empty_files_and_a_fifo_says_what_it_skipped(tmp_path):
    data = tiny(tmp_path / "data")
    for i in range(10_000):
        (data / ("red", "blue")[i % 2] / f"empty{i:05d}.png").write_bytes(b"")
    os.mkfifo(data / "red" / "pipe.png")
    (data / "blue" / "kmsg.png").symlink_to("/proc/kmsg")
    before = snapshot(data)
    code, err, _, _ = run(*command("sweep", data, tmp_path), cwd=tmp_path, timeout=600)
    assert code == 0, err
    # 10,000 empty files, one FIFO, one link out: 10,002 skipped, 30 photos used (counted by hand)
    assert "10002 files skipped (9982 not shown above), 30 images used" in err, err
    assert "10000 empty file" in err and "1 a FIFO" in err and "1 a symbolic link out of the data folder" in err
    assert snapshot(data) == before


# --------------------------------------------------------------------------- a file swapped after it was checked

@pytest.mark.parametrize("swap", ["fifo", "link_to_proc_kmsg"])
def test_a_file_swapped_between_the_check_and_the_open_is_refused_not_read(tmp_path, swap):
    """The check (stat) passed on a photo; by the open, a FIFO or a link to /proc/kmsg stands in its place."""
    import subprocess
    import sys

    path = photo(tmp_path / "img.png", 5)
    code = ("import os, liteship.files as f\n"
            "f.unreadable_reason = lambda p: None  # as if the check ran before the swap\n"
            f"os.unlink({str(path)!r})\n"
            + (f"os.mkfifo({str(path)!r})\n" if swap == "fifo" else f"os.symlink('/proc/kmsg', {str(path)!r})\n")
            + "try:\n"
            f"    f.open_regular({str(path)!r}, 'Image')\n"
            "except f.LiteshipError as exc:\n"
            "    print(exc.why)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith("it is not a regular file outside the kernel's trees"), proc.stdout


@pytest.mark.parametrize("which", ["train", "sweep"])
@pytest.mark.parametrize("raw", [b"\xffrun", "café".encode("latin-1")])
def test_a_run_directory_whose_path_is_not_utf8_is_refused_before_any_work(tmp_path, which, raw):
    data = tiny(tmp_path / "data", 3)
    argv = command(which, data, tmp_path)
    out = os.fsdecode(os.fsencode(tmp_path) + b"/" + raw)
    argv[argv.index("--out") + 1] = out
    before = user_files(tmp_path)
    code, err, _, _ = run(*argv, cwd=tmp_path)
    assert code == 2, err
    assert first_line(err) == f"liteship {which}: error: 1 problem in the input; nothing was started or written:", err
    assert "--out" in err and "not UTF-8" in err, err
    assert not os.path.exists(out)
    assert user_files(tmp_path) == before
