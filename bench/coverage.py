"""Delegate op coverage: which ops the GPU and Core ML delegates would take, and the partitions.

``gpu`` applies the GPU delegate's documented op list and versions; ``coreml``
the Core ML delegate's documented op list and per-op constraints (LiteRT's
``tflite/delegates/coreml/README.md``) and its op-version limits. Both are
read from the flatbuffer, and an op counts as delegated only when every rule
for it was checked and holds: coverage errs towards the CPU, never towards
the delegate. A GPU run is also tried here (:func:`try_gpu`), and its outcome
recorded as it happened.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from liteship.tflite_file import op_name
from liteship.signals import preexec

FLOAT32, FLOAT16 = schema.TensorType.FLOAT32, schema.TensorType.FLOAT16
NO_ACTIVATION = schema.ActivationFunctionType.NONE
# The delegate takes version 1 of every op, and these up to a higher version.
COREML_MAX_VERSION = {"DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 6}
COREML_ALWAYS = {"HARD_SWISH", "LOGISTIC", "RELU", "RELU_N1_TO_1", "RELU6", "TANH", "RESIZE_BILINEAR"}


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


# --------------------------------------------------------------------------- GPU

# The GPU delegate's documented ops (LiteRT's tflite/g3doc/performance/gpu.md), float16/32, with the versions
# it takes: version 1 unless a range is given; quantization support enables higher versions for 8-bit models.
GPU_OPS = {"ADD": 1, "AVERAGE_POOL_2D": 1, "CONCATENATION": 1, "CONV_2D": 1, "DEPTHWISE_CONV_2D": 2, "EXP": 1,
           "FULLY_CONNECTED": 1, "LOGICAL_AND": 1, "LOGISTIC": 1, "LSTM": 2, "MAX_POOL_2D": 1, "MAXIMUM": 1,
           "MINIMUM": 1, "MUL": 1, "PAD": 1, "PRELU": 1, "RELU": 1, "RELU6": 1, "RESHAPE": 1, "RESIZE_BILINEAR": 3,
           "SOFTMAX": 1, "STRIDED_SLICE": 1, "SUB": 1, "TRANSPOSE_CONV": 1}
QUANTIZED = {schema.TensorType.INT8, schema.TensorType.UINT8, schema.TensorType.INT16}


def coverage(model, why_not) -> dict:
    """The one coverage engine: each op of the main graph, taken unless ``why_not(model, sg, op, name, version,
    producers)`` says why the delegate would not take it; the delegated share, partitions and fallbacks."""
    sg = model.subgraphs[0]
    producers = {int(o): op for op in sg.operators or [] for o in op.outputs}
    names, supported, reasons = [], [], {}
    for i, op in enumerate(sg.operators or []):
        name, version = op_name(model, op), model.operatorCodes[op.opcodeIndex].version
        names.append(name)
        why = why_not(model, sg, op, name, version, producers)
        supported.append(why is None)
        if why is not None:
            reasons[i] = why
    return _summary(names, supported, reasons)


def _gpu_why_not(model, sg, op, name: str, version: int, producers: dict) -> str | None:
    """The GPU delegate's rule set: its documented op list and versions."""
    quantized = any(sg.tensors[int(t)].type in QUANTIZED for t in list(op.inputs) + list(op.outputs) if t >= 0)
    if name == "DEQUANTIZE" and sg.tensors[op.inputs[0]].type == FLOAT16 and int(op.inputs[0]) not in producers:
        return None  # fp16 weights: the delegate reads them directly
    if name in ("QUANTIZE", "DEQUANTIZE"):
        return "(de)quantizing 8-bit inputs and outputs runs on the CPU by the delegate's design"
    if name not in GPU_OPS:
        return "not in the GPU delegate's documented op list"
    if version > GPU_OPS[name] and not quantized:
        return f"version {version}: the delegate documents version {GPU_OPS[name]} for float models"
    return None


