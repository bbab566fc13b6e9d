"""Labelled images in: a class-folder tree, an archive of one, or ``digits``.

Every image is decoded through the input contract (:mod:`liteship.contract`) into ``uint8`` pixels, so what the
model trains on is what the app feeds: in memory, or, given a cache folder (a run's ``data/cache``), as rows of
the run's image cache read a batch at a time (:class:`~liteship.image_rows.ImageRows`), so a data set larger than
the memory trains. Each file is read once per pass (:mod:`liteship.image_files`). Files that cannot be used are
skipped, counted and listed, never fatal.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from liteship.archive import data_root, extract_archive, is_archive
from liteship.contract import label_problem, to_model_pixels
from liteship.errors import LiteshipError
from liteship.files import printable, resolves_inside
from liteship.image_files import (IMAGE_SUFFIXES, MAX_IMAGE_BYTES, PIL_FORMATS, class_files, file_hash,  # noqa: F401
                                  fingerprint, image_digest, is_image_name, not_a_regular_file, read_folder)
from liteship.image_rows import ImageRows, take
from liteship.rundir import EXTRACTED, IMAGE_CACHE, Split, has_split, read_split

_class_files = class_files  # the name data_checks and older callers import
SPLITS = ("train", "val", "test")


@dataclass
class Dataset:
    """Decoded images with their labels; ``items`` name each image's source."""

    source: str
    class_names: list[str]
    items: list[str]
    labels: np.ndarray
    pixels: np.ndarray | ImageRows  # (N, size, size, 3) uint8, per the input contract: in memory or in the cache
    content_hash: str
    skipped: list[dict] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)  # each image's content hash (its file's bytes), by item
    fingerprint: str | None = None  # data_fingerprint of what was read, from the same pass

    def digests_of(self, index) -> list[str]:
        return [self.digests[i] for i in index] if self.digests else []

    @property
    def size(self) -> int:
        return int(self.pixels.shape[1])

    def counts(self) -> dict[str, int]:
        return {name: int((self.labels == i).sum()) for i, name in enumerate(self.class_names)}


# --------------------------------------------------------------------------- digits

