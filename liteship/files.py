"""Atomic file writes, liteship's temp names, and writes to paths the user names.

A killed run never leaves a half-written file: every write goes to a temp file
or folder named ``.liteship-tmp-*`` next to its target and is then renamed.
That prefix is how cleanup knows what is liteship's own (``liteship.rundir``).
"""

from __future__ import annotations

import errno
import contextlib
import hashlib
import json
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from liteship.errors import LiteshipError

TEMP_PREFIX = ".liteship-tmp-"  # every temp file and folder liteship makes beside a target starts so

_open_fd = os.fdopen  # the one place bytes reach the disk: tests replace it to simulate a full disk


def temp_name(name: str) -> str:
    """The prefix of a temp entry for ``name``: liteship's own by its name."""
    return f"{TEMP_PREFIX}{name}."


def is_temp(name: str) -> bool:
    return name.startswith(TEMP_PREFIX)


def umask() -> int:
    """The process umask, read without changing it where the system allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: read it the only way there is, and put it back at once
    os.umask(mask)
    return mask


def default_mode() -> int:
    """0o666 less the umask: what ``open(..., "w")`` would give a new file."""
    return 0o666 & ~umask()


_held: dict[str, tuple[int, int]] = {}  # run directories this process writes (rundir.exclusive): path -> identity


@contextlib.contextmanager
def holding(folder: Path):
    """While held, every write below ``folder`` first checks it is still the folder it was: a run directory moved
    or removed while a command writes it is never made again, unmarked, at its old path."""
    key, info = os.path.abspath(folder), os.stat(folder)
    _held[key] = (info.st_dev, info.st_ino)
    try:
        yield
    finally:
        _held.pop(key, None)


def _check_held(path: Path) -> None:
    text = os.path.abspath(path)
    for root, identity in list(_held.items()):
        if text.startswith(root.rstrip(os.sep) + os.sep):
            try:
                info = os.stat(root)
                same = (info.st_dev, info.st_ino) == identity
            except OSError:
                same = False
            if not same:
                raise LiteshipError(f"The run directory {root} was moved or removed while liteship was writing it",
                                    "liteship does not make it again at its old path: its files would be split "
                                    "between two folders", "re-run the command on the folder where it is now "
                                    "(finished work is kept and skipped)")


def atomic_write_bytes(path: str | os.PathLike, data: bytes, mode: int | None = None) -> Path:
    """Write ``data`` to a temp file in the same folder, fsync, then rename; the file gets the umask's mode."""
    path = Path(path)
    _check_held(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=temp_name(path.name), suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, default_mode() if mode is None else mode)
        with _open_fd(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def staging_dir(final: Path) -> Path:
    """A new private temp folder beside ``final`` to build it in, then :func:`publish_dir`."""
    _check_held(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=temp_name(final.name), dir=final.parent))


@contextlib.contextmanager
def staged(final: Path):
    """Build a folder whole before it appears: yields a private temp folder beside ``final``, which replaces
    ``final`` on a clean exit (the caller proved an older one is liteship's); after an error nothing of it is
    left, and ``final`` is as it was. The one stage-then-publish of model folders, release/ and environments."""
    staging = staging_dir(final)
    try:
        yield staging
        publish_dir(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def publish_dir(staging: Path, final: Path) -> Path:
    """Move a fully written staging folder into place, replacing an older one (the caller proved it liteship's)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(staging, 0o777 & ~umask())  # mkdtemp's 0700 is for building it; the result is an ordinary folder
    if final.exists():
        old = Path(tempfile.mkdtemp(prefix=temp_name(final.name) + "old.", dir=final.parent))
        os.replace(final, old / final.name)
        os.replace(staging, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, final)
    return final


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    """The file's sha256; a missing file is FileNotFoundError, one liteship never reads (a link to /proc/kmsg, a
    FIFO) a LiteshipError from :func:`open_regular`, never waited on."""
    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), os.fspath(path))
    h = hashlib.sha256()
    with open_regular(path, "File") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def existing_ancestor(path: str | Path) -> Path:
    """``path`` itself if it exists, else its nearest parent that does: where a new folder would be made."""
    probe = Path(path)
    while not _exists(probe) and probe != probe.parent:
        probe = probe.parent
    return probe


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long, a loop: not there as far as making it goes
        return False


def ensure_writable(out: Path) -> None:
    """Fail before any work if ``out`` cannot be created or written to."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=temp_name("write-check")):
            pass
    except OSError as exc:
        raise LiteshipError(
            f"Cannot write to output folder {out}: {exc.strerror or exc}",
            "liteship writes the run directory there",
            "pass --out a folder you can write to",
        ) from exc


