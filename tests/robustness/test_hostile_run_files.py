"""A run directory's own files replaced by what liteship must never read (issue 32), each in a real
`liteship` process: a link to ``/proc/kmsg`` or ``/dev/zero``, a FIFO. Before, gate and pick waited for ever on
``/proc/kmsg`` behind a split, ``current_variants.json``, a card, a variant or its record; now each is
named, damaged or unreadable (exit 2), before it is opened, and nothing in the run directory changes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.robustness.hostile import run, snapshot

FILES = ("current_variants.json", "float/*/card.json", "variants/*.json")  # what gate and pick read
SPLITS = ("data/split.json", "float/*/split.json")  # read when they are files: a FIFO or device is taken as absent
KINDS = {"proc_kmsg": lambda p: p.symlink_to("/proc/kmsg"), "dev_zero": lambda p: p.symlink_to("/dev/zero"),
         "fifo": lambda p: os.mkfifo(p)}
MODELS = ("variants/*.tflite",)  # hashed against their records: a FIFO is taken as absent
CASES = [(f, k) for f in FILES for k in KINDS] + [(f, "proc_kmsg") for f in SPLITS + MODELS]


@pytest.mark.parametrize("command", ["gate", "pick"])
@pytest.mark.parametrize("pattern,kind", CASES, ids=[f"{f}-{k}" for f, k in CASES])
def test_a_run_file_that_is_not_a_file_is_named_as_damaged_not_read(run_copy, tmp_path, pattern, kind, command):
    target = sorted(Path(run_copy).glob(pattern))[0]
    target.unlink()
    KINDS[kind](target)
    before = snapshot(run_copy)
    code, err, _, _ = run(command, run_copy, cwd=tmp_path)
    assert code == 2, err
    lines = err.strip().splitlines()
    named = target.relative_to(run_copy).as_posix()
    errors = [line for line in lines if line.startswith(f"liteship {command}: error: ")]
    assert len(errors) == 1, err
    # said as the error itself, or as the one problem the checks before any work list (nothing was started)
    if not errors[0].endswith("1 problem in the input; nothing was started or written:"):
        lines = errors
    assert any(named in line and ("is damaged" in line or "cannot be read" in line) for line in lines), err
    assert snapshot(run_copy) == before
