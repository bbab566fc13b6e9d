"""Sweeps in MLflow, read back with MLflow's own client and a real tracking server's REST API.

Each test logs a copy of the session's small sweep (3 variants of small_cnn_16 on xnnpack and gpu): a cached
re-run of the sweep does no work, so what is tested is the logging, against the run directory's own files.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from liteship.app.cli import main

mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402

LATENCY = ("init", "first", "p50", "p90", "p99", "mean", "std", "min")


def _lines(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]


def _expected(line: dict) -> dict[str, float]:
    """The metrics a results.jsonl line should become, named as the issue names them (written out here, by hand)."""
    prefix = f"{line['backend']}_t{line['threads']}" if line["kind"] == "run" else line["backend"]
    out = {"size_kb": line["size_bytes"] / 1024, "gzip_kb": line["gzip_bytes"] / 1024}
    lat = line.get("latency_ms")
    if lat:
        out.update({f"{prefix}.{s}_ms": lat[s] for s in LATENCY})
        out[f"{prefix}.p50_ms_ci_low"], out[f"{prefix}.p50_ms_ci_high"] = lat["ci_low"], lat["ci_high"]
        out[f"{prefix}.p90_ms_ci_low"], out[f"{prefix}.p90_ms_ci_high"] = lat["p90_ci"]
        out[f"{prefix}.cv"] = lat["cv"]
    for key in ("top1", "top5", "agreement", "images", "delegated", "peak_rss_mb"):
        if line.get(key) is not None:
            out[f"{prefix}.{key}"] = line[key]
    if line.get("top1_ci"):
        out[f"{prefix}.top1_ci_low"], out[f"{prefix}.top1_ci_high"] = line["top1_ci"]
    return out


def _runs(uri: str, experiment: str):
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return client, parents, children


def test_every_metric_equals_the_results_and_a_rerun_adds_nothing(run_copy, capsys):
    run, cfg = run_copy
    assert main(["sweep", "--data", "digits", "--config", str(cfg), "--out", str(run), "--track", "mlflow",
                 "--quiet"]) == 0
    assert "mlflow: logged the sweep and 3 variant run(s)" in capsys.readouterr().out
    uri = f"sqlite:///{run.resolve() / 'mlflow.db'}"
    client, parents, children = _runs(uri, "weekly")
    lines = _lines(run)
    assert len(parents) == 1 and len(children) == len({line["variant"] for line in lines}) == 3
    parent = parents[0]
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    split = json.loads((run / "data" / "split.json").read_text())
    assert parent.data.tags["data.content_hash"] == split["content_hash"]
    assert parent.data.params["bench.runs"] == "10" and parent.data.params["optimize.recipes"] == json.dumps(
        ["float32", "int8", "prune_int8"])
    assert parent.data.tags["tensorflow.version"] and parent.data.tags["litert.version"]
    artifacts = {f.path for f in client.list_artifacts(parent.info.run_id)}
    assert {"report.html", "report.md", "pareto.png", "results.jsonl"} <= artifacts
    for child in children:
        vid = child.data.params["variant_id"]
        expected = {}
        for line in (x for x in lines if x["variant"] == vid):
            expected.update(_expected(line))
        assert child.data.params["recipe"] == next(x["recipe"] for x in lines if x["variant"] == vid)
        for name, value in expected.items():
            assert child.data.metrics[name] == pytest.approx(value, rel=1e-12, abs=1e-12), (vid, name)
        names = {f.path for f in client.list_artifacts(child.info.run_id)}
        assert {f"{vid}.tflite", f"{vid}.json"} <= names
        got = Path(client.download_artifacts(child.info.run_id, f"{vid}.tflite", str(run.parent / vid)))
        assert got.read_bytes() == (run / "variants" / f"{vid}.tflite").read_bytes()
    assert not (run.parent / "mlruns").exists()  # nothing outside the run directory: artifacts are in it
    assert any((run / "mlartifacts").rglob("*.tflite"))

    before = {r.info.run_id for r in [parent, *children]}
    assert main(["sweep", "--data", "digits", "--config", str(cfg), "--out", str(run), "--track", "mlflow",
                 "--quiet"]) == 0
    client, parents, children = _runs(uri, "weekly")
    assert {r.info.run_id for r in [*parents, *children]} == before  # the same runs, none added
    for child in children:
        assert len(client.get_metric_history(child.info.run_id, "xnnpack_t1.p50_ms")) == 1


def _gate_outcomes(run: Path, tmp: Path) -> dict[str, str]:
    """pass/fail per variant as `liteship gate --junit` writes it (the JUnit XML a CI reads)."""
    import xml.etree.ElementTree as ET

    junit = tmp / "gate.xml"
    main(["gate", str(run), "--junit", str(junit)])
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        vid = case.get("name").split(".")[0]
        failed = case.find("failure") is not None
        out[vid] = "fail" if failed or out.get(vid) == "fail" else "pass"
    return out


def test_pick_tags_the_released_variant_and_a_stale_variant_is_tagged(run_copy, capsys, tmp_path):
    run, cfg = run_copy
    assert main(["sweep", "--data", "digits", "--config", str(cfg), "--out", str(run), "--track", "mlflow",
                 "--quiet"]) == 0
    assert main(["pick", str(run)]) == 0
    assert "mlflow: logged" in capsys.readouterr().out
    manifest = json.loads((run / "release" / "manifest.json").read_text())
    released = hashlib.sha256((run / "release" / "model.tflite").read_bytes()).hexdigest()
    uri = f"sqlite:///{run.resolve() / 'mlflow.db'}"
    _, _, children = _runs(uri, "weekly")
    picked = [c for c in children if c.data.tags.get("picked") == "true"]
    assert [c.data.params["variant_id"] for c in picked] == [manifest["variant"]]
    assert picked[0].data.tags["release_sha256"] == released
    assert all("release_sha256" not in c.data.tags for c in children if c not in picked)

    # another int8 config: a new int8 variant is current, the old one's run is tagged stale
    changed = tmp_path / "changed.toml"
    changed.write_text(cfg.read_text() + "\n[optimize.int8]\ncalibration_images = 50\n")
    assert main(["sweep", "--data", "digits", "--config", str(changed), "--out", str(run), "--track", "mlflow",
                 "--quiet"]) == 0
    _, parents, children = _runs(uri, "weekly")
    stale = [c for c in children if c.data.tags.get("stale") == "true"]
    assert [c.data.params["recipe"] for c in stale] == ["int8"] and len(children) == 4
    assert [p.data.tags.get("stale") for p in parents].count("true") == 1  # the sweep's earlier config
    lines = _lines(run)
    gate = _gate_outcomes(run, tmp_path)
    for child in children:
        if child not in stale:
            vid = child.data.params["variant_id"]
            assert vid in {line["variant"] for line in lines}
            if vid in gate:
                assert child.data.tags["gate"] == gate[vid], vid


def test_the_switch_without_mlflow_is_exit_2_with_the_install_command(run_copy, capsys, monkeypatch):
    run, cfg = run_copy
    monkeypatch.setattr("liteship.workflow.track.mlflow_installed", lambda: False)
    assert main(["sweep", "--data", "digits", "--config", str(cfg), "--out", str(run), "--track", "mlflow"]) == 2
    assert "pip install 'liteship[mlflow]'" in capsys.readouterr().err
    assert not (run / "mlflow.db").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server(db: Path, art: Path, port: int) -> subprocess.Popen:
    mlflow_cli = Path(sys.executable).parent / "mlflow"
    proc = subprocess.Popen([str(mlflow_cli), "server", "--backend-store-uri", f"sqlite:///{db}",
                             "--artifacts-destination", str(art), "--host", "127.0.0.1", "--port", str(port),
                             "--workers", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    _stop(proc)
    pytest.fail("mlflow server did not start in 90 s")


def _stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _rest_runs(port: int, experiment: str) -> list[dict]:
    """The experiment's runs through the tracking server's REST API (no MLflow client)."""
    def call(path, body):
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/2.0/mlflow/{path}", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/2.0/mlflow/experiments/get-by-name?"
                                f"experiment_name={experiment}", timeout=30) as r:
        exp = json.loads(r.read())["experiment"]
    return call("runs/search", {"experiment_ids": [exp["experiment_id"]], "max_results": 1000}).get("runs", [])


def _tags(run: dict) -> dict:
    return {t["key"]: t["value"] for t in run["data"].get("tags", [])}


def _check_rest(port: int, run: Path) -> set[str]:
    """One parent and one child per current variant, read through the REST API; numbers as in results.jsonl."""
    runs = _rest_runs(port, "team-sweeps")
    parents = [r for r in runs if "mlflow.parentRunId" not in _tags(r)]
    children = [r for r in runs if "mlflow.parentRunId" in _tags(r)]
    assert len(parents) == 1 and len(children) == 3
    for child in children:
        vid = _tags(child)["liteship.variant_id"]
        metrics = {m["key"]: m["value"] for m in child["data"]["metrics"]}
        line = next(x for x in _lines(run) if x["variant"] == vid and x["backend"] == "xnnpack")
        assert metrics["xnnpack_t1.p50_ms"] == pytest.approx(line["latency_ms"]["p50"], rel=1e-12)
        assert metrics["xnnpack_t1.top1"] == pytest.approx(line["top1"], rel=1e-12)
    return {r["info"]["run_id"] for r in runs}


class _DyingProxy:
    """An HTTP proxy on 127.0.0.1 in front of the tracking server that goes dead (closes every connection unanswered)
    right after it forwarded the creation of the first variant run: the tracker dies in the middle of the logging
    pass, between a variant's run and everything logged to it."""

    def __init__(self, target: int):
        import http.client
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        proxy = self
        self.dead, self.requests, self.armed = threading.Event(), 0, True  # it dies once

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.dead.is_set():
                    self.close_connection = True
                    return
                proxy.requests += 1
                conn = http.client.HTTPConnection("127.0.0.1", target, timeout=60)
                conn.request(self.command, self.path, body, {k: v for k, v in self.headers.items()
                                                              if k.lower() not in ("host", "connection")})
                answer = conn.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                if proxy.armed and self.path.endswith("/runs/create") and b"liteship.variant_id" in body:
                    proxy.armed = False
                    proxy.dead.set()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.slow  # starts an mlflow server and three liteship processes: about a minute
