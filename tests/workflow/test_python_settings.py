"""Settings given from Python get the checks TOML and flags get: every problem at once, before any work.

Each case is a call a notebook user can write by mistake; the places expected (``where``, in Python's words) are
written out by hand, and nothing may be written: not the run directory, not a ``~`` folder, not ``.liteship-run``.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

import liteship
from liteship.config import Problems


def _problems(call) -> list:
    with pytest.raises(Problems) as caught:
        call()
    return caught.value.problems


def _wheres(call) -> set[str]:
    return {p.where for p in _problems(call)}


def _small(**bench):
    return liteship.SweepConfig(train=liteship.TrainTable(epochs=1),
                                models=(liteship.ModelTable(arch="small_cnn", size=32),),
                                optimize=liteship.OptimizeTable(recipes=("float32",)),
                                bench=liteship.BenchTable(**{"backends": ("xnnpack",), "runs": 5, **bench}))


@pytest.fixture
def here(tmp_path, monkeypatch):
    """An empty working folder: whatever a refused call wrote would be found in it."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# 2: the sweep's own settings, and True/False ones, are checked like every other ---------------------------------

def test_an_unknown_tracker_is_one_of_every_problem(here):
    wheres = _wheres(lambda: liteship.sweep("digits", "o", config=_small(), track="wandb", workers=0,
                                            executor="dask"))
    assert wheres == {"track", "workers", "executor"}
    assert _wheres(lambda: liteship.sweep("digits", "o", config=_small(), track=1)) == {"track"}


@pytest.mark.parametrize("call, where", [
    (lambda: liteship.gate("run", all="no"), "all"),
    (lambda: liteship.sweep("digits", "o", config=_small(), verbose="no"), "verbose"),
    (lambda: liteship.sweep("digits", "o", config=_small(), quiet="no"), "quiet"),
    (lambda: liteship.train("digits", "o", epochs=1, deterministic="no"), "deterministic"),
    (lambda: liteship.train("digits", "o", epochs=1, deterministic=1), "deterministic"),
])
def test_a_true_or_false_setting_takes_true_or_false(here, call, where):
    problems = _problems(call)
    assert where in {p.where for p in problems}
    assert any(p.where == where and "True or False" in p.allowed for p in problems)


# 3: every field of TrainConfig and BenchOptions, by its declared kind and range --------------------------------

@pytest.mark.parametrize("settings, wheres", [
    (dict(learning_rate=float("nan")), {"config.learning_rate"}),
    (dict(learning_rate=-1e-3), {"config.learning_rate"}),
    (dict(fine_tune_learning_rate="x"), {"config.fine_tune_learning_rate"}),
    (dict(val_fraction=0.9, test_fraction=0.9), {"config.val_fraction", "config.test_fraction"}),
    (dict(val_fraction=0.45, test_fraction=0.5), {"config.test_fraction"}),  # each in range, 95% held out
    (dict(test_fraction=0.0), {"config.test_fraction"}),
])
def test_every_train_config_field_is_checked(here, settings, wheres):
    problems = _problems(lambda: liteship.train("digits", "o", config=liteship.TrainConfig(epochs=1, **settings)))
    assert {p.where for p in problems} == wheres


def test_the_fractions_sum_says_what_training_keeps(here):
    (problem,) = _problems(lambda: liteship.train("digits", "o", config=liteship.TrainConfig(
        epochs=1, val_fraction=0.45, test_fraction=0.5)))
    assert "0.95" in problem.allowed and "10%" in problem.allowed, problem.line()


@pytest.mark.parametrize("settings, where", [
    (dict(min_round_ms=float("nan")), "options.min_round_ms"),
    (dict(batch=0), "options.batch"),
    (dict(batch=-3), "options.batch"),
    (dict(instructions="no"), "options.instructions"),
    (dict(instructions_note=5), "options.instructions_note"),
    (dict(backends="xnnpack"), "options.backends"),
    (dict(runs=None), "options.runs"),
])
def test_every_bench_options_field_is_checked(tmp_path, settings, where):
    problems = _problems(lambda: liteship.bench(tmp_path / "missing.tflite",
                                                options=liteship.BenchOptions(**settings)))
    assert {p.where for p in problems} == {"target", where}
    if "backends" in settings:
        assert "no backend named" not in problems[-1].allowed
    assert not list(tmp_path.iterdir())


# 9: a path of the wrong kind is a problem, never a TypeError ----------------------------------------------------

@pytest.mark.parametrize("call, wheres", [
    (lambda: liteship.sweep(None, None), {"data", "out"}),
    (lambda: liteship.sweep("digits", b"o4", workers=0), {"out", "workers"}),
    (lambda: liteship.pick(5), {"run"}),
    (lambda: liteship.pick(None), {"run"}),
    (lambda: liteship.gate(None), {"run"}),
    (lambda: liteship.compare(None, None), {"base", "new"}),
    (lambda: liteship.train(5, "o5", epochs=1), {"data"}),
    (lambda: liteship.optimize("no_run", recipes=5), {"run", "recipes"}),
    (lambda: liteship.explain(None, "int8"), {"run"}),
])
def test_a_path_of_the_wrong_kind_is_a_problem(here, call, wheres):
    assert _wheres(call) == wheres


