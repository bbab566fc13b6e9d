import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import CLASSES, PER_CLASS
from liteship.archive import ExtractLimits, extract_archive
from liteship.dataset import load_dataset
from liteship.errors import LiteshipError


def _tar_of(folder: Path, path: Path) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        tf.add(folder, arcname="pets")
    return path


def _zip_of(folder: Path, path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for f in sorted(folder.rglob("*")):
            zf.write(f, "pets/" + f.relative_to(folder).as_posix())
    return path


@pytest.mark.parametrize("maker, name", [(_tar_of, "d.tar.gz"), (_tar_of, "d.tgz"), (_zip_of, "d.zip")])
def test_archive_of_class_folders_loads_like_the_folder(class_folder, tmp_path, maker, name):
    archive = maker(class_folder, tmp_path / name)
    ds = load_dataset(str(archive), 16, tmp_path / "run")
    ref = load_dataset(str(class_folder), 16)
    assert ds.class_names == sorted(CLASSES) and len(ds.labels) == 3 * PER_CLASS
    assert ds.content_hash == ref.content_hash
    assert (tmp_path / "run" / "data" / "extracted" / "pets" / "zero").is_dir()


def _tar_with(path: Path, member: tarfile.TarInfo, data: bytes = b"") -> Path:
    with tarfile.open(path, "w") as tf:
        ok = tarfile.TarInfo("pets/zero/ok.png")
        ok.size = 3
        tf.addfile(ok, io.BytesIO(b"abc"))
        tf.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return path


def _member(name, kind=tarfile.REGTYPE, linkname="", size=0):
    m = tarfile.TarInfo(name)
    m.type, m.linkname, m.size = kind, linkname, size
    return m


HOSTILE_TARS = {
    "dotdot": (_member("pets/../../escaped.png", size=3), "climbs out"),
    "absolute": (_member("/tmp/liteship-escaped.png", size=3), "absolute path"),
    "symlink": (_member("pets/zero/link.png", tarfile.SYMTYPE, "/etc/passwd"), "is a link"),
    "hardlink": (_member("pets/zero/hard.png", tarfile.LNKTYPE, "/etc/passwd"), "is a link"),
    "chardev": (_member("pets/zero/dev", tarfile.CHRTYPE), "device"),
    "fifo": (_member("pets/zero/fifo", tarfile.FIFOTYPE), "device"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_TARS))
def test_hostile_tar_is_refused_whole_and_writes_nothing(tmp_path, case):
    member, why = HOSTILE_TARS[case]
    archive = _tar_with(tmp_path / f"{case}.tar", member, b"abc" if member.isfile() else b"")
    target = tmp_path / "run" / "data" / "extracted"
    before = set(tmp_path.rglob("*"))
    with pytest.raises(LiteshipError) as err:
        extract_archive(archive, target)
    assert why in err.value.message and "nothing was extracted" in err.value.message
    assert not target.exists()
    assert set(tmp_path.rglob("*")) - before <= {tmp_path / "run", tmp_path / "run" / "data"}
    assert not (tmp_path.parent / "escaped.png").exists()
    assert not Path("/tmp/liteship-escaped.png").exists()


def test_hostile_zip_members_are_refused(tmp_path):
    for case, (name, mode) in {
        "dotdot": ("../escaped.png", stat.S_IFREG | 0o644),
        "absolute": ("/abs.png", stat.S_IFREG | 0o644),
        "symlink": ("pets/zero/link.png", stat.S_IFLNK | 0o777),
    }.items():
        path = tmp_path / f"{case}.zip"
        with zipfile.ZipFile(path, "w") as zf:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            zf.writestr(info, b"/etc/passwd")
        with pytest.raises(LiteshipError):
            extract_archive(path, tmp_path / "out" / case)
        assert not (tmp_path / "out" / case).exists()
    assert not (tmp_path / "escaped.png").exists()


def test_zip_bomb_hits_the_size_cap(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("pets/zero/big.png", b"\0" * (4 << 20))
    with pytest.raises(LiteshipError) as err:
        extract_archive(path, tmp_path / "out", ExtractLimits(max_total_bytes=1 << 20))
    assert "decompression bomb" in err.value.message
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bomb.zip"]
