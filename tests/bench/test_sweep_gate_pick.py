"""The three jobs: a resumable sweep, a CI gate on budgets, and the pick of the variant to ship."""

import hashlib
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from liteship.app.cli import main
from liteship.app.sweep import load_sweep_config, sweep
from liteship.progress import Progress

CONFIG = """
[train]
epochs = 3
seed = 0
[[models]]
arch = "small_cnn"
size = 16
[optimize]
recipes = ["float32", "int8", "prune_int8"]
[optimize.prune_int8]
epochs = 2
recovery_epochs = 1
[bench]
backends = ["xnnpack", "gpu"]
threads = [1]
runs = 10
"""


@pytest.fixture(scope="module")
def swept(tf_available, tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    cfg = root / "sweep.toml"
    cfg.write_text(CONFIG)
    out = root / "run"
    records = sweep("digits", out, load_sweep_config(cfg), Progress(quiet=True))
    return out, cfg, records


def _stamps(out: Path) -> dict:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.rglob("*")
            if p.is_file() and p.parent.name in ("variants", "small_cnn_16")}


def test_sweep_writes_every_output(swept):
    out, _, records = swept
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    keys = {(r["variant"], r["backend"], r["threads"]) for r in lines}
    assert len(lines) == len(keys) == 6  # 3 variants x (xnnpack, gpu)
    assert len((out / "results.csv").read_text().splitlines()) == 7
    report = (out / "report.md").read_text()
    assert "| ★ |" in report and "prune_int8" in report and "Δ vs float" in report
    assert "data:image/png;base64," in (out / "report.html").read_text()
    assert (out / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    top1 = {r["recipe"]: r["top1"] for r in lines if r["backend"] == "xnnpack"}
    assert top1["float32"] >= 0.9 and top1["int8"] >= top1["float32"] - 0.01


def test_rerun_skips_everything(swept, capsys):
    out, cfg, _ = swept
    before, results = _stamps(out), (out / "results.jsonl").read_text()
    assert main(["sweep", "--data", "digits", "--config", str(cfg), "--out", str(out), "--quiet"]) == 0
    assert _stamps(out) == before and (out / "results.jsonl").read_text() == results
    assert "sweep done" in capsys.readouterr().out


def test_resume_benches_only_what_is_missing(swept):
    out, cfg, _ = swept
    path = out / "results.jsonl"
    lines = path.read_text().splitlines()
    prune = [json.loads(line)["variant"] for line in lines if json.loads(line)["recipe"] == "prune_int8"][0]
    kept = [line for line in lines if json.loads(line)["variant"] != prune]
    path.write_text("\n".join(kept) + "\n")
    records = sweep("digits", out, load_sweep_config(cfg), Progress(quiet=True))
    after = path.read_text().splitlines()
    assert len(after) == 6 and all(line in after for line in kept)  # the others were not re-measured
    assert {r.variant for r in records} >= {prune}


@pytest.mark.parametrize("text, expected", [
    ("[train]\nepoch = 3\n[[models]]\narch='small_cnn'\n", "unknown key epoch. Valid keys are: batch_size, epochs"),
    ("[trian]\n", "unknown table trian"),
    ("[bench]\nruns = -5\n[[models]]\narch='small_cnn'\n", "'runs' is negative"),
    ("[bench]\nthreads = 'two'\n[[models]]\narch='small_cnn'\n", "'threads' has the wrong type"),
    ("[train]\n", "no [[models]]"),
    ("[[models]]\nsize = 3\n", "missing key arch"),
])
def test_sweep_config_errors_exit_2(tmp_path, capsys, text, expected):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    code = main(["sweep", "--data", "digits", "--config", str(cfg), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and expected in err, err
    assert not (tmp_path / "r" / "float").exists()


def _budgets(tmp_path, text):
    path = tmp_path / "liteship.toml"
    path.write_text("[budgets]\n" + text)
    return str(path)


def test_gate_exit_codes_and_reports(swept, tmp_path, capsys):
    out, _, _ = swept
    assert main(["gate", str(out)]) == 0
    capsys.readouterr()
    junit, md = tmp_path / "gate.xml", tmp_path / "gate.md"
    code = main(["gate", str(out), "--budgets", _budgets(tmp_path, "max_size_kb = 150\nmin_accuracy = 0.5\n"),
                 "--all", "--junit", str(junit), "--markdown", str(md)])
    printed = capsys.readouterr().out
    assert code == 1  # float32 is 372 KB: --all fails
    assert "max_size_kb FAILED: 372.6 KB > 150.0 KB (margin -222.6 KB)" in printed
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "9" and suite.get("failures") == "1"
    assert "❌" in md.read_text() and "2 of 3 variants pass" in md.read_text()
    assert main(["gate", str(out), "--budgets", _budgets(tmp_path, "max_size_kb = 150\n")]) == 0  # one passing is enough
    assert main(["gate", str(out), "--budgets", _budgets(tmp_path, "max_size_kb = 150\n"), "--variant", "float32"]) == 1
    assert main(["gate", str(out), "--budgets", _budgets(tmp_path, "max_size_kb = 1\n")]) == 1


@pytest.mark.parametrize("text, expected", [
    ("max_size = 3\n", "unknown key max_size. Valid keys are: backend, latency_stat, max_accuracy_drop"),
    ("max_latency_ms = -1\n", "'max_latency_ms' is negative"),
    ("min_accuracy = 'high'\n", "'min_accuracy' has the wrong type"),
    ("latency_stat = 'p42'\n", "'latency_stat' has the wrong type"),
])
def test_gate_bad_budgets_exit_2(swept, tmp_path, capsys, text, expected):
    out, _, _ = swept
    assert main(["gate", str(out), "--budgets", _budgets(tmp_path, text)]) == 2
    assert expected in capsys.readouterr().err


def test_budgets_from_pyproject(swept, tmp_path, capsys):
    out, _, _ = swept
    path = tmp_path / "pyproject.toml"
    path.write_text("[project]\nname='app'\n[tool.liteship.budgets]\nmax_size_kb = 1\n")
    assert main(["gate", str(out), "--budgets", str(path)]) == 1
    assert "max_size_kb FAILED" in capsys.readouterr().out


def test_latency_within_the_noise_is_remeasured(swept, tmp_path):
    from liteship.judge.budgets import Budgets
    from liteship.bench import read_results
    from liteship.judge.gate import gate

    out, _, _ = swept
    rec = next(r for r in read_results(out) if r.recipe == "int8" and r.backend == "xnnpack")
    limit = (rec.latency_ms.ci_low + rec.latency_ms.ci_high) / 2
    (result,) = gate(out, Budgets(max_latency_ms=limit, require_contract=False), variant="int8")
    (verdict,) = result.verdicts
    assert verdict.remeasured and "re-measured" in verdict.message
    far = gate(out, Budgets(max_latency_ms=rec.latency_ms.ci_high * 100, require_contract=False), variant="int8")
    assert not far[0].verdicts[0].remeasured and far[0].passed


def test_pick_writes_a_bundle_that_runs_and_scores_what_it_says(swept, tmp_path, capsys):
    from liteship.runtime import predict
    from liteship.trainer.data import load_run_split

    out, _, _ = swept
    assert main(["pick", str(out), "--budgets", _budgets(tmp_path, "max_size_kb = 150\nmin_accuracy = 0.9\n")]) == 0
    release = out / "release"
    manifest = json.loads((release / "manifest.json").read_text())
    model = (release / "model.tflite").read_bytes()
    assert manifest["model"]["sha256"] == hashlib.sha256(model).hexdigest()
    assert manifest["recipe"] in ("int8", "prune_int8")
    assert (release / "labels.txt").read_text().splitlines() == [str(i) for i in range(10)]
    x, y = load_run_split(out, 16)["test"]
    top1 = round(float(np.mean(predict(model, x).argmax(1) == y)), 6)
    assert top1 == manifest["measured"]["xnnpack@1"]["top1"]
    assert manifest["input_contract"]["tensor"]["dtype"] == "uint8"
    assert manifest["input_contract"]["tensor"]["scale"] == [float(np.float32(1 / 255))]
    assert "raw RGB bytes" in manifest["swift_preprocessing"]
    assert all(v["passed"] for v in manifest["budgets"]["verdicts"])
    assert {"tensorflow", "ai-edge-litert", "liteship"} <= set(manifest["versions"])


def test_pick_prefers_and_fails_clearly(swept, tmp_path, capsys):
    out, _, _ = swept
    assert main(["pick", str(out), "--prefer", "size"]) == 0
    smallest = json.loads((out / "release" / "manifest.json").read_text())
    assert smallest["model"]["size_bytes"] < 150_000
    assert main(["pick", str(out), "--budgets", _budgets(tmp_path, "max_size_kb = 10\n")]) == 1
    err = capsys.readouterr().err
    assert "no variant passes every budget; the closest misses:" in err and "max_size_kb FAILED" in err
    assert main(["pick", str(out), "--prefer", "colour"]) == 2


def test_pytest_plugin_items_junit_and_exit_codes(swept, tmp_path):
    out, _, _ = swept
    budgets = _budgets(tmp_path, "max_size_kb = 150\nmax_latency_ms = 50\n")
    junit = tmp_path / "plugin.xml"
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--liteship-run", str(out),
           "--liteship-budgets", budgets, f"--junitxml={junit}", "-q"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 1, proc.stdout[-2000:]
    cases = ET.parse(junit).getroot().iter("testcase")
    names = [c.get("name") for c in cases]
    assert len(names) == 9  # 3 variants x (size, latency, contract)
    assert any("max_latency_ms" in n for n in names)
    assert "1 failed, 8 passed" in proc.stdout
    proc = subprocess.run(cmd + ["-k", "not float32"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:]
