"""Archives from the internet: every hostile kind exits 2 and writes nothing outside its target."""

import stat
import zipfile
from pathlib import Path

from liteship.app.cli import main
from tests.core.test_archive import HOSTILE_TARS, _tar_with


def _hostile_zips(tmp: Path) -> dict[str, Path]:
    out = {}
    for case, (name, mode) in {"zip_dotdot": ("../escaped.png", stat.S_IFREG | 0o644),
                               "zip_absolute": ("/tmp/liteship-abs.png", stat.S_IFREG | 0o644),
                               "zip_symlink": ("pets/zero/link.png", stat.S_IFLNK | 0o777),
                               "zip_device": ("pets/zero/dev", stat.S_IFCHR | 0o644)}.items():
        path = tmp / f"{case}.zip"
        with zipfile.ZipFile(path, "w") as zf:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            zf.writestr(info, b"/etc/passwd")
        out[case] = path
    bomb = tmp / "zip_bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("pets/zero/big.png", "w") as fh:  # 128 MiB of zeros in about 130 KB: ratio ~1000
            block = b"\0" * (1 << 24)
            for _ in range(8):
                fh.write(block)
    out["zip_bomb"] = bomb
    return out


def test_every_hostile_archive_exits_2_and_writes_nothing_outside(tmp_path, capsys):
    archives = {case: _tar_with(tmp_path / f"{case}.tar", member, b"abc" if member.isfile() else b"")
                for case, (member, _) in HOSTILE_TARS.items()}
    archives.update(_hostile_zips(tmp_path))
    outside_before = set(tmp_path.parent.iterdir())
    refused = 0
    for case, archive in archives.items():
        run = tmp_path / f"run_{case}"
        code = main(["train", "--data", str(archive), "--out", str(run)])
        err = capsys.readouterr().err
        assert code == 2, (case, err)
        assert "Refused archive" in err and "Traceback" not in err, (case, err)
        assert not (run / "data" / "extracted").exists() and not (run / "float").exists()
        refused += 1
    assert set(tmp_path.parent.iterdir()) == outside_before
    assert not (tmp_path.parent / "escaped.png").exists() and not Path("/tmp/liteship-abs.png").exists()
    print(f"archives: {refused} hostile archives ({', '.join(sorted(archives))}) refused with exit 2, "
          "nothing written outside")