def test_a_path_that_is_no_path_says_what_it_takes(here):
    (problem,) = _problems(lambda: liteship.sweep(b"digits", "o", config=_small()))
    assert problem.line().startswith("data=b'digits': it takes a path: a folder of class folders"), problem.line()


# 10: a SweepConfig whose tables are of the wrong kind ------------------------------------------------------------

@pytest.mark.parametrize("change, where", [
    (dict(models=None), "config.models"),
    (dict(bench={"runs": 1}), "config.bench"),
    (dict(train=None), "config.train"),
    (dict(models=({"arch": "small_cnn"},)), "config.models[0]"),
    (dict(recipe_configs={"int8": 5}), "config.recipe_configs['int8']"),
])
def test_a_table_of_the_wrong_kind_is_a_problem(here, change, where):
    config = dataclasses.replace(_small(), **change)
    assert _wheres(lambda: liteship.sweep("digits", "o", config=config, workers=0)) == {where, "workers"}


# 13: class folders without images are refused before any work, from Python and the CLI ---------------------------

def _empty_classes(root):
    for name in ("cat", "dog"):
        (root / "data" / name).mkdir(parents=True)
    (root / "data" / "cat" / "notes.txt").write_text("no photo")
    return root / "data"


def test_class_folders_without_images_are_refused_up_front(tmp_path):
    data = _empty_classes(tmp_path)
    (problem,) = _problems(lambda: liteship.sweep(data, tmp_path / "o", config=_small()))
    assert problem.where == "data" and "no class folder holds an image file" in problem.allowed
    assert "1 files, none named as an image" in problem.allowed, problem.line()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_the_cli_refuses_them_too(tmp_path):
    data = _empty_classes(tmp_path)
    done = subprocess.run([sys.executable, "-m", "liteship", "train", "--data", str(data), "--out",
                           str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "no class folder holds an image file" in done.stderr
    assert not (tmp_path / "o").exists()


# 14: ~ is not expanded -------------------------------------------------------------------------------------------

def test_a_path_starting_with_a_tilde_is_refused(here):
    (problem,) = _problems(lambda: liteship.sweep("digits", "~/liteship_x", config=_small()))
    assert problem.where == "out" and "os.path.expanduser('~/liteship_x')" in problem.fix


# 18: a config given as any os.PathLike ---------------------------------------------------------------------------

class _Place:
    def __init__(self, path):
        self.path = path

    def __fspath__(self):
        return str(self.path)


def test_a_config_may_be_any_path_like(tmp_path):
    toml = tmp_path / "sweep.toml"
    toml.write_text('[[models]]\narch = "small_cnn"\nsize = 32\n[bench]\nruns = 0\n')
    problems = _problems(lambda: liteship.sweep("digits", tmp_path / "o", config=_Place(toml)))
    assert [(p.where, p.key) for p in problems] == [(f"{toml} [bench]", "runs")]
    assert not (tmp_path / "o").exists()


# 19: every problem at once ---------------------------------------------------------------------------------------

def test_an_unknown_arch_is_said_beside_the_models_other_problems(here):
    config = dataclasses.replace(_small(), models=(liteship.ModelTable(arch="nope", size="32"),
                                                   liteship.ModelTable(arch="small_cnn", size=-3)))
    assert _wheres(lambda: liteship.sweep("digits", "o", config=config)) == {
        "config.models[0].arch", "config.models[0].size", "config.models[1].size"}


def test_an_unknown_arch_does_not_hide_zero_epochs(here):
    wheres = _wheres(lambda: liteship.train("digits", "o", config=liteship.TrainConfig(arch="nope"), epochs=0))
    assert wheres == {"config.arch", "epochs"}


def test_bogus_recipes_do_not_hide_a_missing_config(here):
    problems = _problems(lambda: liteship.optimize("no_run", recipes="bogus", config="nope.toml"))
    assert {p.where for p in problems} >= {"run", "recipes"}
    assert any("nope.toml" in p.line() for p in problems), [p.line() for p in problems]


def test_the_cli_says_an_unknown_tracker_with_the_other_problems(tmp_path):
    done = subprocess.run([sys.executable, "-m", "liteship", "sweep", "--data", "digits", "--out",
                           str(tmp_path / "o"), "--track", "wandb", "--workers", "0", "--executor", "dask"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "3 problems" in done.stderr and "--track" in done.stderr and "--workers" in done.stderr, done.stderr
    assert "--executor" in done.stderr and not (tmp_path / "o").exists()


# 21: the words of two messages -----------------------------------------------------------------------------------

def test_a_cut_json_line_says_at_column_once(tmp_path):
    from liteship.bench import parse_results
    from liteship.errors import LiteshipError

    results = tmp_path / "results.jsonl"
    results.write_text('{"model": "x\n')
    with pytest.raises(LiteshipError) as caught:
        parse_results(results)
    said = str(caught.value) + " " + json.dumps(vars(caught.value), default=str)
    assert "starting at column" in said and "at at" not in said, said


def test_a_whole_number_written_with_a_point_and_out_of_range_says_the_range(here):
    (problem,) = _problems(lambda: liteship.sweep("digits", "o", config=_small(runs=-0.0)))
    assert problem.where == "config.bench.runs" and "from 1 to 100000" in problem.allowed + problem.fix, \
        problem.line()
