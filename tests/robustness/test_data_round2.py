"""Data that cannot be split, and run directories that cannot be read, refused before any work (issue 32, round 2).

Each case is a real `liteship` process with a timeout: exit 2, the problem said on the first lines, no traceback,
no run directory made and the user's files byte for byte the same. A class folder that is a link to another, a
class of one image and a run directory passed as --data used to be found only after the estimate (a run
directory left behind) or never (the link: test photos trained on under another label); a run directory under
/dev trained, then failed for ever. Gate passed a run whose data had changed while pick refused it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.robustness.hostile import fake_run, first_line, run, snapshot

HEAD = "1 problem in the input; nothing was started or written"
COLOURS = {"red": (200, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 200)}
SMALL_TOML = """[train]
epochs = 2
seed = 0
weights = "none"

[[models]]
arch = "small_cnn"
size = 16

[optimize]
recipes = ["float32", "int8"]

[bench]
backends = ["xnnpack"]
threads = [1]
runs = 5
instructions = false
arm64 = false
"""


def colour_folder(root: Path, per_class: int = 12) -> Path:
    """DATA/<colour>/img<n>.png: 20x20 noisy squares of one colour, every file's bytes different."""
    rng = np.random.default_rng(0)
    for name, rgb in COLOURS.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            noise = rng.integers(-40, 41, size=(20, 20, 3))
            Image.fromarray(np.clip(np.asarray(rgb) + noise, 0, 255).astype(np.uint8)).save(root / name / f"img{i}.png")
    return root


def _linked(data: Path) -> str:
    (data / "red2").symlink_to("red")
    return "class folder red2 is a link to red: the same photos would be two classes"


def _solo(data: Path) -> str:
    (data / "solo").mkdir()
    shutil.copyfile(data / "red" / "img0.png", data / "solo" / "img0.png")
    return "too few image files in class solo (1)"


def _run_dir(data: Path) -> str:
    run_dir = fake_run(data.parent / "old_run")
    for sub in ("data", "float", "logs", "variants"):
        (run_dir / sub).mkdir()
    (run_dir / "float" / "model.keras").write_bytes(b"x")
    return "it is a liteship run directory, not a data folder"


CASES = {"class_link": (_linked, "data"), "one_image_class": (_solo, "data"), "run_dir_as_data": (_run_dir, "old_run")}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["sweep", "train"])
def test_data_that_cannot_be_split_is_refused_before_the_estimate(tmp_path, case, command):
    data = colour_folder(tmp_path / "data")
    plant, given = CASES[case]
    said = plant(data)
    before = snapshot(tmp_path)
    extra = ["--arch", "small_cnn", "--size", "16"] if command == "train" else []
    code, err, out, _ = run(command, "--data", given, "--out", "runs/x", *extra, cwd=tmp_path, timeout=60)
    assert code == 2, err
    assert HEAD in first_line(err)
    assert said in err.splitlines()[1], err
    assert "estimated" not in out + err  # found before the estimate, not after it
    assert not (tmp_path / "runs").exists()
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", ["sweep", "train"])
def test_a_run_directory_under_dev_is_refused_up_front(tmp_path, command):
    data = colour_folder(tmp_path / "data", per_class=3)
    out = Path("/dev/shm") / f"liteship_test_{tmp_path.name}"
    shutil.rmtree(out, ignore_errors=True)
    before = snapshot(tmp_path)
    extra = ["--arch", "small_cnn", "--size", "16"] if command == "train" else []
    code, err, _, _ = run(command, "--data", data, "--out", out, *extra, cwd=tmp_path, timeout=60)
    made = out.exists()
    shutil.rmtree(out, ignore_errors=True)
    assert code == 2, err
    assert HEAD in first_line(err)
    assert "a run directory cannot live under /dev" in err.splitlines()[1], err
    assert not made
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", ["optimize", "bench", "gate", "pick", "explain"])
def test_an_existing_run_directory_under_dev_is_refused(tmp_path, command):
    out = Path("/dev/shm") / f"liteship_test_{tmp_path.name}_{command}"
    shutil.rmtree(out, ignore_errors=True)
    fake_run(out)
    try:
        before = snapshot(out)
        code, err, _, _ = run(command, out, *(["float32"] if command == "explain" else []), cwd=tmp_path, timeout=60)
        assert code == 2, err
        assert "a run directory cannot live under /dev" in err, err
        assert snapshot(out) == before
    finally:
        shutil.rmtree(out, ignore_errors=True)


def test_a_photo_in_two_classes_is_named_and_never_tested(tmp_path):
    """A copy (not a link) of a red photo in green: both files are named, and both are kept in training only;
    the split of the other photos is the one they would have had without the copy's class."""
    from liteship.data_checks import cross_class_duplicates
    from liteship.dataset import load_folder, split_indices

    data = colour_folder(tmp_path / "data", per_class=6)
    shutil.copyfile(data / "red" / "img3.png", data / "green" / "copy.png")
    dataset = load_folder(data, 16)
    lines, pinned = cross_class_duplicates(dataset)
    assert len(lines) == 1 and "green/copy.png" in lines[0] and "red/img3.png" in lines[0], lines
    split = split_indices(dataset.labels, 0, train_only=pinned)
    named = {s: {dataset.items[i] for i in ix} for s, ix in split.items()}
    assert {"green/copy.png", "red/img3.png"} <= named["train"]
    assert not {"green/copy.png", "red/img3.png"} & (named["test"] | named["val"])
    assert sorted(i for ix in split.values() for i in ix) == list(range(len(dataset.items)))  # each image once


@pytest.mark.slow
def test_gate_and_pick_give_one_verdict_on_changed_data(tmp_path):
    """Sweep, then change the data: gate and pick both refuse with the same problem. A file that is not an image,
    added to a copy of the unchanged data, changes no image: both judge the run (the refusal is not of any change
    in the folder's listing)."""
    colour_folder(tmp_path / "photos")
    (tmp_path / "small.toml").write_text(SMALL_TOML)
    code, err, _, _ = run("sweep", "--data", "photos", "--config", "small.toml", "--out", "runs/r", cwd=tmp_path,
                          timeout=300)
    assert code == 0, err
    (tmp_path / "photos" / "red" / "notes.txt").write_text("not a photo\n")
    verdicts = [run(c, "runs/r", cwd=tmp_path, timeout=120)[0] for c in ("gate", "pick")]
    assert verdicts == [0, 0]
    shutil.copyfile(tmp_path / "photos" / "green" / "img1.png", tmp_path / "photos" / "blue" / "img3.png")
    (tmp_path / "photos" / "red" / "new.png").write_bytes((tmp_path / "photos" / "red" / "img0.png").read_bytes())
    before = snapshot(tmp_path / "photos")
    said = []
    for command in ("gate", "pick"):
        code, err, _, _ = run(command, "runs/r", cwd=tmp_path, timeout=120)
        assert code == 2, (command, err)
        assert HEAD in first_line(err)
        said.append(err.splitlines()[1].strip())
    assert said[0] == said[1] and said[0].startswith("- The data at photos changed since small_cnn_16 was trained")
    assert snapshot(tmp_path / "photos") == before
