"""LiteRT on this machine's x86 CPU: the Interpreter with each op resolver, and the CompiledModel path."""

from __future__ import annotations

from functools import partial

from liteship.bench.backends import Backend, Kind

SOURCE = "wall-clock on this x86 CPU (LiteRT's Python API)"
XNNPACK_FORCE_FP16 = 4  # TfLiteXNNPackDelegateOptions flag: run every op in half precision


def _interpreter(resolver: str, path: str, threads: int):
    from liteship.runtime import InterpreterSession
    from liteship.versions import litert_version

    session = InterpreterSession(path, threads, resolver)
    session.runtime = f"ai-edge-litert {litert_version()} Interpreter ({resolver})"
    return session


def _compiled(flags: int | None, path: str, threads: int):
    from liteship.runtime import CompiledSession

    return CompiledSession(path, threads, flags)


BACKENDS = (
    Backend("xnnpack", Kind.RUN, "LiteRT Interpreter, default op resolver: XNNPACK kernels (TensorFlowLiteSwift with "
                              "isXNNPackEnabled), on this machine's x86 CPU", rank=0, reference=True, in_default=True,
            open=partial(_interpreter, "AUTO"), measures="latency", source=SOURCE),
    Backend("xnnpack-cm", Kind.RUN, "LiteRT CompiledModel on CPU (XNNPACK): the newer API path", rank=1,
            open=partial(_compiled, None), measures="latency", source=SOURCE),
    Backend("builtin", Kind.RUN, "LiteRT Interpreter, builtin kernels without the XNNPACK delegate", rank=2,
            open=partial(_interpreter, "BUILTIN_WITHOUT_DEFAULT_DELEGATES"), measures="latency",
            source=SOURCE),
    Backend("reference", Kind.RUN, "LiteRT Interpreter, reference kernels: slow canonical numerics", rank=3,
            open=partial(_interpreter, "BUILTIN_REF"), measures="latency", source=SOURCE),
    Backend("fp16", Kind.RUN, "LiteRT CompiledModel, XNNPACK forced to fp16 (emulates GPU / Core ML numerics)", rank=4,
            emulated_time="half precision is emulated on a CPU without fp16 arithmetic, so the time says nothing of "
                          "a GPU's or the Neural Engine's; only the numerics are the point here",
            in_default=True, open=partial(_compiled, XNNPACK_FORCE_FP16), measures="latency", source=SOURCE),
)