def gpu_coverage(model) -> dict:
    """Ops the GPU delegate takes by its documented op list and versions, read from the flatbuffer.

    Not LiteRT's model analyzer: in ai-edge-litert 2.3 (and TensorFlow 2.21) it prints "looks compatible
    with GPU delegate" for every model without checking a single op, so it cannot be a measurement.
    """
    return coverage(model, _gpu_why_not)


_GPU_TRY = """
import sys
from ai_edge_litert.compiled_model import CompiledModel
from ai_edge_litert.hardware_accelerator import HardwareAccelerator
from ai_edge_litert.options import Options
CompiledModel.from_file(sys.argv[1], options=Options(hardware_accelerators=HardwareAccelerator.GPU))
print("LOADED")
"""
_gpu_tried: dict[str, str] = {}


def try_gpu(path: str) -> str:
    """What happened when LiteRT's GPU accelerator was asked to load the model, here, in a child process."""
    if "no adapter" in _gpu_tried:  # no GPU on this machine: once per process is enough to know
        return _gpu_tried["no adapter"]
    try:
        proc = subprocess.run([sys.executable, "-c", _GPU_TRY, str(path)], capture_output=True, text=True, timeout=120,
                              preexec_fn=preexec())
    except subprocess.TimeoutExpired:
        return "tried LiteRT's GPU accelerator: no answer in 120 s"
    if "LOADED" in proc.stdout:
        return "LiteRT's GPU accelerator loaded the model here (not timed: no GPU backend in liteship)"
    lines = [ln.strip() for ln in proc.stderr.splitlines() if "WebGPU" in ln or "adapter" in ln.lower()]
    why = next((ln for ln in lines if "No adapters found" in ln), lines[-1] if lines else f"exit {proc.returncode}")
    note = f"tried LiteRT's GPU accelerator here: it failed ({why.split('] ')[-1][:200]}); op coverage only"
    if "No adapters found" in why:
        _gpu_tried["no adapter"] = note
    return note


# --------------------------------------------------------------------------- Core ML

def _constant(model, sg, index: int, producers: dict) -> bool:
    """A tensor with data in the file, or the DEQUANTIZE of one (fp16 weights)."""
    if index < 0:
        return True
    buf = model.buffers[sg.tensors[index].buffer].data
    if buf is not None and len(buf):
        return True
    producer = producers.get(index)
    return producer is not None and op_name(model, producer) == "DEQUANTIZE" and \
        _constant(model, sg, int(producer.inputs[0]), producers)


def _shape(sg, index: int) -> list[int]:
    shape = sg.tensors[index].shape
    return [] if shape is None else [int(d) for d in shape]


def _broadcastable(a: list[int], b: list[int]) -> bool:
    """The shapes Core ML broadcasts, in NHWC: the same, [B,1,1,C], [B,H,W,1] or [B,1,1,1]."""
    a, b = [1] * (4 - len(a)) + a, [1] * (4 - len(b)) + b
    if len(a) != 4 or len(b) != 4:
        return False
    big, small = (a, b) if np.prod(a) >= np.prod(b) else (b, a)
    n, h, w, c = big
    return small in ([n, h, w, c], [n, 1, 1, c], [n, h, w, 1], [n, 1, 1, 1])


def _pads_only_h_w(model, sg, op) -> bool:
    if len(_shape(sg, op.inputs[0])) != 4 or len(op.inputs) < 2:
        return False
    paddings = sg.tensors[op.inputs[1]]
    data = model.buffers[paddings.buffer].data
    if data is None or not len(data):
        return False  # padding must be constant
    pads = np.frombuffer(bytes(data), dtype=np.int64 if paddings.type == schema.TensorType.INT64 else np.int32)
    pads = pads.reshape(4, 2)
    return not pads[0].any() and not pads[3].any()


def _binary(model, sg, op, producers):
    ok = _broadcastable(_shape(sg, op.inputs[0]), _shape(sg, op.inputs[1]))
    return None if ok else "only [B,C,H,W], [B,C,1,1], [B,1,H,W] and [B,1,1,1] broadcast"


