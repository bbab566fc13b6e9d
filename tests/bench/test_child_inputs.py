"""Images handed to a child process (tflite-runtime's, MediaPipe's) are written a batch at a time and read back one
image at a time, never held whole on either side: the child reads exactly the pixels written, also from rows of
the image cache, and fed per the contract."""

import numpy as np

from liteship import task_api_child
from liteship.bench import legacy_child
from liteship.contract import feed
from liteship.image_rows import ImageRows, save_npy


def test_rows_of_the_cache_reach_a_child_image_by_image_as_written(tmp_path):
    rng = np.random.default_rng(1)
    whole = rng.integers(0, 256, (37, 6, 6, 3), dtype=np.uint8)
    (tmp_path / "rows.u8").write_bytes(whole.tobytes())
    order = rng.permutation(37)
    rows = ImageRows(tmp_path / "rows.u8", 6, order)
    save_npy(tmp_path / "fed.npy", rows, lambda x: feed(x, np.float32), batch=5)
    expected = whole[order].astype(np.float32) / np.float32(255)
    assert np.load(tmp_path / "fed.npy").tobytes() == expected.tobytes()  # numpy reads what was written
    legacy = list(legacy_child.images(tmp_path / "fed.npy"))
    assert len(legacy) == 37 and all(a.shape == (1, 6, 6, 3) for a in legacy)
    assert np.concatenate(legacy).tobytes() == expected.tobytes()
    save_npy(tmp_path / "raw.npy", rows, batch=8)
    count, images = task_api_child._images(tmp_path / "raw.npy")
    assert count == 37 and np.stack(list(images)).tobytes() == whole[order].tobytes()


def test_photos_of_any_size_still_reach_mediapipe_whole(tmp_path):
    photos = np.empty(2, dtype=object)
    photos[:] = [np.zeros((4, 7, 3), np.uint8), np.full((9, 2, 3), 5, np.uint8)]
    np.save(tmp_path / "photos.npy", photos, allow_pickle=True)
    count, images = task_api_child._images(tmp_path / "photos.npy")
    assert count == 2 and [p.shape for p in images] == [(4, 7, 3), (9, 2, 3)]
