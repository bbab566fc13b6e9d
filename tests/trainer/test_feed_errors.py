"""A cache cut short during training or prediction is the cache's own error (what, why, what to do), never
TensorFlow's UnknownError around it."""

import os

import numpy as np
import pytest

from liteship.errors import LiteshipError
from liteship.image_rows import ImageRows
from liteship.progress import Progress
from liteship.trainer import feed, training

SIZE, N = 4, 40


def tiny_model():
    import tf_keras as keras

    model = keras.Sequential([keras.layers.Input((SIZE, SIZE, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    return model


@pytest.fixture
def cut_short(tmp_path):
    path = tmp_path / "rows.u8"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, N * SIZE * SIZE * 3, dtype=np.uint8).tobytes())
    view = ImageRows(path, SIZE, np.arange(N))
    os.truncate(path, 5 * SIZE * SIZE * 3)  # cut short after the view was made
    return view


def test_a_cache_cut_short_during_prediction_is_its_own_error(cut_short):
    with pytest.raises(LiteshipError) as err:
        training._top1(tiny_model(), cut_short, np.zeros(N, np.int64))
    assert "cut short" in err.value.why and "run the command again" in err.value.fix
    with pytest.raises(LiteshipError):
        feed.float_predict(tiny_model(), cut_short)


def test_a_cache_cut_short_during_training_is_its_own_error(cut_short):
    labels = np.zeros(N, np.int64)
    ds = feed.batches(cut_short, labels, 8, seed=1)
    with pytest.raises(LiteshipError) as err:
        training._fit(tiny_model(), [("train", 1, 0.01)], ds, None, Progress(bar=False))
    assert "cut short" in err.value.why


def test_a_cache_cut_short_during_a_recipes_fine_tuning_is_its_own_error(cut_short):
    from liteship.optimize.finetune import fine_tune
    from liteship.optimize.registry import RecipeData

    labels = np.zeros(N, np.int64)
    data = RecipeData(cut_short, labels, np.zeros((0, SIZE, SIZE, 3), np.uint8), np.zeros(0, np.int64),
                      batch_size=8)
    with pytest.raises(LiteshipError) as err:
        fine_tune(tiny_model(), data, 1, 0.01)
    assert "cut short" in err.value.why and "run the command again" in err.value.fix
