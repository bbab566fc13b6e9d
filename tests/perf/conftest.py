"""Models for the speed targets: made here with random weights, never downloaded.

``LITESHIP_PERF=quick`` (what CI runs) repeats each determinism check 3 times instead of 10 and leaves
MobileNetV2 1.0@224 out; the A/A false-alarm counts keep their 21 runs.
"""

import os

import pytest

from tests.conftest import full_int8_tflite


QUICK = os.environ.get("LITESHIP_PERF") == "quick"
SIZES = ((0.35, 96),) if QUICK else ((0.35, 96), (1.0, 224))


def repeats(full: int) -> int:
    """How many times a determinism check repeats: ``full``, or 3 in the quick profile."""
    return 3 if QUICK else full


def convert(model) -> bytes:
    import tensorflow as tf

    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


@pytest.fixture(scope="session")
def one_op_model(tmp_path_factory, tf_available):
    """A single ADD on a [1, 4] tensor: what is left to time is the harness."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
    def add(x):
        return x + 1.0

    conv = tf.lite.TFLiteConverter.from_concrete_functions([add.get_concrete_function()], add)
    path = tmp_path_factory.mktemp("perf") / "one_op.tflite"
    path.write_bytes(conv.convert())
    return path


@pytest.fixture(scope="session")
def mobilenets(tmp_path_factory, tf_available):
    """MobileNetV2 0.35@96 and (not in the quick profile) 1.0@224, random weights, float32."""
    import tf_keras as keras

    from liteship.trainer.models import get_arch

    out = {}
    folder = tmp_path_factory.mktemp("mobilenets")
    for alpha, size in SIZES:
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        model = get_arch("mobilenet_v2").build(10, size, alpha, "none")
        path = folder / f"mobilenet_v2_{alpha}_{size}.tflite"
        path.write_bytes(convert(model))
        out[(alpha, size)] = path
    return out


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory, tf_available):
    """8x8 RGB -> average pool -> dense softmax: per-image call overhead dominates its cost."""
    import tf_keras as keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 3))
    out = keras.layers.Dense(10, activation="softmax")(keras.layers.GlobalAveragePooling2D()(inp))
    path = tmp_path_factory.mktemp("tiny") / "tiny.tflite"
    path.write_bytes(convert(keras.Model(inp, out)))
    return path


@pytest.fixture(scope="session")
def mobilenet_pair(tmp_path_factory, tf_available):
    """MobileNetV2 0.35@96 with random weights: float32 and full int8 (uint8 in and out), made here."""
    import tensorflow as tf
    import tf_keras as keras

    from liteship.trainer.models import get_arch

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = get_arch("mobilenet_v2").build(10, 96, 0.35, "none")
    folder = tmp_path_factory.mktemp("arm_pair")
    f32 = folder / "f32.tflite"
    f32.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    int8 = folder / "int8.tflite"
    int8.write_bytes(full_int8_tflite(model, 96, tf.uint8))
    return f32, int8
