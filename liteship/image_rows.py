"""Decoded images held on disk as uint8 rows, read a batch at a time: what a data set larger than the memory is.

An :class:`ImageRows` is a lazy view of some rows of one cache file (:mod:`liteship.image_cache` writes them): each
row is one image, ``size * size * 3`` bytes, as the input contract decoded it. It quacks like the (N, size, size,
3) uint8 array it stands for where liteship reads pixels: ``len``, ``shape``, ``dtype``, ``ndim``, indexing by an
int, a slice or an index array (which reads those rows into a new array), ``take`` (a lazy subset) and
``np.asarray`` (every row: only where a small subset is wanted).

Rows are read with ``os.preadv`` into the array returned, never through ``mmap``: mapped pages of a file count in
the process's resident memory, and the point of streaming is that the peak does not grow with the number of
images (the kernel's page cache, which does not count, keeps a re-read cheap). A view pickles as its file's path,
the file's identity and its row numbers (a range when they are one), so handing it to another process (a sweep's
worker, a bench child) costs kilobytes; the other process opens the file itself. A cache file is never rewritten
in place (new rows are appended, a rebuild is a new file renamed over it), so a view reads the bytes it was made
with; one whose file was replaced since is refused with what to do, never read wrong. A cache file starts with a
header naming its build (a random id, :func:`header`): the device and inode of a file are reused by the system
once it is gone, the build id never is, so a view of a cache file is checked against both.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from liteship.errors import LiteshipError

_FDS: dict[tuple, int] = {}  # (path, device, inode, build, pid) -> a descriptor open on that very file
_FDS_LOCK = threading.Lock()
HEADER_BYTES = 64  # a cache file's header: its build id; the rows follow
_MAGIC = b"liteship image rows\n"


def header(build: str) -> bytes:
    """The first bytes of the cache file of ``build`` (a random hex id, new for each file written)."""
    text = _MAGIC + build.encode("ascii") + b"\n"
    if len(text) > HEADER_BYTES:
        raise ValueError(f"a build id of {len(build)} characters does not fit a cache file's header")
    return text.ljust(HEADER_BYTES, b"\0")


def identity(path: str | os.PathLike) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_dev, info.st_ino


def _compact(rows: np.ndarray):
    """Row numbers as a (start, stop, step) range when they are one, else the array (int32 when it fits)."""
    if len(rows) >= 2:
        step = int(rows[1] - rows[0])
        if step != 0 and np.all(np.diff(rows) == step):
            return ("range", int(rows[0]), int(rows[-1]) + step, step)
    return rows.astype(np.int32) if len(rows) and int(rows.max()) < 2**31 and int(rows.min()) >= 0 else rows


def _expand(rows) -> np.ndarray:
    if isinstance(rows, tuple) and rows and rows[0] == "range":
        return np.arange(rows[1], rows[2], rows[3], dtype=np.int64)
    return np.asarray(rows, dtype=np.int64)


class ImageRows:
    """``len(rows)`` images of ``size`` x ``size`` x 3 uint8, row ``rows[i]`` of the cache file ``path``: a file of
    bare rows, or with ``build`` a cache file of that build (its :func:`header` checked, the rows after it)."""

    dtype = np.dtype(np.uint8)
    ndim = 4

    def __init__(self, path: str | os.PathLike, size: int, rows, file_id: tuple[int, int] | None = None,
                 build: str | None = None):
        self.path = Path(path)
        self.size = int(size)
        self.rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        self.file_id = tuple(file_id) if file_id is not None else identity(self.path)
        self.build = build

    @property
    def offset(self) -> int:
        """Where the rows start in the file."""
        return HEADER_BYTES if self.build else 0

    @property
    def row_bytes(self) -> int:
        return self.size * self.size * 3

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self.rows), self.size, self.size, 3)

    @property
    def nbytes(self) -> int:
        return len(self.rows) * self.row_bytes

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"ImageRows({str(self.path)!r}, {len(self)} images of {self.size} px)"

    def take(self, index) -> "ImageRows":
        """A lazy view of the images at ``index`` (positions in this view), nothing read."""
        return ImageRows(self.path, self.size, self.rows[np.asarray(index, dtype=np.int64)], self.file_id,
                         self.build)

    def __getitem__(self, key) -> np.ndarray:
        """An int: that image (size, size, 3); a slice, an index array or a boolean mask: those images, read."""
        if isinstance(key, tuple):
            raise TypeError("ImageRows are indexed by image only (an int, a slice or an index array)")
        if isinstance(key, (int, np.integer)):
            return self.read(self.rows[[int(key)]])[0]
        return self.read(np.atleast_1d(self.rows[key]))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self.read(self.rows)
        return out if dtype is None else out.astype(dtype, copy=False)

    def __getstate__(self) -> dict:
        return {"path": str(self.path), "size": self.size, "rows": _compact(self.rows), "file_id": self.file_id,
                "build": self.build}

    def __setstate__(self, state: dict) -> None:
        self.path, self.size = Path(state["path"]), int(state["size"])
        self.rows, self.file_id = _expand(state["rows"]), tuple(state["file_id"])
        self.build = state.get("build")

    def _fd(self) -> int:
        key = (str(self.path), *self.file_id, self.build, os.getpid())
        with _FDS_LOCK:
            fd = _FDS.get(key)
            if fd is None:
                try:
                    fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
                                 | getattr(os, "O_NOFOLLOW", 0))
                except OSError as exc:
                    raise self._gone(exc.strerror or str(exc)) from None
                info = os.fstat(fd)
                if ((info.st_dev, info.st_ino) != self.file_id
                        or (self.build and os.pread(fd, HEADER_BYTES, 0) != header(self.build))):
                    os.close(fd)
                    raise self._gone("it was rebuilt since these images were read from it")
                _FDS[key] = fd
            return fd

    def _gone(self, why: str) -> LiteshipError:
        return LiteshipError(f"The image cache {self.path} cannot be read", why,
                             "run the command again: it reads the images from their files and rebuilds the cache")

    def read(self, rows: np.ndarray) -> np.ndarray:
        """The cache file's ``rows`` (row numbers), as a new (len(rows), size, size, 3) uint8 array; consecutive
        rows are read with one call."""
        n, width = len(rows), self.row_bytes
        out = np.empty((n, self.size, self.size, 3), dtype=np.uint8)
        if n == 0:
            return out
        flat = memoryview(out.reshape(-1))
        fd, start, base = self._fd(), 0, self.offset
        while start < n:
            end = start + 1
            while end < n and rows[end] == rows[end - 1] + 1:
                end += 1
            _read_into(fd, flat[start * width:end * width], base + int(rows[start]) * width, self)
            start = end
        return out


def _read_into(fd: int, buffer: memoryview, offset: int, rows: ImageRows) -> None:
    done = 0
    while done < len(buffer):
        if hasattr(os, "preadv"):  # straight into the array
            got = os.preadv(fd, [buffer[done:]], offset + done)
        else:  # macOS before 11: a copy
            data = os.pread(fd, len(buffer) - done, offset + done)
            buffer[done:done + len(data)] = data
            got = len(data)
        if got <= 0:
            raise rows._gone(f"it ends before byte {offset + len(buffer)} (it was cut short after these images "
                             "were read from it)")
        done += got


def take(pixels, index):
    """``pixels[index]`` for an array; a lazy subset for :class:`ImageRows` (nothing read)."""
    if isinstance(pixels, ImageRows):
        return pixels.take(index)
    return pixels[np.asarray(index, dtype=np.int64)]


def batches(pixels, batch: int):
    """``pixels`` (an array or :class:`ImageRows`) as consecutive uint8 arrays of at most ``batch`` images."""
    for start in range(0, len(pixels), max(1, int(batch))):
        yield np.asarray(pixels[start:start + batch])


def save_npy(path: str | os.PathLike, pixels, convert=None, batch: int = 256) -> None:
    """``pixels`` (an array or :class:`ImageRows`) written to an .npy file a batch at a time, each batch passed
    through ``convert`` first (a session's ``feed``): a child process reads it an image at a time, and only a
    batch is ever held here."""
    from numpy.lib import format as npy

    head = np.asarray(pixels[:1])
    head = convert(head) if convert is not None else head
    header = {"descr": npy.dtype_to_descr(head.dtype), "fortran_order": False,
              "shape": (len(pixels), *pixels.shape[1:])}
    with open(path, "wb") as fh:
        npy.write_array_header_1_0(fh, header)
        for chunk in batches(pixels, batch):
            fh.write(np.ascontiguousarray(convert(chunk) if convert is not None else chunk, dtype=head.dtype).data)
