"""The run directory: the files through which the stages talk (ARCHITECTURE.md has the tree).

Every stage reads and writes its inputs and outputs here, never hidden process state, so any stage can be re-run
alone and a sweep resumes after a crash. The names of its folders and files live here, once.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from liteship.errors import LiteshipError
from liteship.files import kernel_tree, read_regular
from liteship.rundir_lock import (LOCK, REPORTS, exclusive, held_here, refuse_if_written,  # noqa: F401  (re-exported)
                                  writer)

RUN_JSON = "run.json"  # what was asked: the command, its resolved config
SPLIT = "data/split.json"  # the latest training's split; each model's own is float/<model>/split.json
MODEL_SPLIT = "split.json"  # float/<model>/split.json: the split that model was trained, tuned and is tested on
EXTRACTED = "data/extracted"  # an archive's class folders, unpacked once
IMAGE_CACHE = "data/cache"  # decoded images, one file per input size (liteship.image_cache)
FLOAT = "float"  # float/<model>/: model.keras, model.tflite, labels.txt, card.json, curves.png
MODEL_KERAS, MODEL_TFLITE, LABELS, CARD, CURVES = "model.keras", "model.tflite", "labels.txt", "card.json", "curves.png"
VARIANTS = "variants"  # variants/<ID>.tflite and <ID>.json
RESULTS = "results.jsonl"
REPORT_MD, REPORT_HTML, PARETO = "report.md", "report.html", "pareto.png"
RELEASE = "release"  # release/: model.tflite, labels.txt, manifest.json, MODEL.md, Classifier.swift
MANIFEST, MODEL_MD, SWIFT_CODE = "manifest.json", "MODEL.md", "Classifier.swift"
RELEASE_FILES = (MODEL_TFLITE, LABELS, MANIFEST, MODEL_MD, SWIFT_CODE)
LOG = "logs/frameworks.log"  # what TensorFlow, absl and the converter print
JOBS = "logs/jobs.json"  # the sweep's jobs: when each started and ended
COUNTS = "counts"  # counts/<variant ID>.<kind>.json: instruction counts, each written as it finishes
CURRENT = "current_variants.json"  # model -> recipe -> the variant ID the latest optimize or sweep planned
TRACK_JSON, MLFLOW_DB, MLARTIFACTS = "track.json", "mlflow.db", "mlartifacts"  # where it logged; the MLflow store
PICKED = "pick.json"  # the budgets and preference the last pick judged with, and the report.html it wrote


MARKER = ".liteship-run"  # written when liteship makes a run directory: the proof that the folder is liteship's
REBUILT_BY = {  # which command writes each file again, for the message when one is damaged
    **dict.fromkeys((SPLIT, CARD), "liteship train (or sweep) into a new run directory"),
    **dict.fromkeys((VARIANTS, CURRENT), "liteship optimize RUN_DIR"),
    MANIFEST: "liteship pick RUN_DIR",
}


def is_marked(run_dir: Path) -> bool:
    return (Path(run_dir) / MARKER).is_file() and not (Path(run_dir) / MARKER).is_symlink()


def data_sources(run_dir: Path) -> list[str]:
    """The data a run directory was made from (run.json's data, each split's source), as far as it is still here
    (a folder or an archive); those files are read only when they are small regular files outside the kernel's
    trees."""
    found = []
    splits = [(str(p.relative_to(run_dir)), "source") for p in sorted(Path(run_dir).glob(f"{FLOAT}/*/{MODEL_SPLIT}"))]
    for name, key in ((RUN_JSON, "data"), (SPLIT, "source"), *splits):
        try:
            value = json.loads(read_regular(Path(run_dir) / name, "Run file", 64 * 1024**2)).get(key)
        except (LiteshipError, OSError, ValueError, AttributeError):
            continue
        if isinstance(value, str) and value not in ("digits", "") and os.path.exists(value) and value not in found:
            found.append(value)
    return found


def out_refusal(out: str | Path) -> tuple[str, str] | None:
    """(why, fix) when ``out`` may not be made a run directory; None for a new folder, an empty one or a marked one.

    liteship deletes and overwrites only inside a folder it can prove is its own, so any other folder is refused
    before any work: with ``--out .`` or a project folder, a run would otherwise overwrite the user's files.
    """
    text = str(out)
    if not text.strip():
        return ("the path is empty (an unset variable?)", "pass the run directory to write, e.g. --out runs/demo")
    path = Path(out)
    if kernel_tree(path) is not None:
        return (f"a run directory cannot live under {kernel_tree(path)}: liteship never reads its own files from "
                "/proc, /sys or /dev (it would train, then find card.json unreadable)",
                "pass a run directory on a disk, e.g. --out runs/demo")
    try:
        if not path.exists() and not path.is_symlink():
            return None
        if not path.exists():
            return (f"it is a symbolic link to {os.readlink(path)}, which does not exist (a dangling link)",
                    "pass a new folder path, or remove the link")
        if not path.is_dir():
            return ("it is a file; the run directory must be a folder", "pass a new folder path")
        if is_marked(path):
            return None
        entries = sorted(p.name for p in path.iterdir() if p.name != LOCK)  # the lock: this command's own
    except OSError as exc:
        return (f"it cannot be read: {exc.strerror}", "pass a folder you can read and write")
    if not entries:
        return None
    shown = ", ".join(entries[:6]) + (f" and {len(entries) - 6} more" if len(entries) > 6 else "")
    legacy = "run.json" in entries or RESULTS in entries
    fix = ("pass a new or empty folder (liteship makes it)" +
           (f"; if an older liteship made this run directory, mark it as liteship's with `touch {path / MARKER}`"
            if legacy else ""))
    return (f"it is a folder liteship did not make, holding {shown}: liteship writes and deletes files in its run "
            "directories, and will not do so among files that are not its own", fix)


def claim(out: str | Path) -> Path:
    """Make ``out`` a run directory (a new or empty folder gets the marker) or check it is one; refuse anything else."""
    refusal = out_refusal(out)
    if refusal is not None:
        raise LiteshipError(f"--out {out!s} cannot be a run directory", *refusal)
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    if not is_marked(path):
        from liteship.files import atomic_write_json

        atomic_write_json(path / MARKER, {"made_by": "liteship", "since": time.time()})
    return path


def remove_stale_temps(run_dir: Path) -> list[Path]:
    """Delete what a killed run left half-made: ``.liteship-tmp-*`` entries, only in a marked run directory.

    Every write goes to a temp file or folder of that name next to its target first, so such entries in a run
    directory of liteship's are only ever its own, and only ever unfinished. Nothing else is touched.
    """
    from liteship.files import is_temp

    run_dir = Path(run_dir)
    if not is_marked(run_dir):
        return []
    removed = []
    folders = [run_dir, run_dir / FLOAT, run_dir / VARIANTS, run_dir / "data", run_dir / RELEASE, run_dir / "logs",
               run_dir / COUNTS]
    folders += [p for p in sorted((run_dir / FLOAT).glob("*")) if p.is_dir() and not p.is_symlink()]
    for folder in folders:
        if not folder.is_dir() or folder.is_symlink():
            continue
        for entry in sorted(folder.iterdir()):
            if not is_temp(entry.name):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def damaged(path: Path, why: str, rebuild: str) -> LiteshipError:
    return LiteshipError(f"{path} is damaged: {why}",
                         "liteship reads it to know what this run directory holds, and will not guess",
                         f"restore it, or re-run `{rebuild}` to write it again")


def read_json(path: Path, rebuild: str, kind: type = dict):
    """A run-directory JSON file, or exit 2 naming the file and the command that writes it again."""
    from liteship.files import unreadable_reason

    path = Path(path)
    why = unreadable_reason(path)  # a link planted to /proc/kmsg, a FIFO: said, never waited on
    if why is not None and why != "there is no such file":
        raise damaged(path, why, rebuild)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise damaged(path, "it is not UTF-8 text", rebuild) from None
    except ValueError as exc:
        raise damaged(path, f"it is not valid JSON ({exc})", rebuild) from None
    except RecursionError:  # [[[...]]] nested deeper than Python's parser goes: damaged, never a traceback
        raise damaged(path, "it is nested too deep to be liteship's", rebuild) from None
    except IsADirectoryError:
        raise damaged(path, "it is a folder", rebuild) from None
    if not isinstance(value, kind):
        raise damaged(path, f"it holds a JSON {type(value).__name__}, not an object", rebuild)
    return value


def read_manifest(release: Path) -> dict:
    """The one reader of ``release/manifest.json`` (``release``: the folder): what pick shipped, and how checked."""
    return read_json(Path(release) / MANIFEST, REBUILT_BY[MANIFEST])


def read_card(model_dir: Path) -> dict:
    return read_json(Path(model_dir) / CARD, REBUILT_BY[CARD])


def read_variant_record(path: Path) -> dict:
    """variants/<ID>.json."""
    record = read_json(path, REBUILT_BY[VARIANTS])
    if not isinstance(record.get("id", ""), str) or not isinstance(record.get("file", ""), str):
        raise damaged(path, "its id or file is not text", REBUILT_BY[VARIANTS])
    return record


def members_hash(items) -> str:
    """A hash of image names in order: what a record says it scored, so that only records that scored the same
    images in the same order are compared image by image."""
    import hashlib

    return hashlib.sha256("\n".join(items).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Split:
    """data/split.json: which images of which data a run trains, tunes and tests on, in order."""

    source: str  # "digits", a folder or an archive
    content_hash: str  # of every image used, with its path: the data as it was read
    classes: tuple[str, ...]
    splits: dict  # "train" / "val" / "test" -> the images' paths (item names), in order
    seed: int | None = None
    fractions: dict | None = None
    fingerprint: str | None = None
    image_size: int | None = None
    counts: dict | None = None
    skipped: tuple = ()
    image_hashes: dict | None = None  # "train" / "val" -> each image's content hash, in order (older runs: None)

    def trained_on(self) -> set[str] | None:
        """The content hashes of the images the model was trained or tuned on; None if the run predates them."""
        if self.image_hashes is None:
            return None
        return {h for s in ("train", "val") for h in self.image_hashes.get(s, ())}

    def members(self, split: str) -> str:
        """A hash of the split's member list in order: two records scored the same images only if theirs agree."""
        return members_hash(self.splits.get(split, ()))

    def to_dict(self) -> dict:
        return {**asdict(self), "classes": list(self.classes), "skipped": list(self.skipped)}


