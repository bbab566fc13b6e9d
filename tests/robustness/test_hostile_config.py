"""Config, budgets, thresholds, recipe, results and weights paths that are not what liteship reads (issue 32),
each in a real `liteship` process: refused with exit 2 before any work, never opened, no traceback, no hang.

Before: ``/proc/kmsg`` hung every one of these flags for ever (stuck reading), a FIFO hung too, a TOML document
5,000 levels deep ended in a RecursionError traceback, and ``/dev/zero`` read until memory ran out. Each case
runs with a 60 s timeout, and every file of the test's folder is the same, byte for byte, afterwards.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.robustness.hostile import DEEP, HOSTILE, fake_run, first_line, run, snapshot

SWEEP = '[train]\nepochs = 1\n[[models]]\narch = "small_cnn"\nsize = 16\n'


def _args(flag: str, p: str, tmp: Path) -> tuple[str, list]:
    """(command, its arguments) that give the path ``p`` to ``flag``; the rest of the input is valid."""
    base, new = fake_run(tmp / "base"), fake_run(tmp / "new")
    out = tmp / "out"
    if flag == "gate_results":
        (new / "results.jsonl").unlink()
        (new / "results.jsonl").symlink_to(p)
    if flag == "sweep_weights":
        (tmp / "w.toml").write_text(SWEEP.replace("small_cnn", "mobilenet_v2") + f"weights = {p!r}\n")
    (tmp / "m.tflite").write_bytes(b"TFL3")
    return {
        "sweep_config": ("sweep", ["--data", "digits", "--config", p, "--out", out]),
        "sweep_weights": ("sweep", ["--data", "digits", "--config", tmp / "w.toml", "--out", out]),
        "gate_budgets": ("gate", [new, "--budgets", p]),
        "pick_budgets": ("pick", [new, "--budgets", p]),
        "gate_results": ("gate", [new]),
        "compare_thresholds": ("compare", [base, new, "--thresholds", p]),
        "compare_base": ("compare", [p, new]),
        "compare_new": ("compare", [base, p]),
        "optimize_config": ("optimize", [new, "--recipes", "int8", "--config", p]),
        "train_weights": ("train", ["--data", "digits", "--arch", "mobilenet_v2", "--weights", p, "--out", out]),
        "bench_labels": ("bench", [tmp / "m.tflite", "--labels", p]),
        "bench_target": ("bench", [p]),
        "sweep_data": ("sweep", ["--data", p, "--out", out]),
        "train_data": ("train", ["--data", p, "--out", out]),
    }[flag]


FLAGS = ("sweep_config", "sweep_weights", "gate_budgets", "pick_budgets", "gate_results", "compare_thresholds",
         "compare_base", "compare_new", "optimize_config", "train_weights", "bench_labels", "bench_target", "sweep_data",
         "train_data")
# A deep TOML file is a valid labels file, and a regular file where a model or an archive goes (found bad when
# read): those pairs are not hostile.
CASES = [(flag, kind) for flag in FLAGS for kind in HOSTILE
         if not (kind in DEEP and flag in ("bench_labels", "bench_target", "sweep_data", "train_data"))]


@pytest.mark.parametrize("flag,kind", CASES, ids=[f"{f}-{k}" for f, k in CASES])
def test_a_path_that_is_not_a_file_to_read_is_refused_before_any_work(tmp_path, flag, kind):
    name = "data.tgz" if flag.endswith("_data") else "weights.h5" if flag.endswith("weights") else "input.toml"
    p = HOSTILE[kind](tmp_path / name)
    command, args = _args(flag, p, tmp_path)
    before = snapshot(tmp_path)
    code, err, out, _ = run(command, *args, cwd=tmp_path)
    assert code == 2, err
    assert first_line(err).startswith(f"liteship {command}: error:"), err
    assert not (tmp_path / "out").exists()
    assert snapshot(tmp_path) == before
    if kind in DEEP and flag not in ("compare_base", "compare_new", "gate_results", "train_weights", "sweep_weights"):
        assert "levels deep" in err, err  # said as nesting, not as a parser's recursion
    if kind.startswith(("proc", "sys", "dev")) and not flag.startswith(("compare_new", "compare_base", "gate_res")):
        assert "kernel" in err or "in /dev" in err or "in /proc" in err, err
    if kind in WHY and flag in FILE_FLAGS:  # the refusal is for this path and this reason, not for some other fault of the input
        assert any(str(p) in line and WHY[kind] in line for line in err.splitlines()), err


# What liteship says of each kind of path that is not a regular file (a FIFO, a link to one, a folder).
WHY = {"fifo": "it is a FIFO", "fifo_link": "it is a FIFO (through a symbolic link)",
       "directory": "it is a folder, not a file"}
# The flags that name one file to read (the others take a folder, a run directory or an archive, and say so).
FILE_FLAGS = ("sweep_config", "sweep_weights", "gate_budgets", "pick_budgets", "compare_thresholds", "optimize_config",
              "train_weights", "bench_labels")


# --------------------------------------------------------------------------- a UTF-8 byte-order mark

BOM = "\ufeff"
BOM_FILES = {  # a valid file of each kind with one unknown key: the BOM read past, the key found
    "sweep_config": ("sweep", lambda p, t: ["--data", "digits", "--config", p, "--out", t / "out"],
                     SWEEP + "[bench]\nbogus_key = 1\n"),
    "gate_budgets": ("gate", lambda p, t: [fake_run(t / "run"), "--budgets", p], "[budgets]\nbogus_key = 1\n"),
    "compare_thresholds": ("compare", lambda p, t: [fake_run(t / "a"), fake_run(t / "b"), "--thresholds", p],
                           "[compare]\nbogus_key = 1\n"),
    "optimize_config": ("optimize", lambda p, t: [fake_run(t / "run"), "--recipes", "int8", "--config", p],
                        "[int8]\nbogus_key = 1\n"),
}


@pytest.mark.parametrize("flag", list(BOM_FILES))
def test_a_byte_order_mark_is_read_past(tmp_path, flag):
    command, args, text = BOM_FILES[flag]
    p = tmp_path / "input.toml"
    p.write_text(BOM + text, encoding="utf-8")
    argv = args(p, tmp_path)
    before = snapshot(tmp_path)
    code, err, _, _ = run(command, *argv, cwd=tmp_path)
    assert code == 2 and "bogus_key" in err, err  # the key after the mark was read (before: line 1 was invalid)
    assert "Invalid statement" not in err
    assert snapshot(tmp_path) == before


# --------------------------------------------------------------------------- a flood of problems


@pytest.mark.parametrize("where", ["bench_keys", "top_tables", "budgets_keys"])
def test_thousands_of_unknown_keys_print_twenty_lines_and_a_count(tmp_path, where):
    n = 5_000
    keys = "".join(f"k{i} = 1\n" for i in range(n))
    p = tmp_path / "input.toml"
    if where == "budgets_keys":
        p.write_text("[budgets]\n" + keys)
        command, args = "gate", [fake_run(tmp_path / "run"), "--budgets", p]
    else:
        p.write_text(SWEEP + ("[bench]\n" + keys if where == "bench_keys" else "".join(f"[t{i}]\n" for i in range(n))))
        command, args = "sweep", ["--data", "digits", "--config", p, "--out", tmp_path / "out"]
    code, err, _, _ = run(command, *args, cwd=tmp_path)
    lines = [line for line in err.splitlines() if line.startswith("  - ")]
    assert code == 2
    assert f"{n} problems in the input" in first_line(err), first_line(err)  # every one counted, by hand: n keys
    assert len(lines) == 21, len(lines)  # 20 named, then one "and N more"
    assert lines[-1] == f"  - and {n - 20} more problems like these"
    name = "t" if where == "top_tables" else "k"
    assert f"{name}0" in err and f"{name}{n - 1}" not in err


def test_a_config_of_megabytes_is_refused_unparsed(tmp_path):
    p = tmp_path / "big.toml"
    p.write_text(SWEEP + "[bench]\n" + "".join(f"key_{i:07d} = 1\n" for i in range(150_000)))  # 3.3 MB
    code, err, _, seconds = run("sweep", "--data", "digits", "--config", p, "--out", tmp_path / "out", cwd=tmp_path)
    assert code == 2 and "larger than 2 MB" in err, err
    assert err.count("\n") < 5


# --------------------------------------------------------------------------- [[models]] given twice


@pytest.mark.parametrize("second", ["same", "other_epochs", "default_size"])
def test_the_same_model_twice_is_refused_naming_both_entries(tmp_path, second):
    extra = {"same": 'arch = "small_cnn"\nsize = 16\n', "other_epochs": 'arch = "small_cnn"\nsize = 16\nepochs = 2\n',
             "default_size": 'arch = "small_cnn"\n'}[second]
    first = 'arch = "small_cnn"\nsize = 32\n' if second == "default_size" else 'arch = "small_cnn"\nsize = 16\n'
    p = tmp_path / "twice.toml"
    p.write_text(f"[train]\nepochs = 1\n[[models]]\n{first}[[models]]\n{extra}")
    code, err, _, _ = run("sweep", "--data", "digits", "--config", p, "--out", tmp_path / "out", cwd=tmp_path)
    assert code == 2, err
    folder = "small_cnn_32" if second == "default_size" else "small_cnn_16"  # small_cnn's default size is 32
    assert "[[models]] #2" in err and "[[models]] #1" in err and folder in err, err
    assert not (tmp_path / "out").exists()


def test_two_different_models_are_not_called_the_same(tmp_path):
    p = tmp_path / "two.toml"
    p.write_text('[[models]]\narch = "small_cnn"\nsize = 16\n[[models]]\narch = "small_cnn"\nsize = 24\n'
                 '[bench]\nbogus_key = 1\n')
    code, err, _, _ = run("sweep", "--data", "digits", "--config", p, "--out", tmp_path / "out", cwd=tmp_path)
    assert code == 2 and "bogus_key" in err and "same model" not in err, err


# --------------------------------------------------------------------------- a terminal that is ASCII only


def test_an_ascii_terminal_gets_escapes_not_a_traceback(swept, tmp_path):
    out, _, _ = swept
    code, err, text, _ = run("gate", out, "--markdown", "-", cwd=tmp_path, env={"PYTHONIOENCODING": "ascii"})
    assert code in (0, 1), err
    assert "\\u2013" in text or "\\u2705" in text or "\\u274c" in text, text  # the table's dash and marks, escaped
    assert text.isascii()


# --------------------------------------------------------------------------- the pytest plugin


@pytest.mark.parametrize("option", ["--liteship-budgets", "--liteship-baseline", "--liteship-run-results"])
@pytest.mark.parametrize("kind", list(HOSTILE))
def test_the_pytest_plugin_refuses_them_as_a_usage_error(tmp_path, kind, option):
    import subprocess
    import sys

    from tests.robustness.hostile import INTERNALS

    p = HOSTILE[kind](tmp_path / ("base.jsonl" if option == "--liteship-baseline" else "input.toml"))
    run_dir = fake_run(tmp_path / "run")
    (tmp_path / "test_users.py").write_text("def test_users_own():\n    assert True\n")
    if option == "--liteship-run-results":
        (run_dir / "results.jsonl").unlink()
        (run_dir / "results.jsonl").symlink_to(p)
        args = ["--liteship-run", str(run_dir)]
    else:
        args = ["--liteship-run", str(run_dir), option, p]
    before = snapshot(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], cwd=tmp_path,
                          capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    out, err = proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
    assert "passed" not in out
    if option == "--liteship-run-results" and proc.returncode == 2:
        # the plugin's own checks (before collection) do not read the results: the read, refused, is a collection
        # error that says liteship's message, no traceback
        assert "liteship gate: " in out and ("cannot be read" in out or "bench record" in out), out
    else:
        assert proc.returncode == 4, out[-1500:] + err[-1500:]
        assert first_line(err).startswith("ERROR: liteship gate: "), err
    assert not any(word in out + err for word in INTERNALS), out + err
    after = {k: v for k, v in snapshot(tmp_path).items() if not k.startswith(".benchmarks")}  # pytest-benchmark's
    assert after == before


# --------------------------------------------------------------------------- weights files that are not weights

WEIGHTS = {  # name -> its bytes; none is HDF5 (signature \x89HDF\r\n\x1a\n) or, for .keras, a zip
    "passwd.h5": b"root:x:0:0:root:/root:/bin/bash\n",
    "text.h5": b"these are not weights\n",
    "empty.h5": b"",
    "photo.h5": b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
    "zip.h5": b"PK\x03\x04" + b"\0" * 64,
    "hdf5_late.h5": b"\0" * 100 + b"\x89HDF\r\n\x1a\n",  # the signature, but not where HDF5 puts it
    "text.keras": b"not a zip\n",
    "hdf5.keras": b"\x89HDF\r\n\x1a\n" + b"\0" * 64,  # Keras reads a .keras file as a zip
}


@pytest.mark.parametrize("which", ["train", "sweep"])
@pytest.mark.parametrize("name", list(WEIGHTS) + ["/etc/passwd"])
def test_a_weights_file_keras_cannot_load_is_refused_before_the_images_are_read(tmp_path, name, which):
    if name.startswith("/"):
        weights = name
    else:
        weights = str(tmp_path / name)
        Path(weights).write_bytes(WEIGHTS[name])
    if which == "train":
        args = ["--data", "digits", "--arch", "mobilenet_v2", "--weights", weights, "--out", tmp_path / "out"]
    else:
        (tmp_path / "w.toml").write_text(SWEEP.replace("small_cnn", "mobilenet_v2").replace("size = 16", "size = 96")
                                         + f"weights = {weights!r}\n")
        args = ["--data", "digits", "--config", tmp_path / "w.toml", "--out", tmp_path / "out"]
    before = snapshot(tmp_path)
    code, err, _, _ = run(which, *args, cwd=tmp_path)
    assert code == 2, err
    assert first_line(err) == f"liteship {which}: error: 1 problem in the input; nothing was started or written:"
    assert "weights" in err and ("HDF5" in err or "zip" in err), err
    assert "reading images" not in err and not (tmp_path / "out").exists()
    assert snapshot(tmp_path) == before


def test_a_real_hdf5_weights_file_passes_the_check(tmp_path):
    """A control: an HDF5 file (made by h5py, which Keras saves with) is not refused by the first-bytes check."""
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "real.h5", "w") as f:
        f.create_dataset("x", data=[1.0])
    code, err, _, _ = run("train", "--data", "digits", "--arch", "mobilenet_v2", "--weights", tmp_path / "real.h5",
                          "--batch-size", "0", "--out", tmp_path / "out", cwd=tmp_path)
    assert code == 2 and "--batch-size" in err and "HDF5" not in err, err  # refused for the batch size alone
