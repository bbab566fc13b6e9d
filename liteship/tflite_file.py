""".tflite flatbuffers: read, inspect (ops, I/O, weight sparsity) and patch, without TensorFlow.

Uses the schema module that ai-edge-litert ships, so bench can inspect a
model in a light install.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from liteship.errors import LiteshipError

_OP_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
_TYPE_NAMES = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
_NP_TYPES = {
    schema.TensorType.FLOAT32: np.float32, schema.TensorType.FLOAT16: np.float16,
    schema.TensorType.INT32: np.int32, schema.TensorType.UINT8: np.uint8, schema.TensorType.INT64: np.int64,
    schema.TensorType.INT16: np.int16, schema.TensorType.INT8: np.int8, schema.TensorType.FLOAT64: np.float64,
}
_INT4 = schema.TensorType.INT4
WEIGHT_OPS = {"CONV_2D": 1, "DEPTHWISE_CONV_2D": 1, "FULLY_CONNECTED": 1, "TRANSPOSE_CONV": 1}


def read_model(data: bytes, name: str = "model") -> "schema.ModelT":
    """Parse a .tflite; raise a clear error for anything that is not one."""
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise LiteshipError(f"{name} is not a .tflite model",
                            "a TFLite flatbuffer carries the identifier 'TFL3' at byte 4",
                            "pass a file written by the TFLite converter")
    try:
        model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
        _verify(model)
    except Exception as exc:  # a damaged flatbuffer fails in many ways
        raise LiteshipError(f"{name} is a damaged .tflite model ({type(exc).__name__}: {exc})"[:400],
                            "its flatbuffer does not hold a consistent graph", "re-export the model") from exc
    return model


_ITEM_BYTES = {schema.TensorType.FLOAT32: 4, schema.TensorType.FLOAT16: 2, schema.TensorType.INT32: 4,
               schema.TensorType.UINT8: 1, schema.TensorType.INT64: 8, schema.TensorType.INT16: 2,
               schema.TensorType.INT8: 1, schema.TensorType.FLOAT64: 8, schema.TensorType.BOOL: 1}


def _verify(model) -> None:
    """Every index in range, every constant buffer the size its shape says: what the parser does not check."""
    if not model.subgraphs:
        raise ValueError("no subgraphs")
    n_buffers = len(model.buffers or [])
    for md in model.metadata or []:
        if not 0 <= md.buffer < n_buffers:
            raise ValueError(f"metadata buffer index {md.buffer} out of range")
    for sg in model.subgraphs:
        _verify_tensors(model, sg.tensors or [], n_buffers)
        _verify_graph(sg, len(sg.tensors or []), len(model.operatorCodes or []))


def _verify_tensors(model, tensors, n_buffers: int) -> None:
    for t in tensors:
        if not 0 <= t.buffer < max(n_buffers, 1):
            raise ValueError(f"tensor buffer index {t.buffer} out of range")
        shape = [] if t.shape is None else list(t.shape)
        if any(d < -1 for d in shape):
            raise ValueError(f"negative dimension in {shape}")
        data = model.buffers[t.buffer].data if n_buffers else None
        if data is not None and len(data) and t.type in _ITEM_BYTES and -1 not in shape and t.sparsity is None:
            if len(data) != int(np.prod(shape, dtype=np.int64)) * _ITEM_BYTES[t.type]:
                raise ValueError(f"buffer {t.buffer} holds {len(data)} bytes, not what shape {shape} needs")


def _indices(values) -> list[int]:
    return list(values) if values is not None else []


def _verify_graph(sg, n_tensors: int, n_codes: int) -> None:
    for idx in _indices(sg.inputs) + _indices(sg.outputs):
        if not 0 <= idx < n_tensors:
            raise ValueError(f"graph input/output tensor {idx} out of range")
    for op in sg.operators or []:
        if not 0 <= op.opcodeIndex < n_codes:
            raise ValueError(f"operator code index {op.opcodeIndex} out of range")
        for idx in _indices(op.inputs) + _indices(op.outputs):
            if not -1 <= idx < n_tensors:
                raise ValueError(f"operator tensor index {idx} out of range")


def write_model(model: "schema.ModelT") -> bytes:
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def type_name(tensor_type: int) -> str:
    """"float32", "int8", ... for a schema TensorType."""
    return _TYPE_NAMES.get(tensor_type, str(tensor_type))


def op_name(model, op) -> str:
    code = model.operatorCodes[op.opcodeIndex]
    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
    if builtin == schema.BuiltinOperator.CUSTOM:
        return f"CUSTOM:{(code.customCode or b'').decode()}"
    return _OP_NAMES.get(builtin, f"UNKNOWN_{builtin}")


def ops(model) -> list[tuple[str, int]]:
    """(name, version) of every operator in the main subgraph, in order."""
    sg = model.subgraphs[0]
    return [(op_name(model, op), model.operatorCodes[op.opcodeIndex].version) for op in sg.operators or []]


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str
    shape: tuple[int, ...]
    scale: tuple[float, ...]
    zero_point: tuple[int, ...]


def _spec(tensor) -> TensorSpec:
    q = tensor.quantization
    scale = tuple(float(s) for s in (q.scale if q is not None and q.scale is not None else ()))
    zp = tuple(int(z) for z in (q.zeroPoint if q is not None and q.zeroPoint is not None else ()))
    name = tensor.name.decode("utf-8", "replace") if isinstance(tensor.name, bytes) else str(tensor.name)
    return TensorSpec(name, _TYPE_NAMES.get(tensor.type, str(tensor.type)),
                      tuple(int(d) for d in (tensor.shape if tensor.shape is not None else ())), scale, zp)


def io_specs(model) -> tuple[list[TensorSpec], list[TensorSpec]]:
    sg = model.subgraphs[0]
    return [_spec(sg.tensors[i]) for i in sg.inputs], [_spec(sg.tensors[i]) for i in sg.outputs]


def unpack_int4(data: bytes, count: int) -> np.ndarray:
    """``count`` signed 4-bit values packed two a byte, the first value in the low nibble (TFLite's packing, what
    LiteRT Quantizer's ``transformation_utils.pack_data`` writes: 0, 1, 2 become bytes 0x10, 0x02), as int8."""
    raw = np.frombuffer(bytes(data), dtype=np.uint8)
    nibbles = np.stack([raw & 0x0F, raw >> 4], axis=1).ravel()[:count].astype(np.int8)
    return np.where(nibbles > 7, nibbles - 16, nibbles).astype(np.int8)


def _values(tensor, data) -> np.ndarray | None:
    if tensor.type == _INT4:
        return unpack_int4(data, int(np.prod(tensor.shape if tensor.shape is not None else (), dtype=np.int64)))
    dtype = _NP_TYPES.get(tensor.type)
    return None if dtype is None else np.frombuffer(bytes(data), dtype=dtype)


def _const(model, sg, tensor_index: int, producers: dict) -> np.ndarray | None:
    """A constant tensor's values, following a DEQUANTIZE (fp16 weights) back to its buffer."""
    tensor = sg.tensors[tensor_index]
    data = model.buffers[tensor.buffer].data if tensor.buffer < len(model.buffers) else None
    if data is not None and len(data):
        values = _values(tensor, data)
        if values is None:
            return None
        q = tensor.quantization
        if q is not None and q.zeroPoint is not None and len(q.zeroPoint) and np.any(np.asarray(q.zeroPoint)):
            zp = np.asarray(q.zeroPoint, dtype=np.int64)
            dim = q.quantizedDimension if len(zp) > 1 else None
            shaped = values.reshape(tuple(tensor.shape)).astype(np.int64)
            if dim is not None:
                shape = [1] * shaped.ndim
                shape[dim] = -1
                zp = zp.reshape(shape)
            return (shaped - zp).ravel()
        return values
    producer = producers.get(tensor_index)
    if producer is not None and op_name(model, producer) == "DEQUANTIZE":
        return _const(model, sg, producer.inputs[0], producers)
    return None


def param_count(model) -> int:
    """Elements of every constant tensor of the main graph (weights, biases, scales): what the file holds."""
    total = 0
    for t in model.subgraphs[0].tensors:
        buf = model.buffers[t.buffer].data if t.buffer < len(model.buffers) else None
        if buf is not None and len(buf) and t.shape is not None and len(t.shape):
            total += int(np.prod(t.shape, dtype=np.int64))
    return total


def weight_sparsity(model) -> dict:
    """Share of exact zeros in the weights of conv, depthwise and dense ops, from the buffers."""
    sg = model.subgraphs[0]
    producers = {int(o): op for op in sg.operators or [] for o in op.outputs}
    zeros = total = 0
    per_tensor, by_op = {}, {}
    for op in sg.operators or []:
        name = op_name(model, op)
        if name not in WEIGHT_OPS or len(op.inputs) <= WEIGHT_OPS[name]:
            continue
        idx = int(op.inputs[WEIGHT_OPS[name]])
        values = _const(model, sg, idx, producers)
        if values is None:
            continue
        z = int(np.count_nonzero(values == 0))
        zeros, total = zeros + z, total + values.size
        oz, ot = by_op.get(name, (0, 0))
        by_op[name] = (oz + z, ot + values.size)
        per_tensor[_spec(sg.tensors[idx]).name] = round(z / max(values.size, 1), 4)
    return {"sparsity": round(zeros / total, 4) if total else 0.0, "weights": int(total), "zeros": int(zeros),
            "by_op": {k: round(z / t, 4) for k, (z, t) in by_op.items()}, "per_tensor": per_tensor}


def set_input_quantization(data: bytes, scale: float, zero_point: int, dtype: str | None = None) -> bytes:
    """Give the quantized input tensor exactly (scale, zero_point).

    The converter derives the input's scale from the calibration images'
    range, but the app feeds raw camera bytes that always mean value / 255.
    The converter puts a QUANTIZE op right after a uint8/int8 input, which
    requantizes from the input's parameters to the calibrated ones, so
    fixing the input's parameters keeps the graph's arithmetic exact.
    ``dtype`` ("int8" or "uint8") also changes the input's type: QUANTIZE
    requantizes from either.
    """
    model = read_model(data)
    sg = model.subgraphs[0]
    consumers = [op for op in sg.operators for i in sg.inputs if i in list(op.inputs)]
    # QUANTIZE requantizes from the input's parameters; DEQUANTIZE (a first layer kept in
    # float) turns them into exactly bytes / 255. Any other consumer would read the raw
    # integers with the calibrated scale baked in, so the input cannot be changed.
    found = sorted({op_name(model, op) for op in consumers})
    if not consumers or not set(found) <= {"QUANTIZE", "DEQUANTIZE"}:
        raise ValueError(f"the input feeds {found}, not QUANTIZE or DEQUANTIZE; cannot fix its scale")
    for i in sg.inputs:
        q = sg.tensors[i].quantization
        q.scale = np.asarray([scale], dtype=np.float32)
        q.zeroPoint = np.asarray([zero_point], dtype=np.int64)
        if dtype is not None:
            sg.tensors[i].type = getattr(schema.TensorType, dtype.upper())
    return write_model(model)


def activation_bytes(model) -> int:
    """Bytes of every non-constant tensor at its stored shape: an upper bound of the arena.

    LiteRT's memory planner reuses memory between tensors whose lifetimes do
    not overlap, so the real arena is smaller; its exact size is not exposed
    by the Python API.
    """
    sg = model.subgraphs[0]
    total = 0
    for t in sg.tensors:
        data = model.buffers[t.buffer].data if t.buffer < len(model.buffers) else None
        if data is not None and len(data):
            continue
        shape = [max(int(d), 1) for d in (t.shape if t.shape is not None else [])]
        total += int(np.prod(shape, dtype=np.int64)) * _ITEM_BYTES.get(t.type, 4)
    return total
