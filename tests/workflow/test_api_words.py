"""A Python caller reads problems in Python's words (``workers=0``, ``config.epochs=0``), the CLI in its own
(``--workers = "0"``), from the same checks. Each expectation below is written by hand from the call."""

import argparse

import pytest

import liteship
from liteship.app.cli import build_parser, main
from liteship.config import Problems
from liteship.workflow.api_words import flag_fields, words
from liteship.workflow.requests import REQUESTS


def refused(call) -> list:
    with pytest.raises(Problems) as caught:
        call()
    return caught.value.problems


def lines(problems) -> list[str]:
    return [p.line() for p in problems]


def test_sweep_names_its_keyword_arguments(tmp_path):
    out = tmp_path / "runs" / "x"
    found = refused(lambda: liteship.sweep("digits", out, workers=0, executor="nope"))
    assert [(p.where, p.key, p.given) for p in found] == [("executor", None, "'nope'"), ("workers", None, "0")]
    assert lines(found) == [
        "executor='nope': executors: local, ray. Fix: pass local (the default) or ray.",
        "workers=0: it is auto or a whole number of processes from 1 to 256. Fix: pass workers=2, say, or leave it "
        "out (auto: one per core).",
    ]
    assert not (tmp_path / "runs").exists()


def test_bench_names_the_target_and_reads_threads_text_as_the_cli_does(tmp_path):
    target = str(tmp_path / "nonexist.tflite")
    found = refused(lambda: liteship.bench(target, runs=0, threads="0"))
    assert [(p.where, p.given) for p in found] == [("target", repr(target)), ("threads", "'0'"), ("runs", "0")]
    assert lines(found)[1:] == [
        "threads='0': 0 is out of range: values from 1 to 256. Fix: give threads values from 1 to 256.",
        "runs=0: 0 is out of range: values from 1 to 100000. Fix: give runs values from 1 to 100000.",
    ]
    # text with commas is thread counts, as `liteship bench --threads 1,2` takes it; letters are not
    found = refused(lambda: liteship.bench(target, threads="1,300"))
    assert [(p.where, p.given) for p in found] == [("target", repr(target)), ("threads", "'1,300'")]
    assert "300 is out of range" in found[1].allowed
    found = {p.where: p for p in refused(lambda: liteship.bench(target, threads="one"))}
    assert found.keys() == {"target", "threads"} and found["threads"].line() == ("threads='one': it takes thread counts: whole numbers, as a list, one number, or text "
                               "with commas. Fix: for example threads=(1, 2), threads=1 or threads='1,2'.")
    assert not list(tmp_path.iterdir())


def test_bench_options_object_fields_are_named_as_its_fields(tmp_path):
    options = liteship.BenchOptions(runs=0)
    found = refused(lambda: liteship.bench(tmp_path / "m.tflite", options=options, warmup=-1))
    assert [(p.where, p.given) for p in found] == [("target", f"Path({str(tmp_path / 'm.tflite')!r})"),
                                                   ("options.runs", "0"), ("warmup", "-1")]


def test_train_names_keywords_or_the_config_fields_the_caller_set(tmp_path):
    out = tmp_path / "x"
    found = refused(lambda: liteship.train("digits", out, epochs=0, batch_size=-1))
    assert lines(found) == [
        "batch_size=-1: it must be from 1 to 4096. Fix: give batch size a value in that range.",
        "epochs=0: with no fine-tuning epochs either, nothing would train. Fix: give epochs 1 or more.",
    ]
    config = liteship.TrainConfig(epochs=0, batch_size=-1)
    found = refused(lambda: liteship.train("digits", out, config=config, seed=-5))
    assert [(p.where, p.given) for p in found] == [("config.batch_size", "-1"), ("seed", "-5"),
                                                   ("config.epochs", "0")]
    found = refused(lambda: liteship.train("digits", out, arch="small_cnn", weights="imagenet"))
    assert found[0].line() == ("weights='imagenet': small_cnn is trained from scratch, with no base model to load "
                               "weights into or fine-tune. Fix: drop weights, or use arch='mobilenet_v2'.")
    assert not out.exists()


