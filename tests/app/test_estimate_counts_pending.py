"""The sweep's printed estimate counts only the work that will run: a finished run directory estimates the fixed
cost of a sweep with nothing to do, and one missing record estimates that one bench, nothing more (the scenario
says which units will run; test_plan checks the plan itself)."""

import json
import shutil

import pytest

from liteship.app import commands, resources
from liteship.app.checks import check
from liteship.app.cli import build_parser


def planned(cfg, out, workers=1):
    args = build_parser().parse_args(["sweep", "--data", "digits", "--config", str(cfg), "--out", str(out),
                                      "--workers", str(workers)])
    check(args)  # as the CLI does: the config and its estimates are left on args
    costs, seconds = commands._sweep_plan(args)
    return costs, seconds


@pytest.fixture()
def pace_one(monkeypatch):
    monkeypatch.setattr(resources, "machine_pace", lambda rounds=8: 1.0)


def test_a_finished_run_estimates_only_the_fixed_cost(swept, tmp_path, pace_one):
    src, cfg, _ = swept
    out = tmp_path / "run"
    shutil.copytree(src, out, ignore=shutil.ignore_patterns(".liteship.lock"))
    costs, fresh = planned(cfg, tmp_path / "new")
    assert fresh >= sum(c for label, c in costs.items() if label.startswith(("train ", "bench ")))
    _, seconds = planned(cfg, out)
    assert seconds == pytest.approx(resources.NOTHING_TO_RUN)  # nothing runs: no training, variant, count, bench


def test_one_missing_record_estimates_that_bench_alone(swept, tmp_path, pace_one):
    src, cfg, _ = swept
    out = tmp_path / "run"
    shutil.copytree(src, out, ignore=shutil.ignore_patterns(".liteship.lock"))
    lines = (out / "results.jsonl").read_text().splitlines()
    gone = next(json.loads(line) for line in lines if json.loads(line)["recipe"] == "int8")
    (out / "results.jsonl").write_text("".join(line + "\n" for line in lines
                                               if (json.loads(line)["variant"], json.loads(line)["backend"])
                                               != (gone["variant"], gone["backend"])))
    costs, seconds = planned(cfg, out)
    bench = costs[f"bench {gone['model']} int8"]
    assert bench > 0
    assert seconds == pytest.approx(resources.SWEEP_OVERHEAD + bench)  # the bench runs in the driver: no worker
