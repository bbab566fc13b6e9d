"""The phone's delegates, analysed: which ops the GPU (Metal) and Core ML delegates take. Nothing runs them here."""

from __future__ import annotations

from liteship.bench.backends import Backend, Kind


def _gpu(path, model, facts: dict):
    from liteship.bench.coverage import gpu_coverage, try_gpu

    cov = gpu_coverage(model)
    return "GPU delegate documented op list", "ok", {"ops": cov, "delegated": cov["delegated"],
                                                     "notes": (try_gpu(str(path)),)}


def _coreml(path, model, facts: dict):
    from liteship.bench.coverage import coreml_coverage

    cov = coreml_coverage(model)
    dtype = (facts["contract"]["input"] or {}).get("dtype")
    if dtype != "float32":
        return "Core ML delegate op list", "n/a", {
            "ops": cov, "delegated": 0.0,
            "notes": (f"n/a: the Core ML delegate takes float (FP32/FP16) models only; this one is {dtype}",)}
    return "Core ML delegate op list", "ok", {
        "ops": cov, "delegated": cov["delegated"],
        "notes": ("op coverage from the delegate's documented ops and constraints; no Apple device here",)}


BACKENDS = (
    Backend("gpu", Kind.COVERAGE, "GPU delegate op coverage from its documented ops and versions (and a GPU run tried)",
            rank=20, in_default=True, analyse=_gpu, measures="GPU op coverage",
            source="the GPU delegate's documented ops and versions, not run",
            release_note="\n// The budgets required the GPU (Metal) delegate's op coverage; it was checked from the "
                         "delegate's\n// documented ops, not run. To use it: options plus `delegates: "
                         "[MetalDelegate()]` in Interpreter(...),\n// and time it on the phone: nothing here measured "
                         "a GPU."),
    Backend("coreml", Kind.COVERAGE, "Core ML delegate op coverage from its documented ops and constraints", rank=21,
            in_default=True, analyse=_coreml, measures="Core ML op coverage",
            source="the Core ML delegate's documented ops and constraints; no Apple device here",
            release_note="\n// The budgets required the Core ML delegate's op coverage; it was checked from the "
                         "delegate's\n// documented ops, not run. To use it: `delegates: [CoreMLDelegate()]."
                         "compactMap { $0 }` in\n// Interpreter(...), and time it on the phone: nothing here measured "
                         "the Neural Engine."),
)