def _lists_of_text(value) -> bool:
    return isinstance(value, dict) and all(isinstance(v, list) and all(isinstance(i, str) for i in v)
                                           for v in value.values())


def split_path(run_dir: Path, model: str | None = None) -> Path:
    """Where ``model``'s split is: ``float/<model>/split.json``; ``data/split.json`` for a model trained before
    each model kept its own, or when no model is named."""
    named = bool(model) and Path(model).name == model and model not in (".", "..")  # a folder of float/, no path
    own = Path(run_dir) / FLOAT / model / MODEL_SPLIT if named else None
    return own if own is not None and own.is_file() else Path(run_dir) / SPLIT


def has_split(run_dir: Path, model: str | None = None) -> bool:
    return split_path(run_dir, model).is_file()


def read_split(run_dir: Path, model: str | None = None) -> Split:
    """``model``'s split (:func:`split_path`) as a :class:`Split`; a damaged one is exit 2 naming the command that
    writes it. A model trained before it kept its own split is read with ``data/split.json`` only if that is the
    split its card says it was trained on (same data, seed and fractions): another training may have replaced it."""
    path = split_path(run_dir, model)
    record = read_json(path, REBUILT_BY[SPLIT])
    splits = record.get("splits")
    if not _lists_of_text(splits) \
            or not isinstance(record.get("classes"), list) or not isinstance(record.get("source"), str) \
            or not _lists_of_text(record.get("image_hashes") or {}):
        raise damaged(path, "its source, classes or splits are missing or have the wrong shape", REBUILT_BY[SPLIT])
    known = {f.name for f in fields(Split)}
    values = {k: v for k, v in record.items() if k in known}
    split = Split(**{**values, "classes": tuple(record["classes"]), "skipped": tuple(record.get("skipped") or ()),
                     "content_hash": str(record.get("content_hash"))})
    if path == Path(run_dir) / SPLIT and model and Path(model).name == model \
            and (Path(run_dir) / FLOAT / model / CARD).is_file():
        _check_shared_split(split, model, read_card(Path(run_dir) / FLOAT / model))
    return split


