"""The issue's examples, each in a real process: exit 2 before any work (TensorFlow never loaded: a count, not a
time, since this machine is shared), every problem named in the user's words, nothing written; and a run too big for
the machine is refused with its estimate."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

INTERNALS = ("Traceback", "Ellipsis", "<class", "__init__(", "NoneType", "positional argument")

EXAMPLES = {
    "threads zero": ("[[models]]\narch = 'small_cnn'\nsize = 32\n[bench]\nthreads = [0]\n",
                     "[bench] threads = [0]: 0 is out of range: values from 1 to 256"),
    "no backends": ("[[models]]\narch = 'small_cnn'\nsize = 32\n[bench]\nbackends = []\n",
                    "[bench] backends = []: the list must not be empty"),
    "huge size": ("[[models]]\narch = 'small_cnn'\nsize = 100000\n",
                  "[[models]] #1 size = 100000: small_cnn takes square inputs from 8 to 1024 px"),
    "train as array": ("[[train]]\nepochs = 3\nseed = 0\n[[models]]\narch = 'small_cnn'\n",
                       "[[train]] = an array of tables: [train] is one table. Fix: write [train]"),
    "recipes as text": ("[[models]]\narch = 'small_cnn'\n[optimize]\nrecipes = 'int8'\n",
                        '[optimize] recipes = "int8": it takes a list of text values. Fix: write it as a list: ["int8"]'),
    "recipes as the flag's text": ("[[models]]\narch = 'small_cnn'\n[optimize]\nrecipes = 'int8, float32'\n",
                                   'recipes = "int8, float32": it takes a list of text values. Fix: write it as a '
                                   'list: ["int8", "float32"]'),
}


def _liteship(*args, cwd, stub_tensorflow=True):
    """(the process, whether it imported TensorFlow): a ``tensorflow`` put first on the path marks a file when
    imported (and fails), so a refusal that loaded it is seen without timing anything. A run that must do its
    work (``stub_tensorflow=False``) gets the real TensorFlow."""
    if not stub_tensorflow:
        proc = subprocess.run([sys.executable, "-m", "liteship", *args], capture_output=True, text=True,
                              timeout=600, cwd=cwd)
        return proc, None
    stub = Path(cwd) / "stub"
    (stub / "tensorflow").mkdir(parents=True, exist_ok=True)
    marker = Path(cwd) / "tensorflow-imported"
    (stub / "tensorflow" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n"
                                                     "raise ImportError('TensorFlow before the refusal')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(stub), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "liteship", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env=env)
    return proc, marker.exists()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_example_exits_2_fast_naming_the_key(tmp_path, name):
    text, expected = EXAMPLES[name]
    (tmp_path / "sweep.toml").write_text(text)
    proc, loaded_tf = _liteship("sweep", "--data", "digits", "--config", "sweep.toml", "--out", "run", cwd=tmp_path)
    assert proc.returncode == 2 and not loaded_tf, (proc.returncode, loaded_tf)
    assert expected in proc.stderr, proc.stderr
    assert not any(word in proc.stderr for word in INTERNALS), proc.stderr
    assert not (tmp_path / "run").exists()


def test_batch_size_zero_and_every_other_problem_at_once(tmp_path):
    proc, loaded_tf = _liteship("train", "--data", "nowhere", "--batch-size", "0", "--epochs", "-2", "--arch",
                              "mobilenet_v2", "--alpha", "0.6", "--out", "run", cwd=tmp_path)
    assert proc.returncode == 2 and not loaded_tf
    for said in ('--batch-size = "0": it takes a whole number from 1 to 4096',
                 '--epochs = "-2": it takes a whole number from 0 to 10000',
                 '--data = "nowhere": it takes a folder of class folders'):
        assert said in proc.stderr, proc.stderr
    assert "4 problems in the input" in proc.stderr or "3 problems in the input" in proc.stderr
    assert "must not be negative" not in proc.stderr and not (tmp_path / "run").exists()


def test_a_foreign_results_line_is_named_in_words(tmp_path):
    from tests.judge.test_findings import FLOAT, rec

    good = json.dumps(rec("int8", FLOAT).to_dict())
    base = tmp_path / "results.jsonl"
    base.write_text(good + "\n" + json.dumps({"name": "something else", "value": 3}) + "\n")
    proc, loaded_tf = _liteship("compare", str(base), str(base), cwd=tmp_path)
    assert proc.returncode == 2 and not loaded_tf
    assert "line 2 is not a liteship bench record: it lacks the keys variant, model, recipe" in proc.stderr
    assert not any(word in proc.stderr for word in INTERNALS), proc.stderr


def test_too_big_for_this_machine_is_refused_with_the_estimate(tmp_path):
    """MobileNetV2 1.4 at 1024 px, 4096 images a batch: one batch's activations alone are ~32 TB."""
    (tmp_path / "sweep.toml").write_text("[train]\nbatch_size = 4096\nweights = 'none'\n[[models]]\n"
                                         "arch = 'mobilenet_v2'\nalpha = 1.4\nsize = 1024\n")
    proc, loaded_tf = _liteship("sweep", "--data", "digits", "--config", "sweep.toml", "--out", "run", cwd=tmp_path)
    assert proc.returncode == 2 and not loaded_tf
    assert "sweep.toml [[models]] #1 (mobilenet_v2_1.4_1024): training it needs about" in proc.stderr
    assert "TB of memory" in proc.stderr
    assert "available" in proc.stderr and not (tmp_path / "run").exists()


@pytest.mark.slow  # a sweep or valgrind count of its own: 14 to 31 s
def test_the_sweep_prints_its_estimate_before_starting(tmp_path, tf_available):
    (tmp_path / "sweep.toml").write_text("[train]\nepochs = 1\nweights = 'none'\n[[models]]\narch = 'small_cnn'\n"
                                         "size = 8\n[optimize]\nrecipes = ['float32']\n[bench]\nbackends = "
                                         "['xnnpack']\nruns = 2\nrounds = 1\ninstructions = false\n")
    proc, _ = _liteship("sweep", "--data", "digits", "--config", "sweep.toml", "--out", "run", cwd=tmp_path,
                        stub_tensorflow=False)
    assert proc.returncode == 0, proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first.startswith("estimated: about ") and "peak memory about" in first
