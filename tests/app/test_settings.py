"""One settings object per stage: the same settings as flags or as a config table are the same object, and
their defaults and ranges come from that object's class alone."""

import dataclasses
import shutil

import pytest

from liteship.app.cli import build_parser, main
from liteship.app.requests import build_request
from liteship.workflow.sweep_config import BenchTable, TrainTable, bench_options, load_sweep_config
from liteship.bench import BenchOptions
from liteship.config import Problems
from liteship.progress import Progress
from liteship.trainer import TrainConfig

FLAGS = ["--backends", "xnnpack,gpu", "--threads", "1,2", "--runs", "12", "--rounds", "3", "--warmup", "2",
         "--instructions"]
TABLE = """
[[models]]
arch = "small_cnn"
[bench]
backends = ["xnnpack", "gpu"]
threads = [1, 2]
runs = 12
rounds = 3
warmup = 2
instructions = true
arm64 = false
"""


def test_flags_and_the_bench_table_give_equal_options(tmp_path):
    pytest.importorskip("liteship.bench.instructions").require_valgrind()  # instructions = true needs valgrind
    args = build_parser().parse_args(["bench", "m.tflite", *FLAGS])
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(TABLE)
    from_table = bench_options(load_sweep_config(cfg).bench, Progress(quiet=True))
    assert build_request(args).options == from_table
    assert from_table == BenchOptions(backends=("xnnpack", "gpu"), threads=(1, 2), runs=12, rounds=3, warmup=2,
                                      instructions=True)


def test_unset_flags_and_an_empty_table_take_the_one_default():
    args = build_parser().parse_args(["bench", "m.tflite"])
    table, options = BenchTable(), BenchOptions()
    for name in ("threads", "runs", "warmup", "rounds", "target_runtime"):
        assert getattr(args, name) == getattr(table, name) == getattr(options, name), name
    train = build_parser().parse_args(["train", "--data", "digits"])
    for name in ("batch_size", "seed"):
        assert getattr(train, name) == getattr(TrainTable(), name) == getattr(TrainConfig(), name), name
    assert train.arch == TrainConfig().arch
    assert (args.runs, args.rounds, args.warmup, args.threads) == (50, 10, 5, (1,))  # as the README says


@pytest.mark.parametrize("field, bad", [("runs", 0), ("rounds", 1001), ("warmup", -1), ("threads", [0])])
def test_a_range_is_refused_the_same_as_a_flag_and_as_a_table_key(tmp_path, capsys, field, bad):
    """The range lives on BenchOptions; the flag and the [bench] key both refuse a value outside it."""
    meta = {f.name: f.metadata for f in dataclasses.fields(BenchOptions)}[field]
    assert meta  # the range is declared where the default is
    flag = ",".join(map(str, bad)) if isinstance(bad, list) else str(bad)
    assert main(["bench", str(tmp_path / "m.tflite"), f"--{field}", flag]) == 2
    said = capsys.readouterr().err
    assert f"--{field}" in said and "Traceback" not in said
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(TABLE.replace(f"\n{field} = ", f"\n# {field} = ") + f"{field} = {bad}\n")
    with pytest.raises(Problems) as caught:
        load_sweep_config(cfg)
    assert any(p.key == field and "[bench]" in p.where for p in caught.value.problems)


def test_a_sweep_after_bench_with_the_same_settings_benches_nothing(swept, tmp_path):
    src, cfg, _ = swept
    run = tmp_path / "run"
    shutil.copytree(src, run, ignore=shutil.ignore_patterns(".liteship.lock"))
    # bench with settings the sweep did not use, so every record is written by `liteship bench`
    assert main(["bench", str(run), "--backends", "xnnpack,gpu", "--threads", "1", "--runs", "12", "--rounds", "3",
                 "--warmup", "2", "--quiet"]) == 0
    benched = (run / "results.jsonl").read_bytes()
    same = tmp_path / "same.toml"
    same.write_text(cfg.read_text().replace("runs = 10", "runs = 12\nrounds = 3\nwarmup = 2"))
    assert main(["sweep", "--data", "digits", "--config", str(same), "--out", str(run), "--quiet"]) == 0
    assert (run / "results.jsonl").read_bytes() == benched  # not one record measured again
