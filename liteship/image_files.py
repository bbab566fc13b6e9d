"""The image files of a class-folder tree, each listed and read once per command.

One pass (:func:`read_folder`) reads each file's bytes once and from them makes everything a command needs of
the folder: each image's content hash, the folder's fingerprint (what ``data_fingerprint`` gave, so split files
written before still match), the data set's content hash, the skip list, and the input contract's pixels at
each size asked: in memory, or rows of the run's cache (:mod:`liteship.image_cache`), decoded only for images the
cache does not hold. Files are read and decoded on ``os.cpu_count()`` threads (Pillow and hashlib let go of the
GIL), a bounded window ahead of the one thread that takes the results in the files' order, so the order of
items and skips is the listing's, as before.

Within one process, a file whose ``stat`` (device, inode, size, modification and change times in ns) is what it
was when it was read is not read again for its hash (:data:`_KNOWN`): a sweep driver's fingerprint, its
decoding and its bench read each image once between them. Another process reads the file again.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from liteship.errors import LiteshipError
from liteship.files import kernel_tree, open_regular, printable, read_regular, resolves_inside

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
# The decoders Pillow may use: the documented formats only, so a PostScript or PDF file named .jpg never reaches
# Ghostscript, whatever its bytes say.
PIL_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "WEBP")
MAX_IMAGE_BYTES = 256 * 1024**2  # a photo is far below this; a larger "image" is refused unread
WINDOW = 4  # files in flight per thread

_KNOWN: dict[str, tuple[tuple, bytes]] = {}  # absolute path -> (stat signature, sha256 of its bytes)


def image_digest(raw: bytes) -> str:
    """One image's content hash: the same photo under another name or folder has the same one."""
    return hashlib.sha256(raw).hexdigest()[:32]


def _digest_of(sha: bytes) -> str:
    return sha.hex()[:32]  # image_digest of the bytes whose sha256 this is


def decode(raw: bytes, sizes) -> list[np.ndarray]:
    """One file's bytes through the contract at each of ``sizes``; raises on anything unusable."""
    from PIL import Image

    from liteship.contract import to_model_pixels

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(raw), formats=PIL_FORMATS) as img:
            img.load()
            return [to_model_pixels(img, size) for size in sizes]


def reason(exc: BaseException) -> str:
    """Why a file was skipped, in a few words."""
    from PIL import Image, UnidentifiedImageError

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


def decoder_refused(exc: BaseException) -> bool:
    """Whether ``exc`` is the decoder refusing the file's bytes (which the cache may record for them), not the
    machine failing (out of memory, an I/O error), which another run may not meet."""
    import struct

    from PIL import Image, UnidentifiedImageError

    if isinstance(exc, (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning,
                        SyntaxError, EOFError, ValueError, struct.error)):
        return True
    return isinstance(exc, OSError) and exc.errno is None  # Pillow's own: "image file is truncated", ...


def class_files(class_dir: Path) -> list[Path]:
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


def file_hash(path: Path) -> bytes:
    """sha256 of a regular file, opened so that a FIFO put in its place cannot block (files.open_regular)."""
    h = hashlib.sha256()
    with open_regular(path, "Data file") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


def _signature(path: Path) -> tuple:
    info = path.stat()
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


def is_image_name(path: Path, root: Path) -> bool:
    """A file the reader would try to decode by its name: an image suffix, a UTF-8 name."""
    rel = path.relative_to(root).as_posix()
    return path.suffix.lower() in IMAGE_SUFFIXES and printable(rel) == rel


@dataclass
class _Seen:
    """One file as a thread found it: why it is not data, or its hash and (when decoded) its pixels."""

    special: str | None = None  # not a regular file (stat only, never opened)
    error: str | None = None  # it could not be read
    sha: bytes | None = None
    pixels: list | None = None  # by size, when decoded
    failed: str | None = None  # why it did not decode
    refused: bool = False  # failed: the decoder refused its bytes (never the machine's own error)


def _examine(path: Path, root: Path, image: bool, sizes: tuple, needs) -> _Seen:
    """Stat ``path``; read it only when its hash is not known or it must be decoded; decode it when ``needs``."""
    special = not_a_regular_file(path, root)
    if special is not None:
        return _Seen(special=special)
    key = os.path.abspath(path)
    try:
        before = _signature(path)
    except OSError as exc:
        return _Seen(error=exc.strerror or "cannot be read")
    known = _KNOWN.get(key)
    sha = known[1] if known is not None and known[0] == before else None
    if sha is not None and not (image and sizes and needs(_digest_of(sha))):
        return _Seen(sha=sha)
    try:
        raw = read_regular(path, "Image", MAX_IMAGE_BYTES) if image else None
        sha = hashlib.sha256(raw).digest() if image else file_hash(path)
        if _signature(path) == before:
            _KNOWN[key] = (before, sha)
    except (OSError, LiteshipError) as exc:
        return _Seen(error=reason(exc))
    if not image or not sizes or not needs(_digest_of(sha)):
        return _Seen(sha=sha)
    try:
        if not raw:
            raise ValueError("empty file (0 bytes)")
        return _Seen(sha=sha, pixels=decode(raw, sizes))
    except Exception as exc:  # any decoder failure skips the file, never the run
        return _Seen(sha=sha, failed=reason(exc), refused=decoder_refused(exc))


