"""The report: the decision first, as computed by hand from results.jsonl; renders for odd runs; plots by model."""

import io
import json

import numpy as np
import pytest

from liteship.judge.budgets import Budgets
from liteship.judge.decision import decide
from liteship.report import build
from tests.judge.test_findings import FLOAT, rec
from tests.judge.test_ties import choice_by_hand


def _default_choice_by_hand(out):
    """Default budgets: drop vs float32 <= 0.02, agreement >= 0.97, contract ok; then the highest top-1 the paired
    test can tell apart, ties to the smaller file."""
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    runs = [r for r in rows if r["backend"] == "xnnpack" and r["threads"] == 1 and r["status"] == "ok"]
    f32 = {r["model"]: r["top1"] for r in runs if r["recipe"] == "float32"}
    ok = [r for r in runs if f32[r["model"]] - r["top1"] <= 0.02 and r["agreement"] >= 0.97 and r["contract"]["ok"]]
    return choice_by_hand(ok), ok


def test_the_sweep_report_opens_with_what_pick_would_choose(swept):
    out, _, _ = swept
    from liteship.workflow.reports import write_reports
    from liteship.bench.run import current_results

    write_reports(out, current_results(out)[0])  # the sweep's own report (a pick test may have rewritten it)
    expected, ok = _default_choice_by_hand(out)
    md = (out / "report.md").read_text()
    first = md.index("### ")
    assert md[first:].startswith("### Decision") and f"**Ship `{expected['variant']}`" in md
    assert f"What `liteship pick {out}` would choose" in md
    smallest = min(ok, key=lambda r: (r["size_bytes"], -r["top1"]))
    next_two = sorted((r for r in ok if r["variant"] != expected["variant"]),
                      key=lambda r: (-r["top1"], r["size_bytes"]))[:2]  # listed first, as "next by accuracy"
    if smallest["variant"] != expected["variant"]:
        assert f"`{smallest['variant']}`" in md
        assert ("smallest that passes" in md) == (smallest["variant"] not in {r["variant"] for r in next_two})
    page = (out / "report.html").read_text()
    assert "<script src" not in page and "<link" not in page and "http://" not in page and "https://" not in page
    assert "data:image/png;base64," in page and "class='sortable'" in page
    assert page.index("id='decision'") < page.index("id='variants'")


def test_one_model_one_recipe_and_nothing_passing_still_render():
    records = [rec("float32", FLOAT, model="m")]
    verdicts = [vv for vv in _gate(records, Budgets(max_size_kb=0.001))]
    decision = decide(records, Budgets(max_size_kb=0.001), "accuracy", verdicts)
    report = build(records, decision, [], "runs/x")
    assert "**No variant passes every budget** (1 judged)" in report.markdown
    assert "max_size_kb FAILED" in report.markdown and "class='none'" in report.html
    assert report.png is None or report.png[:8] == b"\x89PNG\r\n\x1a\n"
    assert build([], None, [], "runs/x").markdown.startswith("## liteship sweep")


def _gate(records, budgets):
    from liteship.judge.budgets import judge
    from liteship.judge.gate import VariantVerdict

    return [VariantVerdict(r.variant, r.recipe, r.model, tuple(judge(budgets, r.variant, [r], records)))
            for r in records]


def test_alternatives_trade_numbers_against_the_choice():
    small = rec("int8", "1" * 130 + "0" * 70, size=30_000, p50=0.2)  # 20 images fewer: the paired test tells
    records = [rec("float32", FLOAT, size=100_000, p50=0.4), small]
    budgets = Budgets(max_accuracy_drop=0.2, require_contract=False)
    decision = decide(records, budgets, "accuracy", _gate(records, budgets))
    assert decision.chosen.variant == "mnv2-float32"
    (alt,) = decision.alternatives
    # by hand: 30 000 / 100 000 - 1 = -70 %; top-1 130/200 - 150/200 = -10 pt; 0.2 / 0.4 - 1 = -50 %
    assert alt.size_change == pytest.approx(-0.7) and alt.top1_change == pytest.approx(-0.1)
    assert alt.latency_change == pytest.approx(-0.5)
    md = build(records, decision, [], "r").markdown
    assert "| -70 % |" in md and "-50 %" in md and "-10.00 pt" in md


def test_the_plot_colours_each_model_apart():
    pytest.importorskip("matplotlib")
    from PIL import Image

    from liteship.report.plots import COLOURS

    records = [rec("float32", FLOAT, model="a"), rec("int8", FLOAT, model="a", size=30_000),
               rec("float32", FLOAT, model="b", size=200_000)]
    png = build(records, None, [], "r").png
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    present = {tuple(int(v) for v in p) for p in np.unique(pixels, axis=0)}

    def has(colour):
        rgb = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
        return any(max(abs(a - b) for a, b in zip(rgb, p)) < 8 for p in present)

    assert has(COLOURS[0]) and has(COLOURS[1]) and not has(COLOURS[2])


def test_each_model_has_its_own_front():
    """Two models: a small accurate one and a big one. The big one's best variant is on its own front."""
    from liteship.report import rows

    records = [rec("float32", FLOAT, model="a", size=50_000), rec("int8", "1" * 140 + "0" * 60, model="a",
                                                                  size=20_000),
               rec("float32", "1" * 120 + "0" * 80, model="b", size=900_000),
               rec("int8", "1" * 110 + "0" * 90, model="b", size=300_000),
               rec("prune_int8", "1" * 100 + "0" * 100, model="b", size=400_000)]
    front = {(r.model, r.recipe): r.front for r in rows(records)}
    # By hand: a: int8 (smallest) and float32 (most accurate) both; b: int8 and float32, not prune_int8
    # (bigger and less accurate than int8). Across models, every b variant would be dominated by a's.
    assert front == {("a", "float32"): True, ("a", "int8"): True, ("b", "float32"): True, ("b", "int8"): True,
                     ("b", "prune_int8"): False}
