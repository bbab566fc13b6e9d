"""Checks of labelled data that guard the split: a data folder that cannot be split, found before any work; photos
in two classes, kept out of test; data changed since a run's models were trained, refused by gate and pick alike.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from liteship.dataset import (IMAGE_SUFFIXES, Dataset, _class_files, data_fingerprint, load_folders,
                              not_a_regular_file)
from liteship.errors import LiteshipError
from liteship.files import printable
from liteship.rundir import EXTRACTED, has_split, is_marked, read_split, split_path


def _linked_class(folder: Path, folders: list[Path]) -> str | None:
    """The other class folder ``folder`` is (a link to it, or both links to one folder), or None."""
    real = os.path.realpath(folder)
    return next((other.name for other in folders if other != folder and os.path.realpath(other) == real
                 and (folder.is_symlink() or not other.is_symlink())), None)


def _may_be_photo(path: Path, root: Path) -> bool:
    """What the reader would try to decode: an image suffix, a UTF-8 name, a regular non-empty file (``stat`` only)."""
    rel = path.relative_to(root).as_posix()
    return (path.suffix.lower() in IMAGE_SUFFIXES and printable(rel) == rel and not_a_regular_file(path, root) is None
            and path.stat().st_size > 0)


def data_folder_problems(root: Path, scoring: bool = False) -> list[tuple[str, str, str]]:
    """(what, why, fix) for a data folder that cannot be split, found with ``stat`` alone before any work: a
    liteship run directory; a class folder that is another one (a link: its photos would be two classes and land
    in train of one and test of the other); class folders holding no image file at all; a class with fewer than two
    image files (training needs two a class; ``scoring``, a model scored on the folder: one).
    A class of two files of which one cannot be decoded is still found only while reading."""
    if is_marked(root):
        return [("it is a liteship run directory, not a data folder",
                 "its sub-folders (data, float, logs...) are liteship's files, not classes of photos",
                 "pass the folder of class folders the run was trained on")]
    folders = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    out, linked = [], set()
    for folder in folders:
        other = _linked_class(folder, folders)
        if other is not None:
            linked.add(folder)
            out.append((f"class folder {printable(folder.name)} is a link to {printable(other)}",
                        "the same photos would be two classes, and the test split would hold photos trained on "
                        "under the other label", f"remove the link {printable(folder.name)}, or give it photos of "
                        "its own"))
    files = {d: _class_files(d) for d in folders if d not in linked}
    if files and not any(p.suffix.lower() in IMAGE_SUFFIXES for found in files.values() for p in found):
        n = sum(map(len, files.values()))
        return out + [("no class folder holds an image file", f"its {len(files)} class folders hold "
                       f"{'no files at all' if n == 0 else f'{n} files, none named as an image'} "
                       f"({', '.join(IMAGE_SUFFIXES)}), so there is nothing to {'score' if scoring else 'train'} on",
                       "put the photos in the class folders (one folder a class), or pass the folder that has them")]
    counts = {d: sum(_may_be_photo(p, root) for p in found) for d, found in files.items()}
    thin = [f"{printable(d.name)} ({n})" for d, n in counts.items() if n < (1 if scoring else 2)]
    if thin and any(counts.values()):  # none at all: the reader says why each file is not a photo (a FIFO, /proc...)
        why = "a class folder with no image file scores nothing (an empty or misnamed folder?)" if scoring else \
            "every class needs at least 2 images to be split into training and test"
        out.append(("too few image files in class " + ", ".join(thin), why,
                    "add images to those folders or remove the folders"))
    return out


SHOWN_DUPLICATES = 20  # photos in two classes named on the terminal


def cross_class_duplicates(dataset: Dataset) -> tuple[list[str], np.ndarray]:
    """(warning lines naming both files, the indices of every such image) for each photo whose bytes are in two or
    more classes. They are warned of, not refused: a few such labelling mistakes are common in collected photos,
    and kept in training only (split_indices ``train_only``) they cannot make a test image one the model was
    trained on under another label, which would make the test top-1 wrong."""
    where: dict[str, list[int]] = {}
    for i, digest in enumerate(dataset.digests):
        where.setdefault(digest, []).append(i)
    groups = [ix for ix in where.values() if len({int(dataset.labels[i]) for i in ix}) > 1]
    lines = [f"warning: the same photo is in two classes: {' and '.join(dataset.items[i] for i in ix)} (kept in "
             "training only, never tested)" for ix in groups[:SHOWN_DUPLICATES]]
    if len(groups) > SHOWN_DUPLICATES:
        lines.append(f"warning: {len(groups) - SHOWN_DUPLICATES} more photos are in two classes (not shown)")
    return lines, np.asarray(sorted(i for ix in groups for i in ix), dtype=np.int64)


def changed(run_dir: Path, model: str | None, source: str) -> LiteshipError:
    return LiteshipError(f"The data at {source} changed since {model or run_dir} was trained",
                         f"its content hash differs from the one in {split_path(run_dir, model).relative_to(run_dir)}; "
                         "the run's records are of the data as it was, and its test photos cannot be read again",
                         "restore the data, or train again into a new run directory"
                         + (f" (or train {model} again into this one)" if model else ""))


def data_change(run_dir: Path, models) -> LiteshipError | None:
    """The error load_run_split would raise for the first of ``models`` whose data folder changed since it was
    trained, found before any work (gate and pick give one verdict: both refuse such a run), or None.

    A folder whose files still hash to the split's fingerprint is unchanged without decoding; otherwise its images
    are decoded (and dropped: nothing is held), as load_run_split does, and their content hash compared. Digits, an
    archive (extracted into the run) and a folder that is no longer there are not compared here."""
    run_dir = Path(run_dir)
    for model in models:
        if not has_split(run_dir, model) or (run_dir / EXTRACTED).is_dir():
            continue
        record = read_split(run_dir, model)
        if record.source == "digits" or not Path(record.source).is_dir():
            continue
        if record.fingerprint and data_fingerprint(record.source) == record.fingerprint:
            continue
        try:
            found = load_folders(Path(record.source), (record.image_size,), keep=False)[record.image_size]
            same = found.content_hash == record.content_hash
        except LiteshipError:
            same = False
        if not same:
            return changed(run_dir, model, record.source)
    return None
