"""LiteRT Quantizer's int4 and int16x8 recipes on MobileNetV2 (alpha 0.35, 32 px, untrained, nothing downloaded):
the file sizes and the stored types are read here from the flatbuffer with TensorFlow's copy of the schema."""

import numpy as np
import pytest

from liteship.optimize import RecipeData, run_recipe
from liteship.optimize.convert import Int4Config, Int8Config, Int16x8Config

SIZE = 32


@pytest.fixture(scope="module")
def made(tf_available):
    import tf_keras as keras

    from liteship.trainer.models import mobilenet_v2

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = mobilenet_v2(3, SIZE, 0.35, "none")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (24, SIZE, SIZE, 3), dtype=np.uint8)
    # BatchNormalization's statistics moved towards the images' (training-mode calls, no weight updates): at their
    # initial values, activations shrink layer after layer to ~1e-8, where int16's scales overflow LiteRT's kernels.
    for _ in range(10):
        model(images.astype(np.float32) / 255, training=True)
    labels = np.arange(24) % 3
    data = RecipeData(images, labels, images[:6], labels[:6])
    return {name: run_recipe(name, model, data, config)[0] for name, config in
            [("int8", Int8Config(calibration_images=16)), ("int4_weights", Int4Config()),
             ("int16x8", Int16x8Config(calibration_images=16))]}, images, _kernel_sizes(model)


def _kernel_sizes(model) -> list[int]:
    """The number of weights of every convolution and dense layer (not depthwise), counted on the Keras model."""
    import tf_keras as keras

    layers = [layer for layer in model.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
              and not isinstance(layer, keras.layers.DepthwiseConv2D)]
    return [int(np.prod(layer.kernel.shape)) for layer in layers]


def _graph(tflite: bytes):
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(tflite), 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    sg = model.subgraphs[0]
    ops = [(names[max(model.operatorCodes[op.opcodeIndex].builtinCode,
                      model.operatorCodes[op.opcodeIndex].deprecatedBuiltinCode)], op) for op in sg.operators]
    return schema, sg, ops


def test_int4_is_a_third_smaller_than_int8_with_int4_weights(made):
    files, _, kernels = made
    assert len(files["int4_weights"]) <= len(files["int8"]) * 2 / 3, (len(files["int4_weights"]), len(files["int8"]))
    schema, sg, ops = _graph(files["int4_weights"])
    producers = {o: op for _, op in ops for o in op.outputs}
    stored = {}  # each conv or dense layer: the type and size of the weights the file holds for it
    for name, op in ops:
        if name in ("CONV_2D", "FULLY_CONNECTED"):
            w = op.inputs[1]
            tensor = sg.tensors[producers[w].inputs[0]] if w in producers else sg.tensors[w]  # behind a DEQUANTIZE
            stored[sg.tensors[op.outputs[0]].name] = (name, tensor.type, int(np.prod(tensor.shape)))
    big = {k: v for k, v in stored.items() if v[2] >= 1024}
    assert sorted(n for _, _, n in big.values()) == sorted(n for n in kernels if n >= 1024)  # every one of them
    assert all(kind == schema.TensorType.INT4 for _, kind, _ in big.values()), big
    assert all(kind == schema.TensorType.FLOAT32 for _, kind, n in stored.values() if n < 1024)
    int4_weights = sum(n for _, kind, n in stored.values() if kind == schema.TensorType.INT4)
    assert int4_weights > 0.9 * sum(n for _, _, n in stored.values())  # nearly all of them


def test_int4_and_int16x8_run_in_litert(made):
    from ai_edge_litert.interpreter import Interpreter

    files, images, _ = made
    for name in ("int4_weights", "int16x8"):  # int16x8's ADDs (the residuals) need their non-power-of-two scales
        interp = Interpreter(model_content=files[name])
        interp.allocate_tensors()
        inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
        assert inp["dtype"] == np.float32 and out["dtype"] == np.float32, name
        interp.set_tensor(inp["index"], images[:1].astype(np.float32) / np.float32(255))
        interp.invoke()
        probs = interp.get_tensor(out["index"])[0]
        assert np.all(np.isfinite(probs)) and abs(float(probs.sum()) - 1.0) < 0.05, (name, probs)


def test_int16x8_activations_are_int16(made):
    files, _, _ = made
    schema, sg, ops = _graph(files["int16x8"])
    counted = {}
    for name, op in ops:
        if name not in ("QUANTIZE", "DEQUANTIZE"):
            assert sg.tensors[op.outputs[0]].type == schema.TensorType.INT16, name
            counted[name] = counted.get(name, 0) + 1
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            assert sg.tensors[op.inputs[1]].type == schema.TensorType.INT8, name
        if name == "ADD":
            assert op.builtinOptions.potScaleInt16 is False  # what LiteRT's int16 ADD needs for calibrated scales
    assert counted["CONV_2D"] >= 30 and counted["ADD"] >= 10
