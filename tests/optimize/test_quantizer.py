"""LiteRT Quantizer's recipes on the digits small_cnn, checked against what other tools say of the same model: the
TFLite converter's files (answers, I/O tensors, op versions), LiteRT's interpreter reading the tensors, the
flatbuffer schema read here, and the installed package's own version."""

from importlib import metadata

import numpy as np
import pytest

from liteship.dataset import load_run_split
from liteship.optimize import RecipeData, recipe_configs, run_recipe
from liteship.optimize.convert import Int4Config, Int8Config, Int16x8Config, NoConfig, int8_tflite
from liteship.stats import paired

QUANTIZER = f"litert-quantizer {metadata.version('litert-quantizer')}"


@pytest.fixture(scope="module")
def setup(digits_run):
    import tf_keras as keras

    out, result = digits_run
    splits = load_run_split(out, 32)
    x, y = splits["test"]
    model = keras.models.load_model(result.model_dir / "model.keras", compile=False)
    data = RecipeData(*splits["train"], *splits["val"], seed=0)
    return model, data, x[0:len(y)], np.asarray(y)


def _answers(tflite: bytes, x: np.ndarray) -> np.ndarray:
    """Top-1 of every image, by LiteRT's interpreter fed one image at a time as the app feeds it (written here:
    raw bytes for the contract's uint8, bytes - 128 for its int8, bytes / 255 for float)."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=tflite)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    fed = {np.uint8: lambda a: a, np.int8: lambda a: (a.astype(np.int16) - 128).astype(np.int8),
           np.float32: lambda a: a.astype(np.float32) / np.float32(255)}[inp["dtype"]]
    found = []
    for image in x:
        interp.set_tensor(inp["index"], fed(image[None]))
        interp.invoke()
        found.append(int(np.argmax(interp.get_tensor(out["index"])[0])))
    return np.array(found)


def _io(tflite: bytes) -> tuple[tuple, tuple]:
    """(dtype, scale, zero point) of the input and of the output, as LiteRT's interpreter reads them."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=tflite)
    pick = (lambda d: (np.dtype(d["dtype"]).name, np.float32(d["quantization"][0]), d["quantization"][1]))
    return pick(interp.get_input_details()[0]), pick(interp.get_output_details()[0])