def _pool(model, sg, op, producers):
    opts = op.builtinOptions
    return None if opts is None or opts.fusedActivationFunction == NO_ACTIVATION else "fused activation"


def _concat(model, sg, op, producers):
    opts, rank = op.builtinOptions, len(_shape(sg, op.inputs[0]))
    ok = opts is not None and opts.fusedActivationFunction == NO_ACTIVATION and len(op.inputs) >= 2 and \
        rank in (3, 4) and opts.axis in (rank - 1, -1)
    return None if ok else "only along the channel axis, without a fused activation"


def _conv(model, sg, op, producers):
    transpose = op_name(model, op) == "TRANSPOSE_CONV"
    consts = [op.inputs[1]] + ([op.inputs[2]] if not transpose and len(op.inputs) > 2 else [])
    return None if all(_constant(model, sg, int(i), producers) for i in consts) else "weights and bias must be constant"


def _fully_connected(model, sg, op, producers):
    consts = [op.inputs[1]] + ([op.inputs[2]] if len(op.inputs) > 2 else [])
    if not all(_constant(model, sg, int(i), producers) for i in consts):
        return "weights and bias must be constant"
    ok = all(d == 1 for d in _shape(sg, op.inputs[0])[:-1])
    return None if ok else "single batch only (every input dimension but the last 1)"


def _softmax(model, sg, op, producers):
    return None if op.builtinOptions is not None and op.builtinOptions.beta == 1.0 else "only beta = 1"


def _pad(model, sg, op, producers):
    return None if _pads_only_h_w(model, sg, op) else "4D input, constant padding of H and W only"


def _mirror_pad(model, sg, op, producers):
    opts = op.builtinOptions
    ok = _pads_only_h_w(model, sg, op) and opts is not None and opts.mode == schema.MirrorPadMode.REFLECT
    return None if ok else "4D input, REFLECT mode, constant padding of H and W only"


def _reshape(model, sg, op, producers):
    return "only when the app targets Core ML 2; the delegate's default, Core ML 3 (iOS 13+), falls back"


# The documented op list, each with its documented constraints, checked on the flatbuffer.
COREML_RULES = {"ADD": _binary, "MUL": _binary, "AVERAGE_POOL_2D": _pool, "MAX_POOL_2D": _pool,
                "CONCATENATION": _concat, "CONV_2D": _conv, "DEPTHWISE_CONV_2D": _conv, "TRANSPOSE_CONV": _conv,
                "FULLY_CONNECTED": _fully_connected, "SOFTMAX": _softmax, "PAD": _pad, "PADV2": _pad,
                "MIRROR_PAD": _mirror_pad, "RESHAPE": _reshape,
                **{name: (lambda model, sg, op, producers: None) for name in COREML_ALWAYS}}


def _coreml_why_not(model, sg, op, name: str, version: int, producers: dict) -> str | None:
    """The Core ML delegate's rule set: its op versions, float inputs only, and each op's documented rule."""
    if name == "DEQUANTIZE":
        # FP16 weights: the delegate folds the DEQUANTIZE of a constant float16 tensor.
        src = sg.tensors[op.inputs[0]]
        return None if src.type == FLOAT16 and int(op.inputs[0]) not in producers else \
            "only the DEQUANTIZE of constant FP16 weights is taken"
    if version > COREML_MAX_VERSION.get(name, 1):
        return f"version {version}: the delegate takes up to version {COREML_MAX_VERSION.get(name, 1)}"
    if sg.tensors[op.inputs[2 if name == "TRANSPOSE_CONV" else 0]].type != FLOAT32:
        return "quantized input: the Core ML delegate takes float (FP32/FP16) models only"
    rule = COREML_RULES.get(name)
    return "not in the Core ML delegate's op list" if rule is None else rule(model, sg, op, producers)


def coreml_coverage(model) -> dict:
    """Ops the Core ML delegate takes by its documented ops, versions and per-op constraints."""
    return coverage(model, _coreml_why_not)
