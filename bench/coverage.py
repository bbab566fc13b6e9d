"""Delegate op coverage: which ops the GPU and Core ML delegates would take, and the partitions.

``gpu`` uses LiteRT's own model analyzer with its GPU compatibility check.
``coreml`` checks ops against the Core ML delegate's documented op list and
rules; it only takes float (FP32/FP16) models.
"""

from __future__ import annotations

import re

from liteship.tflite_file import op_name

# The TFLite Core ML delegate's documented ops (float models only).
COREML_OPS = {
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "HARD_SWISH",
    "LOGISTIC", "MAX_POOL_2D", "MIRROR_PAD", "MUL", "PAD", "PADV2", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE",
    "RESIZE_BILINEAR", "SOFTMAX", "TANH", "TRANSPOSE_CONV",
}


def _partitions(supported: list[bool]) -> int:
    runs, prev = 0, False
    for s in supported:
        if s and not prev:
            runs += 1
        prev = s
    return runs


def _summary(names: list[str], supported: list[bool], reasons: dict[int, str]) -> dict:
    total = len(names)
    fallback = [f"Op#{i} {names[i]}" + (f": {reasons[i]}" if i in reasons else "")
                for i in range(total) if not supported[i]]
    return {"total": total, "supported": int(sum(supported)), "partitions": _partitions(supported),
            "fallback": fallback, "delegated": round(sum(supported) / total, 4) if total else 0.0}


def gpu_coverage(path: str) -> dict:
    from ai_edge_litert import _pywrap_analyzer_wrapper as analyzer

    text = analyzer.ModelAnalyzer(str(path), True, True)
    names, reasons, current = [], {}, None
    for line in text.splitlines():
        m = re.match(r"\s*Op#(\d+) (\S+?)\(", line)
        if m and line.startswith("  Op#"):
            current = int(m.group(1))
            names.append(m.group(2))
            continue
        if line.startswith("GPU COMPATIBILITY WARNING:") and current is not None and "Subgraph#" not in line:
            reasons[current] = line.split(":", 1)[1].strip()
        if line.startswith("Tensors of Subgraph#0"):
            current = None
            break
    supported = [i not in reasons for i in range(len(names))]
    return _summary(names, supported, reasons)


def coreml_coverage(model) -> dict:
    sg = model.subgraphs[0]
    producers = {int(o): op for op in sg.operators or [] for o in op.outputs}
    names, supported, reasons = [], [], {}
    for i, op in enumerate(sg.operators or []):
        name = op_name(model, op)
        names.append(name)
        ok = name in COREML_OPS
        if name == "DEQUANTIZE":
            # FP16 weights: a DEQUANTIZE of a constant float16 tensor is folded by the delegate.
            src = sg.tensors[op.inputs[0]]
            ok = src.type == 1 and int(op.inputs[0]) not in producers
            if not ok:
                reasons[i] = "only the DEQUANTIZE of constant FP16 weights is supported"
        types = {sg.tensors[t].type for t in list(op.inputs) + list(op.outputs) if t >= 0}
        if ok and name != "DEQUANTIZE" and types - {0, 1, 2}:  # float32, float16, int32 (shapes)
            ok = False
            reasons[i] = "quantized tensors: the Core ML delegate takes float models only"
        elif not ok and i not in reasons:
            reasons[i] = "not in the Core ML delegate's op list"
        supported.append(ok)
    return _summary(names, supported, reasons)
