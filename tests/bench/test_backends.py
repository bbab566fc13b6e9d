"""The backend registry: a backend is one module, and everything else asks it.

The throw-away backend below lives in a folder of its own on PYTHONPATH (``liteship_backends/toy.py``, the
namespace package the registry reads besides its own), not in liteship. It runs LiteRT's reference kernels through the plain Interpreter, written here, not through
liteship's sessions. If adding it needed a change anywhere else in liteship, one of these steps would fail.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TOY = '''
import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from liteship.bench.backends import Backend
from liteship.runtime import Session


class ToySession(Session):
    runtime = "toy: LiteRT reference kernels, opened by a test"

    def __init__(self, path, threads):
        self.i = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
        self.input_detail, self.out = self.i.get_input_details()[0], self.i.get_output_details()[0]
        self.batch = None
        self.resize(1)  # a session is ready to take one image when opened

    def resize(self, batch):
        if batch != self.batch:
            self.i.resize_tensor_input(self.input_detail["index"], [batch, *self.input_detail["shape"][1:]])
            self.i.allocate_tensors()
            self.batch = batch

    def set_input(self, x):
        self.i.set_tensor(self.input_detail["index"], x)

    def invoke(self):
        self.i.invoke()

    def output(self):
        y = self.i.get_tensor(self.out["index"])
        scale, zp = self.out["quantization"]
        return (y.astype(np.float32) - zp) * scale if scale else y.astype(np.float32)


BACKENDS = (
    Backend("toy", "run", "a throw-away backend: reference kernels", rank=5, open=ToySession,
            emulated_time="a toy's time"),
    Backend("toy-count", "count", "a count backend that is never installed", rank=40,
            available=lambda: False, unavailable="`pip install toy-emulator`"),
)
'''


@pytest.fixture(scope="module")
def toy_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    folder = root / "liteship_backends"
    folder.mkdir(parents=True)
    (folder / "toy.py").write_text(TOY)
    return {**os.environ, "PYTHONPATH": str(root), "TF_CPP_MIN_LOG_LEVEL": "3"}


def _liteship(env, *args, cwd=None):
    return subprocess.run([sys.executable, "-m", "liteship", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def test_a_backend_is_one_module(toy_env, optimized_run, tmp_path):
    out, variants = optimized_run
    run = tmp_path / "run"
    shutil.copytree(out, run, ignore=shutil.ignore_patterns(".liteship.lock"))
    listed = _liteship(toy_env, "bench", "--list")
    assert "toy " in listed.stdout and "a throw-away backend" in listed.stdout

    benched = _liteship(toy_env, "bench", str(run), "--backends", "xnnpack,toy", "--runs", "5", "--rounds", "2",
                        "--warmup", "1", "--quiet")
    assert benched.returncode == 0, benched.stderr
    records = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    toys = {r["recipe"]: r for r in records if r["backend"] == "toy"}
    # every variant the run holds (the shared run gains recipes when other tests make them), as xnnpack benched it
    assert set(toys) == {r["recipe"] for r in records if r["backend"] == "xnnpack"} >= {"float32", "int8"}
    assert all(r["kind"] == "run" and r["status"] == "ok" and r["latency_ms"]["p50"] > 0 for r in toys.values())
    # compared with the registry's reference backend, as every non-reference run backend is
    assert all(r["reference_backend"] == "xnnpack" and r["reference_agreement"] >= 0.95 for r in toys.values())
    assert any("a toy's time" in n for r in toys.values() for n in r["notes"])  # its own note, not fp16's

    budgets = tmp_path / "liteship.toml"
    budgets.write_text('[budgets]\nbackend = "toy"\nmax_latency_ms = 100000.0\n')
    gated = _liteship(toy_env, "gate", str(run), "--budgets", str(budgets), "--all")
    assert gated.returncode == 0, gated.stdout + gated.stderr
    int8_p50 = toys["int8"]["latency_ms"]["p50"]
    assert "toy" in gated.stdout and f"{int8_p50:.3f}" in gated.stdout  # judged on the toy's own record

    picked = _liteship(toy_env, "pick", str(run), "--budgets", str(budgets), "--prefer", "latency")
    assert picked.returncode == 0, picked.stdout + picked.stderr
    manifest = json.loads((run / "release" / "manifest.json").read_text())
    chosen = next(r for r in toys.values() if r["variant"] == manifest["variant"])
    assert chosen["latency_ms"]["p50"] == min(r["latency_ms"]["p50"] for r in toys.values())  # ranked on the toy
    assert "toy p50 ms" in (run / "report.md").read_text()


def test_an_unavailable_backend_is_refused_with_its_own_fix(toy_env, tmp_path):
    model = Path(__file__).parent  # any path: the check comes before the file is read
    refused = _liteship(toy_env, "bench", str(model / "missing.tflite"), "--backends", "toy-count")
    assert refused.returncode == 2
    assert "toy-count" in refused.stderr and "pip install toy-emulator" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_without_the_module_the_name_is_unknown(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    refused = _liteship(env, "bench", str(tmp_path / "m.tflite"), "--backends", "toy")
    assert refused.returncode == 2 and "toy: no such backend" in refused.stderr
