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
