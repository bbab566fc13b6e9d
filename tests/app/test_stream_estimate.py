"""The memory estimate charges what training holds: a folder's photos stream from the run's image cache (a few
batches in memory, every image on disk), the built-in digits are decoded into memory. The issue's case by hand:
50,000 photos at 224 px took 38 GB held in memory and were refused on a 24 GB machine."""

from liteship.workflow import resources


def test_50000_photos_at_224_px_fit_a_24_gb_machine_and_their_cache_is_counted_on_disk():
    photos = resources.train_estimate("small_cnn", 224, None, 32, 50_000, 3, in_memory=False)
    held = resources.train_estimate("small_cnn", 224, None, 32, 50_000, 3, in_memory=True)
    assert held.memory_bytes > 37e9  # 50,000 x 224 x 224 x 3 bytes, and a float32 copy: what was refused
    assert photos.memory_bytes < 8e9
    cache = 50_000 * 224 * 224 * 3  # one uint8 row per photo
    assert photos.disk_bytes - held.disk_bytes == cache


def test_a_folders_estimate_grows_by_its_bookkeeping_alone_with_more_photos():
    small, large = (resources.train_estimate("small_cnn", 96, None, 32, n, 3, in_memory=False).memory_bytes
                    for n in (2_000, 32_000))
    assert large - small == 30_000 * resources.STREAM_IMAGE_BYTES
    assert large <= 1.25 * small  # the target for 32,000 photos against 2,000
