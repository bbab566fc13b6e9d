"""explain's per-op quantization error and its Model Explorer file, checked against independent readings: errors
this test computes from the two models' kept tensors (tests/optimize/test_op_error.py's own_errors), multiply-adds
counted here from LiteRT's tensor shapes, and the node ids Model Explorer's own adapter gives the graph."""

import json
import re
import sys

import numpy as np
import pytest

from tests.optimize.test_op_error import own_errors

IMAGES = 32  # explain's calibration images


def _table(said: str) -> list[list[str]]:
    """The rows of explain's per-op error table, each cell as printed."""
    lines = said.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("quantization error per op, worst first"))
    header = next(i for i in range(start, len(lines)) if lines[i].startswith("#  op"))
    rows = []
    for line in lines[header + 2:]:
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


def _macs_by_op(path) -> dict[int, int]:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    shapes = {t["index"]: [max(int(d), 1) for d in t["shape"]] for t in interp.get_tensor_details()}
    out = {}
    for op in interp._get_ops_details():
        w = shapes[int(op["inputs"][1])] if len(op["inputs"]) > 1 else []
        per_output = {"CONV_2D": w[1:4], "DEPTHWISE_CONV_2D": w[1:3], "FULLY_CONNECTED": w[1:2]}.get(op["op_name"])
        out[int(op["index"])] = int(np.prod(shapes[int(op["outputs"][0])])) * int(np.prod(per_output)) \
            if per_output else 0
    return out


def _calibration_images(out, size: int, seed: int) -> np.ndarray:
    """The first images of the training split in the recipes' seeded order, chosen here."""
    from liteship.dataset import load_run_split

    x, y = load_run_split(out, size)["train"]
    return x[np.sort(np.random.default_rng(seed).permutation(len(y))[:IMAGES])]


@pytest.fixture(scope="module")
def explained(swept, tmp_path_factory):
    from liteship.app.cli import main

    out, _, _ = swept
    node_file = tmp_path_factory.mktemp("explorer") / "int8.json"
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    ids = {r["recipe"]: r["variant"] for r in rows}
    return out, ids, node_file, main, lambda *args: main(["explain", str(out), *args])


def test_each_ops_error_is_shown_worst_first_beside_its_multiply_adds(explained, capsys):
    out, ids, _, _, explain = explained
    assert explain("int8") == 0
    said = capsys.readouterr().out
    rows = _table(said)
    assert f"against the float model's, on {IMAGES} calibration images" in said and "LiteRT Quantizer's" in said
    snr = [float("inf") if r[3] == "= float" else float(r[3]) for r in rows]  # "= float": MSE 0, ranked last
    assert len(rows) >= 5 and snr == sorted(snr)
    path = out / "variants" / f"{ids['int8']}.tflite"
    macs = _macs_by_op(path)
    for r in rows:
        assert r[6] == (f"{macs[int(r[0])] / 1e6:.3f}" if macs[int(r[0])] else "–")
    card = json.loads((out / "float" / "small_cnn_16" / "card.json").read_text())
    float_tflite = (out / "float" / "small_cnn_16" / "model.tflite").read_bytes()
    own = own_errors(float_tflite, path.read_bytes(), _calibration_images(out, 16, card["config"]["seed"]))
    by_index = {v["index"]: v for v in own.values()}
    assert {int(r[0]) for r in rows} == set(by_index)
    assert all((r[3] == "= float") == (by_index[int(r[0])]["mse"] == 0) for r in rows)
    for r in rows[:3]:  # the worst three, from this test's own tensors
        assert float(r[3]) == pytest.approx(10 * np.log10(by_index[int(r[0])]["snr"]), abs=0.06)
        assert r[1].split()[0] == by_index[int(r[0])]["op"]


def test_the_model_explorer_file_names_only_the_graphs_nodes(explained, capsys):
    from dacite import Config, from_dict
    from model_explorer.builtin_tflite_flatbuffer_adapter import BuiltinTfliteFlatbufferAdapter
    from model_explorer.node_data_builder import GraphNodeData, ModelNodeData

    out, ids, node_file, _, explain = explained
    assert explain("int8", "--model-explorer", str(node_file)) == 0
    rows = _table(capsys.readouterr().out)
    raw = json.loads(node_file.read_text())
    loaded = ModelNodeData(graphsData={g: from_dict(GraphNodeData, data, config=Config(strict=True))
                                       for g, data in raw.items()})
    assert json.loads(loaded.to_json_string()) == raw  # Model Explorer's own classes hold all of it
    path = out / "variants" / f"{ids['int8']}.tflite"
    graphs = {g["id"]: {n["id"]: n for n in g["nodes"]}
              for c in BuiltinTfliteFlatbufferAdapter().convert(str(path), {})["graphCollections"] for g in c.graphs}
    assert set(raw) <= set(graphs) and raw
    for graph_id, data in loaded.graphsData.items():
        assert data.results and set(data.results) <= set(graphs[graph_id])
        for node_id, result in data.results.items():
            node = graphs[graph_id][node_id]
            row = next(r for r in rows if r[0] == node_id)  # explain's row of the op this node is
            assert node["label"].upper() == row[1].split()[0]
            written = next(a["value"] for a in node["outputsMetadata"][0]["attrs"] if a["key"] == "tensor_name")
            assert written.split(";")[0].endswith(row[2].lstrip("…"))
            assert result.value == pytest.approx(float(row[3]), abs=0.051)  # the table shows one decimal
    assert len(loaded.graphsData["main"].results) == len([r for r in rows if r[3] != "= float"])  # exact: no dB


def test_without_model_explorer_the_flag_says_how_to_install_it(explained, capsys, monkeypatch, tmp_path):
    _, _, _, _, explain = explained
    monkeypatch.setitem(sys.modules, "model_explorer", None)  # as if not installed
    target = tmp_path / "nodes.json"
    assert explain("int8", "--model-explorer", str(target)) == 2
    err = capsys.readouterr().err
    assert "--model-explorer" in err and "pip install 'liteship[explorer]'" in err and not target.exists()


def test_without_the_float_model_no_explorer_file_is_written(explained, capsys, tmp_path):
    """A copy of the run without its float .tflite: nothing to measure, so no file (not an empty one) and exit 2."""
    import shutil

    out, _, _, main, _ = explained
    run = tmp_path / "run"
    shutil.copytree(out, run, symlinks=True)
    (run / "float" / "small_cnn_16" / "model.tflite").unlink()
    target = tmp_path / "nodes.json"
    assert main(["explain", str(run), "int8", "--model-explorer", str(target)]) == 2
    err = capsys.readouterr().err
    assert "no per-op error to write" in err and "model.tflite" in err and not target.exists()
