"""A run's cache of decoded images: one uint8 file per input size, keyed by each image's content hash.

``<run>/data/cache/<size>px.u8`` holds one row per image, ``size * size * 3`` bytes, the input contract's pixels
(:func:`liteship.contract.to_model_pixels`); ``<size>px.json`` (the index) names each row's image by the hash of
its file's bytes (:func:`liteship.dataset.image_digest`) with a CRC-32 of the row, and keeps the images that
could not be decoded with why. A later command, epoch or stage reads the rows instead of decoding again
(:class:`~liteship.image_rows.ImageRows`), and a row is used only for the bytes it was decoded from: an image
whose bytes changed gets a new row, the old one is simply not used.

Never trusted: when the cache is opened for a pass over a folder, the index must be readable and of this version
and size, the file must hold every row the index lists, and every row must match its CRC (read in chunks with
``pread``, so the resident memory does not grow). A damaged row is decoded again, an unusable index or file is
rebuilt, and the progress says which (``image cache <path>: N rows damaged, decoded again``); nothing of it is
ever a traceback. New rows are appended, then the index is written atomically; a killed pass leaves rows past the
index's end, cut off by the next one. A rebuild (an unusable cache, or one whose rows are mostly of images no longer
used) writes a new file and renames it over the old one, so a reader holding a view of the old file (a bench
child, a sweep's worker) reads on undisturbed. One pass at a time writes a size's file (a ``flock`` on
``<size>px.lock``). Before writing, the free disk space is checked for the rows that may be written.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import zlib
from pathlib import Path

import numpy as np

from liteship.errors import LiteshipError
from liteship.files import atomic_write_text, is_temp, temp_name
from liteship.image_rows import ImageRows, identity, take  # noqa: F401  (the view and its helper, for callers)

VERSION = 1
CHUNK_BYTES = 8 * 1024**2  # what a check of the rows reads at a time
_VERIFIED: dict[tuple, frozenset] = {}  # the file and index's stat (RowCache._stat_key) -> digests checked sound


def _rows_file(folder: Path, size: int) -> Path:
    return folder / f"{size}px.u8"


def _index_file(folder: Path, size: int) -> Path:
    return folder / f"{size}px.json"


class RowCache:
    """One size's cache, open for one pass over a folder: the sound rows by digest, rows added as they are decoded,
    the index written by :meth:`finish`. Holds the size's lock from :meth:`open` to :meth:`finish` or
    :meth:`close`."""

    def __init__(self, folder: Path, size: int, log=None):
        self.folder, self.size, self.log = Path(folder), int(size), log or (lambda line: None)
        self.row_bytes = self.size * self.size * 3
        self.path, self.index_path = _rows_file(self.folder, size), _index_file(self.folder, size)
        self.rows: dict[str, int] = {}  # digest -> row, sound ones only
        self.failed: dict[str, str] = {}  # digest -> why it could not be decoded
        self.crcs: list[int | None] = []  # by row; None: a damaged row, never used
        self.digests: list[str | None] = []  # by row; None: a damaged row's slot
        self._lock_fd: int | None = None
        self._fh = None
        self._new_file = False
        self._dirty = False

    # ------------------------------------------------------------------ opening

    def open(self, candidates: int) -> "RowCache":
        """Lock, read and check the cache; refuse before any work when ``candidates`` new rows might not fit."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.folder / f"{self.size}px.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            for entry in self.folder.iterdir():  # a killed rebuild's file: only ever unfinished, the lock is ours
                if is_temp(entry.name) and entry.name.startswith(temp_name(self.path.name)):
                    entry.unlink(missing_ok=True)
            self._load()
            self._check_space(max(0, candidates - len(self.rows)) * self.row_bytes)
        except BaseException:
            self.close()
            raise
        return self

    def _load(self) -> None:
        index = self._read_index()
        if index is None:
            if self.path.exists() or self.index_path.exists():
                self.log(f"image cache {self.path}: its index is unreadable or of another version, rebuilt")
            self._new_file = True
            return
        on_disk = self.path.stat().st_size
        listed = index["rows"]
        whole = min(len(listed), on_disk // self.row_bytes)  # rows the file holds whole; the rest are lost
        self.digests = [d or None for d, _ in listed[:whole]]  # "": a slot of a damaged row, never used
        self.crcs = [int(c) if d else None for d, c in listed[:whole]]
        self.failed = {str(k): str(v) for k, v in index.get("failed", {}).items()}
        bad = self._verify(whole)
        for row in bad:
            self.crcs[row] = None
        self.rows = {d: i for i, d in enumerate(self.digests) if self.crcs[i] is not None}
        damaged = len(bad) + len(listed) - whole
        if damaged:
            self.log(f"image cache {self.path}: {damaged} rows damaged, decoded again")
            self._dirty = True
        if on_disk != whole * self.row_bytes:  # rows of a killed pass past the end, or a file cut short
            with open(self.path, "r+b") as fh:
                fh.truncate(whole * self.row_bytes)
            self._dirty = True

    def _read_index(self) -> dict | None:
        try:
            index = json.loads(self.index_path.read_text(encoding="utf-8"))
            ok = (index.get("version") == VERSION and index.get("size") == self.size
                  and index.get("row_bytes") == self.row_bytes and isinstance(index.get("rows"), list)
                  and all(isinstance(r, list) and len(r) == 2 and isinstance(r[0], str) and isinstance(r[1], int)
                          for r in index["rows"]) and isinstance(index.get("failed", {}), dict)
                  and self.path.is_file())
        except (OSError, ValueError, AttributeError):
            return None
        return index if ok else None

    def _verify(self, count: int) -> list[int]:
        """The rows among the first ``count`` whose bytes do not match their CRC, read a chunk at a time."""
        key = self._stat_key()
        sound = _VERIFIED.get(key)
        if sound is not None and all(d in sound for d, c in zip(self.digests[:count], self.crcs) if c is not None):
            return []
        bad, per_chunk = [], max(1, CHUNK_BYTES // self.row_bytes)
        fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            for first in range(0, count, per_chunk):
                n = min(per_chunk, count - first)
                data = os.pread(fd, n * self.row_bytes, first * self.row_bytes)
                view = memoryview(data)
                for i in range(n):
                    row = view[i * self.row_bytes:(i + 1) * self.row_bytes]
                    crc = self.crcs[first + i]
                    if crc is not None and (len(row) < self.row_bytes or zlib.crc32(row) != crc):
                        bad.append(first + i)
        finally:
            os.close(fd)
        _VERIFIED[key] = frozenset(d for i, d in enumerate(self.digests[:count]) if d and i not in set(bad))
        return bad

    def _check_space(self, needed: int) -> None:
        free = shutil.disk_usage(self.folder).free
        if needed and free < needed + 16 * 1024**2:
            raise LiteshipError(f"Not enough free disk space for the image cache in {self.folder}",
                                f"the decoded images may need {needed / 1024**2:,.0f} MB there and "
                                f"{free / 1024**2:,.0f} MB are free",
                                "free some disk space, or pass an --out on a disk with more room")

    # ------------------------------------------------------------------ the pass

    def knows(self, digest: str) -> bool:
        """Whether the image of ``digest`` needs no decoding at this size: a sound row, or known not to decode."""
        return digest in self.rows or digest in self.failed

    def add(self, digest: str, pixels: np.ndarray) -> int:
        """The row of ``digest``'s pixels: its sound row, or a new row appended."""
        if digest in self.rows:
            return self.rows[digest]
        data = np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()
        if len(data) != self.row_bytes:
            raise ValueError(f"a {self.size} px row holds {self.row_bytes} bytes, not {len(data)}")
        if self._fh is None:
            self._fh = self._open_for_rows()
        try:
            self._fh.write(data)
        except OSError as exc:
            raise _disk_error(self.folder, exc) from exc
        self.digests.append(digest)
        self.crcs.append(zlib.crc32(data))
        self.rows[digest] = len(self.digests) - 1
        self._dirty = True
        return self.rows[digest]

    def fail(self, digest: str, why: str) -> None:
        if self.failed.get(digest) != why:
            self.failed[digest] = why
            self._dirty = True

    def _open_for_rows(self):
        if self._new_file:  # a rebuild: a new file, renamed over the old one by finish()
            self._tmp = self.folder / f"{temp_name(self.path.name)}{os.getpid()}.u8"
            self.digests, self.crcs, self.rows = [], [], {}
            return open(self._tmp, "wb")
        return open(self.path, "ab")

    # ------------------------------------------------------------------ the end

    def finish(self, used: list[str]) -> Path:
        """Write the rows and the index, rebuilding the file when most of its rows are of images not ``used``
        now; return the file (read views of it are made after this). Releases the lock."""
        try:
            if self._new_file and self._fh is None:
                self._fh = self._open_for_rows()
            if self._fh is not None:
                try:
                    self._fh.flush()
                    os.fsync(self._fh.fileno())
                finally:
                    self._fh.close()
                if self._new_file:
                    os.replace(self._tmp, self.path)
            wanted = set(used)
            live = sum(1 for d, c in zip(self.digests, self.crcs) if c is not None and d in wanted)
            if len(self.digests) > 64 and live * 2 < len(self.digests):
                self._compact(wanted)
            elif self._dirty or self._new_file:
                self._write_index()
            return self.path
        finally:
            self.close()

    def _compact(self, wanted: set) -> None:
        """A new file with the sound rows of ``wanted`` images only, renamed over the old one."""
        keep = [i for i, (d, c) in enumerate(zip(self.digests, self.crcs)) if c is not None and d in wanted]
        self._check_space(len(keep) * self.row_bytes)
        tmp = self.folder / f"{temp_name(self.path.name)}{os.getpid()}.u8"
        src = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            with open(tmp, "wb") as out:
                for row in keep:
                    out.write(os.pread(src, self.row_bytes, row * self.row_bytes))
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise _disk_error(self.folder, exc) from exc
        finally:
            os.close(src)
        self.digests = [self.digests[i] for i in keep]
        self.crcs = [self.crcs[i] for i in keep]
        self.rows = {d: i for i, d in enumerate(self.digests)}
        os.replace(tmp, self.path)
        self._write_index()

    def _write_index(self) -> None:
        rows = [[d, c] if c is not None and d else ["", 0] for d, c in zip(self.digests, self.crcs)]
        atomic_write_text(self.index_path, json.dumps({"version": VERSION, "size": self.size,
                                                       "row_bytes": self.row_bytes, "rows": rows,
                                                       "failed": self.failed}, separators=(",", ":")))
        _VERIFIED[self._stat_key()] = frozenset(d for d, c in zip(self.digests, self.crcs) if c is not None)

    def _stat_key(self) -> tuple:
        """The file and index as ``stat`` sees them: a check of the rows holds while this is unchanged."""
        rows, index = os.stat(self.path), os.stat(self.index_path)
        return (str(self.path), rows.st_dev, rows.st_ino, rows.st_size, rows.st_mtime_ns, rows.st_ctime_ns,
                index.st_mtime_ns)

    def close(self) -> None:
        if self._fh is not None and not self._fh.closed:
            self._fh.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def view(self, digests: list[str]) -> ImageRows:
        """The rows of ``digests`` (each a sound row), as a lazy view of the file written."""
        return ImageRows(self.path, self.size, np.asarray([self.rows[d] for d in digests], dtype=np.int64))


def _disk_error(folder: Path, exc: OSError) -> LiteshipError:
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return LiteshipError(f"The disk filled up while writing the image cache in {folder}",
                             exc.strerror or str(exc), "free some disk space and run the command again (the images "
                             "decoded so far are kept)")
    return LiteshipError(f"The image cache in {folder} cannot be written", exc.strerror or str(exc),
                         "check the run directory's permissions and disk, then run the command again")


def open_caches(folder: Path, sizes, candidates: int, log) -> dict[int, RowCache]:
    """Each size's cache in ``folder``, open for a pass over ``candidates`` image files (sizes in order, so two
    passes never wait on each other). A folder that cannot be written (read-only, no permission) is said, and the
    pass holds the images in memory instead (an empty dict); too little free disk space is a LiteshipError."""
    import errno

    caches: dict[int, RowCache] = {}
    try:
        for size in sorted(set(int(s) for s in sizes)):
            caches[size] = RowCache(folder, size, log).open(candidates)
    except OSError as exc:
        for cache in caches.values():
            cache.close()
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise _disk_error(Path(folder), exc) from exc
        log(f"image cache {folder} cannot be written ({exc.strerror}): the images are held in memory")
        return {}
    except BaseException:
        for cache in caches.values():
            cache.close()
        raise
    return caches
