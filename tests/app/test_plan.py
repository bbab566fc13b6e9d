"""The sweep plan: which units are done is read from the run directory, and a change makes exactly its units pending."""

import json
import shutil
from dataclasses import replace

from liteship.workflow.plan import pending, plan_benches, plan_optimize, plan_train
from liteship.workflow.sweep_config import load_sweep_config, train_config
from liteship.bench import BenchOptions


def test_a_finished_sweep_plans_nothing_and_a_removed_result_is_the_only_pending_unit(swept, tmp_path):
    src, cfg, _ = swept
    out = tmp_path / "run"
    shutil.copytree(src, out)
    config = load_sweep_config(cfg)
    tcs = [train_config(config, m) for m in config.models]
    options = BenchOptions(backends=("xnnpack", "gpu"), threads=(1,), runs=10)
    recipes = ["float32", "int8", "prune_int8"]
    trains = plan_train(out, "digits", tcs)
    makes = plan_optimize(out, [t.model_dir_name for t in tcs], recipes, config.recipe_configs)
    benches = plan_benches(out, options)
    assert (len(trains), len(makes), len(benches)) == (1, 3, 3)
    assert pending(trains) == pending(makes) == pending(benches) == []

    lines = (out / "results.jsonl").read_text().splitlines()
    int8 = next(json.loads(line)["variant"] for line in lines if json.loads(line)["recipe"] == "int8")
    (out / "results.jsonl").write_text("".join(line + "\n" for line in lines
                                               if not (json.loads(line)["variant"] == int8
                                                       and json.loads(line)["backend"] == "gpu")))
    assert [u.target.variant for u in pending(plan_benches(out, options))] == [int8]  # one missing record is enough
    assert len(pending(plan_benches(out, replace(options, threads=(1, 2))))) == 3  # new thread count: all

    (out / "variants" / f"{int8}.tflite").write_bytes(b"changed")
    todo = {u.recipe: u.variant for u in pending(plan_optimize(out, [tcs[0].model_dir_name], recipes, None))}
    assert todo["int8"] == int8  # same ID: its file no longer matches the sha256 in its record
    assert todo["prune_int8"] not in {u.variant for u in makes}  # without [optimize.prune_int8]: a new ID
    assert set(todo) == {"int8", "prune_int8"}

    assert pending(plan_train(out, "digits", [replace(tcs[0], epochs=tcs[0].epochs + 1)]))
    assert pending(plan_train(out, "elsewhere", tcs))


def test_planning_writes_nothing(digits_run):
    from liteship.optimize.run import parse_recipes

    out, result = digits_run
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    plan_optimize(out, [result.model_dir.name], parse_recipes("int8,prune_int8"), None)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
