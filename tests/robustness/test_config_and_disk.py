"""Config and CLI errors, unwritable folders and a full disk: exit 2 naming the problem, nothing damaged."""

import errno
import hashlib
import json
from pathlib import Path

import pytest

from liteship.app.cli import main

BAD_CONFIGS = {
    "unknown key": ("[train]\nepochz = 1\n[[models]]\narch = 'small_cnn'\n", "epochz = 1: there is no such key"),
    "wrong type": ("[train]\nepochs = 'three'\n[[models]]\narch = 'small_cnn'\n", 'epochs = "three": it takes a whole number'),
    "negative": ("[train]\nepochs = -3\n[[models]]\narch = 'small_cnn'\n", "epochs = -3: -3 is out of range"),
    "broken TOML": ("[train\nepochs = 3\n", "is not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_sweep_config(tmp_path, capsys, case):
    text, expected = BAD_CONFIGS[case]
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(text)
    assert main(["sweep", "--data", "digits", "--config", str(cfg), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


@pytest.mark.parametrize("command", [["sweep", "--data", "digits", "--config"], ["optimize", "RUN", "--config"],
                                     ["gate", "RUN", "--budgets"], ["pick", "RUN", "--budgets"]])
def test_missing_config_file(tmp_path, capsys, command, digits_run):
    run, _ = digits_run
    args = [str(run) if a == "RUN" else a for a in command] + [str(tmp_path / "nope.toml")]
    if command[0] == "sweep":
        args += ["--out", str(tmp_path / "r")]
    assert main(args) == 2
    assert "nope.toml" in (err := capsys.readouterr().err) and "there is no such file" in err


def test_unwritable_output_folder(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    assert main(["sweep", "--data", "digits", "--out", str(blocker / "run")]) == 2
    assert "a_file is a file, so no folder can be made inside it" in capsys.readouterr().err


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_disk_full_while_writing_a_variant(optimized_run, monkeypatch, capsys):
    import os

    import liteship.files as files

    out, _ = optimized_run
    before = _tree(out)
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()
            return False

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "_open_fd", lambda fd, mode: FullDisk(real_fdopen(fd, mode)))
    code = main(["optimize", str(out), "--recipes", "cluster_int8", "--config", _quick(out), "--quiet"])
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert code == 2, err
    assert "No space left on device" in err and "The disk is full" in err and "Traceback" not in err
    after = _tree(out)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing already written changed
    assert not [k for k in after if Path(k).name.startswith(".liteship-tmp-")]  # no temp file left behind
    assert not [k for k in set(after) - set(before) if k.startswith("variants/")]


def _quick(out: Path) -> str:
    path = out.parent / "quick_cluster.toml"
    path.write_text("[cluster_int8]\nepochs = 1\ncalibration_images = 20\n")
    return str(path)


@pytest.mark.slow  # over 45 s: the CI's slow job runs it
def test_bench_gives_the_same_accuracy_twice(optimized_run):
    from liteship.bench import BenchOptions, bench_run

    out, _ = optimized_run
    options = BenchOptions(backends=("xnnpack", "reference"), runs=2, rounds=1, warmup=1)
    first = [(r.variant, r.backend, r.top1, r.agreement, json.dumps(r.confusion)) for r in bench_run(out, options)]
    second = [(r.variant, r.backend, r.top1, r.agreement, json.dumps(r.confusion)) for r in bench_run(out, options)]
    assert first == second and len(first) >= 8
