"""Labelled images in: a class-folder tree, an archive of one, or ``digits``.

Everything is decoded once into ``uint8`` pixels through the input contract
(:mod:`trainer.contract`), so what the model trains on is what the app feeds.
Files that cannot be used are skipped, counted and listed, never fatal.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import unicodedata
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from liteship.archive import data_root, extract_archive, is_archive
from liteship.contract import label_problem, to_model_pixels
from liteship.errors import LiteshipError
from liteship.files import kernel_tree, open_regular, printable, read_regular, resolves_inside
from liteship.rundir import EXTRACTED, Split, has_split, read_split

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
# The decoders Pillow may use: the documented formats only, so a PostScript or PDF file named .jpg never reaches
# Ghostscript, whatever its bytes say.
PIL_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "WEBP")
MAX_IMAGE_BYTES = 256 * 1024**2  # a photo is far below this; a larger "image" is refused unread
SPLITS = ("train", "val", "test")


@dataclass
class Dataset:
    """Decoded images with their labels; ``items`` name each image's source."""

    source: str
    class_names: list[str]
    items: list[str]
    labels: np.ndarray
    pixels: np.ndarray  # (N, size, size, 3) uint8, per the input contract
    content_hash: str
    skipped: list[dict] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)  # each image's content hash (its file's bytes), by item

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
    )


def image_digest(raw: bytes) -> str:
    """One image's content hash: the same photo under another name or folder has the same one."""
    return hashlib.sha256(raw).hexdigest()[:32]


# --------------------------------------------------------------------------- folders

def _read_image(raw: bytes, size: int) -> np.ndarray:
    """Decode one file's bytes through the contract; raises on anything unusable."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(raw), formats=PIL_FORMATS) as img:
            img.load()
            return to_model_pixels(img, size)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return "too many pixels (decompression bomb guard)"
    if isinstance(exc, UnidentifiedImageError):
        return "not a readable image"
    if isinstance(exc, LiteshipError):
        return exc.why
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror  # without the absolute path, which the file entry already names
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def _class_files(class_dir: Path) -> list[Path]:
    """Every non-hidden file below a class folder, without following links to folders."""
    files = []
    for root, dirs, names in os.walk(class_dir, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files.extend(Path(root) / n for n in sorted(names) if not n.startswith("."))
    return files


def not_a_regular_file(path: Path, root: Path | None = None) -> str | None:
    """Why ``path`` is not read as data, or None: a link to a file outside ``root`` (the data folder); a FIFO,
    socket or device, also behind a link; a file in /proc, /sys or /dev (``/proc/kmsg`` blocks for ever); too big.

    Only ``stat``: nothing is opened, so a FIFO cannot hang the run and ``/dev/zero`` cannot fill the memory.
    """
    behind = " (behind a symbolic link)" if path.is_symlink() else ""
    if behind and root is not None and not resolves_inside(path, root):
        return f"a symbolic link out of the data folder (to {printable(os.path.realpath(path))}), never opened"
    try:
        info = path.stat()
    except OSError as exc:
        return "symbolic links loop" if exc.errno == errno.ELOOP else (exc.strerror or "cannot be read")
    kind = ("a FIFO" if stat.S_ISFIFO(info.st_mode) else "a socket" if stat.S_ISSOCK(info.st_mode)
            else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "not a regular file"
            if not stat.S_ISREG(info.st_mode) else f"a file in {kernel_tree(path)}" if kernel_tree(path) else None)
    if kind is not None:
        return f"{kind}{behind}, never opened"
    return None if info.st_size <= MAX_IMAGE_BYTES else f"larger than {MAX_IMAGE_BYTES // 1024**2} MB"


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


def _read_files(jobs: list, root: Path, size: int, progress):
    """Decode every (file, label); the unusable ones are listed with why. Returns pixels, labels, items,
    skipped, the content hash so far and each image's own hash."""
    pixels, labels, items, skipped, digests = [], [], [], [], []
    digest = hashlib.sha256()
    for path, label in (progress.iterate(jobs, "reading images") if progress else jobs):
        rel = printable(path.relative_to(root).as_posix())
        if rel != path.relative_to(root).as_posix():
            skipped.append({"file": rel, "reason": "its name is not UTF-8 text, which the split and reports are"})
            continue
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append({"file": rel, "reason": f"not an image file type ({path.suffix or 'no suffix'})"})
            continue
        special = not_a_regular_file(path, root)
        if special is not None:
            skipped.append({"file": rel, "reason": special})
            continue
        try:
            raw = read_regular(path, "Image", MAX_IMAGE_BYTES)
            if not raw:
                raise ValueError("empty file (0 bytes)")
            arr = _read_image(raw, size)
        except Exception as exc:  # any decoder failure skips the file, never the run
            skipped.append({"file": rel, "reason": _reason(exc)})
            continue
        digest.update(rel.encode("utf-8") + b"\0" + hashlib.sha256(raw).digest())
        pixels.append(arr)
        labels.append(label)
        items.append(rel)
        digests.append(image_digest(raw))
    return pixels, labels, items, skipped, digest, digests


