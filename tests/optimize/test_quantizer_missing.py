"""Without LiteRT Quantizer, optimize refuses the recipes it makes before any work (exit 2, the install line), where
each loaded TensorFlow and failed with an ImportError; the converter's recipes are not refused."""

import sys

import pytest


@pytest.fixture
def run_dir(tmp_path):
    """A run directory as far as optimize's checks read it: its marker and a float/ folder."""
    (tmp_path / ".liteship-run").touch()
    (tmp_path / "float").mkdir()
    return tmp_path


def test_quantizer_recipes_are_refused_up_front_naming_the_install(run_dir, monkeypatch, capsys):
    from liteship.app.cli import main

    monkeypatch.setitem(sys.modules, "litert_quantizer", None)  # as if not installed
    before = sorted(p.name for p in run_dir.rglob("*"))
    assert main(["optimize", str(run_dir), "--recipes", "int8,float16,int4_weights"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'liteship[train]'" in err and "litert-quantizer" in err
    assert "int8,int4_weights" in err and "float16" not in err.replace("int8,float16,int4_weights", "")
    assert sorted(p.name for p in run_dir.rglob("*")) == before  # nothing written


def test_the_converters_recipes_need_no_quantizer(run_dir, monkeypatch):
    from liteship.optimize import quantizer

    monkeypatch.setitem(sys.modules, "litert_quantizer", None)
    assert quantizer.unavailable(["float16", "float32", "qat_int8", "prune_int8"]) == []
    assert quantizer.unavailable(["dynamic", "selective_int8", "auto_int8", "int16x8"]) == \
        ["dynamic", "selective_int8", "auto_int8", "int16x8"]
    monkeypatch.delitem(sys.modules, "litert_quantizer")
    assert quantizer.unavailable(["int8"]) == []  # installed in this environment
