"""The image cache's files as it opens them: never through a link, never a FIFO, a device or a file with other hard
links (:mod:`liteship.image_cache`). A file the cache writes must be its own: a regular file with one link, opened
with ``O_NOFOLLOW``, checked on the open descriptor; anything else in its place is replaced by a new file renamed
over it, so the user's file a link points to is never written, and an index that is a FIFO or a link to
``/dev/zero`` is read as damaged, never waited on or read without end. Also the files' names, and each size's
lock: one pass at a time writes a size."""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from pathlib import Path

from liteship.errors import LiteshipError
from liteship.files import is_temp, printable, temp_name

OPEN = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC  # never a link, a FIFO's wait or a terminal


def folder_problem(folder: Path) -> str | None:
    """Why the cache folder is never written (a symbolic link, not a folder), or None (a folder, or none yet)."""
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return f"a symbolic link (to {printable(os.readlink(folder))}), never written through"
    return None if stat.S_ISDIR(info.st_mode) else "not a folder"


def own_file(path: Path) -> tuple[int | None, str | None]:
    """``path`` open for reading and appending when it is a regular file with one link: (fd, None); else (None,
    why); (None, None) when there is none. A folder there is a LiteshipError (it cannot be replaced)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | OPEN)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        if exc.errno == errno.EISDIR:
            raise LiteshipError(f"The image cache file {path} is a folder", "liteship writes the decoded images "
                                "there and never removes a folder it did not make",
                                "remove or rename that folder, then run the command again") from None
        if exc.errno in (errno.ELOOP, errno.ENXIO, errno.EOPNOTSUPP, errno.ETXTBSY):
            return None, "a symbolic link or not a regular file"
        raise
    info = os.fstat(fd)
    if stat.S_ISREG(info.st_mode) and info.st_nlink == 1:
        return fd, None
    os.close(fd)
    return None, "not a regular file" if not stat.S_ISREG(info.st_mode) else "a file with other hard links"


def read_small(path: Path, limit: int) -> tuple[bytes, tuple] | None:
    """A regular file's bytes and its stat (never through a link, never a FIFO or device), at most ``limit``."""
    try:
        fd = os.open(path, os.O_RDONLY | OPEN)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        chunks, got = [], 0
        while got <= limit:
            data = os.read(fd, min(1 << 20, limit + 1 - got))
            if not data:
                break
            chunks.append(data)
            got += len(data)
        return (b"".join(chunks), (info.st_mtime_ns, info.st_ino)) if got <= limit else None
    finally:
        os.close(fd)


def write_all(fd: int, data, error) -> None:
    """Every byte of ``data`` written to ``fd``; an OSError raised as ``error(exc)``."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view):]
    except OSError as exc:
        raise error(exc) from exc


def rows_file(folder: Path, size: int) -> Path:
    return folder / f"{size}px.u8"


def index_file(folder: Path, size: int) -> Path:
    return folder / f"{size}px.json"


def lock_file(folder: Path, size: int) -> Path:
    return folder / f"{size}px.lock"


def take_lock(folder: Path, size: int) -> int:
    """Hold ``size``'s lock (``<size>px.lock``): one pass at a time writes a size's files; the open descriptor."""
    lock = lock_file(folder, size)
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | OPEN, 0o644)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        lock.unlink()  # a symbolic link in the lock's place: the link goes, never its target
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL | OPEN, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def remove_unfinished(folder: Path, size: int) -> int:
    """Remove a killed pass's temp files of ``size`` (its lock held by the caller); how many there were."""
    names = (temp_name(rows_file(folder, size).name), temp_name(index_file(folder, size).name))
    found = [entry for entry in folder.iterdir() if is_temp(entry.name) and entry.name.startswith(names)
             and not stat.S_ISDIR(entry.lstat().st_mode)]  # a pass writes files there: a folder is not its own
    for entry in found:
        entry.unlink(missing_ok=True)
    return len(found)


def killed_sizes(folder: Path, size: int) -> list[int]:
    """The other sizes whose killed pass left temp files (a file of each new row's size, as large as the rows),
    removed under that size's lock when no pass holds it: a cache is not left holding them until a pass at that
    size runs again. A size being written now is left alone."""
    removed = []
    for lock in folder.glob("*px.lock"):
        other = lock.name[:-len("px.lock")]
        if not (other.isascii() and other.isdigit()) or lock != lock_file(folder, int(other)) or int(other) == size:
            continue  # only the lock a pass takes: "032px.lock" is not 32's, and holding it would not stop a pass
        try:
            fd = os.open(lock, os.O_RDWR | OPEN)
        except OSError:
            continue  # a link in the lock's place, or gone: its pass will see to it
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if remove_unfinished(folder, int(other)):
                removed.append(int(other))
        except OSError:
            pass  # a pass at that size holds it: its files are not unfinished
        finally:
            os.close(fd)
    return removed
