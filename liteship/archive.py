"""Safe extraction of an archive of class folders (.tar, .tar.gz, .tgz, .zip).

Every member is checked before anything is written: one member that would
land outside the target (``..``, an absolute path, a drive letter), a link of
any kind, a device or FIFO, or an archive that unpacks past the size or count
cap refuses the whole archive. Extraction goes to a staging folder that is
renamed into place only when complete, so a refused or interrupted
extraction leaves nothing behind.
"""

from __future__ import annotations

import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from liteship.errors import LiteshipError
from liteship.files import open_regular, printable, staged

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".zip")


@dataclass(frozen=True)
class ExtractLimits:
    """Caps that stop a zip bomb; a real photo archive is far below them."""

    max_total_bytes: int = 8 * 1024**3
    max_members: int = 200_000
    max_ratio: float = 200.0  # uncompressed / compressed size of the whole archive


def is_archive(path: Path) -> bool:
    name = path.name.lower()
    return path.is_file() and name.endswith(ARCHIVE_SUFFIXES)


def _refuse(archive: Path, member: str, why: str) -> LiteshipError:
    return LiteshipError(
        f"Refused archive {archive.name}: member {member!r} {why}",
        "an archive member that could write outside the extraction folder, or a link or "
        "device, makes the whole archive unsafe, so nothing was extracted",
        "re-create the archive with plain files and folders only (for example "
        "`tar czf photos.tgz -C parent photos`), or pass the extracted folder with --data",
    )


def _safe_relpath(archive: Path, name: str) -> PurePosixPath | None:
    """The member's path inside the target, or an error if it would escape."""
    if "\\" in name or (len(name) > 1 and name[1] == ":"):
        raise _refuse(archive, name, "uses a Windows path")
    if name.startswith("/"):
        raise _refuse(archive, name, "has an absolute path")
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if ".." in parts:
        raise _refuse(archive, name, "climbs out of the target with '..'")
    if not parts:
        return None
    if printable(name) != name:
        raise LiteshipError(f"Refused archive {archive.name}: member {printable(name)!r} has a name that is not UTF-8 "
                            "text", "class names, labels.txt and the split are UTF-8 text, so nothing was extracted",
                            "rename it in plain text and re-create the archive")
    long = next((p for p in parts if len(p.encode("utf-8", "surrogateescape")) > 255), None)
    if long is not None:
        raise _refuse(archive, name, f"has a name of {len(long.encode('utf-8', 'surrogateescape'))} bytes, more than "
                      "the 255 a file system allows")
    return PurePosixPath(*parts)


def _check_clashes(archive: Path, entries: list[tuple[PurePosixPath, bool]]) -> None:
    """A path that is both a file and a folder (``a`` and ``a/b``), or a file given twice, cannot be extracted."""
    files = {}
    for rel, is_dir in entries:
        if not is_dir:
            if rel in files:
                raise _refuse(archive, str(rel), "appears twice")
            files[rel] = True
    folders = {parent for rel, is_dir in entries for parent in ([rel] if is_dir else []) + list(rel.parents)}
    clash = next((rel for rel in files if rel in folders), None)
    if clash is not None:
        raise _refuse(archive, str(clash), "is a file and also a folder of other members")


def _check_totals(archive: Path, total: int, count: int, limits: ExtractLimits) -> None:
    packed = max(archive.stat().st_size, 1)
    if count > limits.max_members:
        raise LiteshipError(
            f"Refused archive {archive.name}: {count} members, more than the cap of {limits.max_members}",
            "an archive with that many entries is treated as an archive bomb",
            "extract it yourself and pass the folder with --data",
        )
    if total > limits.max_total_bytes or (total > 64 * 1024**2 and total / packed > limits.max_ratio):
        raise LiteshipError(
            f"Refused archive {archive.name}: it unpacks to {total} bytes from {packed} "
            f"(cap {limits.max_total_bytes} bytes, ratio cap {limits.max_ratio:g}x)",
            "the archive looks like a decompression bomb",
            "extract it yourself and pass the folder with --data",
        )


@dataclass(frozen=True)
class Member:
    """One archive member, in the same terms for tar and zip: the one checking and extracting loop reads these."""

    name: str  # as the archive spells it
    is_dir: bool
    size: int  # as the archive declares it (a zip may lie: _copy_capped counts what it really holds)
    refusal: str | None  # why it may not be extracted: a link, a device, not a plain file or folder
    open: object  # () -> a readable stream of its bytes


def _tar_members(tf: tarfile.TarFile) -> list[Member]:
    def refusal(m):
        if m.issym() or m.islnk():
            return f"is a link (to {m.linkname!r})"
        if m.ischr() or m.isblk() or m.isfifo() or m.isdev():
            return "is a device or FIFO"
        return None if m.isfile() or m.isdir() else "is not a plain file or folder"
    return [Member(m.name, m.isdir(), max(m.size, 0), refusal(m), lambda m=m: tf.extractfile(m))
            for m in tf.getmembers()]


