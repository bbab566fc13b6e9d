"""What the findings check: one line per finding function, which a report without warnings lists, and a count failure
decided from the record's typed ``count_failed``, never from a note's words. Hand-built records, answers known."""

import sys
from dataclasses import replace

import pytest

from liteship.judge.budgets import Budgets
from liteship.judge.findings import Finding, checked, counts_failed, finder, findings
from liteship.report.sections import warnings_section
from tests.judge.test_findings import FLOAT, rec

findings_module = sys.modules["liteship.judge.findings"]  # the package's name `findings` is the function


def test_every_finding_function_says_what_it_checked_and_the_empty_section_lists_them():
    # the eight finding functions of the module, each with its line, in the order findings() calls them
    names = [fn.__name__ for fn in findings_module.FINDERS]
    assert names == ["beats_float", "slower_than_plain", "inside_noise", "split_too_small", "search_unmet",
                     "orders_disagree", "arm_disagrees", "counts_failed"]
    lines = checked()
    assert len(lines) == 8 and all(line and "\n" not in line for line in lines)
    (para,) = warnings_section([]).blocks
    assert all(line in para.text for line in lines)  # every check is said, none left out


def test_a_new_finding_is_one_registered_function_and_the_report_lists_it(monkeypatch):
    monkeypatch.setattr(findings_module, "FINDERS", list(findings_module.FINDERS))
    called = {}

    @finder("no variant is named after a fruit")
    def fruit(records, used):  # takes two of the four things findings() has: it is given exactly those
        called.update(records=records, used=used)
        return [Finding("fruit", r.model, f"{r.recipe} is a fruit", (r.variant,)) for r in records if r.recipe == "apple"]

    records = [rec("float32", FLOAT), rec("apple", FLOAT)]
    found = findings(records, Budgets())
    assert [f.kind for f in found] == ["fruit"] and called["records"] is records
    assert called["used"].startswith("the decision ")
    assert "no variant is named after a fruit" in warnings_section([]).blocks[0].text


def _x86(note=None, failed=None):
    r = rec("int8", FLOAT)
    return replace(r, notes=(note,) if note else (), count_failed=failed)


def test_a_count_failure_is_the_records_count_failed_not_its_notes():
    assert counts_failed([_x86(note="instructions not counted: valgrind exited with code 1")]) == []  # words alone
    assert counts_failed([_x86(note="instructions not counted: valgrind is not installed")]) == []  # not asked/able
    (f,) = counts_failed([_x86(failed="valgrind exited with code 1")])
    assert f.kind == "count_failed" and f.variants == ("mnv2-int8",)
    assert "no x86 instruction count (valgrind exited with code 1)" in f.message  # valgrind's count: its name
    arm = replace(rec("int8", FLOAT, backend="arm64-a15"), kind="count", status="n/a", count_failed="n/a: QEMU died")
    (f,) = counts_failed([arm])
    assert "no arm64-a15 instruction count (n/a: QEMU died)" in f.message


@pytest.mark.parametrize("failed", [None, "boom"])
def test_count_failed_survives_results_jsonl(failed):
    from liteship.bench import BenchRecord

    r = _x86(failed=failed)
    assert BenchRecord.from_dict(r.to_dict()).count_failed == failed
