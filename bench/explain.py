"""What a variant computes, op by op: counts, the dtypes in and out, multiply-adds, where the instructions go, and
each op's quantization error.

Read from the .tflite flatbuffer (no TensorFlow) and the run's records (instruction counts by kernel
family, latency). ``compare`` lists what differs between two variants: extra QUANTIZE / DEQUANTIZE ops,
ops left computing in float, multiply-adds by precision, instructions by kernel family. :func:`with_op_errors`
adds each op's output error against the model's float .tflite on calibration images (LiteRT Quantizer's
validator, :mod:`liteship.optimize.op_error`), beside the op's multiply-adds and its kernel family's instructions.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from liteship.bench.record import Instructions
from liteship.errors import LiteshipError
from liteship.number_formats import millions
from liteship.tflite_file import op_name, read_model, type_name

CONVERSIONS = ("QUANTIZE", "DEQUANTIZE")
OP_ERROR_IMAGES = 32  # calibration images each op's error is measured on: a few seconds for MobileNetV2 at 64 px


@dataclass(frozen=True)
class OpGroup:
    op: str
    inputs: str  # dtypes of the activations it reads
    weights: str  # dtypes of its constant inputs (the stored ones, before any DEQUANTIZE), "" if none
    outputs: str
    count: int
    macs: int  # multiply-adds per invoke (convolutions and fully connected layers; 0 for the rest)


@dataclass(frozen=True)
class OpRow:
    """One op's quantization error (a :class:`liteship.optimize.op_error.OpError`) beside what it computes."""

    error: object
    macs: int  # its multiply-adds per invoke
    family: str | None  # the kernel family it runs in, whose instructions were counted; None: not counted or unknown


@dataclass(frozen=True)
class Explained:
    variant: str
    model: str | None
    recipe: str | None
    size_bytes: int
    groups: tuple[OpGroup, ...]
    instructions: Instructions | None = None  # when counted
    p50_ms: float | None = None
    latency_backend: str | None = None
    op_errors: tuple[OpRow, ...] = ()  # worst first (lowest SNR), from :func:`with_op_errors`
    op_error_images: int = 0  # the calibration images they were measured on
    op_error_note: str | None = None  # why there are none
    fine_tuned: bool = False  # its weights were fine-tuned from the float model's: the op errors include that

    @property
    def by_family(self) -> dict:
        """Kernel family -> instructions per invoke; empty when not counted."""
        return dict(self.instructions.by_op) if self.instructions else {}

    @property
    def macs(self) -> int:
        return sum(g.macs for g in self.groups)

    def mac_share(self, macs: int) -> float | None:
        """``macs`` as a fraction of the variant's multiply-adds; None when it computes none."""
        return macs / self.macs if self.macs else None

    def instruction_share(self, n: int) -> float | None:
        """``n`` instructions per invoke as a fraction of the variant's count; None when it was not counted."""
        return n / self.instructions.per_invoke if self.instructions and self.instructions.counted else None

    def latency_ratio(self, other: "Explained") -> float | None:
        """This variant's p50 over ``other``'s (2.0: twice as slow); None unless both were timed."""
        return self.p50_ms / other.p50_ms if self.p50_ms is not None and other.p50_ms else None

    def op_counts(self) -> Counter:
        """How many ops of each type, whatever their dtypes."""
        counts: Counter = Counter()
        for g in self.groups:
            counts[g.op] += g.count
        return counts

    def count(self, op: str) -> int:
        return self.op_counts()[op]

    def float_compute(self) -> int:
        """Ops other than conversions that compute in float32."""
        return sum(g.count for g in self.groups if g.op not in CONVERSIONS and "float32" in g.outputs)

    def macs_by_precision(self) -> dict[str, int]:
        out: Counter = Counter()
        for g in self.groups:
            if g.macs:
                out["float" if "float" in g.inputs else "integer"] += g.macs
        return dict(out)


def _shape(tensor) -> list[int]:
    return [max(int(d), 1) for d in (tensor.shape if tensor.shape is not None else ())]


