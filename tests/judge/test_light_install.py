"""gate and pick in an install without the train extra (no TensorFlow, tf-keras, Keras, scikit-learn or matplotlib):
a digits run made with them is judged and released with a clean exit, never a traceback; what could not be checked
without them is said (the release's check in the app's paths needs the digits, so scikit-learn)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from liteship.app.cli import main

BLOCKED = ("tensorflow", "tf_keras", "keras", "tensorflow_model_optimization", "sklearn", "matplotlib")


def _light(args: list[str]) -> subprocess.CompletedProcess:
    """``liteship ARGS`` in a process where the train extra's packages cannot be imported."""
    code = ("import sys\n"
            f"for m in {BLOCKED!r}: sys.modules[m] = None\n"
            "from liteship.app.cli import main\n"
            f"code = main({args!r})\n"
            f"loaded = [m for m in {BLOCKED!r} if sys.modules.get(m) is not None]\n"
            "assert not loaded, loaded\n"
            "sys.exit(code)\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parents[2])


@pytest.fixture(scope="module")
def benched_copy(optimized_run, tmp_path_factory):
    """The optimized digits run, copied (pick writes into it) and benched on XNNPACK alone, quickly."""
    out, _ = optimized_run
    run = tmp_path_factory.mktemp("light") / "run"
    shutil.copytree(out, run, ignore=shutil.ignore_patterns(".liteship.lock", "release", "results.*", "report.*"))
    assert main(["bench", str(run), "--backends", "xnnpack", "--runs", "3", "--rounds", "1", "--quiet"]) == 0
    return run


def test_gate_and_pick_without_the_train_extra(benched_copy):
    gate = _light(["gate", str(benched_copy)])
    assert gate.returncode in (0, 1) and "Traceback" not in gate.stderr, gate.stderr[-2000:]
    pick = _light(["pick", str(benched_copy)])
    assert pick.returncode in (0, 1) and "Traceback" not in pick.stderr, pick.stderr[-2000:]
    if pick.returncode == 0:  # released: the check it could not make says why, in the manifest
        manifest = json.loads((benched_copy / "release" / "manifest.json").read_text())
        assert "scikit-learn" in manifest["task_api"]["error"] and manifest["task_api"]["loaded"] is None
