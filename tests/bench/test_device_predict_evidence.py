"""How much evidence a device's calibration rests on, and what it says beyond it, against numbers worked here.

Counts within 1 % of each other (a model's int8, prune_int8 and auto_int8) are one point of evidence about how
milliseconds follow the count: a fit needs three distinct counts, and leaves a count out whole. A prediction whose
count is beyond the measured ones by more than 1 % is extrapolated: marked, and its interval widened to hold the
milliseconds in proportion to the count from the nearest measured count. Every expected number is recomputed here
with numpy and scipy.stats.t from the documented rules, never read back from liteship.
"""

import math

import numpy as np
import pytest
from scipy.stats import t as student_t

from liteship.bench import read_results
from liteship.bench.device_predict import fit, Point
from liteship.bench.device_predictions import predictions, refresh
from liteship.bench.record import Instructions
from tests.bench.test_device_predictions import iphone, make_run, NO_SME2


def _p(variant: str, ms: float, g: float) -> Point:
    return Point(variant, ms, Instructions(round(g * 1e9), "aarch64"))


def _scale_fold(g: np.ndarray, ms: np.ndarray) -> float:
    """The scale of least squares on relative error: sum(g/ms) / sum((g/ms)^2), the one-column normal equation."""
    r = g / ms
    return float(r.sum() / (r * r).sum())


def test_three_measurements_at_one_count_are_one_point_of_evidence_and_refused():
    # the hostile review's set3: int8, prune_int8 and auto_int8 of one model, 1.476461 M instructions each
    points = [_p("int8", 0.130, 0.001476461), _p("prune", 0.131, 0.001476461), _p("auto", 0.130, 0.001476461)]
    with pytest.raises(ValueError, match=r"the 3 measurements have 1 distinct count \(1\.476 M: auto, int8, prune\)"
                                         r": counts within 1 % of each other are one point of evidence"):
        fit(points)


@pytest.mark.parametrize("second, distinct", [(0.1211, 2), (0.1213, 3)])
def test_counts_within_1_percent_are_one_point_counts_beyond_it_are_two(second, distinct):
    # 0.1211 is 0.92 % above 0.12, 0.1213 is 1.08 % above it (by hand)
    points = [_p("a", 10.0, 0.12), _p("b", 10.1, second), _p("c", 25.0, 0.30)]
    if distinct < 3:
        with pytest.raises(ValueError, match="2 distinct counts"):
            fit(points)
    else:
        assert fit(points).n == 3


def test_a_count_measured_twice_is_left_out_whole_and_counted_once_in_the_interval():
    # v1 and v2 share a count (0.10 G): leave one count out predicts both from v3 and v4 alone; k = 3 counts
    ids, g = ["v1", "v2", "v3", "v4"], np.array([0.10, 0.10, 0.20, 0.40])
    ms = np.array([9.0, 9.6, 20.5, 38.0])
    cal = fit([_p(v, m, x) for v, m, x in zip(ids, ms, g)])
    groups = [[0, 1], [2], [3]]
    errors = {}
    for group in groups:
        keep = [i for i in range(4) if i not in group]
        a = _scale_fold(g[keep], ms[keep])
        errors.update({ids[i]: (a * g[i] - ms[i]) / ms[i] for i in group})
    assert cal.form == "scale" and cal.loo_errors == pytest.approx(errors, rel=1e-9)
    logs = {v: math.log(1 / (1 + e)) for v, e in errors.items()}
    s2 = (np.mean([logs["v1"] ** 2, logs["v2"] ** 2]) + logs["v3"] ** 2 + logs["v4"] ** 2) / (3 - 1)
    factor = math.exp(student_t.ppf(0.975, 2) * math.sqrt(s2) * math.sqrt(1 + 1 / 3))
    assert cal.factor == pytest.approx(factor, rel=1e-9)
    assert cal.terms["ms_per_G"] == pytest.approx(_scale_fold(g, ms), rel=1e-9)


# the hostile review's setint: counts (M) and medians (ms) of five variants on an iPhone 13, an intercept fit
SETINT = {"i8": (1.476461, 0.061), "dyn": (2.207247, 0.171), "f32": (2.742022, 0.251), "qat": (3.195197, 0.319),
          "sf": (3.848801, 0.417)}


def _intercept_by_hand():
    """The scale+intercept fit of SETINT and its interval factor, from the normal equations and the documented
    interval (every count differs here: leave one out)."""
    ids = list(SETINT)
    g = np.array([SETINT[v][0] / 1e3 for v in ids])
    ms = np.array([SETINT[v][1] for v in ids])
    x = np.stack([g, np.ones(5)], axis=1)

    def weights(keep):
        a = x[keep] / ms[keep, None]
        return np.linalg.solve(a.T @ a, a.T @ np.ones(len(keep)))

    errors = [(x[i] @ weights([j for j in range(5) if j != i]) - ms[i]) / ms[i] for i in range(5)]
    s = math.sqrt(sum(math.log(1 / (1 + e)) ** 2 for e in errors) / 4)
    return weights(list(range(5))), math.exp(student_t.ppf(0.975, 4) * s * math.sqrt(1 + 1 / 5))