def _macs(name: str, sg, op) -> int:
    ins = [sg.tensors[i] for i in op.inputs if i >= 0]
    out = _shape(sg.tensors[op.outputs[0]]) if op.outputs is not None and len(op.outputs) else []
    if len(ins) < 2 or not out:
        return 0
    w = _shape(ins[1])
    if name == "CONV_2D" and len(w) == 4:
        return int(np.prod(out)) * w[1] * w[2] * w[3]
    if name == "DEPTHWISE_CONV_2D" and len(w) == 4:
        return int(np.prod(out)) * w[1] * w[2]
    if name == "FULLY_CONNECTED" and len(w) == 2:
        return int(np.prod(out)) * w[1]
    return 0


def _stored_dtype(model, sg, index: int, producers: dict) -> str | None:
    """The dtype a constant input is stored in (following a DEQUANTIZE back); None for an activation."""
    tensor = sg.tensors[index]
    if tensor.buffer < len(model.buffers) and model.buffers[tensor.buffer].data is not None \
            and len(model.buffers[tensor.buffer].data):
        return type_name(tensor.type)
    producer = producers.get(index)
    if producer is not None and op_name(model, producer) == "DEQUANTIZE":
        return _stored_dtype(model, sg, producer.inputs[0], producers)
    return None


def op_groups(data: bytes, name: str = "model") -> tuple[OpGroup, ...]:
    model = read_model(data, name)
    sg = model.subgraphs[0]
    producers = {o: op for op in sg.operators or [] for o in (op.outputs if op.outputs is not None else [])}
    groups: dict[tuple, list[int]] = {}
    for op in sg.operators or []:
        name_ = op_name(model, op)
        acts, consts = [], []
        for i in (op.inputs if op.inputs is not None else []):
            if i < 0:
                continue
            stored = _stored_dtype(model, sg, i, producers)
            (consts if stored is not None else acts).append(stored or type_name(sg.tensors[i].type))
        outs = [type_name(sg.tensors[i].type) for i in (op.outputs if op.outputs is not None else [])]
        if name_ == "DEQUANTIZE" and not acts:
            continue  # a weight stored in fp16 or int8, expanded once at load: shown as the weight's dtype
        key = (name_, ", ".join(dict.fromkeys(acts)), ", ".join(dict.fromkeys(consts)), ", ".join(dict.fromkeys(outs)))
        entry = groups.setdefault(key, [0, 0])
        entry[0] += 1
        entry[1] += _macs(name_, sg, op)
    return tuple(OpGroup(*key, count, macs) for key, (count, macs) in groups.items())


def explain(path: Path, records: list) -> Explained:
    """``records``: this variant's bench records (any backends)."""
    from liteship.files import read_regular

    data = read_regular(path, "Model file")  # a link to /proc/kmsg or a FIFO is refused, never waited on
    first = records[0]
    counted = next((r.instructions for r in records if r.instructions), None)
    timed = next((r for r in records if r.kind.times and r.status == "ok" and r.latency_ms), None)
    return Explained(first.variant, first.model, first.recipe, len(data), op_groups(data, str(path)),
                     counted,
                     timed.latency_ms.p50 if timed else None, timed.backend if timed else None)


def _op_differences(a: Explained, b: Explained) -> list[str]:
    out = [f"{op}: {a.count(op)} vs {b.count(op)} ({a.count(op) - b.count(op):+d}); each one converts a whole "
           "tensor between float and integer at run time" for op in CONVERSIONS if a.count(op) != b.count(op)]
    if a.float_compute() != b.float_compute():
        out.append(f"ops computing in float32: {a.float_compute()} vs {b.float_compute()}")
    ops_a, ops_b = a.op_counts(), b.op_counts()
    out += [f"{op}: {ops_a[op]} vs {ops_b[op]}" for op in sorted(set(ops_a) | set(ops_b))
            if op not in CONVERSIONS and ops_a[op] != ops_b[op]]
    sig_b = {(g.op, g.inputs, g.weights, g.outputs) for g in b.groups}
    out += [f"{g.count} {g.op} with inputs {g.inputs}, weights {g.weights or '–'}, outputs {g.outputs} only in the "
            "first" for g in a.groups
            if (g.op, g.inputs, g.weights, g.outputs) not in sig_b and g.op not in CONVERSIONS and g.op in ops_b]
    return out