def load_digits(size: int) -> Dataset:
    """scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), upscaled to RGB."""
    try:
        from sklearn.datasets import load_digits as sk_digits
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise LiteshipError(
            "The built-in 'digits' data set needs scikit-learn, which is not installed",
            "scikit-learn ships the digits inside its package (no download)",
            "pip install 'liteship[train]' or pip install scikit-learn",
        ) from exc
    bunch = sk_digits()
    grey = np.clip(np.rint(bunch.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    pixels = np.stack([to_model_pixels(Image.fromarray(g, mode="L"), size) for g in grey])
    digest = hashlib.sha256(grey.tobytes() + bunch.target.astype(np.int64).tobytes()).hexdigest()
    return Dataset(
        source="digits",
        class_names=[str(i) for i in range(10)],
        items=[f"digits/{i}" for i in range(len(grey))],
        labels=bunch.target.astype(np.int64),
        pixels=pixels,
        content_hash=digest,
        digests=[image_digest(g.tobytes()) for g in grey],
        fingerprint=hashlib.sha256(bunch.images.tobytes() + bunch.target.tobytes()).hexdigest(),
    )


# --------------------------------------------------------------------------- folders

def _class_problem(folder: Path, root: Path) -> str | None:
    if printable(folder.name) != folder.name:
        return "its name is not UTF-8 text, and labels.txt is"
    if not resolves_inside(folder, root):
        return (f"it is a symbolic link to {printable(os.path.realpath(folder))}, outside the data folder, which "
                "liteship does not walk")
    return label_problem(folder.name)


def class_name_problems(root: Path) -> list[tuple[str, str]]:
    """(folder, why) for each class folder that cannot be a class: a name that cannot be a line of labels.txt or
    is not UTF-8, a link out of the data folder, two names that differ only in case or accent encoding (NFC, NFD)."""
    folders = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    out = [(printable(d.name), why) for d in folders if (why := _class_problem(d, root))]
    seen: dict[str, str] = {}
    for d in folders:
        other = seen.setdefault(unicodedata.normalize("NFC", d.name).casefold(), d.name)
        if other != d.name:
            out.append((printable(d.name), f"it differs from the class folder {printable(other)!r} only in case or "
                        "accent encoding: on a file system that ignores those (macOS, Windows) the two are one "
                        "folder, so the same data would give other classes there"))
    return out


def _class_dirs(root: Path) -> list[Path]:
    """The class folders of ``root``, sorted; a LiteshipError when they cannot be a data set's classes."""
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise LiteshipError(
            f"No class folders in {root}",
            "liteship expects one sub-folder per class, each holding that class's images",
            "arrange the images as DATA/<class>/<image>.jpg and pass --data DATA",
        )
    bad = class_name_problems(root)
    if bad:
        raise LiteshipError(f"Class folder {bad[0][0]!r} in {root} cannot be a class", bad[0][1],
                            "give each class a plain folder inside the data folder, named in plain text, unique "
                            "whatever the case")
    if len(class_dirs) == 1:
        raise LiteshipError(
            f"Only one class folder ({class_dirs[0].name!r}) in {root}",
            "a classifier needs at least two classes",
            "add a sub-folder per class, or point --data at the folder above",
        )
    return class_dirs


def _usable(root: Path, found, names: list[str], scoring: bool = False) -> np.ndarray:
    """The labels of what a pass found; a LiteshipError when no image or too few of a class could be used: 2 a
    class to be split for training, 1 to be scored (``scoring``: a bench of a model on these images)."""
    if not found.items:
        reasons = Counter(item["reason"].split(" (")[0] for item in found.skipped).most_common(3)
        raise LiteshipError(f"No usable images in {root} ({len(found.skipped)} files skipped)", "no file is an "
                            "image liteship reads: " + "; ".join(f"{n} {why}" for why, n in reasons),
                            "put photos (" + ", ".join(IMAGE_SUFFIXES) + ") in the class folders")
    labels = np.asarray(found.labels, dtype=np.int64)
    least = 1 if scoring else 2
    thin = [f"{n} ({int((labels == i).sum())})" for i, n in enumerate(names) if (labels == i).sum() < least]
    if thin:
        raise LiteshipError(
            "Too few usable images in class " + ", ".join(thin),
            "a class folder with no usable image scores nothing (an empty or misnamed folder?)" if scoring else
            "every class needs at least 2 usable images to be split into training and test",
            "add images to those folders or remove the folders",
        )
    return labels


def _log(progress):
    if progress is not None:
        return progress.log
    from liteship.progress import Progress

    return Progress().log  # what the cache says of itself (rows damaged, rebuilt) is never silent


def load_folders(root: Path, sizes, progress=None, cache_dir: Path | None = None,
                 keep: bool = True, scoring: bool = False) -> dict[int, Dataset]:
    """A folder with one sub-folder per class (sorted names are the classes), decoded at each of ``sizes`` in one
    pass over its files: in memory, or with ``cache_dir`` as rows of the image cache there; ``keep`` False: no
    pixels at all (empty), only what decodes and the hashes (a check of the data's content hash)."""
    from liteship.image_cache import open_caches

    sizes = tuple(dict.fromkeys(int(s) for s in sizes))
    class_dirs = _class_dirs(root)
    jobs = [(path, label) for label, d in enumerate(class_dirs) for path in class_files(d)]
    candidates = sum(is_image_name(path, root) for path, _ in jobs)
    caches = open_caches(Path(cache_dir), sizes, candidates, _log(progress)) if cache_dir is not None else {}
    try:
        found = read_folder(root, jobs, sizes, caches, progress, keep=keep)
        for size, cache in caches.items():
            cache.finish(found.digests)
            found.pixels[size] = cache.view(found.digests)
    finally:
        for cache in caches.values():
            cache.close()
    names = [d.name for d in class_dirs]
    labels = _usable(root, found, names, scoring)
    found.content.update("\n".join(names).encode("utf-8"))
    return {size: Dataset(source=str(root), class_names=names, items=found.items, labels=labels,
                          pixels=found.pixels[size], content_hash=found.content.hexdigest(), skipped=found.skipped,
                          digests=found.digests, fingerprint=found.fingerprint) for size in sizes}


def load_folder(root: Path, size: int, progress=None, cache_dir: Path | None = None) -> Dataset:
    """A folder with one sub-folder per class (sorted names are the classes): in memory, or with ``cache_dir`` as
    lazy rows of the image cache there."""
    return load_folders(root, (size,), progress, cache_dir)[size]


def load_datasets(data: str, sizes, work_dir: Path | None = None, progress=None,
                  cache_dir: Path | None = None, scoring: bool = False) -> dict[int, Dataset]:
    """``digits``, a class-folder path, or an archive (extracted under ``work_dir``), at each of ``sizes``, each
    file read once; ``scoring``: images to score a model on, not to train one (a class needs 1 image, not 2)."""
    if data == "digits":
        return {int(size): load_digits(int(size)) for size in sizes}
    path = Path(data).expanduser()
    if not path.exists():
        raise LiteshipError(
            f"Data path {data} does not exist",
            "--data takes a folder of class folders, an archive of one, or 'digits'",
            "check the path, or try --data digits",
        )
    if path.is_file():
        if not is_archive(path):
            raise LiteshipError(
                f"Data file {path.name} is not a supported archive",
                "a file passed to --data must be .tar, .tar.gz, .tgz or .zip",
                "pass the folder itself, or an archive of it",
            )
        if work_dir is None:
            raise LiteshipError(f"Data archive {path.name} cannot be read here",
                                "an archive is extracted only into a run directory, and this command writes none",
                                "extract it and pass the folder")
        extracted = extract_archive(path, Path(work_dir) / EXTRACTED)
        found = load_folders(data_root(extracted), sizes, progress, cache_dir, scoring=scoring)
        archive_print = file_hash(path).hex()  # an archive's fingerprint: its bytes
        for dataset in found.values():
            dataset.source, dataset.fingerprint = str(path), archive_print
        return found
    return load_folders(path, sizes, progress, cache_dir, scoring=scoring)


def load_dataset(data: str, size: int, work_dir: Path | None = None, progress=None,
                 cache_dir: Path | None = None, scoring: bool = False) -> Dataset:
    """``digits``, a class-folder path, or an archive (extracted under ``work_dir``); with ``cache_dir``, a folder's
    pixels are rows of the image cache there; ``scoring`` as :func:`load_datasets`."""
    return load_datasets(data, (size,), work_dir, progress, cache_dir, scoring)[int(size)]


def data_fingerprint(data: str) -> str:
    """A hash of what ``--data`` names, without decoding a single image: the sweep's test for changed photos.

    ``digits``: the bundled arrays. A folder: every non-hidden file's path and
    bytes (also the ones training will skip). An archive: its bytes. A file read
    before in this process, unchanged since (its ``stat``), is not read again.
    """
    if data == "digits":
        from sklearn.datasets import load_digits as sk_digits

        bunch = sk_digits()
        return hashlib.sha256(bunch.images.tobytes() + bunch.target.tobytes()).hexdigest()
    path = Path(data).expanduser()
    if path.is_file():
        return file_hash(path).hex()
    if not path.is_dir():
        return "missing"
    return fingerprint(path)


# --------------------------------------------------------------------------- splits

def split_indices(labels: np.ndarray, seed: int, val: float = 0.15, test: float = 0.15,
                  train_only: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Stratified train/val/test indices, the same for the same labels and seed.

    Each class is shuffled on its own and cut by the fractions; a class of
    three or more images keeps at least one image in each split, a class of
    two gives one to train and one to test; ``train_only`` go to train.
    """
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise LiteshipError(f"Split fractions val={val} test={test} are invalid",
                            "both must be in [0, 1) and leave room for training",
                            "use for example val=0.15 test=0.15")
    rng = np.random.default_rng(seed)
    out: dict[str, list[int]] = {s: [] for s in SPLITS}
    pinned = np.isin(np.arange(len(labels)), [] if train_only is None else train_only)  # photos in two classes
    out["train"].extend(np.flatnonzero(pinned))
    for cls in np.unique(labels[~pinned]):
        idx = np.flatnonzero((labels == cls) & ~pinned)
        idx = idx[rng.permutation(len(idx))]
        n = len(idx)
        n_test, n_val = int(round(n * test)), int(round(n * val))
        if n >= 3:
            n_test, n_val = max(n_test, 1 if test > 0 else 0), max(n_val, 1 if val > 0 else 0)
        elif n == 2:
            n_test, n_val = (1 if test > 0 else 0), 0
        while n - n_test - n_val < 1:
            if n_val > n_test:
                n_val -= 1
            else:
                n_test -= 1
        out["test"].extend(idx[:n_test])
        out["val"].extend(idx[n_test:n_test + n_val])
        out["train"].extend(idx[n_test + n_val:])
    return {s: np.sort(np.asarray(v, dtype=np.int64)) for s, v in out.items()}


def split_record(dataset: Dataset, splits: dict[str, np.ndarray], seed: int, fractions: dict,
                 fingerprint: str | None = None) -> Split:
    """What ``data/split.json`` holds."""
    return Split(source=dataset.source, fingerprint=fingerprint, classes=tuple(dataset.class_names), seed=seed,
                 fractions=fractions, content_hash=dataset.content_hash, image_size=dataset.size,
                 counts={s: int(len(ix)) for s, ix in splits.items()},
                 splits={s: [dataset.items[i] for i in ix] for s, ix in splits.items()},
                 image_hashes={s: dataset.digests_of(ix) for s, ix in splits.items() if s != "test"},
                 skipped=tuple(dataset.skipped))


def load_run_split(run_dir: Path, size: int, model: str | None = None, progress=None,
                   dataset: Dataset | None = None) -> dict[str, tuple[np.ndarray | ImageRows, np.ndarray]]:
    """Re-read a run's data at ``size`` and return (pixels, labels) per split, from ``model``'s own split
    (``float/<model>/split.json``; ``data/split.json`` when no model is named or for a model older than its own).
    A folder's pixels are lazy rows of the run's image cache (``data/cache``); ``dataset``: the data set read
    already at this size in this command (nothing is read again).

    The files must still hash to what the split recorded; otherwise the
    variants would be measured on different data than the model was trained on.
    """
    run_dir = Path(run_dir)
    if not has_split(run_dir, model):
        raise LiteshipError(f"{run_dir} has no data/split.json", "it is written by `liteship train`",
                            "train a model into this run directory first")
    record = read_split(run_dir, model)
    source = record.source
    extracted = run_dir / EXTRACTED
    if dataset is not None and dataset.size == size:
        pass
    elif source == "digits":
        dataset = load_digits(size)
    elif extracted.is_dir():
        dataset = load_folder(data_root(extracted), size, progress, run_dir / IMAGE_CACHE)
    else:
        dataset = load_dataset(source, size, run_dir, progress, run_dir / IMAGE_CACHE)
    if dataset.content_hash != record.content_hash:
        from liteship.data_checks import changed
        raise changed(run_dir, model, source)
    index = {item: i for i, item in enumerate(dataset.items)}
    out = {}
    for split, items in record.splits.items():
        ix = np.asarray([index[item] for item in items], dtype=np.int64)
        out[split] = (take(dataset.pixels, ix), dataset.labels[ix])
    return out
