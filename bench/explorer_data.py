"""Each op's quantization error as node data for Google's Model Explorer (``ai-edge-model-explorer``, the
``explorer`` extra), which colours the variant's graph by it.

Model Explorer names a .tflite's nodes itself: its flatbuffer adapter gives every op, constant, and the graph's
inputs and outputs a node id. The file keys each op's value by the id the adapter gives the node that writes the
op's output tensor, so it names only nodes of the graph Model Explorer shows. The value is the op output's SNR in
dB against the float model (:attr:`liteship.optimize.op_error.OpError.snr_db`): the lowest, the worst, is red. An op
whose output equals float's (MSE 0, SNR infinite) has no dB to give and is left uncoloured; KL divergence is not in
the file (see :mod:`liteship.optimize.op_error`).
"""

from __future__ import annotations

import math
from pathlib import Path

from liteship.errors import LiteshipError
from liteship.tflite_file import read_model

INSTALL = "pip install 'liteship[explorer]'"
NAME = "SNR dB of each op's output vs the float model (LiteRT Quantizer's validator)"


def missing() -> str | None:
    """Why Model Explorer's Python package cannot be used here, or None."""
    try:
        import model_explorer.node_data_builder  # noqa: F401
        import model_explorer.builtin_tflite_flatbuffer_adapter  # noqa: F401
    except ImportError as exc:
        return f"Model Explorer's Python package (ai-edge-model-explorer) is not installed ({exc})"
    return None


def output_problems(path: str | None) -> list:
    """Why ``path`` cannot take the node data (checked before any work, beside the output checks every report file
    has): Model Explorer loads it from a file, so ``-`` (explain's text is on standard output) and anything but a
    regular file or a new path (/dev/full, a FIFO, /dev/stdout) are refused."""
    import os
    import stat

    from liteship.config import Problem, describe

    if path is None:
        return []
    if path == "-":
        why = "'-' is not supported: explain writes its text to standard output, which would mix with the JSON"
    else:
        real = os.path.realpath(path)  # as written and resolved: /dev/stdout may resolve to a regular file
        special = any(p == k or p.startswith(k + "/") for p in (os.path.abspath(path), real)
                      for k in ("/dev", "/proc", "/sys"))
        try:
            special = special or not stat.S_ISREG(os.stat(real).st_mode)
        except OSError:
            pass  # a new file: the output checks judge its folder
        why = "it is a special file, not a regular one: Model Explorer loads node data from a file" if special \
            else None
    return [Problem("--model-explorer", None, describe(path), why, "give a file name, e.g. int8_nodes.json")] \
        if why else []


def graph_nodes(path: str | Path) -> tuple[str, dict[int, str]]:
    """The main graph's id as Model Explorer's adapter names it, and the node id of each tensor an op writes."""
    from model_explorer.builtin_tflite_flatbuffer_adapter import BuiltinTfliteFlatbufferAdapter

    collections = BuiltinTfliteFlatbufferAdapter().convert(str(path), {})["graphCollections"]
    graph = next(g for c in collections for g in c.graphs if g.get("subgraphIndex", 0) == 0)
    written = {}
    for node in graph["nodes"]:
        for out in node.get("outputsMetadata") or []:
            index = next((a["value"] for a in out["attrs"] if a["key"] == "tensor_index"), None)
            if index is not None and node["label"] not in ("GraphInputs", "pseudo_const"):
                written[int(index)] = node["id"]
    return graph["id"], written


def node_data(explained, path: str | Path) -> str:
    """The JSON of a Model Explorer ``ModelNodeData``: each op of ``explained.op_errors`` by its node's id."""
    from model_explorer.node_data_builder import GradientItem, GraphNodeData, ModelNodeData, NodeDataResult

    if not explained.op_errors:  # nothing measured: an empty file would pass for a model without errors
        raise LiteshipError("--model-explorer: no per-op error to write, so no file was written",
                            explained.op_error_note or "no op's error was measured",
                            "fix what stopped the measurement (above) and run explain again")
    graph_id, written = graph_nodes(path)
    sg = read_model(Path(path).read_bytes(), str(path)).subgraphs[0]
    results = {}
    for row in explained.op_errors:
        node = written.get(int(sg.operators[row.error.index].outputs[0]))
        if node is not None and math.isfinite(row.error.snr_db):
            results[node] = NodeDataResult(value=round(row.error.snr_db, 2))
    gradient = [GradientItem(stop=0, bgColor="#d93025"), GradientItem(stop=1, bgColor="#ffffff")]
    data = ModelNodeData(graphsData={graph_id: GraphNodeData(results=results, name=NAME, gradient=gradient)})
    return data.to_json_string(indent=2) + "\n"