# --------------------------------------------------------------------------- files the user names (--json, ...)

def read_only(path: str | os.PathLike) -> bool:
    """Whether ``path`` is on a file system mounted read-only (EROFS: not a matter of permissions)."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def _existing_output_problem(path: str, info: os.stat_result) -> str | None:
    if stat.S_ISDIR(info.st_mode):
        return "it is a folder; give a file path inside it"
    if stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode):
        return None if os.access(path, os.W_OK) else "it cannot be written to (permission denied)"
    if not stat.S_ISREG(info.st_mode):
        return "it is neither a file, a FIFO nor a character device"
    if read_only(path):
        return "it is on a read-only file system"
    return None if os.access(path, os.W_OK) else "the file is read-only"


def _target(path: str) -> str:
    """What writing ``path`` writes: a symlink's target (followed to the end), else the path as the OS reads it."""
    return os.path.realpath(path) if os.path.islink(path) else path


STREAMS = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/full")  # the only outputs in /dev, /proc or /sys


def _link_steps(path: str):
    """``path`` made absolute, then (its folder's links resolved) each path its links lead to."""
    step = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit of links followed
        yield step
        step = os.path.join(os.path.realpath(os.path.dirname(step)), os.path.basename(step))
        yield step
        if not os.path.islink(step):
            return
        step = os.path.normpath(os.path.join(os.path.dirname(step), os.readlink(step)))


def output_stream(path: str) -> str | None:
    """``-`` or the one of STREAMS ``path`` names (as written or through links): written as is, never resolved."""
    return "-" if path == "-" else next((s for s in _link_steps(path) if s in STREAMS), None)


def output_problem(path: str) -> str | None:
    """Why ``path`` cannot take a --json, --junit or --markdown, or None: a file, a new path, a symlink, a FIFO, a
    character device, ``-`` or STREAMS; nothing else in /dev, /proc or /sys (/dev/stdin is the file stdin is)."""
    if not path or "\0" in path:
        return "the path is empty" if not path else "it holds a NUL character"
    if output_stream(path):
        return None  # written as it is: /dev/stdout resolves to a pipe's name in /proc, or to the file stdout is
    kernel = next((k for s in _link_steps(path) for k in KERNEL_TREES if s == k or s.startswith(k + "/")), None)
    if kernel is not None:
        return (f"it is in {kernel} (as written or through a link), where the outputs are /dev/null, /dev/stdout, "
                "/dev/stderr and /dev/full alone: any other is the kernel's, or a file open as /dev/stdin, /dev/fd/N")
    target = _target(path)
    try:
        info = os.stat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        return f"it cannot be reached: {exc.strerror}"
    if info is not None:
        return _existing_output_problem(path, info)
    return _new_file_problem(target)


def _new_file_problem(target: str) -> str | None:
    folder, name = os.path.split(target)
    if name in ("", ".", ".."):
        return "it names a folder; give a file path"
    try:
        if not os.path.isdir(folder or "."):
            return f"its folder {folder} does not exist"
    except OSError as exc:
        return f"its folder cannot be reached: {exc.strerror}"
    if len(os.fsencode(name)) > 255:
        return "its name is longer than 255 bytes"
    if read_only(folder or "."):
        return f"its folder {folder or '.'} is on a read-only file system"
    if not os.access(folder or ".", os.W_OK | os.X_OK):
        return f"its folder {folder} cannot be written to"
    return None


def write_output(path: str, text: str) -> None:
    """Write ``text`` where the user asked: ``-`` and STREAMS as they are, a FIFO or device directly, a symlink
    followed (the link stays), a regular file replaced atomically, keeping its mode."""
    if output_stream(path) in ("-", "/dev/stdout", "/dev/stderr"):
        out = sys.stderr if output_stream(path) == "/dev/stderr" else sys.stdout
        out.write(text)
        return out.flush()
    target = _target(path)
    try:
        info = os.stat(target)
    except FileNotFoundError:
        info = None
    if info is not None and (stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode)):
        with open(target, "w", encoding="utf-8") as fh:  # it exists: no rename over it, no new file
            fh.write(text)
        return
    mode = stat.S_IMODE(info.st_mode) if info is not None else None
    try:
        atomic_write_bytes(target, text.encode("utf-8"), mode)
    except IsADirectoryError as exc:
        raise LiteshipError(f"Cannot write {path}", "it is a folder", "give a file path") from exc
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
            raise
        raise LiteshipError(f"Cannot write {path}: {exc.strerror or exc}", "", "give a writable file path") from exc


