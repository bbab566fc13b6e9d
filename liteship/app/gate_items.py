"""The test items of the liteship pytest plugin: one per variant x budget check (see pytest_plugin)."""

from __future__ import annotations

from pathlib import Path


from liteship.judge.budgets import load_budgets
from liteship.judge.gate import gate, load_results


def _cases(config):
    run_dir = config.getoption("liteship_run")
    if not run_dir:
        return [], []
    budgets = load_budgets(config.getoption("liteship_budgets"))
    results = gate(Path(run_dir), budgets, remeasure=False)
    cases, ids = [], []
    for vv in results:
        for v in vv.verdicts:
            cases.append((vv, v))
            ids.append(f"{vv.recipe}-{vv.variant}-{v.check.split(' ')[0]}")
    return cases, ids


def pytest_generate_tests(metafunc):
    if "liteship_case" in metafunc.fixturenames:
        cases, ids = _cases(metafunc.config)
        metafunc.parametrize("liteship_case", cases, ids=ids)


def test_budget(liteship_case, request):
    vv, verdict = liteship_case
    if verdict.check.startswith("max_latency_ms"):
        benchmark = request.getfixturevalue("benchmark")
        run_dir = Path(request.config.getoption("liteship_run"))
        budgets = load_budgets(request.config.getoption("liteship_budgets"))
        record = next(r for r in load_results(run_dir) if r.variant == vv.variant and r.backend == budgets.backend
                      and r.threads == budgets.threads)
        from liteship.runtime import open_session

        session = open_session(budgets.backend, record.model_path, budgets.threads)
        import numpy as np

        shape = session.input_detail["shape"]
        session.set_input(session.feed(np.full((1, *shape[1:]), 128, np.uint8)))
        benchmark.extra_info.update({"variant": vv.variant, "recipe": vv.recipe, "size_bytes": record.size_bytes,
                                     "top1": record.top1, "limit_ms": budgets.max_latency_ms})
        benchmark.pedantic(session.invoke, rounds=200, iterations=1, warmup_rounds=20)
        measured_ms = benchmark.stats.stats.median * 1000
        assert measured_ms <= budgets.max_latency_ms, (
            f"{verdict.check} FAILED: {measured_ms:.3f} ms > {budgets.max_latency_ms:.3f} ms "
            f"(margin {budgets.max_latency_ms - measured_ms:+.3f} ms)")
        return
    assert verdict.passed, verdict.message
