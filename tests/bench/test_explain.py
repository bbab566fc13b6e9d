"""explain: op counts, dtypes and multiply-adds checked against LiteRT's own view of the graph.

The Interpreter's op details (``_get_ops_details``) and tensor shapes are an
independent reading of the same file: the runtime's, not liteship's
flatbuffer parser. Multiply-adds are counted here from those shapes.
"""

from collections import Counter

import numpy as np
import pytest

from liteship.bench.backends import Kind
from liteship.bench.explain import differences, explain, op_groups


def _litert_view(path):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    shapes = {t["index"]: [max(int(d), 1) for d in t["shape"]] for t in interp.get_tensor_details()}
    ops = interp._get_ops_details()
    macs = 0
    for op in ops:
        out = int(np.prod(shapes[int(op["outputs"][0])]))
        if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            w = shapes[int(op["inputs"][1])]  # CONV_2D [out, kh, kw, in]; DEPTHWISE [1, kh, kw, out]; FC [units, in]
            per_output = {"CONV_2D": w[1:4], "DEPTHWISE_CONV_2D": w[1:3], "FULLY_CONNECTED": w[1:2]}[op["op_name"]]
            macs += out * int(np.prod(per_output))
    return Counter(op["op_name"] for op in ops), macs


@pytest.mark.parametrize("recipe", ["float32", "float16", "int8", "qat_int8", "selective_int8"])
def test_ops_and_multiply_adds_match_litert(all_recipes, recipe):
    out, records = all_recipes
    path = out / records[recipe]["file"]
    groups = op_groups(path.read_bytes())
    counts, macs = _litert_view(path)
    ours = Counter()
    for g in groups:
        ours[g.op] += g.count
    # fp16 weights are expanded by DEQUANTIZE ops the runtime runs once; explain folds them into "weights".
    counts.pop("DEQUANTIZE", None) if recipe == "float16" else None
    assert ours == counts
    assert sum(g.macs for g in groups) == macs > 0
    if recipe == "float16":
        assert {g.weights for g in groups if g.op == "CONV_2D"} == {"float16"}


def test_qat_vs_int8_is_the_same_graph(all_recipes):
    """QAT's file folds BatchNorm as int8's does (LiteRT's own op list): explain finds nothing in the graph."""
    out, records = all_recipes
    counts_qat, _ = _litert_view(out / records["qat_int8"]["file"])
    counts_int8, _ = _litert_view(out / records["int8"]["file"])
    assert counts_qat == counts_int8
    qat = explain(out / records["qat_int8"]["file"], [_FakeRecord(records["qat_int8"])])
    int8 = explain(out / records["int8"]["file"], [_FakeRecord(records["int8"])])
    assert not any("BatchNormalization" in line for line in differences(qat, int8))


def _unfolded_pair(tmp_path):
    """Two int8 models the test converts itself: three Conv + ReLU blocks, once with a BatchNorm after each ReLU
    (no convolution to fold it into, so the converter leaves each as a MUL + ADD with constant operands, the
    graph an unfolded BatchNorm leaves) and once without."""
    import tensorflow as tf
    import tf_keras as keras

    images = np.random.default_rng(0).random((8, 16, 16, 3), dtype=np.float32)
    rng = np.random.default_rng(1)

    def int8(with_bn: bool, name: str):
        keras.utils.set_random_seed(0)
        x = inp = keras.Input((16, 16, 3))
        for filters in (4, 8, 8):
            x = keras.layers.ReLU()(keras.layers.Conv2D(filters, 3, padding="same")(x))
            x = keras.layers.BatchNormalization()(x) if with_bn else x
        model = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x)))
        for layer in model.layers:  # trained statistics, not the identity the converter would drop
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) for w in layer.get_weights()])
        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([images[i:i + 1]] for i in range(len(images)))
        path = tmp_path / name
        path.write_bytes(conv.convert())
        return path

    return int8(True, "unfolded.tflite"), int8(False, "folded.tflite")


def test_unfolded_batchnorm_is_named(tmp_path):
    unfolded, folded = _unfolded_pair(tmp_path)
    counts_qat, _ = _litert_view(unfolded)
    counts_int8, _ = _litert_view(folded)
    extra = counts_qat["MUL"] - counts_int8["MUL"]
    assert extra == counts_qat["ADD"] - counts_int8["ADD"] == 3  # three Conv + BatchNorm blocks, counted by LiteRT
    made = {"id": "x", "model": "m", "recipe": "r"}
    said = differences(explain(unfolded, [_FakeRecord(made)]), explain(folded, [_FakeRecord(made)]))
    assert said[0].startswith(f"{extra} more MUL + ADD pairs") and "BatchNormalization" in said[0]
    assert f"MUL: {counts_qat['MUL']} vs {counts_int8['MUL']}" in said
    int8 = explain(folded, [_FakeRecord(made)])
    assert differences(int8, int8) == []


class _FakeRecord:
    """What explain reads from a bench record, for a variant that was made but not benched."""

    def __init__(self, made: dict):
        self.variant, self.model, self.recipe = made["id"], made["model"], made["recipe"]
        self.instructions, self.kind, self.status, self.latency_ms, self.backend = None, Kind.RUN, "ok", None, None


def test_the_explain_command_on_a_run(swept, capsys):
    """int8 vs float32 of a swept run; an unknown variant exits 2 listing the valid IDs."""
    import json

    from liteship.app.cli import main

    out, _, _ = swept
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    ids = {r["recipe"]: r["variant"] for r in rows}
    assert main(["explain", str(out), "int8", "--vs", "float32"]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"{ids['int8']}: small_cnn_16 int8") and "what differs (int8 vs float32):" in said
    assert "QUANTIZE: 2 vs 0 (+2)" in said  # the uint8 input and output, converted at the graph's two ends
    assert main(["explain", str(out), "int9"]) == 2
    err = capsys.readouterr().err
    assert "VARIANT 'int9': no such variant" in err and all(v in err for v in ids.values())