def _check_shared_split(split: Split, model: str, card: dict) -> None:
    data = card.get("data") if isinstance(card.get("data"), dict) else {}
    trained = (data.get("content_hash"), data.get("seed"), data.get("fractions"))
    now = (split.content_hash, split.seed, split.fractions)
    if any(t is not None and t != n for t, n in zip(trained, now)):  # what the card says (older cards say less)
        raise LiteshipError(f"{model} was not trained on the split data/split.json holds now",
                            f"its card says data {str(trained[0])[:12]}, seed {trained[1]}, fractions {trained[2]}; "
                            f"the run's split is data {split.content_hash[:12]}, seed {split.seed}, fractions "
                            f"{split.fractions} (another model was trained since), and {model} predates "
                            f"float/<model>/{MODEL_SPLIT}: scored on that split it could be tested on its own "
                            "training images",
                            f"train {model} again (liteship train, or a sweep), so that it keeps its own split")


@contextmanager
def writing(run_dir: str | Path, command: str, *, makes: bool = False):
    """Hold ``run_dir`` for ``command`` while it writes (:func:`exclusive`, re-entered inside its session); yield it.

    A writer writes only into a run directory liteship made (its :data:`MARKER`); ``makes``: the command that makes
    runs (train into ``out``), which also takes a new or empty folder and marks it (:func:`claim`). Either is refused
    before anything is written.
    """
    if makes:
        refusal = out_refusal(run_dir)
        if refusal is not None:
            raise LiteshipError(f"--out {run_dir!s} cannot be a run directory", *refusal)
    elif not is_marked(run_dir):
        why = ("there is no such run directory" if not Path(run_dir).exists() else
               f"it has no {MARKER}, so liteship did not make it, and {command} writes into it")
        raise LiteshipError(f"{run_dir} is not a liteship run directory", why,
                            "pass a run directory a sweep or train made; if an older liteship made this one, mark "
                            f"it with `touch {Path(run_dir) / MARKER}`")
    with exclusive(run_dir, command):
        yield claim(run_dir) if makes else Path(run_dir)


