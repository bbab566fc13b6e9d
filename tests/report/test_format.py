"""Reports write the judge's numbers: the change vs float as people read it, computed once."""

import json

from liteship.bench import read_results
from liteship.report.format import change_pt
from liteship.report.tables import rows


def test_change_in_points():
    assert change_pt(0.0074) == "-0.74 pt"  # 0.74 points worse than float
    assert change_pt(-0.026) == "+2.60 pt"
    assert change_pt(0.0) == change_pt(-0.0) == "+0.00 pt"  # never "-0.00"
    assert change_pt(None) == "–"


def test_report_rows_carry_the_drop_computed_by_hand_from_results(swept):
    out, _, _ = swept
    raw = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    by_recipe = {r["recipe"]: r["top1"] for r in raw if r["backend"] == "xnnpack" and r["threads"] == 1}
    for row in rows(read_results(out)):
        assert row.drop == round(by_recipe["float32"] - by_recipe[row.recipe], 6)
