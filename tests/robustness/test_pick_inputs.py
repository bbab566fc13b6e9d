"""Issue 32 point 12, in real `liteship` processes: a ranking that has nothing to rank by is refused before any
work, and an empty [budgets] table judges what the defaults judge (it does not silently drop them)."""

from __future__ import annotations

import pytest

from tests.robustness.test_not_ours import liteship, snapshot


def test_prefer_instructions_without_any_count_is_exit_2_before_work(run_copy):
    # the shared sweep counts nothing (instructions = false, arm64 = false): nothing ranks by instructions
    before = snapshot(run_copy)
    proc = liteship("pick", run_copy, "--prefer", "instructions", timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines()[0] == "liteship pick: error: 1 problem in the input; nothing was started or " \
                                          "written:", proc.stderr
    assert "no record there holds one" in proc.stderr and "--instructions" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert snapshot(run_copy) == before  # no release, no rewritten report


@pytest.mark.parametrize("table", ["", 'backend = "xnnpack"\nthreads = 1\n'], ids=["empty", "where-only"])
def test_a_budgets_table_without_limits_judges_as_the_defaults(run_copy, tmp_path, table):
    (tmp_path / "liteship.toml").write_text("[budgets]\n" + table)
    default = liteship("gate", run_copy, "--all", timeout=120)
    given = liteship("gate", run_copy, "--all", "--budgets", tmp_path / "liteship.toml", timeout=120)
    assert given.returncode == default.returncode and given.stdout == default.stdout
    assert "max_accuracy_drop (change vs float32)" in given.stdout and "min_agreement" in given.stdout
    assert "Traceback" not in given.stdout + given.stderr