def _op_versions(tflite: bytes) -> set:
    """(op, version) of every op, read with TensorFlow's copy of the flatbuffer schema."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(tflite), 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    found = set()
    for op in model.subgraphs[0].operators:
        code = model.operatorCodes[op.opcodeIndex]
        found.add((names[max(code.builtinCode, code.deprecatedBuiltinCode)], code.version))
    return found


def _converter_dynamic(model) -> bytes:
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    return conv.convert()


def test_int8_agrees_with_the_converters_within_the_paired_interval(setup):
    model, data, x, y = setup
    quantized, record = run_recipe("int8", model, data, Int8Config())
    converted = int8_tflite(model, data.calibration(300), "uint8")  # the converter, the same calibration images
    mine, theirs = _answers(quantized, x) == y, _answers(converted, x) == y
    diff = paired(mine, theirs)
    assert diff.low <= 0.0 <= diff.high, diff
    assert mine.mean() >= 0.95 and record["details"]["maker"] == QUANTIZER
    assert _op_versions(quantized) == _op_versions(converted)  # the versions the converter writes for these types


@pytest.mark.parametrize("io", ["uint8", "int8", "float"])
def test_int8_input_and_output_are_the_contracts(setup, io):
    model, data, _, _ = setup
    quantized, _ = run_recipe("int8", model, data, Int8Config(io=io, calibration_images=50))
    inp, out = _io(quantized)
    want = {"uint8": ("uint8", np.float32(1 / 255), 0), "int8": ("int8", np.float32(1 / 255), -128),
            "float": ("float32", np.float32(0.0), 0)}[io]
    assert inp == want
    # The output: the converter's for the same I/O type (a softmax's, 1/256 with its type's zero point), or float.
    assert out == (_io(int8_tflite(model, data.calibration(50), io))[1] if io != "float" else want)


def test_dynamic_answers_as_the_converters_does_with_its_op_versions(setup):
    from tensorflow.lite.python import schema_py_generated as schema

    model, data, x, y = setup
    quantized, record = run_recipe("dynamic", model, data, NoConfig())
    converted = _converter_dynamic(model)
    assert _io(quantized) == (("float32", np.float32(0.0), 0),) * 2
    mine, theirs = _answers(quantized, x), _answers(converted, x)
    diff = paired(mine == y, theirs == y)
    assert diff.low <= 0.0 <= diff.high and np.mean(mine == theirs) >= 0.98, diff
    # FULLY_CONNECTED 12 (per-channel hybrid): an older runtime refuses it instead of answering wrongly.
    assert _op_versions(quantized) == _op_versions(converted) and ("FULLY_CONNECTED", 12) in _op_versions(quantized)
    assert record["details"]["maker"] == QUANTIZER
    # Each layer's weights stored as the converter stores them: int8, or float under its 1024-weight threshold
    # (small_cnn's first convolution, 3 x 3 x 3 x 32 = 864 weights)
    mine, theirs = _stored_weights(quantized), _stored_weights(converted)
    assert len(theirs) == 4 and {n: w[0] for n, w in mine.items()} == {n: w[0] for n, w in theirs.items()}
    assert {w[0] for w in theirs.values()} == {schema.TensorType.FLOAT32, schema.TensorType.INT8}


def test_int16x8_has_int16_activations_and_answers_as_float(setup):
    from tensorflow.lite.python import schema_py_generated as schema

    model, data, x, _ = setup
    quantized, record = run_recipe("int16x8", model, data, Int16x8Config(calibration_images=100))
    float32, _ = run_recipe("float32", model, data, NoConfig())
    fb = schema.ModelT.InitFromPackedBuf(bytearray(quantized), 0)
    sg, names = fb.subgraphs[0], {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    kinds = {}
    for op in sg.operators:
        code = fb.operatorCodes[op.opcodeIndex]
        name = names[max(code.builtinCode, code.deprecatedBuiltinCode)]
        kinds.setdefault(name, set()).add((sg.tensors[op.inputs[0]].type, sg.tensors[op.outputs[0]].type))
        if name in ("CONV_2D", "FULLY_CONNECTED"):
            assert sg.tensors[op.inputs[1]].type == schema.TensorType.INT8
    i16, f32 = schema.TensorType.INT16, schema.TensorType.FLOAT32
    for name in ("CONV_2D", "MAX_POOL_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX"):
        assert kinds[name] == {(i16, i16)}, name
    assert kinds["QUANTIZE"] == {(f32, i16)} and kinds["DEQUANTIZE"] == {(i16, f32)}  # a float input and output
    # The versions LiteRT's tools/versioning/op_version.cc (GetBuiltinOperatorVersion) gives these types, read there
    # by hand (TF 2.21's converter writes int8 versions for its own 16x8 files, so it is no reference): CONV_2D and
    # FULLY_CONNECTED with int16 activations and int8 weights are 8 and 11 only with quantized_bias_type (unset
    # here), else they fall through to 1; MAX_POOL_2D, MEAN and SOFTMAX on int16 are 3; QUANTIZE to int16 is 2;
    # DEQUANTIZE of int16 is 3. The quantizer's own file keeps the float model's 1s.
    assert _op_versions(quantized) == {("QUANTIZE", 2), ("CONV_2D", 1), ("MAX_POOL_2D", 3), ("MEAN", 3),
                                       ("FULLY_CONNECTED", 1), ("SOFTMAX", 3), ("DEQUANTIZE", 3)}
    assert np.mean(_answers(quantized, x) == _answers(float32, x)) >= 0.98
    assert record["details"]["maker"] == QUANTIZER


def _stored_weights(tflite: bytes) -> dict:
    """Each conv and dense layer's weights as the file holds them (behind a DEQUANTIZE, or in the op): by the layer's
    output name, (type, number of weights, the tensor), read with TensorFlow's copy of the flatbuffer schema."""
    from tensorflow.lite.python import schema_py_generated as schema

    fb = schema.ModelT.InitFromPackedBuf(bytearray(tflite), 0)
    sg = fb.subgraphs[0]
    producers = {o: op for op in sg.operators for o in op.outputs}
    found = {}
    for op in sg.operators:
        code = fb.operatorCodes[op.opcodeIndex]
        if max(code.builtinCode, code.deprecatedBuiltinCode) in (schema.BuiltinOperator.CONV_2D,
                                                                    schema.BuiltinOperator.FULLY_CONNECTED):
            w = op.inputs[1]
            stored = sg.tensors[producers[w].inputs[0]] if w in producers else sg.tensors[w]
            found[sg.tensors[op.outputs[0]].name.decode()] = (stored.type, int(np.prod(stored.shape)), stored)
    return found


def test_int4_weights_are_int4_in_the_file_and_answer_close_to_float(setup):
    from tensorflow.lite.python import schema_py_generated as schema

    model, data, x, _ = setup
    quantized, record = run_recipe("int4_weights", model, data, Int4Config())
    float32, _ = run_recipe("float32", model, data, NoConfig())
    weights = _stored_weights(quantized)
    assert len(weights) == 4  # small_cnn: three convolutions and the dense layer
    for name, (kind, count, stored) in weights.items():
        # 3 x 3 x 3 x 32 = 864 weights in the first convolution: under the 1024 threshold, float
        assert kind == (schema.TensorType.FLOAT32 if count < 1024 else schema.TensorType.INT4), (name, count)
        if kind == schema.TensorType.INT4:  # a scale per output channel
            assert len(stored.quantization.scale) == stored.shape[0], name
    assert np.mean(_answers(quantized, x) == _answers(float32, x)) >= 0.95
    assert len(quantized) < 0.2 * len(float32) and record["details"]["maker"] == QUANTIZER


