"""The memory estimate charges what training holds: a folder's photos stream from the run's image cache (a few
batches in memory, every image on disk), the built-in digits are decoded into memory. The issue's case by hand:
50,000 photos at 224 px took 38 GB held in memory and were refused on a 24 GB machine. The cache's rows are the
run directory's disk, once per input size, less what the run's cache already holds, and a disk that cannot take
them is refused before any work, saying so. The README's sentence on the largest data set is read back and
checked against the checks."""

import re
from pathlib import Path

from liteship.workflow import disk, resources
from tests.conftest import write_class_folder

IMAGES = 72  # write_class_folder: three classes of 24


def test_50000_photos_at_224_px_fit_a_24_gb_machine_and_their_cache_is_counted_on_disk():
    photos = resources.train_estimate("small_cnn", 224, None, 32, 50_000, 3, in_memory=False)
    held = resources.train_estimate("small_cnn", 224, None, 32, 50_000, 3, in_memory=True)
    assert held.memory_bytes > 37e9  # 50,000 x 224 x 224 x 3 bytes, and a float32 copy: what was refused
    assert photos.memory_bytes < 8e9
    assert held.cache is None and photos.cache == (224, 50_000)  # the digits write no cache
    assert photos.disk_bytes == held.disk_bytes  # the models' files; the cache is counted once per size, below
    assert disk.cache_bytes(224, 50_000) == 50_000 * (224 * 224 * 3 + 48)  # a uint8 row and its index entry


def test_a_folders_estimate_grows_by_its_bookkeeping_alone_with_more_photos():
    small, large = (resources.train_estimate("small_cnn", 96, None, 32, n, 3, in_memory=False).memory_bytes
                    for n in (2_000, 32_000))
    assert large - small == 30_000 * resources.STREAM_IMAGE_BYTES
    assert large <= 1.25 * small  # the target for 32,000 photos against 2,000


def test_the_cache_is_charged_once_per_size_less_the_rows_the_run_holds(tmp_path):
    def folder(size, n):
        return resources.train_estimate("small_cnn", size, None, 32, n, 1, in_memory=False)

    digits = resources.train_estimate("small_cnn", 32, None, 32, 1797, 1)
    two_at_32 = [folder(32, IMAGES), folder(32, IMAGES), folder(64, IMAGES), digits]
    assert disk.cache_to_write(two_at_32, tmp_path / "new") == {
        32: (IMAGES, IMAGES * (32 * 32 * 3 + 48)), 64: (IMAGES, IMAGES * (64 * 64 * 3 + 48))}
    cache = tmp_path / "run" / "data" / "cache"
    cache.mkdir(parents=True)
    (cache / "32px.u8").write_bytes(bytes(10 * 32 * 32 * 3))  # ten rows written by an earlier command
    assert disk.cache_to_write(two_at_32, tmp_path / "run")[32] == (IMAGES, (IMAGES - 10) * 3072 + IMAGES * 48)


def _train(tmp_path, monkeypatch, capsys, free: float, size: int = 32):
    from liteship.app.cli import main

    data = write_class_folder(tmp_path / "photos")
    monkeypatch.setattr(resources, "free_disk", lambda out: free)
    out = tmp_path / "run"
    code = main(["train", "--data", str(data), "--out", str(out), "--size", str(size), "--epochs", "1"])
    return code, capsys.readouterr().err, out


def test_a_disk_too_small_for_the_image_cache_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    rows = IMAGES * 32 * 32 * 3  # by hand: the cache alone, without its index, the model or the variants
    code, err, out = _train(tmp_path, monkeypatch, capsys, free=rows * 0.9)
    assert code == 2 and not out.exists()
    text = " ".join(err.split())
    assert "of disk and" in text and "is free" in text
    assert f"image cache ({out / 'data' / 'cache'}) takes 0.2 MB of it: each of the {IMAGES} images decoded" in text
    assert "32 x 32 x 3 bytes at 32 px" in text and "--out on a disk with more room" in text


def test_the_disk_refusal_starts_where_the_cache_and_the_models_no_longer_fit(tmp_path, monkeypatch):
    estimate = resources.train_estimate("small_cnn", 32, None, 32, IMAGES, 1, in_memory=False)
    needed = IMAGES * (32 * 32 * 3 + 48) + estimate.disk_bytes  # by hand: the cache and its index, then the models
    monkeypatch.setattr(resources, "available_memory", lambda: 1e12)
    for free, refused in ((needed, False), (needed - 1, True)):
        monkeypatch.setattr(resources, "free_disk", lambda out, free=free: free)
        assert len(resources.bound_problems([("--size", estimate)], tmp_path / "run")) == refused


def test_the_readme_says_the_largest_data_set_the_checks_take(monkeypatch):
    """The README's sentence, read back and checked against the checks themselves on the machine it names: its
    counts are let through and 5 % more are refused for the image cache's disk, not for memory."""
    text = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    said = re.search(r"On a machine with (\d+) GB of memory and (\d+) GB of free disk, `liteship train --arch "
                     r"mobilenet_v2` takes up to about ([\d.]+) million photos at 96 px and ([\d,]+) at 224 px, as "
                     r"many as its image cache fits on the disk", text)
    assert said, "the README's sentence on the largest data set changed: change this test with it"
    memory, disk = float(said.group(1)) * 1e9, float(said.group(2)) * 1e9
    monkeypatch.setattr(resources, "available_memory", lambda: memory)
    monkeypatch.setattr(resources, "free_disk", lambda out: disk)

    def problems(size: int, images: float):
        e = resources.train_estimate("mobilenet_v2", size, 0.35, 32, int(images), 1, in_memory=False)
        return resources.bound_problems([("--size", e)], tmp / "run")

    tmp = Path("/nonexistent-liteship-run")
    for size, images in ((96, float(said.group(3)) * 1e6), (224, float(said.group(4).replace(",", "")))):
        assert problems(size, images * 0.97) == []
        refused = problems(size, images * 1.05)
        assert len(refused) == 1 and "its image cache" in refused[0].allowed


def test_the_batches_in_flight_are_charged_by_hand(monkeypatch):
    monkeypatch.setattr(resources, "arch_costs", lambda arch: None)  # the data and the frameworks alone
    e = resources.train_estimate("x", 224, None, 32, 50_000, 0, in_memory=False)
    # TensorFlow, Keras and LiteRT (1.2 GB); six batches in flight, each of evaluation's 256 images (more than the
    # training batch of 32) as uint8 and float32; 1,500 bytes of bookkeeping per image
    assert e.memory_bytes == 1.2e9 + 6 * 256 * 224 * 224 * 3 * (1 + 4) + 50_000 * 1_500


def test_a_refusal_of_streamed_images_never_suggests_fewer_images(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "available_memory", lambda: 1e9)
    monkeypatch.setattr(resources, "free_disk", lambda out: 1e15)
    e = resources.train_estimate("small_cnn", 224, None, 32, 50_000, 1, in_memory=False)
    (p,) = resources.bound_problems([("--size", e)], tmp_path / "run")
    assert "streamed from the image cache" in p.allowed and "fewer images" not in p.fix