# --------------------------------------------------------------------------- files liteship reads (data, config)

KERNEL_TREES = ("/proc", "/sys", "/dev")  # the kernel's own files: never read as data or config
MAX_READ_BYTES = 256 * 1024**2


def kernel_tree(path: str | os.PathLike) -> str | None:
    """``/proc``, ``/sys`` or ``/dev`` when ``path``, as written or with its links resolved, is in one; else None."""
    text = os.fspath(path)
    return next((k for p in (os.path.abspath(text), os.path.realpath(text)) for k in KERNEL_TREES
                 if p == k or p.startswith(k + "/")), None)


def unreadable_reason(path: str | os.PathLike) -> str | None:
    """Why ``path`` is not read as data or config, or None when it is a regular file outside /proc, /sys and /dev.

    Links are resolved first: a link is judged by what it points at. Only ``stat``: nothing is opened, so a FIFO,
    a device or ``/proc/kmsg`` (which blocks a reader for ever) cannot hang the caller.
    """
    text = os.fspath(path)
    resolved = os.path.realpath(text)
    link = " (through a symbolic link)" if os.path.islink(text) else ""
    kernel = kernel_tree(text)
    if kernel is not None:
        return f"it is in {kernel}{link}, the kernel's own files, which liteship never reads"
    try:
        info = os.stat(resolved)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "its symbolic links loop"
        return "there is no such file" if exc.errno == errno.ENOENT else f"it cannot be read: {exc.strerror}"
    if stat.S_ISREG(info.st_mode):
        return None
    kind = ("a folder, not a file" if stat.S_ISDIR(info.st_mode) else "a FIFO" if stat.S_ISFIFO(info.st_mode)
            else "a socket" if stat.S_ISSOCK(info.st_mode) else "a device"
            if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "not a regular file")
    return f"it is {kind}{link}"


def _kernel_devices() -> set[int]:
    """The devices of /proc, /sys and /dev where each is a file system of its own (not the root's)."""
    found = set()
    for tree in KERNEL_TREES:
        try:
            found.add(os.stat(tree).st_dev)
        except OSError:
            continue
    return found - {os.stat("/").st_dev}


def open_regular(path: str | os.PathLike, what: str):
    """``path`` opened for reading in binary, when it is a regular file outside /proc, /sys and /dev (links
    resolved); else a LiteshipError that names ``what`` ("Config file", "Weights file") and why.

    The file is opened with O_NONBLOCK and checked again on the open descriptor (a regular file, not on the
    kernel's file systems), so a FIFO or a link to /proc put in its place between the check and the open is
    refused instead of read.
    """
    why = unreadable_reason(path)
    if why is None:
        try:
            fd = os.open(os.path.realpath(path), os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY
                         | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            why = f"it cannot be read: {exc.strerror}"
        else:
            info = os.fstat(fd)
            if stat.S_ISREG(info.st_mode) and info.st_dev not in _kernel_devices():
                return os.fdopen(fd, "rb")
            os.close(fd)
            why = "it is not a regular file outside the kernel's trees"  # swapped for one since it was looked at
    raise LiteshipError(f"{what} {os.fspath(path)} cannot be read", why, "pass a regular file")


def read_regular(path: str | os.PathLike, what: str, limit: int = MAX_READ_BYTES) -> bytes:
    """The bytes of a regular file (:func:`open_regular`), at most ``limit`` of them (else a LiteshipError)."""
    with open_regular(path, what) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise LiteshipError(f"{what} {os.fspath(path)} is larger than {limit // 1024**2} MB",
                            "no file liteship reads as config or data is that big", "check the path")
    return data


def resolves_inside(path: str | os.PathLike, root: str | os.PathLike) -> bool:
    """Whether ``path``, its links resolved, is ``root`` or below it (``root``'s links resolved too)."""
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def printable(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 (which the OS hands Python as surrogates) shown as U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