def _zip_members(zf: zipfile.ZipFile) -> list[Member]:
    def refusal(info):
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            return "is a symbolic link"
        return "is a device or special file" if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or
                                                                          stat.S_ISDIR(mode)) else None
    return [Member(i.filename, i.is_dir(), i.file_size, refusal(i), lambda i=i: zf.open(i)) for i in zf.infolist()]


def _plan(archive: Path, members: list[Member], limits: ExtractLimits) -> list[tuple[Member, PurePosixPath]]:
    """Every member checked before anything is written; one that is unsafe refuses the whole archive."""
    planned, total = [], 0
    for m in members:
        rel = _safe_relpath(archive, m.name)
        if m.refusal:
            raise _refuse(archive, m.name, m.refusal)
        total += m.size
        if rel is not None:
            planned.append((m, rel))
    _check_totals(archive, total, len(planned), limits)
    _check_clashes(archive, [(rel, m.is_dir) for m, rel in planned])
    return planned


def _extract(archive: Path, members: list[Member], staging: Path, limits: ExtractLimits) -> None:
    budget = [limits.max_total_bytes]
    for m, rel in _plan(archive, members, limits):
        dest = staging.joinpath(*rel.parts)
        if m.is_dir:
            dest.mkdir(parents=True, exist_ok=True)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        with m.open() as src:
            _copy_capped(src, dest, budget, archive, m.name)


def _open(archive: Path, fh):
    """The archive opened from ``fh`` (its file, opened), and its members; a file that is not what its name says is
    a clear error."""
    if archive.name.lower().endswith(".zip"):
        try:
            zf = zipfile.ZipFile(fh)
        except zipfile.BadZipFile as exc:
            raise LiteshipError(f"Cannot read archive {archive}: {exc}", "the file is not a valid zip archive",
                                "check the download, or pass an extracted folder") from exc
        return zf, _zip_members(zf)
    try:
        tf = tarfile.open(fileobj=fh)
    except (tarfile.TarError, OSError) as exc:
        raise LiteshipError(f"Cannot read archive {archive}: it is not a tar archive{_looks_like(archive)}",
                            "its name says tar, and its bytes are not a (compressed) tar archive",
                            "check the download, rename it to what it is, or pass an extracted folder") from exc
    return tf, _tar_members(tf)


def _copy_capped(src, dst_path: Path, budget: list[int], archive: Path, name: str) -> None:
    """Copy a member stream, counting bytes: a zip may lie about its sizes."""
    with open(dst_path, "wb") as out:
        while chunk := src.read(1 << 20):
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise LiteshipError(
                    f"Refused archive {archive.name}: member {name!r} unpacks past the size cap",
                    "the archive declares less data than it holds (a decompression bomb)",
                    "extract it yourself and pass the folder with --data",
                )
            out.write(chunk)


def extract_archive(archive: Path, target: Path, limits: ExtractLimits = ExtractLimits()) -> Path:
    """Extract ``archive`` into ``target`` (created; must not exist) and return it."""
    archive = Path(archive)
    target = Path(target)
    try:
        with staged(target) as staging, open_regular(archive, "Data archive") as fh:
            opened, members = _open(archive, fh)
            with opened:
                _extract(archive, members, staging, limits)
        return target
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise
        raise LiteshipError(f"Cannot extract archive {archive}: {exc}",
                            "the archive is damaged or truncated",
                            "check the download, or pass an extracted folder") from exc


def _looks_like(archive: Path) -> str:
    """What the file's first bytes say it is, for the message."""
    try:
        with open_regular(archive, "Data archive") as fh:
            head = fh.read(8)
    except (OSError, LiteshipError):
        return ""
    kinds = {b"PK": "a zip archive", b"\x1f\x8b": "gzip data", b"BZh": "bzip2 data", b"\xfd7zXZ": "xz data",
             b"\x89PNG": "a PNG image", b"\xff\xd8": "a JPEG image", b"%PDF": "a PDF", b"7z": "a 7-Zip archive"}
    kind = next((k for magic, k in kinds.items() if head.startswith(magic)), None)
    return f" (its first bytes look like {kind})" if kind else (" (the file is empty)" if not head else "")


def data_root(extracted: Path) -> Path:
    """The folder holding the class folders: descend through one lone wrapper folder."""
    root = extracted
    while True:
        entries = [p for p in root.iterdir() if not p.name.startswith(".")]
        if len(entries) == 1 and entries[0].is_dir():
            inner = [p for p in entries[0].iterdir() if not p.name.startswith(".")]
            if inner and all(p.is_dir() for p in inner):
                root = entries[0]
                continue
        return root
