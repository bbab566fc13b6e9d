"""The sweep's printed estimate counts only the work that will run: a finished run directory estimates the fixed
cost of a sweep with nothing to do, and one missing record estimates that one bench, nothing more (the scenario
says which units will run; test_plan checks the plan itself)."""

import json
import shutil

import pytest

from liteship.workflow import resources
from liteship.workflow.checks import check
from liteship.workflow.estimate import sweep_plan
from liteship.workflow.plan import BenchKey, CountKey, TrainKey
from liteship.app.cli import build_parser
from liteship.app.requests import build_request


def planned(cfg, out, workers=1):
    request = build_request(build_parser().parse_args(["sweep", "--data", "digits", "--config", str(cfg), "--out",
                                                       str(out), "--workers", str(workers)]))
    checked = check(request)  # as execute does: the config, its estimates and the workers come back checked
    return sweep_plan(out, "digits", checked.sweep_config, checked.estimates, checked.workers)


@pytest.fixture()
def pace_one(monkeypatch):
    monkeypatch.setattr(resources, "machine_pace", lambda rounds=8: 1.0)


def test_a_finished_run_estimates_only_the_fixed_cost(swept, tmp_path, pace_one):
    src, cfg, _ = swept
    out = tmp_path / "run"
    shutil.copytree(src, out, ignore=shutil.ignore_patterns(".liteship.lock"))
    costs, fresh = planned(cfg, tmp_path / "new")
    assert fresh >= sum(c for key, c in costs.items() if isinstance(key, (TrainKey, BenchKey)))
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
    bench = costs[BenchKey(gone["model"], "int8")]
    assert bench > 0
    assert seconds == pytest.approx(resources.SWEEP_OVERHEAD + bench)  # the bench runs in the driver: no worker


def _counted(run, cfg, tmp_path) -> tuple:
    """The finished run as if its sweep had counted instructions: the config asks for counts, and each record holds
    one made by this valgrind with those options (written here by hand, as bench records them: the options'
    ``instructions`` true, the count's ``per_invoke`` and the ``tool`` that made it)."""
    import subprocess

    counting = tmp_path / "counting.toml"
    counting.write_text(cfg.read_text().replace("instructions = false", "instructions = true"))
    version = subprocess.run(["valgrind", "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    rows = []
    for line in (run / "results.jsonl").read_text().splitlines():
        row = json.loads(line)
        row["options"]["instructions"] = True
        if row["kind"] == "run":
            row["instructions"] = {"per_invoke": 1_234_567, "first_invoke": 2_345_678, "isa": "x86_64", "threads": 1,
                                   "tool": {"valgrind": version}}
        rows.append(json.dumps(row) + "\n")
    return counting, "".join(rows)


def test_a_finished_run_with_counts_estimates_no_count(swept, tmp_path, pace_one):
    if not shutil.which("valgrind"):
        pytest.skip("needs valgrind: the config counts only where it is installed")
    src, cfg, _ = swept
    out = tmp_path / "run"
    shutil.copytree(src, out, ignore=shutil.ignore_patterns(".liteship.lock"))
    counting, counted = _counted(out, cfg, tmp_path)
    costs, fresh = planned(counting, tmp_path / "new")
    counts = {key: c for key, c in costs.items() if isinstance(key, CountKey)}
    assert set(counts) == {CountKey("small_cnn_16", r, "x86") for r in ("float32", "int8", "prune_int8")}, costs
    assert all(c > 0 for c in counts.values()) and fresh >= sum(counts.values())
    _, uncounted = planned(counting, out)  # the records have no count: each variant's bench and count run again
    assert uncounted >= resources.SWEEP_OVERHEAD + sum(counts.values())
    (out / "results.jsonl").write_text(counted)
    _, seconds = planned(counting, out)
    assert seconds == pytest.approx(resources.NOTHING_TO_RUN)  # every count is there: nothing runs
