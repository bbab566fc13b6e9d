"""Models for the speed targets: made here with random weights, never downloaded."""

import pytest


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
    """MobileNetV2 0.35@96 and 1.0@224, random weights, float32."""
    import tf_keras as keras

    from liteship.trainer.models import get_arch

    out = {}
    folder = tmp_path_factory.mktemp("mobilenets")
    for alpha, size in ((0.35, 96), (1.0, 224)):
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
