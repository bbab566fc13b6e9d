"""selective_int8 keeps its float ops through a LiteRT Quantizer recipe: its step 0 is the int8 recipe's file byte
for byte, each per-op entry keeps exactly the op it names in float (read here from the flatbuffer, and asked of the
quantizer's own recipe manager), and the ops kept are the ones this test finds worst from the tensors themselves."""

import numpy as np
import pytest

from tests.optimize.test_op_error import SIZE, _float_tflite, _images, _model, _op_tensors, own_errors

COMPUTE = ("CONV_2D", "DEPTHWISE_CONV_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX")
WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def _softmax_model():
    """conv, depthwise conv, global average, dense, softmax: the op kinds of the digits models, ending in SOFTMAX,
    whose output is the graph's (the case a ``*`` entry would turn the output float)."""
    import tf_keras as keras

    keras.utils.set_random_seed(3)
    inp = keras.Input((SIZE, SIZE, 3), name="image")
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv")(inp)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu", name="depthwise")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inp, keras.layers.Dense(3, activation="softmax", name="probs")(x))


def _data(seed: int = 2):
    from liteship.optimize import RecipeData

    pixels, labels = _images(24, seed=seed), np.arange(24) % 3
    return RecipeData(pixels[:16], labels[:16], pixels[16:], labels[16:])


def _int8_by_registry(model, io: str = "uint8") -> bytes:
    """The int8 recipe's file, made through the registry with its own data (nothing shared with selective_int8)."""
    from liteship.optimize import get_recipe
    from liteship.optimize.convert import Int8Config

    return get_recipe("int8").run(model, _data(), Int8Config(io=io, calibration_images=16)).tflite


