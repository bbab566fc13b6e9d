"""The op versions of a quantized .tflite, set from its tensors' types, where LiteRT Quantizer leaves the float model's.

An op's version in a .tflite names the kernel variant it needs: an older runtime picks its kernel by it, and
liteship's op-version table (``bench.compat``) reads from it the first release that runs the op. The converter sets
each version from the op's tensor types and options (LiteRT's ``tools/versioning/op_version.cc``,
``GetBuiltinOperatorVersion``, applied by ``UpdateOpVersion``: an op code's version is raised to the highest its ops
need, never lowered). LiteRT Quantizer 0.11.0 does not: its file keeps the float model's versions. Measured on the
digits MobileNetV2 0.35 at 64 px: its dynamic-range file says FULLY_CONNECTED version 1 where the converter's says 12
(per-channel hybrid, from 2.17), so TFLite 2.14 loads it and answers wrongly (top-1 agreement with LiteRT 0.095),
where it refuses the converter's.

The rules below are those of ``op_version.cc`` for the ops a CNN classifier is made of, written out for the tensor
types a quantized graph gives them; checked in the tests against the versions the converter writes for the same
graphs (int8, dynamic range) and, for 16x8 (whose files the converter versions as int8), against a table read from
``op_version.cc`` by hand. An op of another code keeps its version and is named in the result.
"""

from __future__ import annotations

from dataclasses import dataclass

from liteship.tflite_file import op_name, read_model, type_name, write_model


@dataclass(frozen=True)
class Signature:
    """What an op's version depends on: its tensors' types (``""`` for none) and a few facts of its tensors."""

    a: str  # the first input's type: "float32", "int8", "int16", ...
    w: str  # the second input's type (a weight, or the second operand)
    o: str  # the first output's type
    inputs: int  # how many inputs it lists
    per_channel: bool  # its weights (second input; the input of QUANTIZE / DEQUANTIZE) carry a scale per channel
    quantized: bool  # its first input carries a scale
    rescale: float  # input scale x weight scale / output scale (MUL), 0 when one is missing
    options: object  # its builtin options, or None

    def opt(self, name: str, default=0):
        return getattr(self.options, name, default) if self.options is not None else default

    def types(self) -> tuple[str, str, str]:
        return self.a, self.w, self.o


def _conv_hybrid(s: Signature) -> int | None:
    return (5 if s.per_channel else 2) if s.types() == ("float32", "int8", "float32") else None


def _dw_hybrid(s: Signature) -> int | None:
    return (6 if s.per_channel else 4) if s.types() == ("float32", "int8", "float32") else None


def _fc_hybrid(s: Signature) -> int | None:
    return (9 if s.opt("asymmetricQuantizeInputs") else 3) if s.types() == ("float32", "int8", "float32") else None


def _first(*rules):
    """The version of the first rule that holds (a rule: (predicate, version), or a function giving a version or
    None), else 1."""
    def version(s: Signature) -> int:
        for rule in rules:
            found = rule(s) if callable(rule) else (rule[1] if rule[0](s) else None)
            if found is not None:
                return found
        return 1
    return version


def _by_input(**versions):
    """Version by the first input's type alone (int16=3, int8=2, ...), else 1."""
    return _first(*[(lambda s, t=t: s.a == t, v) for t, v in versions.items()])


