"""Predictions per thread count, and predictions made again when bench writes new counts, on the hand-made run of
tests/bench/test_device_predictions.py, against scales worked here with numpy.

The iPhone 13 measured v1, v2 and v3 at one thread (27.1, 10.2, 4.55 ms) and v1, v4 and v5 at four (10.0, 21.0,
7.2 ms): a measurement replaces the prediction at its own thread count only.
"""

import numpy as np
import pytest

from liteship.bench import read_results
from liteship.bench.device_predictions import refresh
from tests.bench.test_device_predictions import by_hand_scale, COUNTS, iphone, IPHONE, make_run, NO_SME2

AT4 = {"v1aaaaaaaaaa": 10.0, "v4dddddddddd": 21.0, "v5eeeeeeeeee": 7.2}


def _scale(measured: dict) -> float:
    g = np.array([COUNTS[v] for v in measured])
    r = g / np.array(list(measured.values()))
    return float(r.sum() / (r * r).sum())


def _predicted(run) -> dict:
    return {(r.variant, r.threads): r for r in read_results(run) if r.backend == "predicted:iphone-13"}


def test_a_measurement_replaces_the_prediction_at_its_own_thread_count_only(tmp_path):
    run, _ = make_run(tmp_path, lambda shas: iphone(shas) + iphone(shas, AT4, threads=4))
    refresh(run, registered=NO_SME2)
    got = _predicted(run)
    # one thread: every counted variant not measured at one thread, v4 and v5 (measured at four only) among them
    assert sorted(v for v, t in got if t == 1) == ["v4dddddddddd", "v5eeeeeeeeee", "v6ffffffffff"]
    # four threads: v2 and v3 (measured at one only) and v6
    assert sorted(v for v, t in got if t == 4) == ["v2bbbbbbbbbb", "v3cccccccccc", "v6ffffffffff"]
    a1, a4 = by_hand_scale(IPHONE)[0], _scale(AT4)
    assert got[("v5eeeeeeeeee", 1)].latency_ms.p50 == pytest.approx(a1 * 0.20)
    assert got[("v2bbbbbbbbbb", 4)].latency_ms.p50 == pytest.approx(a4 * 0.12)
    assert [m["variant"] for m in got[("v2bbbbbbbbbb", 4)].device["rests_on"]] == list(AT4)


def test_a_budget_at_four_threads_judges_the_measurement_and_at_one_the_prediction(tmp_path):
    from liteship.judge import Budgets, judge

    run, _ = make_run(tmp_path, lambda shas: iphone(shas) + iphone(shas, AT4, threads=4))
    refresh(run, registered=NO_SME2)
    records = read_results(run)
    mine = [r for r in records if r.variant == "v4dddddddddd"]
    for threads, backend, value in ((4, "device:iphone-13", 21.0),
                                    (1, "predicted:iphone-13", by_hand_scale(IPHONE)[0] * 0.60)):
        (v,) = judge(Budgets(backend="predicted:iphone-13", threads=threads, max_latency_ms=1000.0,
                             require_contract=False), "v4dddddddddd", mine, records)
        assert v.record.backend == backend and v.record.threads == threads
        if backend.startswith("device"):
            assert v.measured == value
        else:  # judged on the upper end of its interval
            assert v.record.latency_ms.p50 == pytest.approx(value) and v.measured == v.record.latency_ms.ci_high


def test_the_phone_column_at_one_thread_shows_the_prediction_at_one_thread_not_a_measurement_at_four(tmp_path):
    from liteship.judge import phone_columns

    run, _ = make_run(tmp_path, lambda shas: iphone(shas) + iphone(shas, AT4, threads=4))
    refresh(run, registered=NO_SME2)
    records = read_results(run)
    (one,), (four,) = phone_columns(records, threads=1), phone_columns(records, threads=4)
    v4 = one.cells["v4dddddddddd"]
    assert v4.is_predicted and v4.threads == 1 and v4.value == pytest.approx(by_hand_scale(IPHONE)[0] * 0.60)
    assert four.cells["v4dddddddddd"].is_measured and four.cells["v4dddddddddd"].value == 21.0
    assert one.cells["v1aaaaaaaaaa"].is_measured and one.cells["v1aaaaaaaaaa"].value == 27.1  # measured at both
