"""Sweeps on Ray: a local Ray head on 127.0.0.1 gives the same variants and numbers as the local executor."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from liteship.app.cli import main
from tests.conftest import run_sweep as sweep
from liteship.workflow.sweep_config import load_sweep_config
from tests.conftest import CONFIG
from liteship.progress import Progress

ray = pytest.importorskip("ray")
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory):
    ray_bin = str(Path(sys.executable).with_name("ray"))
    port = _free_port()
    start = [ray_bin, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
             "--include-dashboard=false", "--disable-usage-stats"]
    # Loopback only, no token auth: a throw-away cluster for this test run.
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    proc = subprocess.run(start, capture_output=True, text=True, timeout=180, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    yield f"127.0.0.1:{port}"
    if ray.is_initialized():
        ray.shutdown()
    subprocess.run([ray_bin, "stop", "--force"], capture_output=True, timeout=120, env=env)


def _rows(out: Path) -> dict:
    return {(r["variant"], r["backend"], r["threads"]): r
            for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}


@pytest.mark.slow  # over 45 s: the CI's slow job runs it
def test_ray_sweep_equals_the_local_sweep_row_by_row(tf_available, ray_head, tmp_path):
    from liteship.workflow.executors import RayExecutor

    cfg = tmp_path / "sweep.toml"
    cfg.write_text(CONFIG)
    local = tmp_path / "local"
    sweep("digits", local, load_sweep_config(cfg), Progress(quiet=True))
    remote = tmp_path / "ray"
    marker = tmp_path / "crashed_once"
    executor = RayExecutor(ray_head, crash_once=marker)
    sweep("digits", remote, load_sweep_config(cfg), Progress(quiet=True), executor)
    assert marker.exists()  # one bench worker died mid-task; Ray retried it and the sweep finished
    a, b = _rows(local), _rows(remote)
    assert sorted(a) == sorted(b) and len(a) == 6  # same variant IDs, same backends
    for key in a:
        for field in ("top1", "top5", "agreement", "size_bytes", "gzip_bytes", "sparsity", "confusion", "contract"):
            assert a[key][field] == b[key][field], (key, field)
        assert "ray node" in b[key]["node"] and "ray node" not in a[key]["node"]
    for rec in (local / "variants").glob("*.json"):
        other = json.loads((remote / "variants" / rec.name).read_text())
        assert json.loads(rec.read_text())["sha256"] == other["sha256"]
    assert (remote / "report.md").is_file() and json.loads((remote / "run.json").read_text())["executor"] == "ray"
    # Resume: the same command again does nothing new.
    before = (remote / "results.jsonl").read_text()
    sweep("digits", remote, load_sweep_config(cfg), Progress(quiet=True), executor)
    assert (remote / "results.jsonl").read_text() == before
    ray.shutdown()


def test_without_ray_the_executor_says_how_to_install_it(tmp_path):
    code = ("import sys; sys.modules['ray'] = None\n"
            "from liteship.app.cli import main\n"
            f"sys.exit(main(['sweep', '--data', 'digits', '--out', {str(tmp_path / 'r')!r}, '--executor', 'ray']))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2 and "pip install 'liteship[ray]'" in proc.stderr


def test_any_cluster_works_as_it_is_and_a_latency_resource_is_used_where_present(monkeypatch):
    import types

    from liteship.workflow.executors import RayExecutor

    asked = []

    def remote(**options):
        asked.append(options)
        return lambda fn: fn

    for resources, expect in (({"CPU": 8.0}, {}), ({"CPU": 8.0, "liteship_latency": 2.0}, {"liteship_latency": 1})):
        asked.clear()
        fake = types.SimpleNamespace(is_initialized=lambda: True, cluster_resources=lambda r=resources: r, remote=remote)
        monkeypatch.setitem(sys.modules, "ray", fake)
        RayExecutor("10.0.0.1:6379")
        assert asked[-1] == {"max_retries": 3, "resources": expect}  # the bench task's options


def test_address_needs_the_ray_executor(capsys, tmp_path):
    assert main(["sweep", "--data", "digits", "--out", str(tmp_path / "r"), "--address", "127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert "--address = \"127.0.0.1:1\"" in err and "add --executor ray" in err  # found up front, with the rest
    assert not (tmp_path / "r").exists()


def _sweep_with(address: str, tmp_path, code: str = "") -> tuple[subprocess.CompletedProcess, float]:
    """`liteship sweep --executor ray --address ADDRESS` as a real process (``code`` runs first), and its time."""
    import time

    argv = ["sweep", "--data", "digits", "--out", str(tmp_path / "r"), "--executor", "ray", "--address", address]
    script = f"import sys\n{code}\nfrom liteship.app.cli import main\nsys.exit(main({argv!r}))\n"
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          stdin=subprocess.DEVNULL)
    return proc, time.monotonic() - started


def test_an_address_nothing_answers_on_is_said_within_seconds(tmp_path):
    # Port 1 of loopback: nothing listens there. ray.init alone was still silent after 180 s.
    proc, took = _sweep_with("127.0.0.1:1", tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("liteship sweep: error: Cannot reach the Ray cluster at 127.0.0.1:1.")
    assert "port 1 of 127.0.0.1" in line and "refused" in line and "Fix: check the address" in line
    assert "Traceback" not in proc.stderr + proc.stdout and took < 60


def test_a_port_that_answers_but_is_no_ray_is_given_up_on_at_the_bound(tmp_path):
    """A listener on loopback that accepts and never speaks: the probe passes, ray.init would retry for ever."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        proc, took = _sweep_with(f"127.0.0.1:{port}", tmp_path,
                                 "import liteship.workflow.executors as e; e.CONNECT_S = 5")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"liteship sweep: error: Cannot connect to the Ray cluster at 127.0.0.1:{port}. Its port answers, but " \
           "Ray did not connect within 5 s" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout and took < 90


@pytest.mark.parametrize("address, parsed", [("10.0.0.1:6379", ("10.0.0.1", 6379)),
                                             ("ray://head:10001", ("head", 10001)),
                                             ("[::1]:6379", ("::1", 6379)), ("auto", None), ("host:", None),
                                             ("host:６３７９", None)])
def test_the_probe_reads_host_and_port_as_ray_does(address, parsed):
    from liteship.workflow.executors import _host_port

    assert _host_port(address) == parsed
