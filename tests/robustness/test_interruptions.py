"""CI jobs get killed: kill -9 a sweep at five random moments, then finish it. Nothing is lost or redone."""

import hashlib
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CONFIG

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _consistent(out: Path) -> None:
    """Every finished file is whole: JSON parses, every recorded .tflite matches its sha256."""
    for path in out.rglob("*.json"):
        if not path.name.startswith("."):
            json.loads(path.read_text())
    for rec_path in (out / "variants").glob("*.json") if (out / "variants").is_dir() else []:
        rec = json.loads(rec_path.read_text())
        if rec.get("status") == "ok":
            assert hashlib.sha256((out / rec["file"]).read_bytes()).hexdigest() == rec["sha256"]
    results = out / "results.jsonl"
    if results.is_file():
        for line in results.read_text().splitlines():
            json.loads(line)


def test_kill_9_five_times_then_resume(tf_available, tmp_path):
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(CONFIG)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "liteship", "sweep", "--data", "digits", "--config", str(cfg), "--out", str(out), "--quiet"]
    rng = random.Random(7)
    moments = sorted(rng.uniform(3, 30) for _ in range(5))  # the later ones outlast training and a variant
    finished_early = 0
    for moment in moments:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=moment)
            finished_early += 1
        except subprocess.TimeoutExpired:
            proc.kill()  # SIGKILL: no cleanup of any kind
            proc.wait()
        _consistent(out)
    made = {p.name: p.stat().st_mtime_ns for p in (out / "variants").glob("*.tflite")} if (out / "variants").is_dir() else {}
    final = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr[-2000:]
    _consistent(out)
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    keys = [(r["variant"], r["backend"], r["threads"]) for r in lines]
    assert len(keys) == len(set(keys)) == 6  # 3 variants x (xnnpack, gpu), each exactly once
    after = {p.name: p.stat().st_mtime_ns for p in (out / "variants").glob("*.tflite")}
    assert made, "no variant was finished before the last kill: the test proved nothing about keeping them"
    assert all(after[name] == stamp for name, stamp in made.items())  # finished variants were not made again
    assert not [p for p in out.rglob(".liteship-tmp-*")]  # no half-made file left
    print(f"interruptions: killed at {[round(m, 1) for m in moments]} s ({finished_early} finished first), "
          f"{len(made)} variants made before the last run were kept, 6 result lines")
