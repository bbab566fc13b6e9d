"""The sweep: every output written, a re-run skips everything, a resume benches only what is missing."""

import json
from pathlib import Path

import pytest

from liteship.app.cli import main
from tests.conftest import run_sweep as sweep
from liteship.workflow.sweep_config import load_sweep_config
from liteship.progress import Progress


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
    ("[train]\nepoch = 3\n[[models]]\narch='small_cnn'\n", "epoch = 3: there is no such key; valid keys: augment, batch_size, brightness"),
    ("[trian]\n", "[trian] = a table: valid tables: [train], [[models]], [optimize], [bench]"),
    ("[bench]\nruns = -5\n[[models]]\narch='small_cnn'\n", "runs = -5: -5 is out of range: values from 1 to 100000"),
    ("[bench]\nthreads = 'two'\n[[models]]\narch='small_cnn'\n", 'threads = "two": it takes a list of whole numbers'),
    ("[train]\n", "[[models]] = missing: a sweep needs at least one [[models]] table"),
    ("[[models]]\nsize = 3\n", "arch = missing: this key is required"),
    ("[track]\nmlflow = 'yes'\n[[models]]\narch='small_cnn'\n", 'mlflow = "yes": it takes true or false'),
    ("[track]\nmlflow = true\nuri = ''\n[[models]]\narch='small_cnn'\n", 'uri = "": it must not be empty'),
    ("[track]\nserver = 'x'\n[[models]]\narch='small_cnn'\n", "server = \"x\": there is no such key; valid keys: "
     "experiment, mlflow, uri"),
])
def test_sweep_config_errors_exit_2(tmp_path, capsys, text, expected):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    code = main(["sweep", "--data", "digits", "--config", str(cfg), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and expected in err, err
    assert not (tmp_path / "r" / "float").exists()


def test_every_step_of_the_sweep_has_its_estimated_cost(swept, monkeypatch):
    """The remaining time weighs steps by the estimate's unit costs: each step the sweep counts must find its own."""
    from liteship.workflow.estimate import sweep_estimates
    from liteship.progress import Steps

    out, cfg, _ = swept
    config = load_sweep_config(cfg)
    costs = {k: v for _, _, e in sweep_estimates(config, "digits") for k, v in e.units.items()}
    keys = []
    real = Steps.step
    monkeypatch.setattr(Steps, "step", lambda self, *a, **kw: keys.append(kw.get("key")) or real(self, *a, **kw))
    sweep("digits", out, config, Progress(quiet=True), costs=costs)
    # 1 training, 3 optimizations, 3 benches: each once, each with its cost
    assert sorted(k.label() for k in keys) == sorted(k.label() for k in costs) and set(keys) == set(costs)
    assert all(v > 0 for v in costs.values())


def test_two_worker_processes_make_the_same_variants_and_numbers(swept, tmp_path):
    """The sweep's jobs on two spawned worker processes: the same variant IDs, bytes and accuracy as the session's
    sweep made one job after another in this process (counts and timings: tests/perf/test_sweep_perf.py)."""
    from liteship.workflow.executors import LocalExecutor

    out, cfg, _ = swept
    two = tmp_path / "two"
    sweep("digits", two, load_sweep_config(cfg), Progress(quiet=True), LocalExecutor(2))

    def rows(run):
        return {(r["variant"], r["backend"], r["threads"]): (r["sha256"], r["top1"], r["top5"], r["confusion"],
                                                             r["agreement"])
                for r in map(json.loads, (run / "results.jsonl").read_text().splitlines())}

    assert rows(two) == rows(out) and len(rows(two)) == 6
    jobs = json.loads((two / "logs" / "jobs.json").read_text())
    assert jobs["workers"] == 2
    assert sorted(j["key"] for j in jobs["jobs"]) == sorted(
        ["train small_cnn_16", "optimize small_cnn_16 float32", "optimize small_cnn_16 int8",
         "optimize small_cnn_16 prune_int8"])
    assert json.loads((two / "run.json").read_text())["workers"] == 2