def test_the_block_size_is_a_setting_with_the_quantizers_choices(setup):
    from tensorflow.lite.python import schema_py_generated as schema

    from liteship.config import Problems
    from liteship.optimize.quantizer import metadata_refusal

    with pytest.raises(Problems) as caught:
        recipe_configs(["int4_weights"], {"int4_weights": {"block_size": 48}}, "sweep.toml", "optimize.")
    assert "block_size" in str(caught.value) and all(str(b) in str(caught.value) for b in (32, 64, 128, 256))
    model, data, x, _ = setup
    blocked, _ = run_recipe("int4_weights", model, data, Int4Config(block_size=32))
    dense = next(t for kind, _, t in _stored_weights(blocked).values() if len(t.shape) == 2)
    assert dense.type == schema.TensorType.INT4 and dense.quantization.details.blockSize == 32
    assert np.mean(_answers(blocked, x) == _answers(run_recipe("float32", model, data, NoConfig())[0], x)) >= 0.95
    assert "blocks" in metadata_refusal(blocked) and metadata_refusal(run_recipe("int4_weights", model, data)[0]) is None
    with pytest.raises(Exception, match="not divisible by block size 256"):  # the dense layer has 128 inputs
        run_recipe("int4_weights", model, data, Int4Config(block_size=256))


def test_the_metadata_writer_would_break_a_blockwise_file(setup):
    """Why a blockwise int4 variant ships without TFLite metadata: MediaPipe's writer drops the blocks' scales, and
    LiteRT then refuses the file."""
    from ai_edge_litert.interpreter import Interpreter

    from liteship import task_api

    if not task_api.installed():
        pytest.skip(f"needs the MediaPipe environment ({task_api.INSTALL})")
    model, data, _, _ = setup
    blocked, _ = run_recipe("int4_weights", model, data, Int4Config(block_size=32))
    Interpreter(model_content=blocked)  # LiteRT takes it as made
    with task_api.Worker() as worker:
        written = task_api.add_metadata(worker, blocked, [str(c) for c in range(model.output_shape[-1])], "t", "t",
                                         "1", "float32")
    with pytest.raises(ValueError, match="[Bb]lockwise"):
        Interpreter(model_content=written)


def _metadata_names(tflite: bytes) -> set:
    """The names in the file's metadata list, read with TensorFlow's copy of the flatbuffer schema."""
    from tensorflow.lite.python import schema_py_generated as schema

    return {md.name.decode() for md in schema.ModelT.InitFromPackedBuf(bytearray(tflite), 0).metadata or []}


def test_quantizer_made_files_do_not_keep_the_float_models_min_runtime_version(setup):
    """The quantizer copies the float file's metadata; the float file's minimum runtime is not the quantized
    graph's, so it must not be carried over."""
    model, data, _, _ = setup
    assert "min_runtime_version" in _metadata_names(run_recipe("float32", model, data, NoConfig())[0])
    assert "min_runtime_version" in _metadata_names(_converter_dynamic(model))  # the converter writes its own
    for name, config in (("dynamic", NoConfig()), ("int8", Int8Config(calibration_images=20)),
                         ("int16x8", Int16x8Config(calibration_images=20)), ("int4_weights", Int4Config())):
        assert "min_runtime_version" not in _metadata_names(run_recipe(name, model, data, config)[0]), name


def test_the_quantizers_version_is_in_every_variant_id():
    from liteship.optimize.run import tool_versions, variant_id

    made_with = tool_versions()
    assert made_with["litert-quantizer"] == metadata.version("litert-quantizer")
    newer = {**made_with, "litert-quantizer": "99.0.0"}
    assert variant_id("w", "int8", Int8Config(), made_with) != variant_id("w", "int8", Int8Config(), newer)
    assert variant_id("w", "float32", NoConfig(), made_with) != variant_id("w", "float32", NoConfig(), newer)


def test_every_record_says_which_tool_made_it(setup):
    import tensorflow as tf

    from liteship.optimize.auto import AutoInt8Config

    model, data, _, _ = setup
    converter = f"TFLite converter (tensorflow {tf.__version__})"
    for name in ("float32", "float16"):
        assert run_recipe(name, model, data, NoConfig())[1]["details"]["maker"] == converter, name
    # auto_int8 stops at its first step, the int8 recipe's file, when the budget takes anything
    _, auto = run_recipe("auto_int8", model, data, AutoInt8Config(max_accuracy_drop=0.5, judge_by="point"))
    assert auto["details"]["chosen_step"] == "int8" and auto["details"]["maker"] == QUANTIZER