def test_the_cli_says_what_it_said_before(tmp_path, capsys):
    out = tmp_path / "x"
    assert main(["sweep", "--data", "digits", "--out", str(out), "--workers", "0", "--executor", "nope"]) == 2
    assert capsys.readouterr().err == (  # recorded before the Python words existed
        "liteship sweep: error: 2 problems in the input; nothing was started or written:\n"
        '  - --workers = "0": it is auto or a whole number of processes from 1 to 256. Fix: pass --workers 2, say, '
        "or leave it out (auto: one per core).\n"
        '  - --executor = "nope": executors: local, ray. Fix: pass local (the default) or ray.\n')
    assert main(["bench", str(tmp_path / "m.tflite"), "--runs", "0", "--threads", "0"]) == 2
    assert capsys.readouterr().err.splitlines()[1:3] == [
        '  - --threads = "0": it takes whole numbers from 1 to 256, separated by commas. Fix: for example 1,2.',
        '  - --runs = "0": it takes a whole number from 1 to 100000. Fix: give a value in that range, e.g. 50.']


def test_a_sweep_config_built_in_python_is_named_by_its_fields(tmp_path):
    config = liteship.SweepConfig(train=liteship.TrainTable(epochs=-1, batch_size=0),
                                  models=(liteship.ModelTable(arch="small_cnn", size=3),),
                                  bench=liteship.BenchTable(runs=0, threads=(0,)))
    found = refused(lambda: liteship.sweep("digits", tmp_path / "x", config=config))
    assert {(p.where, p.given) for p in found} == {
        ("config.train.epochs", "-1"), ("config.train.batch_size", "0"), ("config.models[0].size", "3"),
        ("config.bench.runs", "0"), ("config.bench.threads", "(0,)")}
    toml = tmp_path / "sweep.toml"  # a file keeps its file, table and key
    toml.write_text("[train]\nepochs = -1\n[[models]]\narch = 'small_cnn'\nsize = 32\n")
    found = refused(lambda: liteship.sweep("digits", tmp_path / "x", config=str(toml)))
    assert [(p.where, p.key, p.python) for p in found] == [(f"{toml} [train]", "epochs", False)]


def test_budgets_built_in_python_and_the_run_argument(tmp_path):
    run = str(tmp_path / "missing")
    found = refused(lambda: liteship.gate(run, budgets=liteship.Budgets(min_accuracy=2.0, threads=0)))
    assert {(p.where, p.given) for p in found} == {("run", repr(run)), ("budgets.min_accuracy", "2.0"),
                                                   ("budgets.threads", "0")}


def test_a_misspelt_keyword_says_the_one_meant(tmp_path):
    found = refused(lambda: liteship.sweep("digits", tmp_path / "x", worker=2))
    assert found[0].line() == ("worker=2: liteship.sweep() has no such setting; it takes address, augment, executor, "
                               "quiet, track, verbose, workers. Fix: did you mean workers=2?")


PRUNE_TOML = "[prune_int8]\ntarget_sparsity = 1.5\n[nope]\nx = 1\n"


