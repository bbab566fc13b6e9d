"""A user's world for the output-versus-input tests, made in milliseconds with no training: a data folder, two
run directories (marked, with results, made from that data), a budgets file, a thresholds file, a .tflite-named
file with labels beside it, and a file of the user's own. Shared by the hostile cases and the fuzzers."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image

from tests.judge.test_findings import FLOAT, rec
from tests.robustness.hostile import snapshot  # noqa: F401 (the hostile tests import it from here too)


def _png(value: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (value, 255 - value, 0)).save(out, format="PNG")
    return out.getvalue()


def make_run(run: Path, data: Path, drop: str) -> Path:
    """A run directory as a sweep leaves it, as far as gate, compare and bench's checks read it."""
    run.mkdir(parents=True)
    (run / ".liteship-run").write_text(json.dumps({"made_by": "liteship"}))
    records = [rec("float32", FLOAT), rec("int8", drop)]
    (run / "results.jsonl").write_text("".join(json.dumps(r.to_dict()) + "\n" for r in records))
    (run / "run.json").write_text(json.dumps({"command": "sweep", "data": str(data)}))
    (run / "data").mkdir()
    (run / "data" / "split.json").write_text(json.dumps({"source": str(data), "classes": ["a", "b"]}))
    (run / "report.md").write_text("# report\n")
    return run


def make_world(root: Path) -> dict[str, Path]:
    """Every input kind the commands read, by name."""
    data = root / "data"
    for i, cls in enumerate(("a", "b")):
        (data / cls).mkdir(parents=True)
        for j in range(2):
            (data / cls / f"img{j}.png").write_bytes(_png(40 * i + 10 * j))
    base = make_run(root / "runs" / "base", data, FLOAT)
    new = make_run(root / "runs" / "new", data, "1" * 149 + "0" * 51)
    models = root / "models"
    models.mkdir()
    (models / "m.tflite").write_bytes(b"TFL3 not a real model")
    (models / "labels.txt").write_text("a\nb\n")
    (root / "budgets.toml").write_text("[budgets]\nmax_accuracy_drop = 0.02\n")
    (root / "thresholds.toml").write_text("[compare]\n")
    (root / "own.txt").write_text("the user's own notes\n")
    return {"data": data, "base": base, "new": new, "model": models / "m.tflite", "labels": models / "labels.txt",
            "budgets": root / "budgets.toml", "thresholds": root / "thresholds.toml", "own": root / "own.txt"}


# The commands with output flags, each as (argv before the output flag, the flag), given the world.
def commands(w: dict[str, Path]) -> dict[str, tuple[list[str], str]]:
    gate = ["gate", str(w["base"]), "--budgets", str(w["budgets"])]
    compare = ["compare", str(w["base"]), str(w["new"]), "--thresholds", str(w["thresholds"])]
    bench_file = ["bench", str(w["model"]), "--data", str(w["data"]), "--backends", "xnnpack"]
    return {"gate --junit": (gate, "--junit"), "gate --markdown": (gate, "--markdown"),
            "compare --json": (compare, "--json"), "compare --markdown": (compare, "--markdown"),
            "bench RUN --json": (["bench", str(w["new"]), "--backends", "xnnpack"], "--json"),
            "bench FILE --json": (bench_file, "--json")}


# What each command reads, by the names of the world: the files it opens, and the folders it reads in.
READS = {"gate": (["base/results.jsonl", "budgets"], ["base", "data"]),
         "compare": (["base/results.jsonl", "new/results.jsonl", "thresholds"], ["base", "new", "data"]),
         "bench RUN": (["new/results.jsonl"], ["new", "data"]),
         "bench FILE": (["model", "labels"], ["data"])}


def resolve(w: dict[str, Path], name: str) -> Path:
    """``base/results.jsonl`` -> the world's base run's results.jsonl; ``data`` -> the data folder."""
    head, _, rest = name.partition("/")
    return w[head] / rest if rest else w[head]