def read_current(run_dir: Path) -> dict[str, dict[str, str]] | None:
    """Which variant is current for each (float model, recipe); None for a run made before the index existed.

    A damaged index is an error (exit 2), never "no index": that would make stale variants current again.
    """
    path = Path(run_dir) / CURRENT
    if not path.exists():
        return None
    current = read_json(path, REBUILT_BY[CURRENT])
    if not all(isinstance(r, dict) and all(isinstance(v, str) for v in r.values()) for r in current.values()):
        raise damaged(path, "it is not a table of model -> recipe -> variant ID", REBUILT_BY[CURRENT])
    return current


def current_ids(run_dir: Path) -> set[str] | None:
    """The IDs of the run's current variants (every recipe of every float model); None before the index existed."""
    current = read_current(run_dir)
    return None if current is None else {v for recipes in current.values() for v in recipes.values()}


def update_current(run_dir: Path, planned: list[tuple[str, str, str]]) -> None:
    """Record (model, recipe, variant ID) as current; other recipes and models keep their entries."""
    from liteship.files import atomic_write_json

    before = read_current(run_dir)
    current = {m: dict(r) for m, r in (before or {}).items()}
    for model, recipe, vid in planned:
        current.setdefault(model, {})[recipe] = vid
    if current != before:  # a re-run that plans the same variants leaves the file untouched
        atomic_write_json(Path(run_dir) / CURRENT, current)
