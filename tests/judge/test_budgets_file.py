"""A liteship.toml may hold the sweep config beside the budgets: every table the README's sweep config shows,
[track] included, is read past by `gate --budgets` and `pick --budgets`, and a table that is none of them is
still refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from liteship.config import Problems
from liteship.judge.budgets import load_budgets

README = Path(__file__).resolve().parents[2] / "docs" / "reference" / "sweep-toml.md"  # the sweep.toml reference


def readme_sweep_config() -> str:
    """The documented sweep config example (it was the README's), as a user would copy it."""
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    return next(b for b in blocks if b.startswith("# sweep.toml"))


def test_budgets_beside_the_readme_sweep_config_load(tmp_path):
    sweep = readme_sweep_config()
    assert "[track]" in sweep
    path = tmp_path / "liteship.toml"
    path.write_text(sweep + "[budgets]\nmax_size_kb = 500\n", encoding="utf-8")
    assert load_budgets(path).max_size_kb == 500


def test_budgets_beside_track_load_and_a_stranger_is_refused(tmp_path):
    path = tmp_path / "liteship.toml"
    path.write_text("[budgets]\nmax_size_kb = 250\n[track]\nmlflow = true\n", encoding="utf-8")
    assert load_budgets(path).max_size_kb == 250
    path.write_text("[budgets]\nmax_size_kb = 250\n[trak]\nmlflow = true\n", encoding="utf-8")
    with pytest.raises(Problems, match=r"trak"):
        load_budgets(path)


def test_gate_reads_budgets_beside_track(tmp_path, capsys):
    """The CLI: `gate --budgets` gets past the file (it fails later, on the missing run, not on [track])."""
    from liteship.app.cli import main

    path = tmp_path / "liteship.toml"
    path.write_text("[budgets]\nmax_size_kb = 250\n[track]\nmlflow = true\n", encoding="utf-8")
    code = main(["gate", str(tmp_path / "no-run"), "--budgets", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "[track]" not in err and "no-run" in err
