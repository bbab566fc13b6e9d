"""--prefer accuracy never ranks by digits its own paired intervals cannot separate: hand-built right/wrong vectors
on 269 images (the demo's test split), where the right answer is known by counting."""

from dataclasses import replace

import pytest

from liteship.errors import LiteshipError
from liteship.judge.budgets import Budgets, judge
from liteship.judge.decision import decide
from liteship.judge.gate import VariantVerdict
from tests.judge.test_arm_judging import arm
from tests.judge.test_findings import rec

N = 269
BUDGETS = Budgets(require_contract=False)


def _right(k: int) -> str:
    return "1" * k + "0" * (N - k)


def _decide(records, budgets=BUDGETS, prefer="accuracy"):
    variants = list(dict.fromkeys(r.variant for r in records))
    verdicts = [VariantVerdict(v, v.split("-", 1)[1], "mnv2",
                               tuple(judge(budgets, v, [r for r in records if r.variant == v], records)))
                for v in variants]
    return decide(records, budgets, prefer, verdicts)


def test_one_image_of_269_apart_is_a_tie_the_smaller_file_wins():
    # the demo's case: cluster_int8 right on 264 (0.9814), int8 on 263 (0.9777): one image apart
    records = [rec("float32", _right(263), size=400_000), rec("int8", _right(263), size=100_000),
               rec("cluster_int8", _right(264), size=120_000)]
    decision = _decide(records)
    assert decision.chosen.variant == "mnv2-int8"  # tied with the most accurate, and the smallest of the three
    assert decision.tie.best == "mnv2-cluster_int8"
    assert decision.tie.tied == ("mnv2-int8", "mnv2-cluster_int8", "mnv2-float32")  # by size
    assert "the smaller file" in decision.tie.by
    from liteship.report import build

    md = build(records, decision, [], "r").markdown
    assert "tied for the most accurate" in md
    assert "cannot be told from the most accurate, mnv2 cluster_int8 (`mnv2-cluster_int8`)" in md
    assert any(a.option.variant == "mnv2-cluster_int8" for a in decision.alternatives)  # still listed, as an option


def test_forty_images_apart_the_more_accurate_wins():
    records = [rec("int8", _right(223), size=100_000), rec("cluster_int8", _right(263), size=120_000)]
    decision = _decide(records)
    assert decision.chosen.variant == "mnv2-cluster_int8" and decision.tie is None


def _pair(n11: int, n12: int, n21: int, n22: int) -> tuple[str, str]:
    """Right/wrong strings of two variants on the same images, from the 2x2 counts (rows: the first variant's
    right, wrong; columns: the second's)."""
    cells = [("1", "1", n11), ("1", "0", n12), ("0", "1", n21), ("0", "0", n22)]
    return "".join(a * k for a, _, k in cells), "".join(b * k for _, b, k in cells)


@pytest.mark.parametrize("cells, tied", [
    ((259, 5, 0, 5), True),  # 264 vs 259, nested: [-0.0003, +0.0432] just holds 0
    ((258, 6, 0, 5), False),  # 264 vs 258, nested: [+0.0026, +0.0482] just misses it
    ((175, 25, 20, 49), True),  # 200 vs 195: the same 5 images apart, but 45 images change sides
    ((174, 26, 20, 49), True),  # 200 vs 194: 6 apart as the nested pair, yet tied: the point gap alone cannot say
], ids=["5-apart-nested", "6-apart-nested", "5-apart-45-discordant", "6-apart-46-discordant"])
def test_the_tie_is_the_paired_interval_holding_zero_at_its_edge(cells, tied):
    from tests.core.test_stats import _newcombe_reference

    low, high = _newcombe_reference(*cells)  # the paper's formulas, written out apart from liteship
    assert (low <= 0 <= high) == tied and sum(cells) == N
    better, worse = _pair(*cells)
    decision = _decide([rec("int8", worse, size=100_000), rec("cluster_int8", better, size=120_000)])
    if tied:
        assert decision.tie.tied == ("mnv2-int8", "mnv2-cluster_int8") and decision.chosen.variant == "mnv2-int8"
    else:
        assert decision.tie is None and decision.chosen.variant == "mnv2-cluster_int8"


def test_a_tie_goes_to_the_phones_instruction_count_where_every_tied_variant_was_counted():
    runs = [rec("float32", _right(263), size=400_000), rec("int8", _right(263), size=100_000),
            rec("cluster_int8", _right(264), size=120_000)]
    counts = [arm(runs[0], 8_000_000), arm(runs[1], 5_000_000), arm(runs[2], 3_000_000)]
    decision = _decide(runs + counts)
    assert decision.chosen.variant == "mnv2-cluster_int8"  # fewest aarch64 instructions, though not the smallest
    assert decision.tie.tied == ("mnv2-cluster_int8", "mnv2-int8", "mnv2-float32")
    assert "aarch64 instructions per invoke on arm64-a15" in decision.tie.by
    # one tied variant without a count: the counts cannot rank them all, size does
    decision = _decide(runs + counts[1:])
    assert decision.chosen.variant == "mnv2-int8" and "no ARM count" in decision.tie.by


def test_records_of_other_images_are_never_called_tied():
    records = [rec("int8", _right(263), size=100_000),
               replace(rec("cluster_int8", _right(264), size=120_000), data={"content_hash": "h", "members": "x"})]
    assert _decide(records).chosen.variant == "mnv2-cluster_int8"


def test_prefer_instructions_without_a_count_is_refused_not_silent():
    records = [rec("int8", _right(263), size=100_000), rec("cluster_int8", _right(264), size=120_000)]
    with pytest.raises(LiteshipError, match="no record there holds one"):
        _decide(records, prefer="instructions")


def choice_by_hand(rows: list[dict]) -> dict:
    """--prefer accuracy on results.jsonl rows that pass (one per variant, same images), as the README says it: the
    highest top-1 (ties in the digits to the smaller file), then every row the paired 95 % interval cannot tell from
    it is tied, and the smallest tied file wins (these rows have no ARM count). The interval is liteship.stats's
    (tested against published values there); the rule is written here again."""
    import numpy as np

    from liteship.stats import paired

    best = min(rows, key=lambda r: (-r["top1"], r["size_bytes"]))

    def bits(r):
        return np.array([int(c) for c in r["correct"]])

    tied = [r for r in rows if r is best or paired(bits(best), bits(r)).low <= 0 <= paired(bits(best), bits(r)).high]
    return min(tied, key=lambda r: (r["size_bytes"], r["latency_ms"]["p50"]))


def test_prefer_instructions_says_which_passing_variants_had_no_count():
    from tests.judge.test_arm_judging import x86

    counted = x86(rec("int8", _right(263), size=100_000), 4_000_000, 0.5)
    records = [counted, rec("cluster_int8", _right(264), size=120_000)]  # cluster_int8: no count at all
    decision = _decide(records, prefer="instructions")
    assert decision.chosen.variant == "mnv2-int8" and decision.uncounted == ("mnv2-cluster_int8",)
    from liteship.report import build

    assert "1 passing variant(s) have no count on xnnpack and were ranked last: `mnv2-cluster_int8`" in \
        build(records, decision, [], "r").markdown
