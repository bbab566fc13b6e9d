"""Instruction counts as files of the run directory, ``counts/<variant ID>.<kind>.json``, each written as it finishes.

A sweep counts beside its other jobs and benches after them; the counts reach the bench through these files, not
through the sweep's memory, so a sweep stopped after counting does not count again when it resumes. A file holds
the count (or why it failed) and its key: everything the count depends on, all of which must be the same for it to
be reused: the variant file's sha256, the kind (the count backend's name: ``x86`` for valgrind's, or an ARM one),
the tools that would count now (the backend's ``tools``: valgrind's version; or QEMU's, the plugin's and the
aarch64 wheels'), this LiteRT and liteship, and the images it ran for a backend that runs them (an ARM count). A failed count is kept, with its reason, for the bench that follows, and tried again by
the next sweep (as a failed variant is made again). A damaged file is counted again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from liteship.files import atomic_write_json
from liteship.rundir import COUNTS


def tools_now(kind: str) -> dict:
    """The tools a count of ``kind`` (a count backend) would be made with here, now (QEMU's version asked of its
    binary)."""
    from liteship.bench import backends
    from liteship.versions import system_info

    versions = system_info()["versions"]
    return {"ai-edge-litert": versions.get("ai-edge-litert"), "liteship": versions.get("liteship"),
            **backends.get(kind).tools()}


def count_key(sha256: str, kind: str, pixels: np.ndarray | None, scored: bool) -> dict:
    """What a count of the file of ``sha256`` depends on; ``pixels``/``scored``: what an ARM count runs
    (:func:`~liteship.bench.measure.arm_pixels`); valgrind's count feeds its own mid-grey image."""
    from liteship.bench import backends

    key = {"sha256": sha256, "kind": kind, "tools": tools_now(kind)}
    if backends.get(kind).inputs:
        images = None
        if scored and pixels is not None:
            x = np.ascontiguousarray(pixels)
            images = f"{x.dtype}{list(x.shape)}:" + hashlib.sha256(x.tobytes()).hexdigest()
        key.update(scored=bool(scored), images=images)
    return json.loads(json.dumps(key))  # as it reads back from the file


def count_path(run_dir: Path, variant: str, kind: str) -> Path:
    return Path(run_dir) / COUNTS / f"{variant}.{kind}.json"


def _linked(run_dir: Path, variant: str, kind: str) -> bool:
    """The counts folder or the file is a symbolic link: never written or read through (it may point anywhere)."""
    return (Path(run_dir) / COUNTS).is_symlink() or count_path(run_dir, variant, kind).is_symlink()


def write_count(run_dir: Path, variant: str, kind: str, key: dict, count) -> Path | None:
    """Write one finished count (an ARM count's outputs as lists), or its failure's reason (a string); not through a
    link (then the bench counts it again)."""
    if _linked(run_dir, variant, kind):
        return None
    if isinstance(count, dict) and isinstance(count.get("outputs"), np.ndarray):
        count = {**count, "outputs": count["outputs"].tolist()}
    return atomic_write_json(count_path(run_dir, variant, kind), {"key": key, "count": count})


def read_count(run_dir: Path, variant: str, kind: str, key: dict, failures: bool = True):
    """The count written for this ``key``, else None (none, another key, damaged, a link; a failure when not
    ``failures``)."""
    if _linked(run_dir, variant, kind):
        return None
    from liteship.errors import LiteshipError
    from liteship.files import read_regular

    try:  # read_regular: a FIFO planted there is refused (and counted again), never waited on
        doc = json.loads(read_regular(count_path(run_dir, variant, kind), "Count file").decode("utf-8"))
    except (OSError, ValueError, RecursionError, LiteshipError):
        return None
    if not isinstance(doc, dict) or doc.get("key") != key:
        return None
    count = doc.get("count")
    if isinstance(count, str):
        return count if failures else None
    if not isinstance(count, dict):
        return None
    if count.get("outputs") is not None:
        count = {**count, "outputs": np.asarray(count["outputs"], np.float32)}
    return count
