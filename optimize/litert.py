"""Running a .tflite with LiteRT on images fed per the input contract, in batches.

:class:`Session` is the one batching loop; :class:`InterpreterSession` runs
the classic ``Interpreter`` (what TensorFlowLiteSwift uses). bench adds the
CompiledModel path and the backends; optimize uses :func:`predict` to check
agreement while it builds a variant.
"""

from __future__ import annotations

import numpy as np

from trainer.contract import feed

BATCH_BYTES = 8_000_000


def dequantize(values: np.ndarray, detail: dict) -> np.ndarray:
    scale, zp = detail.get("quantization", (0.0, 0))
    if values.dtype in (np.uint8, np.int8, np.int16) and scale:
        return (values.astype(np.float32) - zp) * np.float32(scale)
    return values.astype(np.float32, copy=False)


class Session:
    """One loaded model; batch size set with :meth:`resize`."""

    runtime: str
    input_detail: dict

    def resize(self, batch: int) -> None: ...
    def set_input(self, x: np.ndarray) -> None: ...
    def invoke(self) -> None: ...
    def output(self) -> np.ndarray: ...

    def feed(self, pixels: np.ndarray) -> np.ndarray:
        d = self.input_detail
        return feed(pixels, d["dtype"], *d.get("quantization", (0.0, 0)))

    def predict(self, pixels: np.ndarray, batch: int | None = None) -> np.ndarray:
        """Probabilities for uint8 pixels, in batches (the last one padded).

        The input tensor is resized once to the batch (by default as many
        images as fit in about 8 MB of input); the session keeps that size.
        A model whose graph pins the batch size falls back to one image a call.
        """
        x = self.feed(pixels)
        n = len(x)
        if batch is None:
            batch = max(16, BATCH_BYTES // max(1, x[0].nbytes)) if n else 1
        batch = max(1, min(batch, n))
        try:
            self.resize(batch)
        except (RuntimeError, ValueError):
            batch = 1
            self.resize(1)
        out = []
        for start in range(0, n, batch):
            chunk = x[start:start + batch]
            if len(chunk) < batch:
                chunk = np.concatenate([chunk, np.zeros((batch - len(chunk), *chunk.shape[1:]), chunk.dtype)])
            self.set_input(chunk)
            self.invoke()
            out.append(self.output()[: min(batch, n - start)])
        return np.concatenate(out)


class InterpreterSession(Session):
    """The LiteRT ``Interpreter`` with an op resolver (AUTO is the default, XNNPACK)."""

    def __init__(self, model: bytes | str, threads: int | None = None, resolver: str = "AUTO"):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        kwargs = {"num_threads": threads, "experimental_op_resolver_type": getattr(OpResolverType, resolver)}
        self.interp = Interpreter(model_content=bytes(model), **kwargs) if isinstance(model, (bytes, bytearray)) \
            else Interpreter(model_path=str(model), **kwargs)
        self.runtime = f"ai-edge-litert Interpreter ({resolver})"
        self.input_detail = self.interp.get_input_details()[0]
        self.output_detail = self.interp.get_output_details()[0]
        self._shape = list(self.input_detail["shape"][1:])
        self.resize(1)
        self.invoke = self.interp.invoke  # bound once: the timed loop calls it directly

    def resize(self, batch: int) -> None:
        if getattr(self, "_batch", None) == batch:
            return
        self.interp.resize_tensor_input(self.input_detail["index"], [batch, *self._shape], strict=False)
        self.interp.allocate_tensors()
        self._batch = batch

    def set_input(self, x: np.ndarray) -> None:
        self.interp.set_tensor(self.input_detail["index"], x)

    def output(self) -> np.ndarray:
        return dequantize(self.interp.get_tensor(self.output_detail["index"]), self.output_detail)


def predict(model: bytes | str, pixels: np.ndarray, batch: int | None = None) -> np.ndarray:
    """Probabilities (N, classes) for uint8 pixels (N, S, S, 3) on the default (XNNPACK) interpreter."""
    return InterpreterSession(model).predict(pixels, batch)
