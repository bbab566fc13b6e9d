"""qat_int8 and pqat_int8 fold BatchNorm as int8 does: the same ops, the same input and output, the same cost.

Ops are counted here from the flatbuffer with TensorFlow's own schema module (``tensorflow.lite.python``), not
liteship's reader; a convolution's stored int8 kernel is checked against the per-channel quantization QAT
simulates, computed here in numpy from the trained wrapper's kernel. The slow test builds the default sweep's two
architectures (small_cnn at 32 px, MobileNetV2 0.35 at 64 px), trains them briefly on the bundled digits and counts
each variant's aarch64 instructions with liteship's arm64-a15 counter.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest

from liteship.optimize import RecipeData, run_recipe

SIZE = 16


def _model(keras):
    """MobileNetV2's patterns in a few layers: a rescaling to [-1, 1], conv-BN-ReLU6, depthwise-BN-ReLU6, a 1x1
    projection conv-BN with no activation, a residual add, then pooling and a softmax head."""
    inputs = keras.Input((SIZE, SIZE, 3), name="image")
    x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_minus1_1")(inputs)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False, name="stem")(x)
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    x = keras.layers.ReLU(6.0, name="stem_relu")(x)
    y = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(x)
    y = keras.layers.BatchNormalization(name="dw_bn")(y)
    y = keras.layers.ReLU(6.0, name="dw_relu")(y)
    y = keras.layers.Conv2D(8, 1, use_bias=False, name="project")(y)
    y = keras.layers.BatchNormalization(name="project_bn")(y)
    x = keras.layers.Add(name="add")([x, y])
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs)


def _with_batchnorm_statistics(model, rng):
    """BatchNorm layers with statistics far from their initial ones, so folding them changes the kernels."""
    import tf_keras as keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 2.0, n) * rng.choice([-1, 1], n), rng.normal(0, 0.5, n),
                               rng.normal(0, 0.5, n), rng.uniform(0.2, 3.0, n)])
    return model


@pytest.fixture(scope="module")
def small():
    """The model above and 96 labelled random images (labels from the pixels, so there is something to learn)."""
    import tf_keras as keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (96, SIZE, SIZE, 3), dtype=np.uint8)
    y = (x[..., 0].mean(axis=(1, 2)) // 86).astype(np.int64)
    return _with_batchnorm_statistics(_model(keras), rng), RecipeData(x[:64], y[:64], x[64:], y[64:])


def op_histogram(data: bytes) -> collections.Counter:
    from tensorflow.lite.python import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    counts = collections.Counter()
    for op in model.subgraphs[0].operators:
        code = model.operatorCodes[op.opcodeIndex]
        counts[names[max(code.builtinCode, code.deprecatedBuiltinCode)]] += 1
    return counts


def io_tensors(data: bytes) -> list[tuple]:
    """(type, scale, zero point) of every graph input and output, read by LiteRT's interpreter."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=data)
    return [(d["dtype"], *d["quantization"]) for d in interp.get_input_details() + interp.get_output_details()]


def _variants(model, data, configs: dict) -> dict[str, bytes]:
    return {name: run_recipe(name, model, data, config)[0] for name, config in configs.items()}


def _quick_configs() -> dict:
    """The recipes' settings with one epoch of each fine-tuning."""
    from liteship.optimize.convert import Int8Config
    from liteship.optimize.qat import PqatConfig, QatConfig

    return {"int8": Int8Config(calibration_images=32), "qat_int8": QatConfig(epochs=1, calibration_images=32),
            "pqat_int8": PqatConfig(epochs=2, recovery_epochs=1, qat_epochs=1, calibration_images=32)}


def test_qat_variants_have_int8s_ops_and_io(small):
    model, data = small
    made = _variants(model, data, _quick_configs())
    int8 = op_histogram(made["int8"])
    assert int8["CONV_2D"] == 2 and int8["DEPTHWISE_CONV_2D"] == 1  # by hand: stem, project; dw
    for name in ("qat_int8", "pqat_int8"):
        # The three BatchNorms folded: no MUL + ADD pair beyond the rescaling's and the residual add int8 has,
        # and no DEQUANTIZE + QUANTIZE around the input.
        assert op_histogram(made[name]) == int8, name
        assert io_tensors(made[name]) == io_tensors(made["int8"]), name
    assert io_tensors(made["int8"])[0] == (np.uint8, np.float32(1 / 255), 0)  # the contract's input


