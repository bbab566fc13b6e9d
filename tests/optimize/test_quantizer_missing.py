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
    assert "--recipes = int8,int4_weights: LiteRT Quantizer (litert-quantizer) makes int8, int4_weights and is not " \
        "installed" in " ".join(err.split())
    assert "or leave them out (the converter makes float16)" in " ".join(err.split())  # the one it can make
    assert sorted(p.name for p in run_dir.rglob("*")) == before  # nothing written


def test_the_converters_recipes_need_no_quantizer(run_dir, monkeypatch):
    from liteship.optimize import quantizer

    monkeypatch.setitem(sys.modules, "litert_quantizer", None)
    assert quantizer.unavailable(["float16", "float32", "qat_int8", "prune_int8"]) == []
    assert quantizer.unavailable(["dynamic", "selective_int8", "auto_int8", "int16x8"]) == \
        ["dynamic", "selective_int8", "auto_int8", "int16x8"]
    monkeypatch.delitem(sys.modules, "litert_quantizer")
    assert quantizer.unavailable(["int8"]) == []  # installed in this environment


def test_a_sweep_of_quantizer_recipes_is_refused_before_training(tmp_path, monkeypatch, capsys):
    from liteship.app.cli import main

    monkeypatch.setitem(sys.modules, "litert_quantizer", None)
    (tmp_path / "sweep.toml").write_text("[[models]]\narch = 'small_cnn'\nsize = 8\n"
                                         "[optimize]\nrecipes = ['float16', 'dynamic', 'int16x8']\n")
    out = tmp_path / "run"
    assert main(["sweep", "--data", "digits", "--config", str(tmp_path / "sweep.toml"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    text = " ".join(err.split())
    assert "sweep.toml [optimize] recipes = dynamic,int16x8: LiteRT Quantizer (litert-quantizer) makes dynamic, " \
        "int16x8 and is not installed" in text, err
    assert "or leave them out (the converter makes float16)" in text
    assert "pip install 'liteship[train]'" in err and not out.exists()


def test_a_sweep_of_the_converters_recipes_is_not_refused_for_it(tmp_path, monkeypatch):
    from liteship.workflow.resource_checks import quantizer_problems

    monkeypatch.setitem(sys.modules, "litert_quantizer", None)
    assert quantizer_problems(("float16", "qat_int8"), "sweep.toml [optimize]") == []
    assert len(quantizer_problems(("all",), "sweep.toml [optimize]")) == 1


def test_a_python_caller_is_told_which_recipes_need_the_quantizer(tmp_path, monkeypatch):
    import liteship
    from liteship.config import Problems
    from liteship.workflow.sweep_config import ModelTable, OptimizeTable, SweepConfig

    monkeypatch.setitem(sys.modules, "litert_quantizer", None)
    config = SweepConfig(models=(ModelTable(arch="small_cnn", size=8),),
                         optimize=OptimizeTable(recipes=("int8", "float16", "prune_int8", "dynamic")))
    with pytest.raises(Problems) as caught:
        liteship.sweep("digits", tmp_path / "run", config=config)
    (line,) = [p.line() for p in caught.value.problems if "LiteRT Quantizer" in p.line()]
    assert "makes int8, dynamic and is not installed" in line
    assert "the converter makes float16, prune_int8" in line
    assert not (tmp_path / "run").exists()
