"""The run directory: the files through which the stages talk (ARCHITECTURE.md has the tree).

Every stage reads and writes its inputs and outputs here, never hidden
process state, so any stage can be re-run alone and a sweep resumes after a
crash. The names of its folders and files live here, once.
"""

from __future__ import annotations

import shutil
from pathlib import Path

SPLIT = "data/split.json"
FLOAT = "float"  # float/<model>/: model.keras, model.tflite, labels.txt, card.json, curves.png
VARIANTS = "variants"  # variants/<ID>.tflite and <ID>.json
RESULTS = "results.jsonl"
RELEASE = "release"
LOG = "logs/frameworks.log"  # what TensorFlow, absl and the converter print


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
            if entry.name.startswith("."):
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
