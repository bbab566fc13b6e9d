"""Bench one .tflite file given by path: labels beside it or named, images from ``--data``."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from liteship.bench.contract import check_contract, input_size
from liteship.bench.measure import BenchOptions, EvalSet, Target, bench_target, load_model_file
from liteship.bench.record import BenchRecord
from liteship.bench.scratch import bench_scratch, remove_stale
from liteship.contract import read_labels_file
from liteship.errors import LiteshipError
from liteship.task_api import file_metadata
from liteship.progress import Progress
from liteship.rundir import FLOAT, LABELS, VARIANTS, has_split, members_hash, read_split, read_variant_record


def read_labels(path: Path) -> list[str]:
    """A labels file read by the contract's one reader, as the app reads it: white space is kept, so a top-1 is
    scored against the class names the app will show."""
    labels = read_labels_file(path)
    if not labels:
        raise LiteshipError(f"Labels file {path} is empty", "it must hold one class name a line", "fix the file")
    return labels


def file_evalset(model, data: str, labels: list[str], scratch: Path | None = None,
                 progress: Progress | None = None) -> tuple[EvalSet, list[str], list[dict]]:
    """Images from ``data`` (class folders or digits), labelled by their index in ``labels``, each image's content
    hash, and the files skipped (``{"file", "reason"}``). With ``scratch`` (a temporary folder that outlives the
    bench), a folder's decoded pixels are rows of an image cache there, read a batch at a time, so memory does not
    grow with the number of images."""
    from liteship.tflite_file import io_specs
    from liteship.dataset import load_dataset
    from liteship.image_cache import NoRoom

    size = input_size(model)
    if size is None:
        raise LiteshipError(f"The model's input shape {list(io_specs(model)[0][0].shape)} is not [1, S, S, 3]",
                            "accuracy needs a square RGB image input", "bench it without --data, or re-export it")
    try:
        ds = load_dataset(data, size, None, progress, None if scratch is None else Path(scratch) / "cache",
                          scoring=True)
    except NoRoom as exc:  # the temporary folder (removed as this error leaves), not a run directory, lacks room
        raise LiteshipError(f"Not enough free disk space in {Path(scratch).parent} (TMPDIR) for the decoded images",
                            exc.why, "free some disk space there, or set TMPDIR to a folder on a disk with more "
                            "room") from exc
    missing = [c for c in ds.class_names if c not in labels]
    if missing:
        spaced = [repr(n) for n in labels if n != n.strip() and n.strip() in missing]
        raise LiteshipError(f"Data classes {', '.join(missing)} are not in the labels",
                            f"the labels are: {', '.join(labels)}" + (
                                f"; {', '.join(spaced)} keep their white space, as the app reads labels.txt"
                                if spaced else ""),
                            "pass the matching --labels file, or remove those class folders")
    index = np.asarray([labels.index(c) for c in ds.class_names])
    evalset = EvalSet(ds.pixels, index[ds.labels], labels, ds.source, "all", ds.content_hash, members_hash(ds.items))
    return evalset, ds.digests, ds.skipped


def skipped_note(skipped: list[dict], scored: int) -> str | None:
    """What a top-1 says of the files in ``--data`` it could not score (not images, unreadable), or None."""
    if not skipped:
        return None
    shown = ", ".join(f"{item['file']} ({item['reason']})" for item in skipped[:3])
    more = f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
    return (f"--data: {len(skipped)} of {len(skipped) + scored} files skipped, the top-1 is of the {scored} images "
            f"read: {shown}{more}")


def _default_labels(path: Path) -> Path:
    """labels.txt beside the model; for a run's variant, its float model's labels.txt."""
    beside = path.with_name(LABELS)
    record = path.with_suffix(".json")
    if not beside.is_file() and path.parent.name == VARIANTS and record.is_file():
        model = read_variant_record(record).get("model")
        if model and (path.parent.parent / FLOAT / model / LABELS).is_file():
            return path.parent.parent / FLOAT / model / LABELS
    return beside


def training_overlap(path: Path, evalset: EvalSet, digests: list[str]) -> str | None:
    """A warning when ``--data`` holds any image the model was trained or tuned on (matched by file content, so
    a renamed or moved copy counts), if its run directory is known."""
    record_file = path.with_suffix(".json")
    variant_of = read_variant_record(record_file).get("model") if record_file.is_file() else None
    # variants/ID.tflite, float/MODEL/model.tflite: the model's own split (data/split.json may be another model's)
    for run_dir, model in ((path.parent.parent, variant_of), (path.parent.parent.parent, path.parent.name)):
        if not has_split(run_dir, model):
            continue
        record = read_split(run_dir, model)
        trained_on = record.trained_on()
        if trained_on is None:  # a run older than the per-image hashes: only the whole data set can be matched
            seen = len(digests) if record.content_hash == evalset.content_hash else 0
        else:
            seen = sum(d in trained_on for d in digests)
        if not seen:
            return None
        return (f"--data holds {seen} of the {len(digests)} scored images that {run_dir} trained or tuned this "
                f"model on (matched by file content): this top-1 overstates; `liteship bench {run_dir}` scores "
                "its held-out test split")
    return None


def _remove_stale(progress: Progress | None) -> None:
    """Say and remove what benches killed before they could clean up left in TMPDIR."""
    removed = remove_stale()
    if removed:
        from liteship.image_cache import disk_amount

        freed = disk_amount(sum(size for _, size in removed))
        shown = ", ".join(str(p) for p, _ in removed[:3]) + (f" and {len(removed) - 3} more" if len(removed) > 3 else "")
        (progress or Progress()).log(f"removed {len(removed)} temporary folder(s) that killed benches left "
                                     f"({freed}): {shown}")


def bench_file(path: Path, options: BenchOptions, data: str | None = None, labels_path: Path | None = None,
               progress: Progress | None = None, timer: Callable[[], int] = time.perf_counter_ns) -> list[BenchRecord]:
    """One .tflite: size, latency and compatibility; accuracy too when ``data`` is given."""
    path = Path(path)
    _, model = load_model_file(path)
    if data is not None:
        contract = check_contract(model, None)
        shape = [p for p in contract["problems"] if p.startswith("expected 1 ")]
        if shape:
            raise LiteshipError(f"{path} cannot be scored on --data: {'; '.join(shape)}",
                                "a top-1 needs one image input and one output of class scores; liteship will not "
                                "guess which tensor is which",
                                "bench it without --data (size, latency, compatibility), or export a single-input, "
                                "single-output classifier")
    given = labels_path is not None
    labels_path = Path(labels_path) if labels_path else _default_labels(path)
    labels, meta = None, file_metadata(path, model)
    if labels_path.is_file():
        labels = read_labels(labels_path)
    elif not given and meta and meta["labels"]:
        labels = meta["labels"]
        (progress or Progress()).log(f"labels: the {len(labels)} of {path.name}'s TFLite metadata (no --labels, no {labels_path.name} "
                     "beside it)")
    elif data is not None:
        raise LiteshipError(f"Labels file {labels_path} does not exist",
                            "accuracy needs the class names in the model's output order",
                            "pass --labels FILE (one class a line)")
    if labels is not None:
        out_classes = check_contract(model, None)["output"]["shape"][-1]
        if out_classes != len(labels):
            raise LiteshipError(f"{labels_path} has {len(labels)} labels but the model outputs {out_classes} classes",
                                "each output must have exactly one label, in order",
                                "pass the labels.txt written with this model")
    target = Target(path=path, variant=path.stem, labels=tuple(labels) if labels else None, size=input_size(model))
    if data is not None:
        _remove_stale(progress)
    with bench_scratch() as scratch:  # removed when the bench ends
        evalset, digests, skipped = file_evalset(model, data, labels, scratch, progress) if data is not None \
            else (None, [], [])
        records, _ = bench_target(target, options, evalset, None, timer, progress)
    if meta and meta["problems"]:  # metadata that disagrees with the input contract: both sides named
        records = [replace(r, contract={**(r.contract or {}), "ok": False, "problems": [
            *(r.contract or {}).get("problems", []), *(f"TFLite metadata: {p}" for p in meta["problems"])]})
            for r in records]
    notes = [] if evalset is None else [n for n in (skipped_note(skipped, len(evalset.labels)),
                                                    training_overlap(path, evalset, digests)) if n]
    for note in notes:
        (progress or Progress()).log(f"warning: {note}")
        records = [replace(r, notes=(*r.notes, f"warning: {note}")) if r.top1 is not None else r for r in records]
    return records
