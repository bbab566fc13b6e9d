"""Backends: how a variant is run here, standing in for what the phone will do (DESIGN.md).

Run backends give a :class:`Session` (set input, invoke, read output).
Coverage backends (``gpu``, ``coreml``) only analyse which ops a delegate
would take. A backend that cannot run a model says why; it never falls back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimize.litert import InterpreterSession, Session, dequantize

from .system import litert_version


@dataclass(frozen=True)
class Backend:
    name: str
    kind: str  # "run" or "coverage"
    summary: str


BACKENDS = {b.name: b for b in (
    Backend("xnnpack", "run", "LiteRT Interpreter, default op resolver (XNNPACK): the CPU path of TensorFlowLiteSwift"),
    Backend("xnnpack-cm", "run", "LiteRT CompiledModel on CPU (XNNPACK): the newer API path"),
    Backend("builtin", "run", "LiteRT Interpreter, builtin kernels without the XNNPACK delegate"),
    Backend("reference", "run", "LiteRT Interpreter, reference kernels: slow canonical numerics"),
    Backend("fp16", "run", "LiteRT CompiledModel, XNNPACK forced to fp16 (emulates GPU / Core ML numerics)"),
    Backend("gpu", "coverage", "GPU delegate op coverage from LiteRT's model analyzer"),
    Backend("coreml", "coverage", "Core ML delegate op coverage from its documented op list (float models)"),
)}
DEFAULT_BACKENDS = ("xnnpack", "xnnpack-cm", "builtin", "reference", "fp16", "gpu", "coreml")
RESOLVERS = {"xnnpack": "AUTO", "builtin": "BUILTIN_WITHOUT_DEFAULT_DELEGATES", "reference": "BUILTIN_REF"}
XNNPACK_FORCE_FP16 = 4


class CompiledSession(Session):
    def __init__(self, path: str, threads: int, xnnpack_flags: int | None):
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
        self.resize(1)

    def resize(self, batch: int) -> None:
        if getattr(self, "_batch", None) == batch:
            return
        if [batch, *self._shape] != list(self.input_detail["shape"]):
            # Resizing to the model's own shape would still switch LiteRT to its dynamic-shape path.
            self.model.resize_input_tensor(0, [batch, *self._shape], strict=False)
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


def open_session(backend: str, path: str, threads: int) -> Session:
    if backend in RESOLVERS:
        session = InterpreterSession(path, threads, RESOLVERS[backend])
        session.runtime = f"ai-edge-litert {litert_version()} Interpreter ({RESOLVERS[backend]})"
        return session
    if backend == "xnnpack-cm":
        return CompiledSession(path, threads, None)
    if backend == "fp16":
        return CompiledSession(path, threads, XNNPACK_FORCE_FP16)
    raise ValueError(f"{backend} is not a run backend")
