"""A resumed sweep's done units are the same typed keys the estimate costs, found from the run directory: a finished
run changed by hand is checked against a hand count of what it still holds."""

import json
import shutil

from liteship.progress import Progress
from liteship.workflow.estimate import done_units, sweep_estimates
from liteship.workflow.plan import BenchKey, ChainKey, TrainKey
from liteship.workflow.resources import pending_seconds
from liteship.workflow.sweep_config import bench_options, load_sweep_config

MODEL = "small_cnn_16"  # tests/conftest.py's CONFIG: small_cnn at 16 px; float32, int8, prune_int8; no counts


def _done(out, cfg):
    config = load_sweep_config(cfg)
    options = bench_options(config.bench, Progress(quiet=True))
    return done_units(out, "digits", config, list(config.optimize.recipes), options), config


def test_done_units_of_a_resumed_run_are_the_planned_keys_counted_by_hand(swept, tmp_path):
    src, cfg, _ = swept
    out = tmp_path / "run"
    shutil.copytree(src, out, ignore=shutil.ignore_patterns(".liteship.lock"))
    # By hand: prune_int8's variant is gone (record and file), and int8 lost its gpu record.
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    by_recipe = {r["recipe"]: r["variant"] for r in records}
    for suffix in (".json", ".tflite"):
        (out / "variants" / f"{by_recipe['prune_int8']}{suffix}").unlink()
    kept = [r for r in records if r["recipe"] != "prune_int8" and (r["recipe"], r["backend"]) != ("int8", "gpu")]
    (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept))
    assert (out / "variants" / f"{by_recipe['int8']}.tflite").is_file()  # the int8 variant itself is still made

    done, config = _done(out, cfg)
    # What the folder holds, counted by hand: the training, two variants made, one of them fully benched.
    assert done == {TrainKey(MODEL), ChainKey(MODEL, ("float32",)), ChainKey(MODEL, ("int8",)),
                     BenchKey(MODEL, "float32")}
    costs = {k: v for _, _, e in sweep_estimates(config, "digits") for k, v in e.units.items()}
    assert done <= set(costs)  # the same keys the estimate costs: no label to match
    left = pending_seconds(costs, done)
    assert {k for k, v in left.items() if v > 0} == {ChainKey(MODEL, ("prune_int8",)), BenchKey(MODEL, "int8"),
                                                     BenchKey(MODEL, "prune_int8")}
    assert sorted(k.label() for k in costs) == sorted(  # the labels users see, written out by hand
        ["train small_cnn_16", "optimize small_cnn_16 float32", "optimize small_cnn_16 int8",
         "optimize small_cnn_16 prune_int8", "bench small_cnn_16 float32", "bench small_cnn_16 int8",
         "bench small_cnn_16 prune_int8"])


def test_a_finished_run_has_every_unit_done_and_a_new_one_none(swept, tmp_path):
    src, cfg, _ = swept
    done, config = _done(src, cfg)
    costs = {k for _, _, e in sweep_estimates(config, "digits") for k in e.units}
    assert done == costs and len(done) == 1 + 3 + 3  # by hand: 1 training, 3 variants, 3 benches; no counts asked
    assert _done(tmp_path / "new", cfg)[0] == set()
