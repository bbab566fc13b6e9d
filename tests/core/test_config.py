"""Strict TOML -> dataclass: every problem found at once, in the user's words; ranges live on the field."""

import dataclasses
from dataclasses import dataclass

import pytest

from liteship.config import (Problems, check_mapping, describe, field_of, from_mapping, limits, range_problems,
                             setting)


@dataclass(frozen=True)
class Knobs:
    runs: int = setting(50, lo=1, hi=1000)
    ratio: float = setting(0.5, hi=1.0)
    names: tuple[str, ...] = setting(("a",), choices=lambda: ("a", "b", "c"), non_empty=True)
    mode: str | None = None


@dataclass(frozen=True)
class Table:
    runs: int = field_of(Knobs, "runs")


def test_a_good_table_builds_and_defaults_fill_the_rest():
    assert from_mapping(Knobs, {"runs": 7, "names": ["b", "c"]}, "x.toml [k]") == Knobs(runs=7, names=("b", "c"))


def test_every_problem_is_found_at_once():
    with pytest.raises(Problems) as caught:
        from_mapping(Knobs, {"runz": 1, "runs": 0, "ratio": "high", "names": ["d"], "mode": 3}, "x.toml [k]")
    by_key = {p.key: p for p in caught.value.problems}
    assert set(by_key) == {"runz", "runs", "ratio", "names", "mode"}
    assert "did you mean runs?" in by_key["runz"].fix
    assert "from 1 to 1000" in by_key["runs"].allowed
    assert by_key["ratio"].given == '"high"' and "a number" in by_key["ratio"].allowed
    assert '"d" is not one of "a", "b", "c"' in by_key["names"].allowed  # choices from a function, asked now
    assert all(p.where == "x.toml [k]" for p in caught.value.problems)
    assert "5 problems in the input; nothing was started or written" in caught.value.message


@pytest.mark.parametrize("value, said", [(3.0, "3.0"), (True, "true"), ("int8", '"int8"'), ([1, 2], "[1, 2]"),
                                         ({}, "a table"), (None, "nothing"), (float("inf"), "inf")])
def test_values_are_said_as_toml_writes_them(value, said):
    assert describe(value) == said


def test_whole_numbers_are_not_floats_and_floats_must_be_finite():
    problems = []
    check_mapping(Knobs, {"runs": 3.0, "ratio": float("nan")}, "w", problems)
    fixes = {p.key: p.fix for p in problems}
    assert "without a decimal point: 3" in fixes["runs"] and "finite" in fixes["ratio"]


def test_a_table_that_takes_a_setting_takes_its_default_and_range():
    assert Table().runs == Knobs().runs == 50
    assert limits(Table, "runs") == limits(Knobs, "runs") == (1, 1000)
    assert dataclasses.fields(Table)[0].metadata == dataclasses.fields(Knobs)[0].metadata
    with pytest.raises(Problems):
        from_mapping(Table, {"runs": 1001}, "t")


def test_range_problems_name_where_each_value_was_given():
    found = range_problems(Knobs(runs=0, ratio=2.0), {"runs": ("--runs", None), "ratio": ("f.toml [k]", "ratio")})
    assert [(p.where, p.key) for p in found] == [("--runs", None), ("f.toml [k]", "ratio")]


@dataclass(frozen=True)
class Counts:
    threads: tuple[int, ...] = setting((1,), lo=1, hi=256)


@pytest.mark.parametrize("given", [[0.0], [1.5, 2]])
def test_a_list_of_floats_for_whole_numbers_is_a_problem_never_a_type_error(given):
    """Found by the fuzz test: threads = [0.0] in a [bench] table raised TypeError (int() of the list) while the
    message for a scalar 0.0 was being built. Hand reading: one problem, at threads, with the value as written."""
    found = []
    assert check_mapping(Counts, {"threads": given}, "sweep.toml [bench]", found) is None
    assert [(p.where, p.key) for p in found] == [("sweep.toml [bench]", "threads")]
    assert found[0].given == describe(given)
