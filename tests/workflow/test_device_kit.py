"""`liteship device kit` keeps what it did not write, refuses variants it cannot copy as their own bytes, and says
its refusals of a kit folder (not of a run directory): on the hand-made run of tests/bench/test_device_round_trip.py,
every expected file and word written here by hand.
"""

import hashlib
import json
import os
from pathlib import Path

import pytest

import liteship
from liteship.app.cli import main
from tests.bench.test_device_round_trip import F32, I8, run  # noqa: F401  (the run fixture)
from tests.robustness.hostile import held_by_a_sweep

KIT_FILES = {"README.md", "android_adb.sh", "run_ios_list.sh", "kit.json", ".liteship-run",
             f"models/mnv2-float32-{F32}.tflite", f"models/mnv2-int8-{I8}.tflite",
             f"ios/mnv2-float32-{F32}/benchmark_params.json", f"ios/mnv2-int8-{I8}/benchmark_params.json"}


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def kit(run_dir, out) -> int:
    return main(["device", "kit", str(run_dir), "--out", str(out)])


def test_the_kit_lists_every_file_it_wrote_with_its_sha256(run, tmp_path):  # noqa: F811
    assert kit(run, tmp_path / "kit") == 0
    made = tree(tmp_path / "kit")
    assert set(made) == KIT_FILES
    listed = json.loads(made["kit.json"])["files"]
    # every file but kit.json itself and the marker, each with the sha256 of its bytes, computed here
    assert listed == {name: hashlib.sha256(data).hexdigest() for name, data in made.items()
                      if name not in ("kit.json", ".liteship-run")}


def test_a_kit_folder_holding_the_phones_outputs_and_notes_is_refused_and_nothing_is_lost(run, tmp_path,  # noqa: F811
                                                                                        capsys):
    out = tmp_path / "kit"
    assert kit(run, out) == 0
    (out / "results").mkdir()
    (out / "results" / f"mnv2-int8-{I8}.txt").write_text("INFO: count=50 ... what android_adb.sh saved\n")
    (out / "my_notes.txt").write_text("Pixel 8, airplane mode, 21 C\n")
    (out / "benchmark_model").write_bytes(b"\x7fELF the binary android_adb.sh pushes by default")
    with open(out / "android_adb.sh", "a") as fh:
        fh.write("# my edit\n")
    before = tree(tmp_path)
    capsys.readouterr()
    assert kit(run, out) == 2
    err = capsys.readouterr().err
    assert tree(tmp_path) == before  # nothing deleted, nothing written
    assert (f"it holds benchmark_model, my_notes.txt, results/mnv2-int8-{I8}.txt, which the kit did not write; "
            "android_adb.sh changed since the kit wrote it") in err
    assert "move them out of" in err and "or pass a new folder" in err
    # moved out, the kit is made again in place
    for name in ("results", "my_notes.txt", "benchmark_model"):
        os.replace(out / name, tmp_path / name)
    (out / "android_adb.sh").unlink()
    assert kit(run, out) == 0 and set(tree(out)) == KIT_FILES


def test_a_kit_from_before_kit_json_listed_its_files_is_judged_by_its_variants(run, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "kit"
    assert kit(run, out) == 0
    old = json.loads((out / "kit.json").read_text())
    del old["files"]
    (out / "kit.json").write_text(json.dumps(old))
    assert kit(run, out) == 0  # its models, parameter files and scripts: all the kit's
    (out / "kit.json").write_text(json.dumps(old))
    (out / "results").mkdir()
    (out / "results" / "a.txt").write_text("x")
    assert kit(run, out) == 2 and "it holds results/a.txt, which the kit did not write" in capsys.readouterr().err
    (out / "kit.json").write_text("{ damaged")  # then nothing proves any file the kit's
    assert kit(run, out) == 2
    err = capsys.readouterr().err
    assert f"models/mnv2-int8-{I8}.tflite" in err and "kit.json" in err and ".liteship-run" not in err


@pytest.mark.parametrize("what", ["missing", "fifo", "proc", "other bytes"])
def test_a_variant_file_the_kit_cannot_copy_as_the_variants_own_is_exit_2(run, tmp_path, capsys, what):  # noqa: F811
    path = run / "variants" / f"{I8}.tflite"
    path.unlink()
    if what == "fifo":
        os.mkfifo(path)  # copied, it would block the kit for ever
    elif what == "proc":
        path.symlink_to("/proc/self/status")
    elif what == "other bytes":
        path.write_bytes(b"TFL3 not the bytes variants/<ID>.json records")
    why = {"missing": "there is no such file", "fifo": "it is a FIFO", "proc": "it is in /proc (through a symbolic "
           "link)", "other bytes": f"its sha256 is not the one variants/{I8}.json records"}[what]
    assert kit(run, tmp_path / "kit") == 2
    err = capsys.readouterr().err
    assert f"variant {I8} (mnv2 int8): {path}: {why}" in err and "Traceback" not in err
    assert not (tmp_path / "kit").exists() and not [p for p in tmp_path.iterdir() if "liteship-tmp" in p.name]


@pytest.mark.parametrize("out, said", [
    ("FILE", "it is a file; the kit is a folder"),
    ("/proc/liteship-kit", "a kit folder cannot be under /proc"),
    ("FOLDER", "it is a folder liteship did not make, holding y.txt: the kit replaces its folder whole"),
])
def test_out_refusals_speak_of_the_kit_folder(run, tmp_path, capsys, out, said):  # noqa: F811
    (tmp_path / "FILE").write_text("x")
    (tmp_path / "FOLDER").mkdir()
    (tmp_path / "FOLDER" / "y.txt").write_text("y")
    out = str(tmp_path / out) if out.isupper() else out
    assert kit(run, out) == 2
    err = capsys.readouterr().err
    assert said in err
    for words in ("run directory", "card.json", "runs/demo", "would train"):
        assert words not in err


def test_a_run_being_written_is_refused_in_device_kits_words(run, tmp_path, capsys):  # noqa: F811
    with held_by_a_sweep(run) as pid:
        assert kit(run, tmp_path / "kit") == 2
    err = capsys.readouterr().err
    assert f"it is being written by `liteship sweep` (PID {pid}" in err and "device kit copies" in err
    assert "judges" not in err and "verdict" not in err and not (tmp_path / "kit").exists()


def test_the_readme_names_the_run_by_its_absolute_path(run, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.chdir(run.parent)
    assert kit(Path(run.name), "kit") == 0
    readme = (run.parent / "kit" / "README.md").read_text()
    assert f"liteship device import {run} results/*.txt" in readme and f"liteship gate {run} --budgets" in readme
    assert json.loads((run.parent / "kit" / "kit.json").read_text())["run_dir"] == str(run)
    # the iOS app's screen is averages only: the README says to keep its console (count=... median=...) instead
    assert "Xcode's console" in readme and "averages only" in readme


def test_the_python_api_refuses_the_same_kit_folder(run, tmp_path):  # noqa: F811
    out = liteship.device_kit(run, tmp_path / "kit", quiet=True)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(liteship.Problems, match=r"out=.*it holds notes.txt, which the kit did not write"):
        liteship.device_kit(run, out, quiet=True)
    assert (out / "notes.txt").read_text() == "mine"
