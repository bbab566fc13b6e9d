"""The run directory: the files through which the stages talk (ARCHITECTURE.md has the tree).

Every stage reads and writes its inputs and outputs here, never hidden
process state, so any stage can be re-run alone and a sweep resumes after a
crash. The names of its folders and files live here, once.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from liteship.errors import LiteshipError

SPLIT = "data/split.json"
FLOAT = "float"  # float/<model>/: model.keras, model.tflite, labels.txt, card.json, curves.png
VARIANTS = "variants"  # variants/<ID>.tflite and <ID>.json
RESULTS = "results.jsonl"
RELEASE = "release"
LOG = "logs/frameworks.log"  # what TensorFlow, absl and the converter print
LOCK = ".liteship.lock"  # held by the one command writing the run directory: its PID, host, command


def remove_stale_temps(run_dir: Path) -> list[Path]:
    """Delete what a killed run left half-made: hidden temp files and staging folders.

    Every write goes to a hidden temp file or folder next to its target
    first, so hidden entries in a run directory's own folders are only ever
    ours, and only ever unfinished.
    """
    removed = []
    for folder in (run_dir, run_dir / FLOAT, run_dir / VARIANTS, run_dir / "data", run_dir / RELEASE):
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if entry.name.startswith(".") and entry.name != LOCK:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                removed.append(entry)
    for model_dir in (run_dir / FLOAT).glob("*") if (run_dir / FLOAT).is_dir() else []:
        for entry in model_dir.glob(".*"):
            entry.unlink(missing_ok=True) if entry.is_file() else shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _holder(path: Path) -> str:
    try:
        h = json.loads(path.read_text(encoding="utf-8"))
        since = time.strftime("%H:%M:%S", time.localtime(h["since"]))
        return f"`liteship {h['command']}` (PID {h['pid']} on {h['host']}, since {since})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another liteship command"


@contextmanager
def exclusive(run_dir: str | Path, command: str):
    """Hold the run directory for one writer; a second one is refused at once, naming the holder.

    An ``flock`` on RUN_DIR/.liteship.lock: the kernel releases it when the holder exits or is killed,
    so a crashed run never leaves the directory locked (its file may stay, unlocked, until the next run
    ends). The file says who holds it, for the message; the holder removes it when done.
    """
    import fcntl

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LiteshipError(f"{run_dir} is in use by {_holder(path)}",
                                "two commands writing one run directory would overwrite each other's files",
                                "wait for it to finish (re-running then skips what it did), or pass another run "
                                "directory") from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed the file between our open and our lock: take the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "command": command,
                                 "since": time.time()}).encode())
        yield
    finally:
        path.unlink(missing_ok=True)  # removed while still held, so no one can lock a file that is going away
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


CURRENT = "current_variants.json"  # model -> recipe -> the variant ID the latest optimize or sweep planned


def read_current(run_dir: Path) -> dict[str, dict[str, str]] | None:
    """Which variant is current for each (float model, recipe); None for a run made before the index existed."""
    import json

    path = Path(run_dir) / CURRENT
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def update_current(run_dir: Path, planned: list[tuple[str, str, str]]) -> None:
    """Record (model, recipe, variant ID) as current; other recipes and models keep their entries."""
    from liteship.files import atomic_write_json

    before = read_current(run_dir)
    current = {m: dict(r) for m, r in (before or {}).items()}
    for model, recipe, vid in planned:
        current.setdefault(model, {})[recipe] = vid
    if current != before:  # a re-run that plans the same variants leaves the file untouched
        atomic_write_json(Path(run_dir) / CURRENT, current)
