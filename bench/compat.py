"""Runtime compatibility: which ops a given TFLite / LiteRT release cannot run.

The converter writes the model's minimum runtime into its ``min_runtime_version``
metadata; that number is authoritative for the whole model. To name the ops
responsible, liteship keeps the first release that runs each (op, version)
for the ops its own variants use (facts from TensorFlow's op-versioning
table). An op version missing from the table is reported as unknown.
"""

from __future__ import annotations

from liteship.tflite_file import ops

# (op, version) -> first TFLite release that runs it.
OP_RUNTIME = {
    ("ADD", 1): "1.5.0", ("ADD", 2): "1.14.0", ("ADD", 3): "2.4.0", ("ADD", 4): "2.6.0",
    ("AVERAGE_POOL_2D", 1): "1.5.0", ("AVERAGE_POOL_2D", 2): "1.14.0", ("AVERAGE_POOL_2D", 3): "2.3.0",
    ("CONCATENATION", 1): "1.5.0", ("CONCATENATION", 2): "1.14.0", ("CONCATENATION", 3): "2.3.0",
    ("CONV_2D", 1): "1.5.0", ("CONV_2D", 2): "1.14.0", ("CONV_2D", 3): "1.14.0", ("CONV_2D", 4): "2.3.0",
    ("CONV_2D", 5): "2.4.0", ("CONV_2D", 6): "2.9.0",
    ("DEPTHWISE_CONV_2D", 1): "1.5.0", ("DEPTHWISE_CONV_2D", 2): "1.12.0", ("DEPTHWISE_CONV_2D", 3): "1.14.0",
    ("DEPTHWISE_CONV_2D", 4): "2.2.0", ("DEPTHWISE_CONV_2D", 5): "2.3.0", ("DEPTHWISE_CONV_2D", 6): "2.3.0",
    ("DEQUANTIZE", 1): "1.13.1", ("DEQUANTIZE", 2): "1.14.0", ("DEQUANTIZE", 3): "1.15.0",
    ("DEQUANTIZE", 4): "2.2.0", ("DEQUANTIZE", 5): "2.7.0",
    ("FULLY_CONNECTED", 1): "1.5.0", ("FULLY_CONNECTED", 2): "1.10.0", ("FULLY_CONNECTED", 3): "1.14.0",
    ("FULLY_CONNECTED", 4): "1.14.0", ("FULLY_CONNECTED", 5): "2.0.0", ("FULLY_CONNECTED", 6): "2.1.0",
    ("FULLY_CONNECTED", 7): "2.3.0", ("FULLY_CONNECTED", 8): "2.3.0", ("FULLY_CONNECTED", 9): "2.3.0",
    ("FULLY_CONNECTED", 12): "2.17.0",
    ("MAX_POOL_2D", 1): "1.5.0", ("MAX_POOL_2D", 2): "1.14.0", ("MAX_POOL_2D", 3): "2.3.0",
    ("MEAN", 1): "1.6.0", ("MEAN", 2): "1.14.0", ("MEAN", 3): "2.4.0",
    ("MUL", 1): "1.5.0", ("MUL", 2): "1.14.0", ("MUL", 3): "1.15.0", ("MUL", 4): "2.3.0", ("MUL", 5): "2.6.0",
    ("PAD", 1): "1.5.0", ("PAD", 2): "1.14.0", ("PAD", 3): "2.4.0", ("PAD", 4): "2.6.0",
    ("QUANTIZE", 1): "1.14.0", ("QUANTIZE", 2): "1.15.0", ("QUANTIZE", 3): "2.7.0",
    ("RELU", 1): "1.5.0", ("RELU", 2): "2.1.0", ("RELU", 3): "2.5.0",
    ("RELU6", 1): "1.5.0", ("RELU6", 2): "1.14.0", ("RELU6", 3): "2.5.0",
    ("RESHAPE", 1): "1.5.0",
    ("SOFTMAX", 1): "1.5.0", ("SOFTMAX", 2): "1.14.0", ("SOFTMAX", 3): "2.3.0",
}


def version_key(version: str) -> tuple[int, ...]:
    out = []
    for part in version.replace("-", ".").split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        out.append(int(digits))
    return tuple(out)


def model_min_runtime(model) -> str | None:
    for md in model.metadata or []:
        if md.name == b"min_runtime_version":
            return bytes(model.buffers[md.buffer].data).split(b"\0")[0].decode() or None
    return None


def check_runtime(model, target: str | None) -> dict:
    """Per-op minimum releases, the model's own minimum, and (with ``target``) the verdict for it."""
    seen = sorted(set(ops(model)))
    facts = {"min_runtime": model_min_runtime(model), "ops": {f"{name} v{ver}": OP_RUNTIME.get((name, ver))
                                                              for name, ver in seen}}
    return runtime_verdict(facts, target)


def runtime_verdict(facts: dict, target: str | None) -> dict:
    """``facts`` (``min_runtime`` and ``ops`` as recorded by bench) judged for ``target``: no model file needed."""
    per_op, minimum = facts.get("ops") or {}, facts.get("min_runtime")
    out = {"min_runtime": minimum, "ops": per_op, "target": target, "too_new": [], "unknown": []}
    if target:
        t = version_key(target)
        out["too_new"] = [op for op, first in per_op.items() if first and version_key(first)[: len(t)] > t]
        out["unknown"] = [op for op, first in per_op.items() if first is None]
        out["ok"] = not out["too_new"] and not (minimum and version_key(minimum)[: len(t)] > t)
    return out
