"""The test items of the liteship pytest plugin: one per variant x budget check (see pytest_plugin)."""

from __future__ import annotations

from pathlib import Path

import pytest

from liteship.errors import LiteshipError
from liteship.judge import gate, load_budgets
from liteship.rundir import VARIANTS


def _cases(config):
    run_dir = config.getoption("liteship_run")
    if not run_dir:
        return [], []
    try:
        judged = gate(Path(run_dir), load_budgets(config.getoption("liteship_budgets")))  # what `liteship gate` judges
    except LiteshipError as exc:  # the run's files, damaged since the plugin's checks: liteship's message, no stack
        raise pytest.Collector.CollectError(f"liteship gate: {exc.message}") from None
    cases, ids = [], []
    for vv in judged:
        for v in vv.verdicts:
            cases.append((vv, v))
            ids.append(f"{vv.recipe}-{vv.variant}-{v.id}")
    return cases, ids


def pytest_generate_tests(metafunc):
    if "liteship_case" in metafunc.fixturenames:
        cases, ids = _cases(metafunc.config)
        metafunc.parametrize("liteship_case", cases, ids=ids)


def _not_timed_here(request, budgets, verdict) -> bool:
    """A backend this machine cannot run (a phone's imported measurement, a prediction from counts; its kind is not
    ``here``) is never timed in pytest-benchmark: the item keeps the number the gate judged, and says why it has no
    timing of its own, in its JUnit properties and its report section. True when so."""
    from liteship.bench import backends

    backend = backends.find(budgets.backend)
    if backend is None or backend.kind.here:
        return False
    why = (f"not timed here: {budgets.backend} is no backend this machine runs ({backend.summary}); the verdict is "
           "the gate's, on the number it names, and pytest-benchmark timed nothing")
    for name, value in (("liteship_backend", budgets.backend), ("liteship_judged_ms", verdict.measured),
                        ("liteship_limit_ms", verdict.limit), ("liteship_verdict", verdict.message),
                        ("liteship_timing", why)):
        request.node.user_properties.append((name, value))
    request.node.add_report_section("call", "liteship", f"{verdict.message}\n{why}")
    return True


def _time_in_benchmark(request, variant: str, verdict) -> None:
    """pytest-benchmark's own timing of the model, for its storage and compare; the verdict stays liteship's."""
    budgets = load_budgets(request.config.getoption("liteship_budgets"))
    if _not_timed_here(request, budgets, verdict):
        return
    try:
        benchmark = request.getfixturevalue("benchmark")
    except pytest.FixtureLookupError:
        return  # pytest-benchmark is not installed: the verdict alone
    import numpy as np

    from liteship.bench import backends

    path = Path(request.config.getoption("liteship_run")) / VARIANTS / f"{variant}.tflite"
    if not path.is_file():
        return
    session = backends.get(budgets.backend).open(str(path), budgets.threads)
    shape = session.input_detail["shape"]
    session.set_input(session.feed(np.full((1, *shape[1:]), 128, np.uint8)))
    benchmark.extra_info.update({"variant": variant, "liteship_measured_ms": verdict.measured,
                                 "liteship_limit_ms": verdict.limit, "liteship_verdict": verdict.message})
    benchmark.pedantic(session.invoke, rounds=50, iterations=1, warmup_rounds=5)


def test_budget(liteship_case, request):
    vv, verdict = liteship_case
    if verdict.id == "max_latency_ms":
        _time_in_benchmark(request, vv.variant, verdict)
    assert verdict.passed, verdict.message

