"""Settings built in Python get exactly the checks flags and TOML get: every problem at once, as Problems, before
any work, nothing written. Each case runs the command line's path too (its flags or its TOML file, through the
CLI's own request building and the same check) and the two must name the same places, which are also counted
here by hand."""

import argparse
import os

import pytest

from liteship.app.cli import build_parser, main
from liteship.app.requests import build_request
from liteship.config import Problems
from liteship.judge import Budgets
from liteship.trainer import TrainConfig
from liteship.workflow.checks import check
from liteship.workflow.execute import execute
from liteship.workflow.requests import GateRequest, SweepRequest, TrainRequest
from liteship.workflow.sweep_config import BenchTable, ModelTable, SweepConfig, TrainTable
from tests.conftest import write_class_folder


def snapshot(root) -> dict:
    """Every path below ``root`` with its size and modification time."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            out[path] = (info.st_size, info.st_mtime_ns)
    return out


def refused(fn, *args) -> list:
    with pytest.raises(Problems) as exc:
        fn(*args)
    return exc.value.problems


def cli_problems(argv: list[str]) -> list:
    """The problems the command line's path finds (the CLI builds the request from flags, then checks it)."""
    return refused(check, build_request(build_parser().parse_args(argv)))


def places(problems, path=None, name=None) -> set:
    """(where, key) of each problem; a file's path in ``where`` written as the argument ``name`` that took it."""
    return {((p.where.replace(str(path), name) if path else p.where), p.key) for p in problems}


def test_a_bad_train_config_is_refused_as_its_flags_are(tmp_path):
    out = tmp_path / "run"
    before = snapshot(tmp_path)
    python = refused(execute, TrainRequest(data="digits", out=out, config=TrainConfig(epochs=0, batch_size=-1)))
    flags = cli_problems(["train", "--data", "digits", "--out", str(out), "--epochs", "0", "--batch-size", "-1"])
    assert places(python) == places(flags) == {("--epochs", None), ("--batch-size", None)}
    assert main(["train", "--data", "digits", "--out", str(out), "--epochs", "0", "--batch-size", "-1"]) == 2
    assert snapshot(tmp_path) == before and not out.exists()


SWEEP_TOML = """
[train]
epochs = -1
batch_size = 0

[[models]]
arch = "small_cnn"
size = 3

[bench]
runs = 0
threads = [0]
"""


def test_a_bad_sweep_config_is_refused_as_its_toml_is(tmp_path):
    cfg, out = tmp_path / "sweep.toml", tmp_path / "run"
    cfg.write_text(SWEEP_TOML)
    before = snapshot(tmp_path)
    config = SweepConfig(train=TrainTable(epochs=-1, batch_size=0), models=(ModelTable(arch="small_cnn", size=3),),
                         bench=BenchTable(runs=0, threads=(0,)))
    python = refused(execute, SweepRequest(data="digits", out=out, config=config))
    toml = cli_problems(["sweep", "--data", "digits", "--config", str(cfg), "--out", str(out)])
    expected = {("config [train]", "epochs"), ("config [train]", "batch_size"), ("config [[models]] #1", "size"),
                ("config [bench]", "runs"), ("config [bench]", "threads")}
    assert places(python) == places(toml, cfg, "config") == expected
    assert main(["sweep", "--data", "digits", "--config", str(cfg), "--out", str(out)]) == 2
    assert snapshot(tmp_path) == before and not out.exists()


def test_budgets_with_bad_limits_are_refused_as_their_toml_is(tmp_path):
    toml = tmp_path / "liteship.toml"
    toml.write_text("[budgets]\nmin_accuracy = 2.0\nthreads = 0\nmax_size_kb = 500\n")
    run = tmp_path / "missing-run"
    before = snapshot(tmp_path)
    python = refused(execute, GateRequest(run_dir=run, budgets=Budgets(min_accuracy=2.0, threads=0, max_size_kb=500)))
    file = cli_problems(["gate", str(run), "--budgets", str(toml)])
    expected = {("RUN_DIR", None), ("budgets", "min_accuracy"), ("budgets", "threads")}
    assert places(python) == places(file, f"{toml} [budgets]", "budgets") == expected
    assert snapshot(tmp_path) == before


def test_an_out_that_is_the_data_is_refused_and_the_data_untouched(tmp_path):
    data = write_class_folder(tmp_path / "photos", per_class=2)
    before = snapshot(tmp_path)
    python = refused(execute, TrainRequest(data=data, out=data / "run", config=TrainConfig(epochs=1)))
    flags = cli_problems(["train", "--data", str(data), "--out", str(data / "run"), "--epochs", "1"])
    assert places(python) == places(flags) == {("--out", None)}
    assert "inside the data" in python[0].allowed
    python = refused(execute, SweepRequest(data=str(data), out=data))
    assert places(python) == {("--out", None)} and "is the data" in python[0].allowed
    assert snapshot(tmp_path) == before


class _Frozen(argparse.Namespace):
    """A namespace that takes its values once, then refuses every write."""

    def __init__(self, **values):
        super().__init__(**values)
        object.__setattr__(self, "_frozen", True)

    def __setattr__(self, name, value):
        if getattr(self, "_frozen", False):
            raise AssertionError(f"args.{name} written after parsing")
        object.__setattr__(self, name, value)


@pytest.fixture()
def frozen_namespace(monkeypatch):
    parse = argparse.ArgumentParser.parse_args

    def parse_args(self, args=None, namespace=None):
        return _Frozen(**vars(parse(self, args, namespace)))

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_args)


def test_no_command_writes_to_the_namespace_after_parsing(tmp_path, frozen_namespace):
    missing = str(tmp_path / "missing")
    cases = {  # argv: the exit code the command gives (each reaches its checks, some their work)
        ("train", "--list"): 0,
        ("train", "--data", "digits", "--out", str(tmp_path / "t"), "--epochs", "x"): 2,
        ("optimize", "--list"): 0,
        ("bench", "--list"): 0,
        ("sweep", "--data", "digits", "--out", str(tmp_path / "s"), "--workers", "0"): 2,
        ("sweep", "--data", "digits", "--out", str(tmp_path / "s"), "--workers", "2", "--executor", "ray"): 2,
        ("gate", missing): 2,
        ("pick", missing): 2,
        ("compare", missing, missing): 2,
        ("explain", missing, "int8"): 2,
        ("track", missing): 2,
        ("runtimes", "install"): 2,
    }
    for argv, code in cases.items():
        assert main(list(argv)) == code, argv
