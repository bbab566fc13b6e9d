"""Reading .tflite flatbuffers: counts checked by hand on a model built here, and damaged bytes refused."""

import numpy as np
import pytest

from liteship.errors import LiteshipError
from liteship.tflite_file import activation_bytes, io_specs, ops, param_count, read_model, weight_sparsity


@pytest.fixture(scope="module")
def dense_4_3(tf_available):
    """Dense(3) on 4 inputs, half the kernel zero: 12 kernel + 3 bias = 15 parameters, 6 of 12 weights zero."""
    import tensorflow as tf
    import tf_keras as keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((4,), batch_size=1)
    layer = keras.layers.Dense(3)
    model = keras.Model(inp, layer(inp))
    kernel = np.arange(1, 13, dtype=np.float32).reshape(4, 3)
    kernel[:2] = 0.0
    layer.set_weights([kernel, np.array([0.5, -1.0, 2.0], np.float32)])
    return read_model(tf.lite.TFLiteConverter.from_keras_model(model).convert())


def test_param_count_by_hand(dense_4_3):
    assert param_count(dense_4_3) == 4 * 3 + 3


def test_weight_sparsity_by_hand(dense_4_3):
    assert weight_sparsity(dense_4_3)["sparsity"] == pytest.approx(6 / 12, abs=1e-4)


def test_io_and_ops(dense_4_3):
    inputs, outputs = io_specs(dense_4_3)
    assert [list(s.shape) for s in inputs] == [[1, 4]] and [list(s.shape) for s in outputs] == [[1, 3]]
    assert [s.dtype for s in inputs + outputs] == ["float32", "float32"]
    assert [name for name, _ in ops(dense_4_3)] == ["FULLY_CONNECTED"]
    # upper bound of activations: the input [1, 4] and the output [1, 3] as float32, nothing reused
    assert activation_bytes(dense_4_3) == (4 + 3) * 4


@pytest.mark.parametrize("data", [b"", b"not a flatbuffer at all", b"\x00" * 64])
def test_damaged_bytes_are_refused_in_words(data):
    with pytest.raises(LiteshipError):
        read_model(data, "broken.tflite")