def test_recipe_configs_built_in_python_are_checked_as_the_toml_tables(tmp_path):
    run = tmp_path / "missing"
    toml = tmp_path / "recipes.toml"
    toml.write_text(PRUNE_TOML)
    by_file = refused(lambda: liteship.optimize(run, recipes=["int8", "prune_int8"], config=str(toml)))
    as_dict = {"prune_int8": liteship.PruneConfig(target_sparsity=1.5), "nope": liteship.Int8Config()}
    by_dict = refused(lambda: liteship.optimize(run, recipes=["int8", "prune_int8"], config=as_dict))
    # the same problems: the run, the recipe's setting out of range, the table naming no recipe
    assert {(p.where, p.key) for p in by_file} == {("run", None), (f"{toml} [prune_int8]", "target_sparsity"),
                                                   (str(toml), "[nope]")}
    assert {p.where for p in by_dict} == {"run", "config['prune_int8'].target_sparsity", "config['nope']"}
    assert next(p for p in by_dict if "target" in p.where).line() == (
        "config['prune_int8'].target_sparsity=1.5: 1.5 is out of range: values from 0 to 0.99. Fix: give "
        "target_sparsity values from 0 to 0.99.")
    as_list = [liteship.PruneConfig(target_sparsity=1.5), liteship.QatConfig()]
    by_list = refused(lambda: liteship.optimize(run, recipes="int8,prune_int8", config=as_list))
    assert [p.where for p in by_list] == ["run", "config[1]", "config[0].target_sparsity"]
    wrong = refused(lambda: liteship.optimize(run, recipes="prune_int8", config={"prune_int8": liteship.Int8Config()}))
    assert wrong[1].where == "config['prune_int8']" and "it takes a PruneConfig" in wrong[1].allowed
    assert not list(run.parent.glob("missing*"))


def test_recipe_configs_built_in_python_are_the_tomls_configs(tmp_path):
    from liteship.optimize import resolve_configs
    from liteship.workflow.settings_checks import recipe_settings

    toml = tmp_path / "recipes.toml"
    toml.write_text("[prune_int8]\ntarget_sparsity = 0.5\n[int8]\ncalibration_images = 50\n")
    names = ["float32", "int8", "prune_int8", "qat_int8"]
    expected = resolve_configs(names, toml)
    assert recipe_settings(names, {"prune_int8": liteship.PruneConfig(target_sparsity=0.5),
                                   "int8": liteship.Int8Config(calibration_images=50)}) == expected
    assert recipe_settings(names, [liteship.Int8Config(calibration_images=50),
                                   liteship.PruneConfig(target_sparsity=0.5)]) == expected
    assert expected["prune_int8"].target_sparsity == 0.5 and expected["qat_int8"] == liteship.QatConfig()


def test_the_flag_table_matches_the_parser():
    """Every flag and positional of every command names the request field the table says (read from the parser)."""
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    commands = []
    for command, parser in sub.choices.items():  # `device kit` and `device import`: a request each
        nested = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        commands += [(f"{command} {k}", p) for k, p in nested.choices.items()] if nested else [(command, parser)]
    for command, parser in commands:
        table = flag_fields(REQUESTS[command])
        for action in parser._actions:
            if action.dest in ("help", "list", "quiet", "nondeterministic"):  # no field of their own
                continue
            for name in action.option_strings or [action.dest.upper()]:
                field = table[name]
                assert field.rpartition(".")[2] == action.dest, (command, name, field)
    assert flag_fields(REQUESTS["train"])["--fine-tune-at"] == "config.fine_tune_at"
    assert flag_fields(REQUESTS["bench"])["--threads"] == "options.threads"


@pytest.mark.parametrize("text, said", [
    ("pass --workers 2, say, or leave it out", "pass workers=2, say, or leave it out"),
    ("add --executor ray, or drop --address", "add executor='ray', or drop address"),
    ("--workers sets the local executor's processes", "workers sets the local executor's processes"),
    ("for example --out runs/demo", "for example out='runs/demo'"),
    ("run `liteship train --out runs/x` first", "run `liteship train --out runs/x` first"),
    ("bench it (liteship bench RUN_DIR --backends ...)", "bench it (liteship bench RUN_DIR --backends ...)"),
    ("pass RUN_DIR, or use --executor local.", "pass run, or use executor='local'."),
    ("--workers-extra is another flag", "--workers-extra is another flag"),
])
def test_flags_in_a_message_become_keyword_arguments(text, said):
    assert words(text, {"--workers": "workers", "--executor": "executor", "--address": "address", "--out": "out",
                        "RUN_DIR": "run", "--backends": "backends"}) == said