def test_a_count_below_every_measured_one_is_extrapolated_and_its_interval_widened():
    cal = fit([_p(v, m, g / 1e3) for v, (g, m) in SETINT.items()])
    w, factor = _intercept_by_hand()
    assert cal.form == "scale+intercept" and cal.factor == pytest.approx(factor, rel=1e-9)
    # small_cnn_32 dynamic: 1.279587 M, 1.154x below the smallest measured (int8, 1.476461 M at 0.061 ms)
    g = 0.001279587
    fitted = w[0] * g + w[1]
    proportional = 0.061 * 1.279587 / 1.476461  # the nearest measured count's time per instruction
    got = cal.predict_at(Instructions(1_279_587, "aarch64"))
    assert got.ms == pytest.approx(fitted, rel=1e-9) and fitted < 0.035 < proportional  # the line runs to 0 ms
    assert (got.low, got.high) == pytest.approx((fitted / factor, proportional * factor), rel=1e-9)
    said = got.extrapolated
    assert said["side"] == "below" and said["ratio"] == pytest.approx(1.476461 / 1.279587, rel=1e-9)
    assert said["nearest"] == ["i8"] and said["proportional_ms"] == pytest.approx(proportional, rel=1e-9)
    # within 1 % of the smallest it is that measurement's evidence, beyond it extrapolated; above the largest too
    assert cal.predict_at(Instructions(round(1_476_461 / 1.009), "aarch64")).extrapolated is None
    assert cal.predict_at(Instructions(round(1_476_461 / 1.011), "aarch64")).extrapolated["side"] == "below"
    above = cal.predict_at(Instructions(5_000_000, "aarch64"))
    prop_above = 0.417 * 5.0 / 3.848801
    assert above.extrapolated["side"] == "above" and (above.low, above.high) == pytest.approx(
        (min(above.ms, prop_above) / factor, max(above.ms, prop_above) * factor), rel=1e-9)
    inside = cal.predict_at(Instructions(3_000_000, "aarch64"))
    assert inside.extrapolated is None and (inside.low, inside.high) == pytest.approx(
        (inside.ms / factor, inside.ms * factor), rel=1e-9)


def test_a_run_whose_measurements_share_one_count_says_so_and_what_to_measure(tmp_path):
    counts = {"v1aaaaaaaaaa": 0.12, "v2bbbbbbbbbb": 0.12, "v3cccccccccc": 0.1205, "v4dddddddddd": 0.60,
              "v5eeeeeeeeee": 0.20, "v6ffffffffff": 0.08}
    run, _ = make_run(tmp_path, lambda shas: iphone(shas), counts=counts)
    (o,) = predictions(run, registered=NO_SME2)
    assert not o.predicted and not o.records
    assert o.why.startswith("the 3 variants measured at 1 thread have 1 distinct arm64-a15 count (120.000 M "
                            "(v1aaaaaaaaaa, v2bbbbbbbbbb, v3cccccccccc)): counts within 1 % of each other are one "
                            "point of evidence")
    # what to measure, farthest in log count first: v4 (ln 5 = 1.61 from 0.12), then v5 (min(ln 1.67, ln 3) = 0.51)
    # over v6 (min(ln 1.5, ln 7.5) = 0.41)
    assert o.fix.startswith("measure 2 variants whose count differs on the device at 1 thread and import them: "
                            "v4dddddddddd (mnv2 float16, 600.000 M), v5eeeeeeeeee (mnv2 prune_int8, 200.000 M)")


def test_an_extrapolated_prediction_is_marked_in_its_record_and_note(tmp_path):
    run, _ = make_run(tmp_path, lambda shas: iphone(shas))  # measured: 0.30, 0.12, 0.05 G
    (o,) = refresh(run, registered=NO_SME2)
    got = {r.variant: r for r in read_results(run) if r.backend == "predicted:iphone-13"}
    # v4 (0.60 G) is 2x above the largest measured (v1, 0.30 G at 27.1 ms); v5 (0.20) and v6 (0.08) are inside
    assert o.extrapolated == ("v4dddddddddd",) and "1 extrapolated beyond the counts measured" in o.said()
    far = got["v4dddddddddd"].device["extrapolated"]
    assert far["side"] == "above" and far["ratio"] == pytest.approx(2.0) and far["nearest"] == ["v1aaaaaaaaaa"]
    assert far["proportional_ms"] == pytest.approx(27.1 * 2.0)
    note = got["v4dddddddddd"].notes[0]
    assert note.startswith("predicted from arm64-a15 instructions, not measured, extrapolated 2.00x above the counts "
                           "measured: ms = ")
    assert note.endswith("; the interval widened to hold ms in proportion to the count from the nearest measured "
                         "(54.200 ms) too: no measurement on the device is near its count (600.000 M; measured "
                         "50.000-300.000 M)")
    assert "extrapolated" not in got["v5eeeeeeeeee"].device and "extrapolated" not in got["v5eeeeeeeeee"].notes[0]
    lat, factor = got["v4dddddddddd"].latency_ms, o.calibration.factor
    assert lat.ci_high == pytest.approx(max(lat.p50, 54.2) * factor) and lat.ci_low == pytest.approx(
        min(lat.p50, 54.2) / factor)