def _family_differences(a: Explained, b: Explained) -> list[str]:
    if not (a.by_family and b.by_family):
        return []
    out = []
    for fam in sorted(set(a.by_family) | set(b.by_family), key=lambda f: -(a.by_family.get(f, 0))):
        x, y = a.by_family.get(fam, 0), b.by_family.get(fam, 0)
        if abs(x - y) >= 0.05 * max(a.instructions.per_invoke, 1):
            out.append(f"instructions in {fam}: {millions(x)} vs {millions(y)} ({millions(x - y, '+.3f')})")
    return out


def _constant_affine(e: Explained) -> int:
    """MUL and ADD ops with a constant operand: per-channel scale and shift."""
    return min(sum(g.count for g in e.groups if g.op == op and g.weights) for op in ("MUL", "ADD"))


def differences(a: Explained, b: Explained) -> list[str]:
    """What differs between ``a`` and ``b``, in words with the numbers (a's first)."""
    out = _op_differences(a, b)
    extra = _constant_affine(a) - _constant_affine(b)
    if extra > 0:
        out.insert(0, f"{extra} more MUL + ADD pairs with constant operands (a per-channel scale and shift after "
                      "the convolutions): the signature of BatchNormalization left unfolded, an elementwise pass "
                      "over each activation tensor that the other variant folded into its convolution weights")
    pa, pb = a.macs_by_precision(), b.macs_by_precision()
    if pa != pb:
        out.append("multiply-adds by precision: " + "; ".join(f"{k} {millions(pa.get(k, 0), '.2f')} vs "
                                                           f"{millions(pb.get(k, 0), '.2f')}"
                                                           for k in sorted(set(pa) | set(pb))))
    return out + _family_differences(a, b)


def op_macs(data: bytes) -> dict[int, int]:
    """Multiply-adds per invoke of each op of the main subgraph, by op index."""
    model = read_model(data)
    sg = model.subgraphs[0]
    return {i: _macs(op_name(model, op), sg, op) for i, op in enumerate(sg.operators or [])}


def family_of(op: str, by_family: dict) -> str | None:
    """The kernel family of ``by_family`` that runs ``op`` (the ops a family serves are named in its name)."""
    return next((f for f in by_family if f == f"builtin {op}" or re.search(rf"[(, ]{op}[,)]", f)), None)


def with_op_errors(e: Explained, run_dir: Path, path: Path, images: int = OP_ERROR_IMAGES) -> Explained:
    """``e`` with each op's output error against its model's float .tflite (``float/<model>/model.tflite``) on
    ``images`` calibration images, worst first; or, where it cannot be measured, ``op_error_note`` saying why."""
    from liteship.files import read_regular
    from liteship.optimize import calibration_images, op_errors, worst_first
    from liteship.rundir import FLOAT, MODEL_TFLITE

    data = read_regular(path, "Model file")
    try:
        float_tflite = read_regular(Path(run_dir) / FLOAT / str(e.model) / MODEL_TFLITE, "Float model file")
        pixels = calibration_images(run_dir, str(e.model), images)
        errors = worst_first(op_errors(float_tflite, data, pixels))
    except (LiteshipError, OSError) as exc:
        return replace(e, op_error_note=getattr(exc, "message", None) or str(exc))
    if not errors:
        return replace(e, op_error_note="no op's output in this variant has a tensor name of the float model's "
                                        "(a graph made from another Keras model, as QAT's): nothing to compare")
    macs = op_macs(data)
    rows = tuple(OpRow(err, macs.get(err.index, 0), family_of(err.op, e.by_family))
                 for err in errors)
    return replace(e, op_errors=rows, op_error_images=len(pixels), fine_tuned=fine_tuned(path, e.recipe))


def fine_tuned(path: Path, recipe: str | None) -> bool:
    """Whether the variant at ``path`` was fine-tuned from its float model: its record (``<ID>.json`` beside it) holds
    a fine-tuning history, or its recipe declares a fine-tuning (qat_int8, pqat_int8, prune_int8, cluster_int8)."""
    import json

    from liteship.optimize import get_recipe

    try:
        record = json.loads(path.with_suffix(".json").read_text())
    except (OSError, ValueError):
        record = {}
    details = record.get("details") if isinstance(record, dict) else None
    if isinstance(details, dict) and details.get("history"):
        return True
    try:
        spec = get_recipe(str(recipe))
        return spec.costs is not None and bool(spec.costs.fine_tuning(spec.config_cls()))
    except (LiteshipError, TypeError, ValueError):
        return False
