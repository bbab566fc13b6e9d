"""Framework logs go to the run directory's log; the terminal shows liteship's own lines only."""

import pytest
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What TensorFlow, absl, XLA, LiteRT and Python's warnings look like on stderr.
FRAMEWORK_LINE = re.compile(r"^([IWEF]\d{4} |INFO: |WARNING: |E0000|W0000|I0000)|oneDNN|cuda|absl|tensorflow|"
                            r"Warning:|warnings\.warn|RegisterAccelerator|DestroyAccelerator")


def test_fd2_python_stderr_and_warnings_go_to_the_log_and_ours_to_the_terminal(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    code = f"""
import os, sys, warnings
from pathlib import Path
from liteship.logs import console, frameworks_to_file
with frameworks_to_file(Path({str(run)!r}) / "logs" / "frameworks.log") as log:
    os.write(2, b"I0000 native noise from C++\\n")
    print("python noise", file=sys.stderr)
    warnings.warn("a library's warning")
    print("liteship progress", file=console(), flush=True)
print("saved to", log.path, file=sys.stderr)
os.write(2, b"after: fd 2 is the terminal again\\n")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    terminal = proc.stderr.splitlines()
    assert terminal[0] == "liteship progress"
    assert "after: fd 2 is the terminal again" in terminal and not any("noise" in t for t in terminal)
    log = (run / "logs" / "frameworks.log").read_text()
    assert "native noise from C++" in log and "python noise" in log and "a library's warning" in log
    assert f"saved to {run / 'logs' / 'frameworks.log'}" in terminal


def test_nothing_is_written_when_the_run_directory_does_not_exist(tmp_path):
    from liteship.logs import frameworks_to_file

    with frameworks_to_file(tmp_path / "never" / "logs" / "frameworks.log") as log:
        print("noise", file=sys.stderr)
    assert log.path is None and not (tmp_path / "never").exists()


@pytest.mark.slow  # over 45 s: the CI's slow job runs it
def test_a_sweep_shows_only_liteship_lines(tf_available, tmp_path):
    cfg = tmp_path / "sweep.toml"
    cfg.write_text('[train]\nepochs = 1\n[[models]]\narch = "small_cnn"\nsize = 8\n'
                   '[optimize]\nrecipes = ["float32", "int8"]\n[bench]\nbackends = ["xnnpack", "fp16", "gpu"]\n'
                   'runs = 5\nrounds = 2\ninstructions = false\narm64 = false\n')
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "liteship", "sweep", "--data", "digits", "--config", str(cfg),
                           "--out", str(out)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    noise = [line for line in (proc.stderr + proc.stdout).splitlines() if FRAMEWORK_LINE.search(line)]
    assert noise == [], noise
    assert re.search(r"^\[1/5\] train small_cnn_8: test top-1 0\.\d{4}", proc.stderr, re.M)
    log = (out / "logs" / "frameworks.log").read_text()
    assert FRAMEWORK_LINE.search(log)  # the frameworks did speak: into the log
    assert f"framework messages (TensorFlow, LiteRT, the converter): {out / 'logs' / 'frameworks.log'}" in proc.stderr
