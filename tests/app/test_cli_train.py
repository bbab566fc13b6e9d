"""`liteship train` exit codes and messages: bad input is exit 2 with what, why and a fix."""

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from liteship.app.cli import main
from tests.conftest import write_class_folder


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_prints_the_registry(capsys):
    code, out, _ = run(capsys, "train", "--list")
    assert code == 0
    assert out.splitlines()[0].startswith("mobilenet_v2") and "small_cnn" in out


def _hostile_archive(tmp: Path) -> Path:
    path = tmp / "evil.tgz"
    with tarfile.open(path, "w:gz") as tf:
        info = tarfile.TarInfo("pets/zero/x.png")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/shadow"
        tf.addfile(info)
    return path


def _case(tmp: Path, name: str) -> tuple[list[str], str]:
    data = tmp / "data"
    if name == "missing_path":
        return ["--data", str(tmp / "nowhere")], "nothing is there"
    if name == "no_class_folders":
        data.mkdir()
        return ["--data", str(data)], "one sub-folder per class, and this one has 0"
    if name == "one_class":
        (data / "cat").mkdir(parents=True)
        return ["--data", str(data)], "one sub-folder per class, and this one has 1"
    if name == "thin_class":
        write_class_folder(data, per_class=3)
        for f in sorted((data / "one").iterdir())[1:]:
            f.unlink()
        return ["--data", str(data)], "too few image files in class one (1)"  # found before any work
    if name == "no_usable_images":
        for name in ("a/x.png", "a/y.png", "b/x.png", "b/y.png"):  # two a class: one is refused before reading
            (data / name).parent.mkdir(parents=True, exist_ok=True)
            (data / name).write_bytes(b"")
        return ["--data", str(data)], "No usable images"
    if name == "hostile_archive":
        return ["--data", str(_hostile_archive(tmp))], "is a link"
    if name == "unwritable_out":
        blocker = tmp / "file"
        blocker.write_text("x")
        return ["--data", "digits", "--out", str(blocker / "run")], "file is a file, so no folder can be made inside it"
    if name == "unknown_arch":
        return ["--data", "digits", "--arch", "vgg"], '--arch = "vgg": architectures: mobilenet_v2, small_cnn'
    if name == "size_not_allowed":
        return ["--data", "digits", "--arch", "mobilenet_v2", "--size", "16", "--weights", "none"], \
            "--size = 16: mobilenet_v2 takes square inputs from 32 to 1024 px"
    raise AssertionError(name)


CASES = ["missing_path", "no_class_folders", "one_class", "thin_class", "no_usable_images", "hostile_archive",
         "unwritable_out", "unknown_arch", "size_not_allowed"]


@pytest.mark.parametrize("name", CASES)
def test_bad_input_exits_2_with_a_fix(capsys, tmp_path, name):
    args, expected = _case(tmp_path, name)
    if "--out" not in args:
        args += ["--out", str(tmp_path / "run")]
    code, out, err = run(capsys, "train", *args)
    assert code == 2, err
    assert expected in err
    assert "Fix:" in err and "Traceback" not in err
    assert not (tmp_path / "run" / "float").exists()


def test_console_script_exit_code_is_real(tmp_path):
    exe = Path(sys.executable).with_name("liteship")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "liteship"]
    proc = subprocess.run(cmd + ["train", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "nothing is there" in proc.stderr and "Fix:" in proc.stderr


def test_usage_error_is_exit_2(capsys):
    assert main(["train", "--epochs", "many", "--data", "digits", "--out", "x"]) == 2
    assert '--epochs = "many": it takes a whole number from 0 to 10000' in capsys.readouterr().err
    with pytest.raises(SystemExit) as err:
        main(["train", "--no-such-flag"])
    assert err.value.code == 2
    assert main([]) == 2
