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


def _nibbles(data: bytes, count: int) -> list[int]:
    """The test's own int4 reading: each byte's low nibble, then its high nibble, as signed 4-bit values."""
    out = []
    for byte in data:
        for nibble in (byte % 16, byte // 16):
            out.append(nibble - 16 if nibble >= 8 else nibble)
    return out[:count]


def test_int4_weights_are_counted_by_hand(tf_available):
    """A Conv2D (3 x 3 x 2 x 5 = 90 weights, 20 set to 0) and a Dense (odd: 125 x 3 = 375, 100 set to 0) quantized to
    int4 by LiteRT Quantizer: every weight counted, and the zeros are exactly the ones set here (no other value
    rounds to 0: each channel's values are 1 to 3 in magnitude, a scale of 3/7)."""
    import tensorflow as tf
    import tf_keras as keras

    from optimize.quantizer import int4_weights, quantize
    from ai_edge_litert import schema_py_generated as schema

    inp = keras.Input((7, 7, 2), batch_size=1)
    conv = keras.layers.Conv2D(5, 3)
    dense = keras.layers.Dense(3)
    model = keras.Model(inp, dense(keras.layers.Flatten()(conv(inp))))
    rng = np.random.default_rng(0)

    def weights(shape, zeros):
        w = (rng.integers(1, 4, size=shape) * rng.choice([-1, 1], size=shape)).astype(np.float32)
        w.reshape(-1)[rng.choice(w.size, zeros, replace=False)] = 0.0
        return w

    conv.set_weights([weights((3, 3, 2, 5), 20), np.zeros(5, np.float32)])
    dense.set_weights([weights((125, 3), 100), np.zeros(3, np.float32)])
    float_tflite = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    quantized = read_model(quantize(float_tflite, int4_weights(0, 0)))
    sg = quantized.subgraphs[0]
    int4 = [t for t in sg.tensors if t.type == schema.TensorType.INT4]
    assert sorted(int(np.prod(t.shape)) for t in int4) == [90, 375]
    by_hand = [_nibbles(bytes(quantized.buffers[t.buffer].data), int(np.prod(t.shape))) for t in int4]
    assert sum(len(v) for v in by_hand) == 465 and sum(v.count(0) for v in by_hand) == 120
    found = weight_sparsity(quantized)
    assert (found["weights"], found["zeros"]) == (465, 120)
    assert found["sparsity"] == pytest.approx(120 / 465, abs=1e-4)
