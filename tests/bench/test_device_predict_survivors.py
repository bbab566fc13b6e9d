"""Device predictions: the forms a fit may take, the variants left unpredicted, the counts and chips a device's
predictions may rest on; each outcome worked out here by hand.

- three measurements on a straight line with an intercept (ms = 10 x G + 2) are fitted by the scale alone: the
  scale+intercept form needs four distinct counts, and is not even considered with three;
- a form whose leave-one-count-out folds predict 0 ms or less is never chosen, however small its other errors;
- a variant the chosen form predicts at 0 ms or less gets no record, and the outcome names it;
- a count record of an older file of the variant (another sha256) is not its count;
- a device whose records name two chips, or a kept chip naming chips of two ISA classes, is not predicted.
"""

import json

import pytest

from liteship.bench import read_results
from liteship.bench.device_chips import from_kept
from liteship.bench.device_predict import Point, fit
from liteship.bench.device_predictions import predictions, refresh
from liteship.bench.record import Instructions
from tests.bench.test_device_predictions import count_line, device_line, IPHONE, make_run, NO_SME2


def _point(variant: str, g: float, ms: float) -> Point:
    return Point(variant, ms, Instructions(int(round(g * 1e9)), "aarch64"))


def test_three_points_on_a_line_with_an_intercept_are_fitted_by_the_scale_alone():
    # ms = 10 x G + 2 at G = 0.1, 0.2, 0.4: 3, 4 and 6 ms. Two points fix a line, so the intercept form's folds
    # would predict each left-out point exactly (0 % error) and win, were it tried from three counts
    cal = fit([_point("a", 0.1, 3.0), _point("b", 0.2, 4.0), _point("c", 0.4, 6.0)])
    assert cal.form == "scale"
    assert "scale+intercept" not in cal.considered and set(cal.considered) == {"scale"}
    # least squares on relative error, one column: a = sum(G/ms) / sum((G/ms)^2), by hand
    ratios = [0.1 / 3.0, 0.2 / 4.0, 0.4 / 6.0]
    assert cal.terms == pytest.approx({"ms_per_G": sum(ratios) / sum(r * r for r in ratios)}, rel=1e-9)


def test_a_form_whose_left_out_fold_predicts_below_zero_is_never_chosen():
    # b..e lie on ms = 20 x G - 2; a (0.09 G, 0.2 ms) left out, the line of the others predicts 20 x 0.09 - 2 =
    # -0.2 ms. The intercept's other folds are near exact (mean |error| with a's -200 % about 46 %) and the scale's
    # are poor (a: +499 %, the others about -80 %: mean about 163 %): were the negative fold allowed, the intercept
    # would beat the scale by far more than a tenth
    points = [_point("a", 0.09, 0.2), _point("b", 0.2, 2.0), _point("c", 0.4, 6.0), _point("d", 0.6, 10.0),
              _point("e", 0.8, 14.0)]
    cal = fit(points)
    assert cal.form == "scale"
    assert "scale+intercept" in cal.considered and cal.considered["scale+intercept"] is None
    assert cal.considered["scale"] == pytest.approx(1.627, abs=0.01)


def test_a_variant_predicted_at_zero_ms_or_less_is_left_unpredicted_and_named(tmp_path):
    # measured on ms = 20 x G - 1.2 exactly: v2 0.12 G -> 1.2 ms, v5 0.20 -> 2.8, v1 0.30 -> 4.8, v4 0.60 -> 10.8.
    # Every intercept fold is exact (0 % error), so scale+intercept is chosen; it gives v3 (0.05 G)
    # 20 x 0.05 - 1.2 = -0.2 ms, and v6 (0.08 G) 0.4 ms
    line = {"v2bbbbbbbbbb": 1.2, "v5eeeeeeeeee": 2.8, "v1aaaaaaaaaa": 4.8, "v4dddddddddd": 10.8}
    run, shas = make_run(tmp_path, lambda shas: [device_line(v, shas[v], ms) for v, ms in line.items()])
    (o,) = refresh(run, registered=NO_SME2)
    assert o.predicted and o.calibration.form == "scale+intercept"
    assert o.calibration.terms == pytest.approx({"ms_per_G": 20.0, "ms": -1.2}, rel=1e-6)
    assert o.not_positive == ("v3cccccccccc",)
    assert [r.variant for r in o.records] == ["v6ffffffffff"]
    assert o.records[0].latency_ms.p50 == pytest.approx(0.4, rel=1e-6)
    assert "left out, the fit giving 0 ms or less: v3cccccccccc" in o.said()
    written = {r.variant for r in read_results(run) if r.backend == "predicted:iphone-13"}
    assert written == {"v6ffffffffff"}


def test_a_count_of_an_older_file_of_the_variant_is_not_its_count(tmp_path):
    # v1's count record is of another file (another sha256): v1 is measured but not counted, so only 2 of the 3
    # measured are counted; v5's count is of an older file too: v5 is not predicted
    def lines(shas):
        return [device_line(v, shas[v], ms) for v, ms in IPHONE.items()]

    run, shas = make_run(tmp_path, lines)
    made = [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]
    old = {"v1aaaaaaaaaa": "0" * 64, "v5eeeeeeeeee": "1" * 64}
    made = [{**r, "sha256": old[r["variant"]]} if r["backend"] == "arm64-a15" and r["variant"] in old else r
            for r in made]
    (run / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in made))
    (o,) = predictions(run, registered=NO_SME2)
    assert not o.predicted and not o.records
    assert "1 of the 3 variants measured have no arm64-a15 count (v1aaaaaaaaaa)" in o.why

    # v1 counted again on its current file: predicted, and v5 (still an older file's count) gets no record
    made.append(count_line("v1aaaaaaaaaa", shas["v1aaaaaaaaaa"], 0.30))
    (run / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in made))
    (o,) = predictions(run, registered=NO_SME2)
    assert o.predicted and sorted(r.variant for r in o.records) == ["v4dddddddddd", "v6ffffffffff"]


def test_a_device_whose_records_name_two_chips_is_not_predicted_and_both_are_said(tmp_path):
    def lines(shas):
        two = [device_line(v, shas[v], ms, device="my phone", chip="A15") for v, ms in IPHONE.items()]
        two[2]["device"]["chip"] = "A16"
        return two

    run, _ = make_run(tmp_path, lines)
    (o,) = predictions(run, registered=NO_SME2)
    assert not o.predicted and not o.records and o.chip is None
    assert "A15" in o.why and "A16" in o.why and "2 chips" in o.why


def test_a_kept_chip_naming_chips_of_two_isa_classes_is_not_read_back():
    assert from_kept("A15 or M4", "device name") is None  # neon-i8mm and sme2: which kernels ran is unknown
    both = from_kept("Snapdragon 8 Gen 3 or Exynos 2400", "device name")  # one ISA class: read back
    assert (both.chip, both.isa, both.chip_from) == ("Snapdragon 8 Gen 3 or Exynos 2400", "neon-i8mm", "device name")
    one = from_kept("A15", None)
    assert (one.chip, one.isa) == ("A15", "neon-i8mm")


def test_a_device_whose_records_keep_chips_of_two_isa_classes_is_not_predicted(tmp_path):
    run, _ = make_run(tmp_path, lambda shas: [device_line(v, shas[v], ms, device="my phone", chip="A15 or M4")
                                              for v, ms in IPHONE.items()])
    (o,) = predictions(run, registered=NO_SME2)
    assert not o.predicted and o.chip is None and not o.records
    assert o.why == "its records name the chip A15 or M4, which this liteship does not know"