def load_folder(root: Path, size: int, progress=None) -> Dataset:
    """A folder with one sub-folder per class (sorted names are the classes)."""
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
    jobs = [(path, label) for label, d in enumerate(class_dirs) for path in _class_files(d)]
    pixels, labels, items, skipped, digest, digests = _read_files(jobs, root, size, progress)
    names = [d.name for d in class_dirs]
    if not pixels:
        reasons = Counter(item["reason"].split(" (")[0] for item in skipped).most_common(3)
        raise LiteshipError(f"No usable images in {root} ({len(skipped)} files skipped)", "no file is an image "
                            "liteship reads: " + "; ".join(f"{n} {why}" for why, n in reasons),
                            "put photos (" + ", ".join(IMAGE_SUFFIXES) + ") in the class folders")
    labels_arr = np.asarray(labels, dtype=np.int64)
    thin = [f"{n} ({int((labels_arr == i).sum())})" for i, n in enumerate(names) if (labels_arr == i).sum() < 2]
    if thin:
        raise LiteshipError(
            "Too few usable images in class " + ", ".join(thin),
            "every class needs at least 2 usable images to be split into training and test",
            "add images to those folders or remove the folders",
        )
    digest.update("\n".join(names).encode("utf-8"))
    return Dataset(
        source=str(root),
        class_names=names,
        items=items,
        labels=labels_arr,
        pixels=np.stack(pixels),
        content_hash=digest.hexdigest(),
        skipped=skipped,
        digests=digests,
    )


def load_dataset(data: str, size: int, work_dir: Path | None = None, progress=None) -> Dataset:
    """``digits``, a class-folder path, or an archive (extracted under ``work_dir``)."""
    if data == "digits":
        return load_digits(size)
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
        dataset = load_folder(data_root(extracted), size, progress)
        dataset.source = str(path)
        return dataset
    return load_folder(path, size, progress)


def _file_hash(path: Path) -> bytes:
    """sha256 of a regular file, opened so that a FIFO put in its place cannot block (files.open_regular)."""
    h = hashlib.sha256()
    with open_regular(path, "Data file") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


def data_fingerprint(data: str) -> str:
    """A hash of what ``--data`` names, without decoding a single image: the sweep's test for changed photos.

    ``digits``: the bundled arrays. A folder: every non-hidden file's path and
    bytes (also the ones training will skip). An archive: its bytes.
    """
    if data == "digits":
        from sklearn.datasets import load_digits as sk_digits

        bunch = sk_digits()
        return hashlib.sha256(bunch.images.tobytes() + bunch.target.tobytes()).hexdigest()
    path = Path(data).expanduser()
    digest = hashlib.sha256()
    if path.is_file():
        return _file_hash(path).hex()
    if not path.is_dir():
        return "missing"
    for class_dir in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not resolves_inside(class_dir, path):
            digest.update(os.fsencode(class_dir.name) + b"\0outside\0")  # refused by load_folder, never walked
            continue
        for file in _class_files(class_dir):
            digest.update(os.fsencode(file.relative_to(path).as_posix()) + b"\0")
            special = not_a_regular_file(file, path)
            try:
                digest.update(_file_hash(file) if special is None else special.encode())
            except (OSError, LiteshipError):
                digest.update(b"unreadable")
    return digest.hexdigest()


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


def load_run_split(run_dir: Path, size: int, model: str | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Re-read a run's data at ``size`` and return (pixels, labels) per split, from ``model``'s own split
    (``float/<model>/split.json``; ``data/split.json`` when no model is named or for a model older than its own).

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
    if source == "digits":
        dataset = load_digits(size)
    elif extracted.is_dir():
        dataset = load_folder(data_root(extracted), size)
    else:
        dataset = load_dataset(source, size, run_dir)
    if dataset.content_hash != record.content_hash:
        from liteship.data_checks import changed
        raise changed(run_dir, model, source)
    index = {item: i for i, item in enumerate(dataset.items)}
    out = {}
    for split, items in record.splits.items():
        ix = np.asarray([index[item] for item in items], dtype=np.int64)
        out[split] = (dataset.pixels[ix], dataset.labels[ix])
    return out
