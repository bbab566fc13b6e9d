"""Delegate coverage on golden models: ops the GPU and Core ML delegates are documented not to take are
flagged, exactly those, and nothing is counted as delegated without a check."""

import numpy as np
import pytest

from liteship.bench.coverage import coreml_coverage, gpu_coverage, try_gpu
from liteship.tflite_file import ops, read_model


def _convert(build):
    import tensorflow as tf
    import tf_keras as keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 3))
    return read_model(tf.lite.TFLiteConverter.from_keras_model(keras.Model(inp, build(inp))).convert())


def _flagged(cov) -> list[str]:
    return [f.split(":")[0].split(" ", 1)[1] for f in cov["fallback"]]


@pytest.fixture(scope="module")
def unusual(tf_available):
    """SIN and CUMSUM are in neither delegate's documented list; RESHAPE falls back on Core ML 3."""
    import tensorflow as tf
    import tf_keras as keras

    def build(inp):
        x = keras.layers.Conv2D(4, 3, padding="same")(inp)
        x = keras.layers.Lambda(lambda t: tf.math.cumsum(tf.math.sin(t), axis=-1))(x)
        x = keras.layers.Flatten()(keras.layers.AveragePooling2D(2)(x))
        return keras.layers.Dense(3, activation="softmax")(x)

    return _convert(build)


@pytest.fixture(scope="module")
def constrained(tf_available):
    """Ops in Core ML's list that break its documented constraints: a broadcast it cannot do, a concat off
    the channel axis; MEAN is in neither documented list."""
    import tensorflow as tf
    import tf_keras as keras

    def build(inp):
        x = keras.layers.Conv2D(4, 3, padding="same")(inp)
        x = keras.layers.Lambda(lambda t: t + tf.constant(np.ones((1, 8, 1, 4), np.float32)))(x)
        x = keras.layers.Concatenate(axis=1)([x, x])
        return keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))

    return _convert(build)


def test_golden_ops_each_delegate_does_not_take(unusual):
    assert [name for name, _ in ops(unusual)] == ["CONV_2D", "SIN", "CUMSUM", "AVERAGE_POOL_2D", "RESHAPE",
                                                  "FULLY_CONNECTED", "SOFTMAX"]
    gpu, coreml = gpu_coverage(unusual), coreml_coverage(unusual)
    assert _flagged(gpu) == ["SIN", "CUMSUM"]
    assert _flagged(coreml) == ["SIN", "CUMSUM", "RESHAPE"]
    assert gpu["supported"] == 5 and gpu["partitions"] == 2 and gpu["delegated"] == round(5 / 7, 4)
    assert coreml["supported"] == 4 and coreml["partitions"] == 3  # [CONV_2D] [AVERAGE_POOL_2D] [FC, SOFTMAX]


def test_core_ml_constraints_are_checked_not_just_op_names(constrained):
    assert [name for name, _ in ops(constrained)] == ["CONV_2D", "ADD", "CONCATENATION", "MEAN", "FULLY_CONNECTED",
                                                      "SOFTMAX"]
    cov = coreml_coverage(constrained)
    assert _flagged(cov) == ["ADD", "CONCATENATION", "MEAN"]
    assert "broadcast" in cov["fallback"][0] and "channel axis" in cov["fallback"][1]
    assert _flagged(gpu_coverage(constrained)) == ["MEAN"]


def test_quantized_models(optimized_run):
    out, variants = optimized_run
    model = read_model((out / variants["int8"]["file"]).read_bytes())
    coreml = coreml_coverage(model)
    assert coreml["supported"] == 0  # float models only
    gpu = gpu_coverage(model)
    flagged = set(_flagged(gpu))
    from ai_edge_litert.interpreter import Interpreter

    ops = [op["op_name"] for op in Interpreter(model_path=str(out / variants["int8"]["file"]))._get_ops_details()]
    io_ops = {name for name in ops if name in ("QUANTIZE", "DEQUANTIZE")}
    assert io_ops and io_ops <= flagged  # LiteRT lists the 8-bit I/O ops; the delegate leaves them to the CPU
    assert "CONV_2D" in ops and "CONV_2D" not in flagged  # 8-bit convs run through the delegate's float view


def test_a_gpu_run_is_tried_and_its_outcome_recorded(optimized_run):
    out, variants = optimized_run
    path = str(out / variants["float32"]["file"])
    note = try_gpu(path)
    # The same load, done here in LiteRT directly: the note must say what happened to it.
    import subprocess
    import sys

    load = ("import sys\nfrom ai_edge_litert.compiled_model import CompiledModel\n"
            "from ai_edge_litert.hardware_accelerator import HardwareAccelerator\n"
            "from ai_edge_litert.options import Options\n"
            "CompiledModel.from_file(sys.argv[1], options=Options(hardware_accelerators=HardwareAccelerator.GPU))\n"
            "print('OK')")
    loaded = "OK" in subprocess.run([sys.executable, "-c", load, path], capture_output=True, text=True,
                                    timeout=120).stdout
    if loaded:
        assert note.startswith("LiteRT's GPU accelerator loaded the model here")
    else:
        assert note.startswith("tried LiteRT's GPU accelerator here: it failed")
