"""Per-op quantization error (optimize.op_error), checked against errors this test computes itself: both models run
in LiteRT's Interpreter with every tensor kept, each quantized tensor dequantized here with its own scale and zero
point, MSE, SNR and cosine computed here in numpy, matched by tensor name. The ranking selective_int8 makes of these
errors is tested in test_selective.py, with this file's helpers."""

import numpy as np
import pytest

from liteship.errors import LiteshipError

SIZE = 8


def _model(sensitive: bool = False, input_name: str = "image"):
    """conv, conv, global average, dense logits; ``sensitive``: the dense layer's weights hold one huge weight per
    unit on a feature that is always 0 (the last conv's channel 3, its kernel 0 and bias -1 before the ReLU). Float
    never sees it, but int8's per-unit weight scale is set by it and rounds every other weight of the unit to 0."""
    import tf_keras as keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((SIZE, SIZE, 3), name=input_name)
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv1")(inp)
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    model = keras.Model(inp, keras.layers.Dense(3, name="logits")(x))
    for layer in model.layers[1:]:  # activations of a few units, not hundredths: the error is far above 1e-9
        layer.set_weights([w * 4.0 for w in layer.get_weights()])
    if sensitive:
        kernel, bias = model.get_layer("conv2").get_weights()
        kernel[..., 3], bias[3] = 0.0, -1.0
        model.get_layer("conv2").set_weights([kernel, bias])
        kernel, bias = model.get_layer("logits").get_weights()
        kernel[3, :] = 1000.0
        model.get_layer("logits").set_weights([kernel, bias])
    return model


def _float_tflite(model) -> bytes:
    import tensorflow as tf

    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def _images(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)