def _conv_kernels(data: bytes) -> dict[tuple, np.ndarray]:
    """Every CONV_2D's stored int8 kernel, by its shape (out, kh, kw, in)."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    sg, out = model.subgraphs[0], {}
    for op in sg.operators:
        if model.operatorCodes[op.opcodeIndex].builtinCode != schema.BuiltinOperator.CONV_2D:
            continue
        tensor = sg.tensors[op.inputs[1]]
        raw = np.frombuffer(bytes(model.buffers[tensor.buffer].data), dtype=np.int8)
        out[tuple(tensor.shape)] = raw.reshape(tuple(tensor.shape)).astype(np.int32)
    return out


@pytest.fixture(scope="module")
def qat_trained(small):
    """The small model's QAT wrapper after one epoch of fine-tuning (BatchNorm's statistics moved by it)."""
    import tf_keras as keras

    from liteship.optimize.convert import fresh_copy
    from liteship.optimize.finetune import fine_tune
    from liteship.optimize.qat import quantize_aware

    model, data = small
    keras.utils.set_random_seed(1)
    qat, _ = quantize_aware(fresh_copy(model))
    fine_tune(qat, data, 1, 1e-3)
    return qat


def test_the_float_model_rebuilt_from_qat_holds_every_trained_weight(small, qat_trained):
    """Every layer's weights, BatchNorm's gamma, beta, moving mean and variance included, are the QAT wrapper's
    variables of the same name, read here from the wrapper."""
    import tf_keras as keras

    from liteship.optimize.qat import trained_float_model

    model, _ = small
    rebuilt = trained_float_model(qat_trained, model)
    seen = set()
    for layer in rebuilt.layers:
        wrapper = {w.name: w.numpy() for w in qat_trained.get_layer("quant_" + layer.name).weights} \
            if layer.weights else {}
        for w in layer.weights:
            np.testing.assert_array_equal(w.numpy(), wrapper[w.name], err_msg=w.name)
            seen.add(w.name)
    for bn in ("stem_bn", "dw_bn", "project_bn"):
        assert isinstance(rebuilt.get_layer(bn), keras.layers.BatchNormalization)
        names = [f"{bn}/{v}:0" for v in ("gamma", "beta", "moving_mean", "moving_variance")]
        assert set(names) <= seen, bn
        # the fine-tuning moved them away from the float model's: the comparison can tell a copy from none
        start = {w.name: w.numpy() for w in model.get_layer(bn).weights}
        assert not np.allclose(start[names[2]], rebuilt.get_layer(bn).moving_mean.numpy()), bn
    assert {"stem/kernel:0", "dw/depthwise_kernel:0", "project/kernel:0", "probs/kernel:0", "probs/bias:0"} <= seen


def test_a_convolutions_int8_kernel_is_the_one_qat_trained_against(small, qat_trained):
    """BatchNorm scales each output channel; symmetric per-channel quantization of the scaled kernel gives the
    integers of the unscaled one (negated where the scale is negative). So the folded file stores the integers the
    QAT wrapper's fake quantization made of its kernel: ``round(k / (max|k_c| / 127))``, computed here."""
    from liteship.optimize.convert import int8_tflite
    from liteship.optimize.qat import trained_float_model

    model, data = small
    qat = qat_trained
    stored = _conv_kernels(int8_tflite(trained_float_model(qat, model), data.calibration(32)))
    for conv, bn in (("stem", "stem_bn"), ("project", "project_bn")):
        kernel = next(w for w in qat.get_layer("quant_" + conv).weights if w.name == f"{conv}/kernel:0").numpy()
        step = np.abs(kernel).max(axis=(0, 1, 2)) / 127
        trained = np.round(kernel / step).astype(np.int32)  # (kh, kw, in, out), per output channel
        gamma = next(w for w in qat.get_layer("quant_" + bn).weights if w.name == f"{bn}/gamma:0").numpy()
        expected = np.transpose(trained * np.sign(gamma), (3, 0, 1, 2))  # TFLite stores (out, kh, kw, in)
        got = stored[expected.shape]
        assert np.abs(got - expected).max() <= 1, conv  # a tie at .5 may round either way after the scaling
        assert np.mean(got == expected) >= 0.99, conv
        assert (gamma < 0).any(), conv  # some channels flipped by the folding: the comparison can tell


DEFAULT_SWEEP = (("small_cnn", 32, None), ("mobilenet_v2", 64, 0.35))


@pytest.fixture(scope="module")
def sweep_models(tf_available, tmp_path_factory):
    """The default sweep's two architectures at its sizes, trained 2 epochs on the digits, and their int8, qat_int8
    and pqat_int8 variants with one epoch of each fine-tuning: {arch: {recipe: path}}."""
    from liteship.optimize import optimize_run
    from liteship.optimize.qat import PqatConfig, QatConfig
    from liteship.progress import Progress
    from liteship.trainer import TrainConfig, train

    out = tmp_path_factory.mktemp("sweep_models")
    configs = {"qat_int8": QatConfig(epochs=1), "pqat_int8": PqatConfig(epochs=2, recovery_epochs=1, qat_epochs=1)}
    made = {}
    for arch, size, alpha in DEFAULT_SWEEP:
        train("digits", TrainConfig(arch=arch, size=size, alpha=alpha, weights="none", epochs=2, fine_tune_epochs=0),
              out, Progress(quiet=True), deterministic=True)
    for record in optimize_run(out, "int8,qat_int8,pqat_int8", configs, Progress(quiet=True), deterministic=True):
        assert record["status"] == "ok", record.get("error")
        made.setdefault(record["arch"], {})[record["recipe"]] = out / record["file"]
    return made


@pytest.mark.slow
def test_default_sweep_qat_variants_cost_what_int8_costs_on_arm64(sweep_models):
    from liteship.bench import arm64, arm64_env
    from liteship.contract import feed

    if not arm64_env.installed():
        pytest.skip("the arm64 environment is not installed: `liteship runtimes install arm64 --with-system-packages`")
    for arch, paths in sweep_models.items():
        int8 = paths["int8"].read_bytes()
        size = dict((a, s) for a, s, _ in DEFAULT_SWEEP)[arch]
        x = feed(np.full((1, size, size, 3), 128, np.uint8), "uint8", 1 / 255, 0)
        counts = {name: arm64.count_arm64(path, "arm64-a15", x)["instructions"]["per_invoke"]
                  for name, path in paths.items()}
        for name in ("qat_int8", "pqat_int8"):
            data = paths[name].read_bytes()
            assert op_histogram(data) == op_histogram(int8), (arch, name)
            assert io_tensors(data) == io_tensors(int8), (arch, name)
            assert abs(counts[name] / counts["int8"] - 1) <= 0.05, (arch, name, counts)
