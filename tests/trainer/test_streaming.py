"""Training from the run's image cache (rows read a batch at a time) against the in-memory path it replaced: the feed
gives the contract's pixels, a model gets the same weights, split and scores from either, and each image file is
opened once per ``liteship train``."""

import json
import os
import sys

import numpy as np
import pytest
from PIL import Image

from liteship.contract import to_model_pixels
from liteship.dataset import load_folder
from liteship.image_rows import ImageRows
from liteship.progress import Progress
from liteship.trainer import TrainConfig, train
from tests.core.test_image_cache import photo_folder

QUIET = Progress(quiet=True)


def test_the_tf_data_feed_of_the_cache_gives_the_contracts_pixels(tf_available, tmp_path):
    from liteship.trainer import tf_dataset

    root = photo_folder(tmp_path / "photos")
    ds = load_folder(root, 24, cache_dir=tmp_path / "cache")
    assert isinstance(ds.pixels, ImageRows)
    fed = np.concatenate([x.numpy() for x, _ in tf_dataset(ds.pixels, ds.labels, 16, None)])
    labels = np.concatenate([y.numpy() for _, y in tf_dataset(ds.pixels, ds.labels, 16, None)])
    by_hand = np.stack([np.asarray(to_model_pixels(Image.open(root / item), 24)) for item in ds.items])
    assert fed.tobytes() == (by_hand.astype(np.float32) / np.float32(255)).tobytes()
    assert labels.tolist() == ds.labels.tolist()


def _weights(result):
    import tf_keras as keras

    model = keras.models.load_model(result.model_dir / "model.keras", compile=False)
    return model, [w.copy() for w in model.get_weights()]


@pytest.mark.parametrize("augment", [(), ("crop", "flip")], ids=["augmentation-off", "crop-and-flip"])
def test_the_cache_and_the_in_memory_path_give_the_same_model_split_and_scores(tf_available, class_folder,
                                                                                tmp_path, augment):
    from liteship.runtime import predict
    from liteship.trainer import float_predict

    config = TrainConfig(arch="small_cnn", size=16, epochs=1, seed=5, augment=augment)
    streamed = train(str(class_folder), config, tmp_path / "streamed", QUIET, deterministic=True)
    in_memory = load_folder(class_folder, 16)  # cache_dir=None: the path every run took before the cache
    assert isinstance(in_memory.pixels, np.ndarray)
    before = train(in_memory, config, tmp_path / "memory", QUIET, deterministic=True)
    assert (tmp_path / "streamed" / "data" / "cache" / "16px.u8").stat().st_size == 64 + 72 * 16 * 16 * 3  # header
    assert not (tmp_path / "memory" / "data" / "cache").exists()
    split = [json.loads((tmp_path / run / "data" / "split.json").read_text()) for run in ("streamed", "memory")]
    assert split[0] == split[1]  # the same split, fingerprint and content hash
    assert (streamed.val_top1, streamed.test_top1) == (before.val_top1, before.test_top1)
    (model, a), (_, b) = _weights(streamed), _weights(before)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    # what optimize and bench score with: the float model's and the .tflite's outputs on the test split
    from liteship.dataset import load_run_split

    x, y = load_run_split(tmp_path / "streamed", 16)["test"]
    test = np.asarray(split[0]["splits"]["test"])
    memory_x = in_memory.pixels[[in_memory.items.index(item) for item in test]]
    assert isinstance(x, ImageRows) and np.asarray(x).tobytes() == memory_x.tobytes()
    assert float_predict(model, x).tobytes() == float_predict(model, memory_x).tobytes()
    tflite = streamed.model_dir / "model.tflite"
    assert predict(str(tflite), x, 5).tobytes() == predict(str(tflite), memory_x, 5).tobytes()


def count_opens(root):
    """A dict counting each file under ``root`` opened while it is armed (``counts["armed"] = True``): audit hooks
    stay for the process's life, so the hook does nothing once the test disarms it."""
    counts = {"armed": False}
    real_root = os.path.realpath(root)

    def hook(event, args):
        if event == "open" and counts["armed"] and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.path.realpath(os.fsdecode(args[0]))
            if path.startswith(real_root + os.sep):
                counts[path] = counts.get(path, 0) + 1

    sys.addaudithook(hook)
    return counts


def test_each_image_file_is_opened_once_per_train(tf_available, tmp_path, capsys):
    from liteship.app.cli import main

    root = photo_folder(tmp_path / "photos", 30)
    (root / "cat" / "notes.txt").write_text("not a photo")
    counts = count_opens(root)
    counts["armed"] = True
    try:
        code = main(["train", "--data", str(root), "--arch", "small_cnn", "--size", "16", "--epochs", "1",
                     "--out", str(tmp_path / "run"), "--quiet"])
    finally:
        counts["armed"] = False
    assert code == 0, capsys.readouterr().err
    files = sorted(os.path.realpath(p) for p in root.rglob("*") if p.is_file())
    assert {f: counts.get(f, 0) for f in files} == {f: 1 for f in files}
