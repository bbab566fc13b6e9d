"""Augmentation in training and in the recipes' fine-tuning: what a model sees (a probe model records every batch it is
fed), the weights it makes (the same from the same seed, the old ones with augmentation off) and what the card says."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from liteship.contract import to_model_pixels
from liteship.progress import Progress
from liteship.trainer import TrainConfig, augmentation_of, train
from tests.trainer.test_augment import old_tf_dataset

QUIET = Progress(quiet=True)
SMALL = {"arch": "small_cnn", "size": 16, "epochs": 2, "seed": 3}


def probe_model(seen: list, num_classes: int, size: int):
    """A model whose output is its mean input pixel (through a softmax), and which notes each batch it is fed:
    (training, the batch's pixels)."""
    import tensorflow as tf
    import tf_keras as keras

    class Probe(keras.layers.Layer):
        def call(self, x, training=None):
            def note(images, flag):
                seen.append((bool(flag.numpy()), images.numpy()))
                return np.float32(0)

            noted = tf.py_function(note, [x, tf.constant(bool(training))], tf.float32)
            return x + 0 * tf.reshape(noted, [])

    inputs = keras.Input((size, size, 3))
    mean = keras.layers.GlobalAveragePooling2D()(Probe()(inputs))
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(mean))


def contract_pixels(folder: Path, size: int) -> set[bytes]:
    """Every image of the folder as the app feeds it (the input contract), in [0, 1] float32, as bytes."""
    files = [f for f in folder.rglob("*") if f.suffix in (".png", ".jpg")]
    return {(to_model_pixels(Image.open(f), size).astype(np.float32) / np.float32(255)).tobytes() for f in files}


def _is_contract(batch, pixels: set[bytes]) -> list[bool]:
    return [image.tobytes() in pixels for image in batch]


def test_evaluation_sees_the_contract_pixels_and_training_the_augmented_ones(tf_available, class_folder, tmp_path,
                                                                            monkeypatch):
    from liteship.trainer import training

    seen: list = []
    monkeypatch.setattr(training, "build_model", lambda config, n: probe_model(seen, n, config.size))
    monkeypatch.setattr(training, "publish_model", lambda final, model, names, history, card, split=None: card)
    config = TrainConfig(**SMALL, augment=("crop", "flip", "rotate", "brightness", "contrast"))
    result = train(str(class_folder), config, tmp_path / "run", QUIET, deterministic=True)
    pixels = contract_pixels(class_folder, 16)
    evaluated = [ok for training_, batch in seen if not training_ for ok in _is_contract(batch, pixels)]
    trained = [ok for training_, batch in seen if training_ for ok in _is_contract(batch, pixels)]
    counts = result.card["counts"]
    # validation after each epoch, then the val and test top-1: every one of them the contract's pixels
    assert len(evaluated) == 2 * counts["val"] + counts["val"] + counts["test"] and all(evaluated)
    assert len(trained) == 2 * counts["train"] and sum(trained) < 0.1 * len(trained)


def test_fine_tuning_sees_the_float_models_augmentation_and_evaluates_on_the_contract(tf_available, class_folder):
    from liteship.dataset import load_folder
    from liteship.optimize.finetune import fine_tune
    from liteship.optimize.registry import RecipeData

    ds = load_folder(class_folder, 16)
    pixels = contract_pixels(class_folder, 16)
    x, y = ds.pixels, ds.labels
    for augmentation in (augmentation_of(TrainConfig(), str(class_folder)), None):
        seen: list = []
        data = RecipeData(x[:50], y[:50], x[50:], y[50:], seed=1, batch_size=16, augmentation=augmentation)
        fine_tune(probe_model(seen, 3, 16), data, 1, 1e-3)
        trained = [ok for training_, batch in seen if training_ for ok in _is_contract(batch, pixels)]
        evaluated = [ok for training_, batch in seen if not training_ for ok in _is_contract(batch, pixels)]
        assert len(trained) == 50 and len(evaluated) == len(y) - 50 and all(evaluated)
        assert (sum(trained) < 10) if augmentation else all(trained)


@pytest.fixture(scope="module")
def photos_run(tf_available, class_folder, tmp_path_factory):
    """A tiny model trained on a photo folder with the default settings: crop and flip."""
    out = tmp_path_factory.mktemp("photos_run")
    return out, train(str(class_folder), TrainConfig(**SMALL), out, QUIET, deterministic=True)


def test_the_same_seed_gives_the_same_weights_with_augmentation(photos_run, class_folder, tmp_path):
    _, first = photos_run
    again = train(str(class_folder), TrainConfig(**SMALL), tmp_path / "again", QUIET, deterministic=True)
    assert again.card["weights_sha256"] == first.card["weights_sha256"]
    assert again.card["history"] == first.card["history"]
    off = train(str(class_folder), TrainConfig(**SMALL, augment=()), tmp_path / "off", QUIET, deterministic=True)
    assert off.card["weights_sha256"] != first.card["weights_sha256"]  # the augmentation did change the training


def test_augmentation_off_trains_the_weights_of_the_feed_before_augmentation(tf_available, class_folder, tmp_path,
                                                                             monkeypatch):
    from liteship.trainer import training

    off = train(str(class_folder), TrainConfig(**SMALL, augment=()), tmp_path / "off", QUIET, deterministic=True)
    monkeypatch.setattr(training, "train_dataset", lambda pixels, labels, batch, seed, augmentation:
                        old_tf_dataset(pixels, labels, batch, seed))
    old = train(str(class_folder), TrainConfig(**SMALL, augment=()), tmp_path / "old", QUIET, deterministic=True)
    assert off.card["weights_sha256"] == old.card["weights_sha256"]


def test_the_card_and_run_json_say_the_photos_default(photos_run):
    out, result = photos_run
    card = json.loads((result.model_dir / "card.json").read_text())
    assert card["augment"] == {"steps": ["crop", "flip"], "default": "photos", "crop_area": [0.08, 1.0],
                               "crop_aspect_ratio": [0.75, 4 / 3],
                               "said": "crop (area 0.08-1, aspect ratio 0.75-1.333), flip; the default for photos"}
    assert card["config"]["augment"] is None  # asked: the data set's default
    assert json.loads((out / "run.json").read_text())["augment"] == card["augment"]


def test_the_card_says_the_steps_asked_and_only_their_settings(tf_available, class_folder, tmp_path):
    config = TrainConfig(**{**SMALL, "epochs": 1}, augment=("rotate", "flip"), rotation_degrees=10.0)
    card = train(str(class_folder), config, tmp_path / "run", QUIET, deterministic=True).card
    assert card["augment"] == {"steps": ["flip", "rotate"], "default": None, "rotation_degrees": 10.0,
                               "said": "flip, rotate (up to 10 degrees)"}


def test_the_digits_default_is_no_augmentation(digits_run):
    out, result = digits_run
    card = json.loads((result.model_dir / "card.json").read_text())
    assert card["augment"] == {"steps": [], "default": "digits", "said": "none; the default for digits"}


def test_optimize_fine_tunes_with_the_augmentation_the_card_records(photos_run):
    from liteship.optimize.run import _load

    out, result = photos_run
    card = json.loads((result.model_dir / "card.json").read_text())
    _, data = _load(result.model_dir, card, out)
    assert data.augmentation.steps == ("crop", "flip") and data.augmentation.crop_area == (0.08, 1.0)
    del card["augment"]  # a card from before augmentation existed: its model trained without any
    assert _load(result.model_dir, card, out)[1].augmentation.steps == ()