def test_a_tracker_dying_mid_pass_loses_nothing_and_track_completes_it_without_duplicates(run_copy, tmp_path):
    run, cfg = run_copy
    port = _free_port()
    db, art = tmp_path / "server.db", tmp_path / "server-artifacts"
    server = _server(db, art, port)
    proxy = _DyingProxy(port)
    config = tmp_path / "tracked.toml"
    config.write_text(cfg.read_text() + f'\n[track]\nmlflow = true\nuri = "http://127.0.0.1:{proxy.port}"\n'
                                        'experiment = "team-sweeps"\n')
    liteship = Path(sys.executable).parent / "liteship"
    try:
        # the sweep has work to do (one variant's results are gone, so it benches it again), then logs: the tracker
        # dies after the first variant's run is made
        lines = (run / "results.jsonl").read_text().splitlines()
        first = json.loads(lines[0])["variant"]
        (run / "results.jsonl").write_text("".join(x + "\n" for x in lines if json.loads(x)["variant"] != first))
        done = subprocess.run([str(liteship), "sweep", "--data", "digits", "--config", str(config), "--out", str(run)],
                              capture_output=True, text=True, timeout=600)
        assert proxy.dead.is_set() and proxy.requests > 3  # it died in the logging pass, not before it
        assert done.returncode == 0, done.stderr
        err = " ".join(done.stderr.split())
        assert f"mlflow: could not log to http://127.0.0.1:{proxy.port}" in err
        variants = sorted({json.loads(x)["variant"] for x in lines})
        assert "not logged: the sweep's parent run" in err and all(v in err for v in variants), err
        assert f"When the tracker is back: liteship track {run}" in err
        assert len(_lines(run)) == len(lines) and (run / "report.md").is_file()  # the sweep's files are complete
        proxy.dead.clear()  # the tracker is back
        done = subprocess.run([str(liteship), "track", str(run)], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        runs = _rest_runs(port, "team-sweeps")
        children = [r for r in runs if "mlflow.parentRunId" in _tags(r)]
        assert len(runs) - len(children) == 1 and len(children) == len(variants) == 3  # no run made twice
        assert sorted(_tags(c)["liteship.variant_id"] for c in children) == variants
        _check_rest(port, run)
    finally:
        proxy.close()
        _stop(server)
