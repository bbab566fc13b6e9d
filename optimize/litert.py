"""Run a .tflite on images fed per the input contract, in batches (LiteRT interpreter)."""

from __future__ import annotations

import numpy as np

from trainer.contract import feed


def make_interpreter(model: bytes | str, num_threads: int | None = None, op_resolver=None):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kwargs = {"num_threads": num_threads}
    if op_resolver is not None:
        kwargs["experimental_op_resolver_type"] = getattr(OpResolverType, op_resolver) \
            if isinstance(op_resolver, str) else op_resolver
    if isinstance(model, (bytes, bytearray)):
        return Interpreter(model_content=bytes(model), **kwargs)
    return Interpreter(model_path=str(model), **kwargs)


def dequantize(values: np.ndarray, detail: dict) -> np.ndarray:
    scale, zp = detail.get("quantization", (0.0, 0))
    if values.dtype in (np.uint8, np.int8, np.int16) and scale:
        return (values.astype(np.float32) - zp) * np.float32(scale)
    return values.astype(np.float32, copy=False)


def predict(model: bytes | str, pixels: np.ndarray, batch: int = 64, num_threads: int | None = None,
            op_resolver=None, interpreter=None) -> np.ndarray:
    """Probabilities (N, classes) for uint8 pixels (N, S, S, 3), batch by batch.

    The input tensor is resized to ``batch`` once; the last batch is padded.
    A model whose graph pins the batch size falls back to one image a call.
    """
    interp = interpreter or make_interpreter(model, num_threads, op_resolver)
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    scale, zp = inp.get("quantization", (0.0, 0))
    x = feed(pixels, inp["dtype"], scale, zp)
    n = len(x)
    batch = max(1, min(batch, n))
    try:
        interp.resize_tensor_input(inp["index"], [batch, *x.shape[1:]], strict=False)
        interp.allocate_tensors()
    except (RuntimeError, ValueError):
        batch = 1
        interp.resize_tensor_input(inp["index"], [1, *x.shape[1:]], strict=False)
        interp.allocate_tensors()
    results = []
    for start in range(0, n, batch):
        chunk = x[start:start + batch]
        if len(chunk) < batch:
            chunk = np.concatenate([chunk, np.zeros((batch - len(chunk), *chunk.shape[1:]), chunk.dtype)])
        interp.set_tensor(inp["index"], chunk)
        interp.invoke()
        results.append(dequantize(interp.get_tensor(out["index"]), out)[: min(batch, n - start)])
    return np.concatenate(results) if results else np.zeros((0, out["shape"][-1]), np.float32)
