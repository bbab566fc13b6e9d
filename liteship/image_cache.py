"""A run's cache of decoded images: one uint8 file per input size, keyed by each image's content hash.

``<run>/data/cache/<size>px.u8`` holds one row per image, ``size * size * 3`` bytes, the input contract's pixels
(:func:`liteship.contract.to_model_pixels`); ``<size>px.json`` (the index) names each row's image by the hash of
its file's bytes (:func:`liteship.dataset.image_digest`) with a CRC-32 of the digest, the size and the row (so an
index whose hashes were moved between rows fails the check), and keeps the images a decoder refused with why and
Pillow's version. A later command, epoch or stage reads the rows instead of decoding again
(:class:`~liteship.image_rows.ImageRows`), and a row is used only for the bytes it was decoded from: an image
whose bytes changed gets a new row, the old one is simply not used.

Never trusted: when the cache is opened for a pass over a folder, the index must be readable and of this version
and size, the file must hold every row the index lists, and every row must match its CRC (read in chunks with
``pread``, so the resident memory does not grow). A damaged row is decoded again, an unusable index or file is
rebuilt, and the progress says which (``image cache <path>: N rows damaged, decoded again``); nothing of it is
ever a traceback. New rows are appended, then the index is written atomically; a killed pass leaves rows past the
index's end, which the next one leaves out of a new file. The files are opened without following links and
written only when each is a regular file with one link: a symbolic or hard link in the cache's place (a run copied
with ``cp -al``, a user's file linked there) is treated as damaged and replaced by a new file renamed over the
link, never written through; a cache folder that is a symbolic link is never written (the images are held in
memory, said). No file is ever cut short in place. A rebuild (an unusable cache, rows past the index, or one whose rows are
mostly of images no longer used) writes a new file, with a new build id in its header, and renames it over the old
one, so a reader holding a view of the old file (a bench
child, a sweep's worker) reads on undisturbed. One pass at a time writes a size's file (a ``flock`` on
``<size>px.lock``); the unfinished files of a killed pass are removed by the next pass at any size, under their
size's lock. Before writing, the free disk space is checked for the rows that may be written.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
import tempfile
import zlib
from pathlib import Path

import numpy as np

from liteship.cache_files import (folder_problem, index_file, killed_sizes, own_file, read_small,
                                  remove_unfinished, rows_file, take_lock, write_all)
from liteship.errors import LiteshipError
from liteship.files import atomic_write_text, default_mode, temp_name
from liteship.image_rows import HEADER_BYTES, ImageRows, header, identity, take  # noqa: F401  (for callers)

VERSION = 2  # 2: a header with the build id, rows checked with their digest, decoder refusals with Pillow's version
CHUNK_BYTES = 8 * 1024**2  # what a check or a copy of the rows reads at a time
INDEX_LIMIT = 256 * 1024**2  # an index larger than this is damaged (32,000 rows take 1.5 MB)
MARGIN = 16 * 1024**2  # free disk the cache always leaves
_VERIFIED: dict[tuple, frozenset] = {}  # the file and index's stat (RowCache._stat_key) -> digests checked sound


def row_check(digest: str, size: int, row) -> int:
    """The check of one row: a CRC-32 of the image's digest, the size and the row's bytes."""
    return zlib.crc32(row, zlib.crc32(f"{digest}/{size}".encode("ascii", "replace")))


def refusal_check(digest: str, why: str, pillow: str) -> int:
    return zlib.crc32(f"{digest}\0{why}\0{pillow}".encode("utf-8", "replace"))


def pillow_version() -> str:
    import PIL

    return str(PIL.__version__)


class NoRoom(LiteshipError):
    """Too little free disk for the rows a pass may write (checked before it writes any), or the disk filled up."""


def disk_amount(n: float) -> str:
    """``n`` bytes in MB, or in kB under one MB (a cache of a few small images is not "0 MB")."""
    return f"{n / 1024**2:,.0f} MB" if n >= 1024**2 else f"{n / 1024:,.0f} kB"


class RowCache:
    """One size's cache, open for one pass over a folder: the sound rows by digest, rows added as they are decoded,
    the index written by :meth:`finish`. Holds the size's lock from :meth:`open` to :meth:`finish` or
    :meth:`close`."""

    def __init__(self, folder: Path, size: int, log=None):
        self.folder, self.size, self.log = Path(folder), int(size), log or (lambda line: None)
        self.row_bytes = self.size * self.size * 3
        self.path, self.index_path = rows_file(self.folder, size), index_file(self.folder, size)
        self.rows: dict[str, int] = {}  # digest -> row, sound ones only
        self.failed: dict[str, str] = {}  # digest -> why a decoder refused it
        self.crcs: list[int | None] = []  # by row; None: a damaged row, never used
        self.digests: list[str | None] = []  # by row; None: a damaged row's slot
        self.build = ""  # the build id of the file the rows are in
        self._lock_fd: int | None = None
        self._src: int | None = None  # the file as found, open read and append (a regular file of one link)
        self._fd: int | None = None  # where rows are written: _src, or a new file
        self._tmp: Path | None = None  # the new file's name until it is renamed over the cache's
        self._rewrite: list[int] | None = None  # rows of _src a new file starts with; None: append to _src
        self._index_stat: tuple = ()
        self._dirty = False

    # ------------------------------------------------------------------ opening

    def open(self, candidates: int) -> "RowCache":
        """Lock, read and check the cache; refuse before any work when ``candidates`` new rows might not fit."""
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self._lock_fd = take_lock(self.folder, self.size)
            remove_unfinished(self.folder, self.size)  # a killed pass's files: only ever unfinished, the lock is ours
            for other in killed_sizes(self.folder, self.size):
                self.log(f"image cache {self.folder}: removed the unfinished files of a killed {other} px pass")
            self._load()
            self._check_space(max(0, candidates - len(self.rows)) * self.row_bytes)
        except BaseException:
            self.close()
            raise
        return self

    def _load(self) -> None:
        self._src, why = own_file(self.path)
        index = self._read_index() if self._src is not None else None
        if index is None:
            if why is not None:
                self.log(f"image cache {self.path}: {why}, never written through: replaced by a new file")
            elif self._src is not None or os.path.lexists(self.index_path):
                self.log(f"image cache {self.path}: its index is unreadable or of another version, rebuilt")
            self._start_over()
            return
        on_disk = os.fstat(self._src).st_size - HEADER_BYTES
        listed = index["rows"]
        whole = min(len(listed), on_disk // self.row_bytes)  # rows the file holds whole; the rest are lost
        self.digests = [d or None for d, _ in listed[:whole]]  # "": a slot of a damaged row, never used
        self.crcs = [int(c) if d else None for d, c in listed[:whole]]
        self._load_refusals(index)
        bad = self._verify(whole)
        for row in bad:
            self.crcs[row] = None
        self.rows = {d: i for i, d in enumerate(self.digests) if self.crcs[i] is not None}
        damaged = len(bad) + len(listed) - whole
        if damaged:
            self.log(f"image cache {self.path}: {damaged} rows damaged, decoded again")
            self._dirty = True
        if on_disk != whole * self.row_bytes:  # rows of a killed pass past the end, or a file cut short
            self._rewrite = sorted(self.rows.values())  # a new file: this one is never cut short in place

    def _start_over(self) -> None:
        """No usable rows: a new file; the old one's name is freed now, so its space counts as free."""
        if self._src is not None:
            os.close(self._src)
            self._src = None
        if os.path.lexists(self.path):
            os.unlink(self.path)  # a link goes, never what it points to
        self._rewrite, self.digests, self.crcs, self.rows = [], [], [], {}

    def _load_refusals(self, index: dict) -> None:
        pillow = pillow_version()
        for digest, entry in index.get("failed", {}).items():
            if (isinstance(entry, list) and len(entry) == 3 and entry[1] == pillow
                    and entry[2] == refusal_check(str(digest), str(entry[0]), pillow)):
                self.failed[str(digest)] = str(entry[0])
            else:
                self._dirty = True  # another Pillow's, or damaged: decoded again

    def _read_index(self) -> dict | None:
        got = read_small(self.index_path, INDEX_LIMIT)
        try:
            index = json.loads(got[0].decode("utf-8")) if got is not None else None
            ok = (isinstance(index, dict) and index.get("version") == VERSION and index.get("size") == self.size
                  and index.get("row_bytes") == self.row_bytes and isinstance(index.get("rows"), list)
                  and isinstance(index.get("build"), str) and len(index["build"]) == 32
                  and all(isinstance(r, list) and len(r) == 2 and isinstance(r[0], str) and isinstance(r[1], int)
                          for r in index["rows"]) and isinstance(index.get("failed", {}), dict)
                  and os.pread(self._src, HEADER_BYTES, 0) == header(index["build"]))
        except (OSError, ValueError):
            return None
        if not ok:
            return None
        self.build, self._index_stat = index["build"], got[1]
        return index

    def _verify(self, count: int) -> list[int]:
        """The rows among the first ``count`` whose bytes do not match their check, read a chunk at a time."""
        key = self._stat_key(self._src)
        sound = _VERIFIED.get(key)
        if sound is not None and all(d in sound for d, c in zip(self.digests[:count], self.crcs) if c is not None):
            return []
        bad, per_chunk = [], max(1, CHUNK_BYTES // self.row_bytes)
        for first in range(0, count, per_chunk):
            n = min(per_chunk, count - first)
            view = memoryview(os.pread(self._src, n * self.row_bytes, HEADER_BYTES + first * self.row_bytes))
            for i in range(n):
                row = view[i * self.row_bytes:(i + 1) * self.row_bytes]
                crc, digest = self.crcs[first + i], self.digests[first + i]
                if crc is not None and (len(row) < self.row_bytes or row_check(digest, self.size, row) != crc):
                    bad.append(first + i)
        damaged = set(bad)
        _VERIFIED[key] = frozenset(d for i, d in enumerate(self.digests[:count]) if d and i not in damaged)
        return bad

    def _check_space(self, needed: int) -> None:
        free = shutil.disk_usage(self.folder).free
        if needed and free < needed + MARGIN:
            raise NoRoom(f"Not enough free disk space for the image cache in {self.folder}",
                         f"the decoded images may need {disk_amount(needed)} there, and the cache leaves "
                         f"{MARGIN // 1024**2} MB free for the rest of the command; {disk_amount(free)} are free",
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
        if self._fd is None:
            self._fd = self._src if self._rewrite is None else self._new_file(self._src, self._rewrite)
        write_all(self._fd, data, lambda exc: _disk_error(self.folder, exc))
        self.digests.append(digest)
        self.crcs.append(row_check(digest, self.size, data))
        self.rows[digest] = len(self.digests) - 1
        self._dirty = True
        return self.rows[digest]

    def fail(self, digest: str, why: str) -> None:
        """Record that a decoder refused the image of ``digest`` (never the machine's own errors)."""
        if self.failed.get(digest) != why:
            self.failed[digest] = why
            self._dirty = True

    def _new_file(self, src: int | None, keep: list[int]) -> int:
        """A new file (a new build) with the rows ``keep`` of ``src`` copied in order, open for more rows."""
        fd, tmp = tempfile.mkstemp(prefix=temp_name(self.path.name), suffix=".u8", dir=self.folder)
        self._tmp, self.build = Path(tmp), secrets.token_hex(16)
        os.fchmod(fd, default_mode())
        write_all(fd, header(self.build), lambda exc: _disk_error(self.folder, exc))
        for row in keep:
            write_all(fd, os.pread(src, self.row_bytes, HEADER_BYTES + row * self.row_bytes),
                      lambda exc: _disk_error(self.folder, exc))
        self.digests = [self.digests[i] for i in keep]
        self.crcs = [self.crcs[i] for i in keep]
        self.rows = {d: i for i, d in enumerate(self.digests)}
        self._rewrite = None
        return fd

    # ------------------------------------------------------------------ the end

    def finish(self, used: list[str]) -> Path:
        """Write the rows and the index, rebuilding the file when most of its rows are of images not ``used``
        now; return the file (read views of it are made after this). Releases the lock."""
        try:
            if self._rewrite is not None and self._fd is None:
                self._fd = self._new_file(self._src, self._rewrite)
            self._commit()
            wanted = set(used)
            keep = [i for i, (d, c) in enumerate(zip(self.digests, self.crcs)) if c is not None and d in wanted]
            if len(self.digests) > 64 and len(keep) * 2 < len(self.digests):
                self._check_space(len(keep) * self.row_bytes)
                old = self._fd if self._fd is not None else self._src
                self._fd = self._new_file(old, keep)
                self._commit()
                self._dirty = True
            if self._dirty:
                self._write_index()
            info = os.fstat(self._src)
            self._final_id = (info.st_dev, info.st_ino)
            return self.path
        finally:
            self.close()

    def _commit(self) -> None:
        """The rows written to disk (fsync), a new file renamed over the cache's name (a link there replaced)."""
        if self._fd is None:
            return
        try:
            os.fsync(self._fd)
        except OSError as exc:
            raise _disk_error(self.folder, exc) from exc
        if self._tmp is not None:
            os.replace(self._tmp, self.path)
            self._tmp = None
            self._dirty = True
        if self._src is not None and self._src != self._fd:
            os.close(self._src)
        self._src = self._fd

    def _write_index(self) -> None:
        pillow = pillow_version()
        rows = [[d, c] if c is not None and d else ["", 0] for d, c in zip(self.digests, self.crcs)]
        failed = {d: [why, pillow, refusal_check(d, why, pillow)] for d, why in self.failed.items()}
        atomic_write_text(self.index_path, json.dumps({"version": VERSION, "size": self.size, "build": self.build,
                                                       "row_bytes": self.row_bytes, "rows": rows,
                                                       "failed": failed}, separators=(",", ":")))
        info = os.lstat(self.index_path)  # the stat read_small keys a later pass's index by, without reading it back
        self._index_stat = (info.st_mtime_ns, info.st_ino)
        _VERIFIED[self._stat_key(self._src)] = frozenset(d for d, c in zip(self.digests, self.crcs)
                                                         if c is not None)

    def _stat_key(self, fd: int) -> tuple:
        """The file and index as ``stat`` sees them: a check of the rows holds while this is unchanged."""
        rows = os.fstat(fd)
        return (str(self.path), rows.st_dev, rows.st_ino, rows.st_size, rows.st_mtime_ns, rows.st_ctime_ns,
                self.build, self._index_stat)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None
        for fd in {self._fd, self._src} - {None}:
            os.close(fd)
        self._fd = self._src = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def view(self, digests: list[str]) -> ImageRows:
        """The rows of ``digests`` (each a sound row), as a lazy view of the file written."""
        return ImageRows(self.path, self.size, np.asarray([self.rows[d] for d in digests], dtype=np.int64),
                         self._final_id, self.build)


def _disk_error(folder: Path, exc: OSError) -> LiteshipError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return NoRoom(f"The disk filled up while writing the image cache in {folder}", exc.strerror or str(exc),
                      "free some disk space and run the command again")
    where = f"{exc.filename}: " if exc.filename else ""
    return LiteshipError(f"The image cache in {folder} cannot be written", where + (exc.strerror or str(exc)),
                         "check the run directory's permissions and disk; the folder holds only liteship's cache and "
                         "may be deleted (it is rebuilt), then run the command again")


def open_caches(folder: Path, sizes, candidates: int, log) -> dict[int, RowCache]:
    """Each size's cache in ``folder``, open for a pass over ``candidates`` image files (sizes in order, so two
    passes never wait on each other). A folder that cannot be written (read-only, no permission) is said, and the
    pass holds the images in memory instead (an empty dict); too little free disk space is a LiteshipError."""
    caches: dict[int, RowCache] = {}
    why = folder_problem(Path(folder))
    if why is not None:
        log(f"image cache {folder} is {why}: the images are held in memory")
        return {}
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