def _ops(tflite: bytes) -> list[tuple[str, str, set[str]]]:
    """(op code, output tensor name, the types of its data: its first input, its weights where it has them, its
    output) of each op, read from the flatbuffer here."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(tflite), 0)
    sg, codes = model.subgraphs[0], {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    types = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    out = []
    for op in sg.operators:
        code = model.operatorCodes[op.opcodeIndex]
        name = codes[max(code.builtinCode, code.deprecatedBuiltinCode)]
        data = [op.inputs[0], *(op.inputs[1:2] if name in WEIGHTED else []), op.outputs[0]]
        out.append((name, sg.tensors[op.outputs[0]].name.decode(), {types[sg.tensors[i].type] for i in data}))
    return out


def _io(tflite: bytes):
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=tflite)
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    return (inp["dtype"], *inp["quantization"]), out["dtype"]


@pytest.mark.parametrize("io", ["uint8", "int8"])
def test_step_zero_is_the_int8_variant_byte_for_byte(tf_available, io):
    from liteship.optimize import run_recipe
    from liteship.optimize.selective import SelectiveConfig

    model = _softmax_model()
    tflite, rec = run_recipe("selective_int8", model, _data(),
                             SelectiveConfig(io=io, target_agreement=0.0, calibration_images=16, debug_images=4))
    assert [s["float_layers"] for s in rec["details"]["steps"]] == [0] and rec["float_layers"] == []
    assert tflite == _int8_by_registry(model, io)
    assert rec["details"]["maker"].startswith("litert-quantizer ")


def test_each_entry_keeps_exactly_the_op_it_names_in_float(tf_available):
    from litert_quantizer.recipe_manager import RecipeManager
    from litert_quantizer.utils import tfl_flatbuffer_utils as tfl

    from liteship.optimize.convert import _converter
    from liteship.optimize.selective import calibrate, quantize_keeping

    model = _softmax_model()
    float_tflite = _converter(model).convert()
    calibrated = calibrate(float_tflite, _data().calibration(16))
    float_ops = [(op, name) for op, name, _ in _ops(float_tflite)]
    assert [op for op, _ in float_ops] == ["CONV_2D", "DEPTHWISE_CONV_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX"]
    assert set(calibrated.keepable) == {name for _, name in float_ops}
    graph = tfl.read_model(float_tflite).subgraphs[0]
    for _, kept in float_ops:
        # The quantizer's own recipe manager, given the recipe: no_quantize for the named op and no other, the
        # graph's INPUT and OUTPUT still quantized (the app's uint8).
        manager = RecipeManager()
        manager.load_quantization_recipe(calibrated.recipe([kept]))
        for (op, name), scope_op in zip(float_ops, graph.operators):
            algorithm, _ = manager.get_quantization_configs(tfl.TFL_OP_CODE_TO_NAME[_op_code(op)],
                                                            tfl.get_op_scope(scope_op, graph.tensors))
            assert (algorithm == "no_quantize") == (name == kept), (kept, name)
        for io_op in tfl.get_subgraph_input_output_operators(graph):
            assert manager.get_quantization_configs(io_op.op_key, tfl.get_op_scope(io_op, graph.tensors))[0] != \
                "no_quantize", (kept, io_op.op_key)
        # The file: the named op reads and writes float32 (its weights too), every other compute op int8; the app's
        # input and output unchanged.
        ops = _ops(quantize_keeping(calibrated, [kept]))
        computed = [(op, name, types) for op, name, types in ops if op in COMPUTE]
        assert [(op, name) for op, name, _ in computed] == float_ops
        for op, name, types in computed:
            assert types == ({"FLOAT32"} if name == kept else {"INT8"}), (kept, op, types)
        assert _io(quantize_keeping(calibrated, [kept])) == ((np.uint8, np.float32(1 / 255), 0), np.uint8), kept


def _op_code(name: str) -> int:
    from ai_edge_litert import schema_py_generated as schema

    return getattr(schema.BuiltinOperator, name)


def test_keeps_in_float_the_op_this_test_finds_worst(tf_available):
    """The designed model: its logits layer is what int8 breaks. The recipe keeps it in float first, and ranks the
    ops in the order of the SNR this test computes on the int8 recipe's graph (made through the registry) and the
    same images."""
    from liteship.optimize import run_recipe
    from liteship.optimize.selective import SelectiveConfig

    model = _model(sensitive=True)
    data = _data()
    config = SelectiveConfig(target_agreement=1.01, max_float_layers=1, calibration_images=16, debug_images=8)
    tflite, rec = run_recipe("selective_int8", model, data, config)

    float_tflite = _float_tflite(model)
    own = own_errors(float_tflite, _int8_by_registry(model), data.calibration(16)[:8])
    logits = next(name for name, (_, op, _) in _op_tensors(float_tflite, data.train_x[:1]).items()
                  if op == "FULLY_CONNECTED")
    worst = min(own, key=lambda name: own[name]["snr"])
    assert worst == logits and own[logits]["snr"] < 0.1 * min(v["snr"] for n, v in own.items() if n != logits)
    assert rec["float_layers"] == [logits] and [s["float_layers"] for s in rec["details"]["steps"]] == [0, 1]
    kept = rec["details"]["float_ops"][0]
    assert kept["tensor"] == logits and kept["snr_db"] == pytest.approx(10 * np.log10(own[logits]["snr"]), abs=0.05)
    order = [e["tensor"] for e in rec["details"]["op_errors_worst"]]
    assert set(order) == set(own)
    for a, b in zip(order, order[1:]):  # worst first, as this test's SNR orders them (where they differ by 1 %)
        assert own[a]["snr"] <= own[b]["snr"] * 1.01
    types = {op: set(t) for op, _, t in _ops(tflite) if op in COMPUTE}
    assert types["FULLY_CONNECTED"] == {"FLOAT32"}  # the logits layer computes in float
    assert types["CONV_2D"] == types["MEAN"] == {"INT8"}  # and the rest in int8
    assert _io(tflite) == ((np.uint8, np.float32(1 / 255), 0), np.uint8)
