"""A run whose image cache folder is a symbolic link (or a file) is never written through: training holds the
photos in memory instead. The estimate charges them as held, so a data set that fits streamed but not held is
refused up front for such a run, and let through for a plain one, on the same machine."""

import pytest
from pathlib import Path

from liteship.workflow import resource_checks, resources

IMAGES, SIZE = 2000, 224


@pytest.fixture
def photos(tmp_path):
    """2,000 files named as photos (counted by name before any decoding; never read here)."""
    for c in ("a", "b"):
        (tmp_path / "photos" / c).mkdir(parents=True)
        for i in range(IMAGES // 2):
            (tmp_path / "photos" / c / f"{i}.jpg").write_bytes(b"x")
    return tmp_path / "photos"


@pytest.fixture
def limit(monkeypatch):
    """A machine between the two: the streamed estimate plus 100 MB, where holding 2,000 photos at 224 px in
    memory needs 2,000 x 224 x 224 x 3 x 5 bytes (uint8 and float32) = 1.5 GB against 6 batches of 256 = 1.16 GB
    streamed, by hand."""
    from liteship.trainer import TrainConfig

    config = TrainConfig(arch="small_cnn", size=SIZE)
    streamed = resources.train_estimate("small_cnn", SIZE, None, config.batch_size, IMAGES, 1, in_memory=False)
    held = resources.train_estimate("small_cnn", SIZE, None, config.batch_size, IMAGES, 1, in_memory=True)
    assert held.memory_bytes - streamed.memory_bytes == pytest.approx(
        IMAGES * SIZE * SIZE * 15 - 6 * 256 * SIZE * SIZE * 15 - IMAGES * 1500)
    monkeypatch.setattr(resources, "available_memory", lambda: streamed.memory_bytes + 100e6)
    monkeypatch.setattr(resources, "free_disk", lambda out: 1e15)
    return config


def test_a_plain_run_streams_and_fits(photos, limit, tmp_path):
    assert resource_checks.bounds_problems([("--size", limit)], str(photos), str(tmp_path / "run"), 1) == []


@pytest.mark.parametrize("kind", ["symlink", "file"])
def test_a_run_whose_cache_cannot_be_written_is_charged_every_photo(photos, limit, tmp_path, kind):
    run = tmp_path / "run"
    (run / "data").mkdir(parents=True)
    if kind == "symlink":
        (tmp_path / "elsewhere").mkdir()
        (run / "data" / "cache").symlink_to(tmp_path / "elsewhere")
    else:
        (run / "data" / "cache").write_text("not a folder")
    (refused,) = resource_checks.bounds_problems([("--size", limit)], str(photos), str(run), 1)
    assert "images at the input size" in refused.allowed and "fewer images" in refused.fix


def test_a_cache_folder_this_user_cannot_write_is_charged_every_photo(photos, limit, tmp_path, monkeypatch):
    """Root writes anywhere, so the permission is played by os.access (as a non-root user on a 0o555 folder)."""
    run = tmp_path / "run"
    (run / "data" / "cache").mkdir(parents=True)
    monkeypatch.setattr(resources.os, "access", lambda path, mode: Path(path) != run / "data" / "cache")
    (refused,) = resource_checks.bounds_problems([("--size", limit)], str(photos), str(run), 1)
    said = " ".join(refused.line().split())
    assert f"the images are held in memory because {run / 'data' / 'cache'} is a folder this user cannot write" \
        in said, said
    assert f"make {run / 'data' / 'cache'} a folder liteship can write, or remove it" in said


def test_the_refusal_says_the_symbolic_link_is_why_the_photos_are_held(photos, limit, tmp_path):
    run = tmp_path / "run"
    (run / "data").mkdir(parents=True)
    (tmp_path / "bigdisk").mkdir()
    (run / "data" / "cache").symlink_to(tmp_path / "bigdisk")
    (refused,) = resource_checks.bounds_problems([("--size", limit)], str(photos), str(run), 1)
    said = " ".join(refused.line().split())
    assert f"because {run / 'data' / 'cache'} is a symbolic link (to {tmp_path / 'bigdisk'})" in said, said


@pytest.mark.parametrize("kind", ["file", "loop"])
def test_a_run_whose_data_is_not_a_folder_is_refused_before_any_work(photos, tmp_path, kind):
    import liteship
    from liteship.config import Problems

    run = tmp_path / "run"
    run.mkdir()
    (run / ".liteship-run").touch()  # a run liteship made
    if kind == "file":
        (run / "data").write_text("not a folder")
    else:
        (run / "data").symlink_to(run / "data")
    with pytest.raises(Problems) as caught:
        liteship.train(str(photos), run, epochs=1, size=8)
    said = " ".join(p.line() for p in caught.value.problems)
    assert f"its image cache {run / 'data' / 'cache'} cannot be reached" in said, said


def test_digits_are_always_held(limit, tmp_path):
    """1,797 digits held at 224 px cost about 193 MB more than streamed would (by hand), over the 100 MB margin."""
    (refused,) = resource_checks.bounds_problems([("--size", limit)], "digits", str(tmp_path / "run"), 1)
    assert "images at the input size" in refused.allowed and "held in memory because" not in refused.allowed


@pytest.mark.parametrize("kind", ["symlink", "plain"])
def test_a_sweep_resumed_in_a_run_whose_cache_is_a_link_is_charged_every_photo(photos, limit, tmp_path, kind):
    from liteship.workflow import checks
    from liteship.workflow.requests import SweepRequest

    run = tmp_path / "run"
    if kind == "symlink":
        (run / "data").mkdir(parents=True)
        (tmp_path / "elsewhere").mkdir()
        (run / "data" / "cache").symlink_to(tmp_path / "elsewhere")
        (run / ".liteship-run").write_text("")  # liteship's own run, resumed
    (tmp_path / "sweep.toml").write_text(f"[[models]]\narch = 'small_cnn'\nsize = {SIZE}\n"
                                         "[optimize]\nrecipes = ['float32']\n")
    found, _ = checks._sweep(SweepRequest(data=str(photos), out=str(run), config=str(tmp_path / "sweep.toml"),
                                          workers=1))
    assert ["images at the input size" in p.allowed for p in found] == ([True] if kind == "symlink" else []), found