RULES = {
    "CONV_2D": _first((lambda s: s.types() == ("int16", "int8", "int16") and s.opt("quantizedBiasType"), 8),
                      (lambda s: s.types() == ("int8", "int8", "int8"), 3),
                      (lambda s: s.types() == ("int8", "int4", "int8"), 7), _conv_hybrid),
    "DEPTHWISE_CONV_2D": _first(_dw_hybrid, (lambda s: s.types() == ("int8", "int8", "int8"), 3),
                                (lambda s: s.types() == ("int8", "int4", "int8"), 7),
                                (lambda s: s.opt("dilationWFactor", 1) != 1 or s.opt("dilationHFactor", 1) != 1, 2)),
    "FULLY_CONNECTED": _first((lambda s: s.w == "int2", 14), (lambda s: s.types() == ("int16", "int4", "int16"), 13),
                              (lambda s: s.types() == ("float32", "int8", "float32") and s.per_channel, 12),
                              (lambda s: s.types() == ("int16", "int8", "int16") and s.opt("quantizedBiasType"), 11),
                              (lambda s: s.types() == ("int16", "int16", "int16"), 7), (lambda s: s.inputs == 2, 6),
                              (lambda s: s.opt("keepNumDims"), 5), (lambda s: s.types() == ("int8", "int8", "int8"), 4),
                              (lambda s: s.types() == ("int8", "int4", "int8"), 10), _fc_hybrid,
                              (lambda s: s.opt("weightsFormat") == 1, 2)),
    "ADD": _first((lambda s: s.a == "float16", 6), (lambda s: s.a == "int16" and not s.quantized, 5),
                  (lambda s: s.a == "int64", 4),
                  (lambda s: (s.a, s.o) == ("int16", "int16") and s.options is not None
                   and not s.opt("potScaleInt16", True), 3), (lambda s: s.a == "int8", 2)),
    "SUB": _first((lambda s: (s.a, s.o) == ("int16", "int16") and s.options is not None
                   and not s.opt("potScaleInt16", True), 5), (lambda s: s.a == "int64", 4),
                  (lambda s: s.a == "int8", 2)),
    "MUL": _first((lambda s: s.a == "float16", 8), (lambda s: (s.a == "int16" and not s.quantized) or s.a == "uint32", 7),
                  (lambda s: s.a == "complex64", 6), (lambda s: s.a == "int64", 5), (lambda s: s.a == "int16", 4),
                  (lambda s: s.rescale >= 1.0, 3), (lambda s: s.a == "int8", 2)),
    "MAX_POOL_2D": _first((lambda s: (s.a, s.o) == ("int16", "int16"), 3), (lambda s: s.a == "int8", 2)),
    "AVERAGE_POOL_2D": _first((lambda s: (s.a, s.o) == ("int16", "int16"), 3), (lambda s: s.a == "int8", 2)),
    "LOGISTIC": _first((lambda s: (s.a, s.o) == ("int16", "int16"), 3), (lambda s: s.a == "int8", 2)),
    "TANH": _first((lambda s: (s.a, s.o) == ("int16", "int16"), 3), (lambda s: s.a == "int8", 2)),
    "SOFTMAX": _by_input(float16=4, int16=3, int8=2),
    "MEAN": _by_input(int16=3, int8=2),
    "RELU6": _by_input(int16=3, int8=2),
    "RELU": _by_input(int16=3, int8=2, uint8=2),
    "CONCATENATION": _by_input(float16=6, int4=5, uint32=4, int16=3, int8=2),
    "PAD": _first((lambda s: s.a == "bool", 5), (lambda s: s.a == "int16", 3), (lambda s: s.a == "int8", 2)),
    "QUANTIZE": _first((lambda s: "uint4" in (s.a, s.o), 5), (lambda s: "int4" in (s.a, s.o), 4),
                       (lambda s: s.per_channel, 3), (lambda s: s.o == "int16", 2)),
    "DEQUANTIZE": _first((lambda s: s.a == "uint4", 8), (lambda s: s.a == "int2", 7), (lambda s: s.a == "int4", 6),
                         (lambda s: s.a in ("int16", "float16"), 3), (lambda s: s.a == "int8" and s.per_channel, 5),
                         (lambda s: s.a == "int8", 2)),
    "RESHAPE": _first(),
}
RULES["PADV2"] = RULES["PAD"]


def _scales(tensor) -> list[float]:
    q = tensor.quantization
    return [float(x) for x in q.scale] if q is not None and q.scale is not None else []


def signature(model, op) -> Signature:
    """The facts of ``op`` (in ``model``'s main subgraph) its version depends on."""
    sg = model.subgraphs[0]
    ins = [sg.tensors[i] if i >= 0 else None for i in op.inputs]
    outs = [sg.tensors[i] for i in op.outputs]

    def kind(t) -> str:
        return type_name(t.type) if t is not None else ""

    # The tensor whose per-channel scales decide: the weights, or what QUANTIZE / DEQUANTIZE convert.
    decides = outs[0] if op_name(model, op) == "QUANTIZE" else (ins[0] if op_name(model, op) == "DEQUANTIZE" else
                                                                (ins[1] if len(ins) > 1 else None))
    first, second, out = (_scales(t) if t is not None else [] for t in (ins[0] if ins else None,
                                                                        ins[1] if len(ins) > 1 else None, outs[0]))
    rescale = first[0] * second[0] / out[0] if first and second and out and out[0] else 0.0
    return Signature(kind(ins[0] if ins else None), kind(ins[1] if len(ins) > 1 else None), kind(outs[0]),
                     len(op.inputs), decides is not None and len(_scales(decides)) > 1, bool(first), rescale,
                     op.builtinOptions)


def uncovered(data: bytes) -> list[str]:
    """The op codes of ``data``'s main graph no rule here covers: their versions are as the quantizer left them."""
    model = read_model(data)
    return sorted({op_name(model, op) for op in model.subgraphs[0].operators or []} - set(RULES))


def set_versions(data: bytes) -> bytes:
    """``data`` with each op code's version raised to the highest its ops need (never lowered, as the converter
    does); an op code no rule covers keeps its version (:func:`uncovered` names them)."""
    model = read_model(data)
    needed: dict[int, int] = {}
    for op in model.subgraphs[0].operators or []:
        name = op_name(model, op)
        if name in RULES:
            needed[op.opcodeIndex] = max(needed.get(op.opcodeIndex, 1), RULES[name](signature(model, op)))
    for index, version in needed.items():
        code = model.operatorCodes[index]
        code.version = max(code.version, version)
    return write_model(model)