def _op_tensors(tflite: bytes, pixels: np.ndarray) -> dict[str, tuple[int, str, np.ndarray]]:
    """Every op's output after one invoke on ``pixels`` (1 x H x W x 3 uint8), dequantized here: name -> (op index,
    op name, float64 values). The input is fed as the app feeds it: bytes / 255, quantized with the input's own
    scale and zero point."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=tflite, experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    x = pixels.astype(np.float64) / 255.0
    scale, zero = inp["quantization"]
    if inp["dtype"] != np.float32:
        info = np.iinfo(inp["dtype"])
        x = np.clip(np.round(x / scale + zero), info.min, info.max)
    interp.set_tensor(inp["index"], x.astype(inp["dtype"]))
    interp.invoke()
    tensors = {t["index"]: t for t in interp.get_tensor_details()}
    out = {}
    for op in interp._get_ops_details():
        if op["op_name"] == "DELEGATE":
            continue
        t = tensors[int(op["outputs"][0])]
        value = interp.get_tensor(t["index"]).astype(np.float64)
        scale, zero = t["quantization"]
        out[t["name"]] = (int(op["index"]), op["op_name"], (value - zero) * scale if scale else value)
    return out


def own_errors(float_tflite: bytes, quantized: bytes, images: np.ndarray) -> dict[str, dict]:
    """Tensor name -> {op index, op, mse, snr, cosine}: each metric per image, then the mean over the images."""
    per_image: dict[str, list] = {}
    for i in range(len(images)):
        ref, got = _op_tensors(float_tflite, images[i:i + 1]), _op_tensors(quantized, images[i:i + 1])
        for name, (index, op, q) in got.items():
            if name in ref and ref[name][2].size == q.size:
                f, q = ref[name][2].ravel(), q.ravel()
                mse = float(np.mean((q - f) ** 2))
                norms = np.linalg.norm(f) * np.linalg.norm(q)
                cosine = float(f @ q / norms) if norms else 0.0
                snr = float(np.mean(f ** 2)) / mse if mse else np.inf  # the same tensor: no error at all
                per_image.setdefault(name, []).append((index, op, mse, snr, cosine))
    return {name: {"index": rows[0][0], "op": rows[0][1], "mse": np.mean([r[2] for r in rows]),
                   "snr": np.mean([r[3] for r in rows]), "cosine": np.mean([r[4] for r in rows])}
            for name, rows in per_image.items()}


@pytest.fixture(scope="module")
def tiny(tf_available):
    import tensorflow as tf

    from tests.conftest import full_int8_tflite

    model = _model()
    return _float_tflite(model), full_int8_tflite(model, SIZE, tf.uint8)


def test_each_ops_error_is_the_one_computed_from_its_tensors(tiny):
    from liteship.optimize import op_errors

    float_tflite, int8 = tiny
    images = _images(5)
    errors = op_errors(float_tflite, int8, images)
    own = own_errors(float_tflite, int8, images)
    # the int8 graph's input QUANTIZE writes a tensor float never names: it has no error to give
    input_ops = {v["index"] for v in own.values()} - {e.index for e in errors}
    assert {e.tensor for e in errors} == set(own) and not input_ops
    assert len(errors) >= 4  # conv1, conv2, mean, and the logits (their final QUANTIZE to uint8 holds the name)
    for e in errors:
        mine = own[e.tensor]
        assert (e.index, e.op) == (mine["index"], mine["op"])
        assert e.mse == pytest.approx(mine["mse"], rel=1e-4)
        # the validator adds 1e-9 to the noise power (a tensor quantized exactly would divide by 0): negligible here
        assert mine["mse"] > 1e-5 and e.snr == pytest.approx(mine["snr"], rel=1e-3)
        assert e.snr_db == pytest.approx(10 * np.log10(mine["snr"]), abs=0.01)
        assert e.cosine == pytest.approx(mine["cosine"], abs=1e-5)
        assert 0 < e.mse and 0 < e.cosine <= 1 + 1e-6


def test_a_variant_of_another_signature_is_refused_with_what_to_do(tiny):
    from liteship.optimize import op_errors

    float_tflite, _ = tiny
    other = _float_tflite(_model(input_name="pixels"))
    with pytest.raises(LiteshipError, match="signature is not the float model's"):
        op_errors(float_tflite, other, _images(1))


def test_an_op_equal_to_float_is_exact_and_ranked_last(tf_available):
    """Weight-only int4: the rescaling before the first convolution (a MUL, an ADD with the ReLU fused) computes in
    float on float's input, so its outputs are float's on every image (MSE 0, computed here from the kept tensors); the validator's 1e-9 in its SNR divisor
    would give it some 80 dB. It is exact: SNR infinite, after every op with an error, no finite SNR recorded."""
    import json

    import tf_keras as keras

    from liteship.optimize import op_errors, worst_first
    from optimize.quantizer import int4_weights, quantize

    keras.utils.set_random_seed(0)
    inp = keras.Input((SIZE, SIZE, 3), name="image")
    x = keras.layers.ReLU(name="first_relu")(keras.layers.Rescaling(2.0, -0.5, name="shift")(inp))
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv1")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    model = keras.Model(inp, keras.layers.Dense(3, name="logits")(x))
    float_tflite = _float_tflite(model)
    int4 = quantize(float_tflite, int4_weights(0, 0))
    images = _images(3)
    own = own_errors(float_tflite, int4, images)
    same = {name for name, v in own.items() if v["mse"] == 0}
    assert sorted(own[name]["op"] for name in same) == ["ADD", "MUL"]
    ranked = worst_first(op_errors(float_tflite, int4, images))
    exact = [e for e in ranked if e.exact]
    assert {e.tensor for e in exact} == same and ranked[-len(exact):] == exact
    assert all(e.snr == float("inf") and e.snr_db == float("inf") for e in exact)
    assert all(e.mse > 0 and e.snr < 1e8 for e in ranked[:-len(exact)])
    row = exact[0].to_dict()
    assert row["exact"] is True and row["snr"] is None and row["snr_db"] is None and "kl" not in row
    json.dumps(row, allow_nan=False)
