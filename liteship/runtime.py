"""Running a .tflite with LiteRT: one session type per API path.

:class:`Session` is the one batching loop over images fed per the input
contract. :class:`InterpreterSession` runs the classic ``Interpreter`` with an
op resolver; :class:`CompiledSession` runs the newer ``CompiledModel``.
Which backend opens which session is the backend registry's
(:mod:`liteship.bench.backends`). A session that cannot run a model says why;
nothing falls back to another.
"""

from __future__ import annotations

import numpy as np

from liteship.contract import feed

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

    def predict(self, pixels, batch: int | None = None) -> np.ndarray:
        """Probabilities for uint8 pixels (an array, or rows of the image cache), in batches (the last one padded).

        The input tensor is resized once to the batch (by default as many
        images as fit in about 8 MB of input); the session keeps that size.
        A model whose graph pins the batch size falls back to one image a call.
        Each batch is read and fed on its own, so only a batch's pixels are held.
        """
        n = len(pixels)
        if batch is None:
            batch = max(16, BATCH_BYTES // max(1, self.feed(np.asarray(pixels[:1]))[0].nbytes)) if n else 1
        batch = max(1, min(batch, n))
        try:
            self.resize(batch)
        except (RuntimeError, ValueError):
            batch = 1
            self.resize(1)
        out = []
        for start in range(0, n, batch):
            chunk = self.feed(np.asarray(pixels[start:start + batch]))
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


def predict(model: bytes | str, pixels, batch: int | None = None) -> np.ndarray:
    """Probabilities (N, classes) for uint8 pixels (N, S, S, 3; an array or rows of the image cache) on the default
    (XNNPACK) interpreter."""
    return InterpreterSession(model).predict(pixels, batch)


class CompiledSession(Session):
    def __init__(self, path: str, threads: int, xnnpack_flags: int | None):
        from liteship.versions import litert_version
        from ai_edge_litert.compiled_model import CompiledModel
        from ai_edge_litert.cpu_options import CpuOptions
        from ai_edge_litert.hardware_accelerator import HardwareAccelerator
        from ai_edge_litert.interpreter import Interpreter
        from ai_edge_litert.options import Options

        options = Options(hardware_accelerators=HardwareAccelerator.CPU,
                          cpu_options=CpuOptions(num_threads=threads, xnnpack_flags=xnnpack_flags))
        self.model = CompiledModel.from_file(str(path), options=options)
        flags = "" if xnnpack_flags is None else f", xnnpack_flags={xnnpack_flags}"
        self.runtime = f"ai-edge-litert {litert_version()} CompiledModel (CPU{flags})"
        # Quantization parameters are not in the CompiledModel's details: read them once.
        probe = Interpreter(model_path=str(path))
        self.input_detail = probe.get_input_details()[0]
        self.output_detail = probe.get_output_details()[0]
        del probe
        self._shape = list(self.input_detail["shape"][1:])
        self._out_dtype = self.output_detail["dtype"]
        self._model_batch = int(self.input_detail["shape"][0])  # the batch the CompiledModel itself has now
        self.resize(1)

    def resize(self, batch: int) -> None:
        if getattr(self, "_batch", None) == batch:
            return
        if batch != self._model_batch:
            # resize_input_tensor changes the CompiledModel for good, so it is called whenever the
            # model's batch differs; never for the file's own shape while the model still has it
            # (that would switch LiteRT to its dynamic-shape path).
            self.model.resize_input_tensor(0, [batch, *self._shape], strict=False)
            self._model_batch = batch
        self._batch = batch
        self.inputs = self.model.create_input_buffers(0)
        self.outputs = self.model.create_output_buffers(0)
        self._out_shape = self.outputs[0].get_tensor_details()["shape"]
        self._run = self.model.run_by_index
        self._args = (0, self.inputs, self.outputs)

    def set_input(self, x: np.ndarray) -> None:
        self.inputs[0].write(x)

    def invoke(self) -> None:
        self._run(*self._args)

    def output(self) -> np.ndarray:
        values = self.outputs[0].read(int(np.prod(self._out_shape)), self._out_dtype).reshape(self._out_shape)
        return dequantize(values, self.output_detail)
