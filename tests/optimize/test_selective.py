"""selective_int8 keeps its float ops through a LiteRT Quantizer recipe: its step 0 is the int8 recipe's file byte
for byte, each per-op entry keeps exactly the op it names in float (read here from the flatbuffer, and asked of the
quantizer's own recipe manager), the ops kept are the ones this test finds add most error from the tensors themselves
(the error an op's output has less the largest of its inputs', not the error it inherits), and a search that misses
its target keeps the step that agreed best."""

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
    ops in the order of the error each adds, as this test computes it on the int8 recipe's graph (made through the
    registry) and the same images. int8 still agrees with float on the 8 validation images, so the step that keeps
    it in float gains nothing and the variant is step 0 (what each entry keeps in float is tested above)."""
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
    steps = rec["details"]["steps"]
    assert [s["float_layers"] for s in steps] == [0, 1] and steps[1]["added_float_op"] == logits
    assert steps[0]["agreement"] == steps[1]["agreement"] == 1.0 and rec["float_layers"] == []
    kept = rec["details"]["op_errors_worst"][0]
    assert kept["tensor"] == logits and kept["snr_db"] == pytest.approx(10 * np.log10(own[logits]["snr"]), abs=0.05)
    added = _own_added(float_tflite, own)
    assert kept["added_noise_ratio"] == pytest.approx(added[logits], rel=0.05)
    order = [e["tensor"] for e in rec["details"]["op_errors_worst"]]
    assert set(order) == set(own)
    for a, b in zip(order, order[1:]):  # the largest added error first, as this test computes it (where it differs)
        assert added[a] >= added[b] - 0.05 * max(added.values())
    assert tflite == _int8_by_registry(model) and _io(tflite) == ((np.uint8, np.float32(1 / 255), 0), np.uint8)


def _early_sensitive_model():
    """conv1 .. conv4, global average, dense. conv2 is what int8 breaks: per output channel one weight of 40 on conv1's
    channel 5, which is always 0 (kernel 0, bias -1 before the ReLU), so float never sees it but int8's per-channel
    scale (40 / 127) rounds the unit's other weights (about 0.7 at most) coarsely. conv4 has a smaller such weight
    (15) on conv3's dead channel 5: it adds less error than conv2, but it inherits conv2's, so its output strays most."""
    import tf_keras as keras

    keras.utils.set_random_seed(0)
    x = inp = keras.Input((SIZE, SIZE, 3), name="image")
    for name in ("conv1", "conv2", "conv3", "conv4"):
        x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name=name)(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    model = keras.Model(inp, keras.layers.Dense(3, name="logits")(x))
    rng = np.random.default_rng(1)
    for layer in (layer for layer in model.layers if layer.get_weights()):
        kernel, bias = layer.get_weights()
        layer.set_weights([kernel * 3.0, rng.normal(0.5, 0.5, bias.shape).astype(np.float32)])
    for dead, outlier, value in (("conv1", "conv2", 40.0), ("conv3", "conv4", 15.0)):
        kernel, bias = model.get_layer(dead).get_weights()
        kernel[..., 5], bias[5] = 0.0, -1.0
        model.get_layer(dead).set_weights([kernel, bias])
        kernel, bias = model.get_layer(outlier).get_weights()
        kernel[:, :, 5, :] = 0.0
        kernel[1, 1, 5, :] = value
        model.get_layer(outlier).set_weights([kernel, bias])
    return model


def _own_added(float_tflite: bytes, own: dict) -> dict[str, float]:
    """Tensor name -> the noise ratio (1 / SNR, from this test's errors) its op adds to the largest of its activation
    inputs', clipped at 0; the producers read with LiteRT's Interpreter, the graph's input exact."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=float_tflite)
    names = {t["index"]: t["name"] for t in interp.get_tensor_details()}
    graph_input = {d["index"] for d in interp.get_input_details()}
    ops = interp._get_ops_details()
    made = {int(o) for op in ops for o in op["outputs"]}
    added = {}
    for op in ops:
        out = names[int(op["outputs"][0])]
        if out not in own:
            continue
        before = []
        for i in map(int, op["inputs"]):
            if i in graph_input:
                before.append(0.0)
            elif i in made:
                before.append(1.0 / own[names[i]]["snr"])  # every op's output is measured in this model
        added[out] = max(0.0, 1.0 / own[out]["snr"] - max(before, default=0.0))
    return added


def test_keeps_first_the_op_that_adds_most_error_not_the_one_that_inherits_it(tf_available):
    from liteship.optimize import run_recipe
    from liteship.optimize.selective import SelectiveConfig

    model = _early_sensitive_model()
    float_tflite = _float_tflite(model)
    own = own_errors(float_tflite, _int8_by_registry(model), _data().calibration(16)[:8])
    added = _own_added(float_tflite, own)
    conv = {name.split("/")[1]: name for name in own if name.startswith("model/conv")}
    # The scenario: by its output's error, conv4 is worst; by the error it adds, conv2, by a margin.
    assert min(own, key=lambda n: own[n]["snr"]) == conv["conv4"]
    assert max(added, key=added.get) == conv["conv2"] and added[conv["conv2"]] > 1.5 * added[conv["conv4"]]
    assert own[conv["conv2"]]["index"] < own[conv["conv4"]]["index"]

    config = SelectiveConfig(target_agreement=1.01, max_float_layers=1, calibration_images=16, debug_images=8)
    _, rec = run_recipe("selective_int8", model, _data(), config)
    details = rec["details"]
    assert [s["float_layers"] for s in details["steps"]] == [0, 1]
    assert details["steps"][1]["added_float_op"] == conv["conv2"]  # the first op the search keeps in float
    assert rec["float_layers"] in ([], [conv["conv2"]])  # [] where int8 agrees as well on these 8 images
    first = details["op_errors_worst"][0]
    assert first["tensor"] == conv["conv2"]
    assert first["added_noise_ratio"] == pytest.approx(added[conv["conv2"]], rel=0.05)
    assert first["noise_ratio"] == pytest.approx(1.0 / own[conv["conv2"]]["snr"], rel=0.05)
    assert first["snr_db"] == pytest.approx(10 * np.log10(own[conv["conv2"]]["snr"]), abs=0.05)
    order = [e["tensor"] for e in details["op_errors_worst"]]
    assert set(order) == set(added)
    for a, b in zip(order, order[1:]):  # largest added error first, as this test computes it (where it differs)
        assert added[a] >= added[b] - 0.05 * max(added.values())


def _agreement(tflite: bytes, model, pixels) -> float:
    """How often the file's top class is the Keras model's, one image at a time through LiteRT's Interpreter."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=tflite)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    reference = np.argmax(model.predict(pixels.astype(np.float32) / 255, verbose=0), axis=1)
    same = []
    for image, ref in zip(pixels, reference):
        interp.set_tensor(inp["index"], image[None])
        interp.invoke()
        same.append(int(np.argmax(interp.get_tensor(out["index"])[0])) == ref)
    return float(np.mean(same))


def test_when_no_step_helps_the_int8_step_is_kept_not_the_last(tf_available):
    """A target no step can meet (above 1) and no step agreeing better than int8 on the validation images: the
    variant is the int8 recipe's file, not the last step's, and the record says why."""
    from liteship.optimize import run_recipe
    from liteship.optimize.selective import SelectiveConfig

    model, data = _early_sensitive_model(), _data()
    config = SelectiveConfig(target_agreement=1.01, max_float_layers=2, calibration_images=16, debug_images=4)
    tflite, rec = run_recipe("selective_int8", model, data, config)
    steps = rec["details"]["steps"]
    int8 = _int8_by_registry(model)
    assert steps[0]["agreement"] == pytest.approx(_agreement(int8, model, data.val_x), abs=1e-4)
    assert [s["float_layers"] for s in steps] == [0, 1, 2] and steps[2]["size_bytes"] > steps[0]["size_bytes"]
    assert max(s["agreement"] for s in steps) == steps[0]["agreement"]  # the scenario: nothing gained
    assert tflite == int8 and rec["float_layers"] == [] and rec["details"]["kept_step"] == 0
    assert rec["details"]["reached_target"] is False and "no step met the target" in rec["details"]["why"]


def test_a_missed_target_keeps_the_best_agreement_fewer_float_ops_on_a_tie():
    from liteship.optimize.selective import _kept_step

    steps = [{"float_layers": k, "agreement": a} for k, a in enumerate([0.5, 0.7, 0.9, 0.9, 0.8])]
    assert _kept_step(steps, 0.95)[0] == 2
    assert _kept_step(steps, 0.85)[0] == 2  # met: the first step that meets it
    assert _kept_step(steps, 0.6)[0] == 1
    assert _kept_step(steps[:1], 0.95)[0] == 0
