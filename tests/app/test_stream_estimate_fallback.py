"""A run whose image cache folder is a symbolic link (or a file) is never written through: training holds the
photos in memory instead. The estimate charges them as held, so a data set that fits streamed but not held is
refused up front for such a run, and let through for a plain one, on the same machine."""

import pytest

from liteship.workflow import checks, resources

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
    assert checks._bounds([("--size", limit)], str(photos), str(tmp_path / "run"), 1) == []


@pytest.mark.parametrize("kind", ["symlink", "file"])
def test_a_run_whose_cache_cannot_be_written_is_charged_every_photo(photos, limit, tmp_path, kind):
    run = tmp_path / "run"
    (run / "data").mkdir(parents=True)
    if kind == "symlink":
        (tmp_path / "elsewhere").mkdir()
        (run / "data" / "cache").symlink_to(tmp_path / "elsewhere")
    else:
        (run / "data" / "cache").write_text("not a folder")
    (refused,) = checks._bounds([("--size", limit)], str(photos), str(run), 1)
    assert "images at the input size" in refused.allowed and "fewer images" in refused.fix
