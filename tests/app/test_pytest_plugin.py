"""The pytest plugin: one item per variant x budget check, JUnit, exit codes, -k."""

import subprocess
import sys
import xml.etree.ElementTree as ET

from tests.judge.test_gate_pick import _budgets


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


def test_plugin_compares_with_a_baseline(swept, tmp_path):
    import json

    out, _, _ = swept
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    base = tmp_path / "main-results.jsonl"
    shrunk = next(r for r in rows if r["recipe"] == "int8" and r["backend"] == "xnnpack")
    shrunk["size_bytes"] -= 1000  # main's int8 was 1000 bytes smaller: this run grew it
    base.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--liteship-run", str(out),
           "--liteship-baseline", str(base), "-q", "-k", "against_baseline"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "1 failed" in proc.stdout and "int8-xnnpack-size_bytes" in proc.stdout