def _in_order(fn, items: list):
    """``fn`` of each item on threads, a bounded window ahead, yielded in the items' order."""
    workers = os.cpu_count() or 1
    with ThreadPoolExecutor(workers, thread_name_prefix="liteship-images") as pool:
        window: deque = deque()
        try:
            for item in items:
                window.append(pool.submit(fn, *item))
                if len(window) >= workers * WINDOW:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
        finally:
            for future in window:
                future.cancel()


@dataclass
class FolderRead:
    """What one pass over a folder's files found; ``pixels`` by size (an array, or rows of the cache)."""

    fingerprint: str
    content: object  # the data set's content hash so far (a hashlib object): its usable files' names and bytes
    items: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)
    pixels: dict = field(default_factory=dict)


def _skip_reason(path: Path, root: Path, seen: _Seen) -> str | None:
    rel = path.relative_to(root).as_posix()
    if printable(rel) != rel:
        return "its name is not UTF-8 text, which the split and reports are"
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return f"not an image file type ({path.suffix or 'no suffix'})"
    return seen.special or seen.error or seen.failed


def _use(out: FolderRead, path: Path, root: Path, label: int, seen: _Seen, sizes: tuple, caches: dict,
         held: dict | None) -> None:
    """Add one examined file to ``out``: skipped with why, or an image with its rows (``held``: the arrays of the
    sizes kept in memory, None: dropped)."""
    digest = _digest_of(seen.sha) if seen.sha is not None else None
    if digest is not None and seen.failed is None and seen.pixels is None:  # not decoded: the cache knows it
        seen.failed = next((c.failed[digest] for c in caches.values() if digest in c.failed), None)
        seen.refused = seen.failed is not None
    why = _skip_reason(path, root, seen)
    rel = path.relative_to(root).as_posix()
    if why is not None:
        out.skipped.append({"file": printable(rel), "reason": why})
        for cache in caches.values() if seen.refused and digest is not None else ():
            cache.fail(digest, seen.failed)
        return
    out.content.update(rel.encode("utf-8") + b"\0" + seen.sha)
    out.items.append(rel)
    out.labels.append(label)
    out.digests.append(digest)
    for i, size in enumerate(sizes):
        if size in caches and seen.pixels is not None:
            caches[size].add(digest, seen.pixels[i])
        elif size not in caches and held is not None:
            held[size].append(seen.pixels[i])


def read_folder(root: Path, jobs: list[tuple[Path, int]], sizes: tuple[int, ...] = (), caches: dict | None = None,
                progress=None, fingerprint=None, keep: bool = True) -> FolderRead:
    """One pass over ``jobs`` ((file, label), in order): hashes, fingerprint and skips, and for each of ``sizes``
    the pixels, as rows of ``caches[size]`` (an open :class:`~liteship.image_cache.RowCache`) or in memory (a size
    with no cache; ``keep`` False: decoded to know which decode, and dropped). No ``sizes``: hashes only.
    ``fingerprint``: a sha256 object the files' names and hashes are added to (default: a new one)."""
    caches = caches or {}
    held = {size: [] for size in sizes if size not in caches}

    def needs(digest: str) -> bool:
        return bool(held) or not all(cache.knows(digest) for cache in caches.values())

    fingerprint = fingerprint or hashlib.sha256()
    out = FolderRead("", hashlib.sha256())
    work = [(path, root, is_image_name(path, root), tuple(sizes), needs) for path, _ in jobs]
    steps = progress.iterate(jobs, "reading images") if progress and sizes else jobs
    for (path, label), seen in zip(steps, _in_order(_examine, work)):
        fingerprint.update(os.fsencode(path.relative_to(root).as_posix()) + b"\0")
        fingerprint.update(seen.sha if seen.sha is not None else seen.special.encode() if seen.special else
                           b"unreadable")
        if sizes:
            _use(out, path, root, label, seen, tuple(sizes), caches, held if keep else None)
    out.fingerprint = fingerprint.hexdigest()
    for size, arrays in held.items():
        out.pixels[size] = np.stack(arrays) if arrays else np.zeros((0, size, size, 3), np.uint8)
    return out


def fingerprint(path: Path) -> str:
    """A folder's fingerprint: every non-hidden file's path and bytes (also the ones training will skip), without
    decoding; a class folder that links out of the folder is named, never walked."""
    digest = hashlib.sha256()
    for class_dir in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not resolves_inside(class_dir, path):
            digest.update(os.fsencode(class_dir.name) + b"\0outside\0")  # refused by load_folder, never walked
            continue
        read_folder(path, [(f, 0) for f in class_files(class_dir)], fingerprint=digest)
    return digest.hexdigest()
