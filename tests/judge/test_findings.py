"""Warnings on hand-built runs whose right answers are known: each scenario once with the defect, once without."""

from liteship.bench.accuracy import wilson
from liteship.bench.record import BenchRecord
from liteship.judge.budgets import Budgets
from liteship.judge.findings import beats_float, findings, inside_noise, slower_than_plain, split_too_small

BUDGETS = Budgets(max_accuracy_drop=0.02)


def rec(recipe, correct, p50=1.0, ci=None, model="mnv2", size=100_000, backend="xnnpack") -> BenchRecord:
    ci = ci or (p50 * 0.98, p50 * 1.02)
    right = correct.count("1")
    return BenchRecord.from_dict({
        "variant": f"{model}-{recipe}", "model": model, "recipe": recipe, "arch": None, "alpha": None, "size": 32,
        "backend": backend, "threads": 1, "runtime": "", "kind": "run", "status": "ok", "size_bytes": size,
        "gzip_bytes": size, "params": None, "sparsity": None, "top1": right / len(correct), "images": len(correct),
        "correct": correct, "data": {"content_hash": "h", "members": "m"}, "top1_ci": list(wilson(right, len(correct))),
        "contract": {"ok": True, "problems": [], "input": {"dtype": "uint8" if "int8" in recipe else "float32"}},
        "latency_ms": {"init": 1, "first": 1, "p50": p50, "p90": p50, "p99": p50, "mean": p50, "std": 0, "cv": 0,
                       "min": p50, "runs": 10, "rounds": 2, "ci_low": ci[0], "ci_high": ci[1]}})


FLOAT = "1" * 150 + "0" * 50  # 75 % of 200


def test_a_variant_far_better_than_float_flags_the_baseline():
    # pruned: right on 40 of the 50 images float gets wrong, wrong on none float gets right: +20 pt,
    # far beyond any interval on 200 images.
    pruned = "1" * 150 + "1" * 40 + "0" * 10
    (f,) = beats_float([rec("float32", FLOAT), rec("prune_int8", pruned)], BUDGETS)
    assert f.kind == "baseline" and f.variants == ("mnv2-prune_int8",)
    assert "+20.00 pt" in f.message and "under-trained" in f.message and "epochs" in f.message
    # One image better is inside the noise: no baseline warning, a noise one.
    one_better = "1" * 150 + "1" + "0" * 49
    records = [rec("float32", FLOAT), rec("prune_int8", one_better)]
    assert beats_float(records, BUDGETS) == []
    (noise,) = inside_noise(records, BUDGETS)
    assert "+0.50 to +0.50 pt" in noise.message and noise.variants == ("mnv2-prune_int8",)


def test_a_quantized_variant_slower_than_int8_outside_both_intervals():
    records = [rec("float32", FLOAT, p50=0.30, ci=(0.29, 0.31)), rec("int8", FLOAT, p50=0.200, ci=(0.195, 0.205)),
               rec("qat_int8", FLOAT, p50=0.384, ci=(0.38, 0.39))]
    (f,) = slower_than_plain(records, "runs/demo")
    assert f.kind == "slower" and "slower than plain int8" in f.message and "1.92×" in f.message
    assert f.explain == "liteship explain runs/demo mnv2-qat_int8 --vs mnv2-int8"
    # Overlapping intervals are not a finding, and neither is the fp16 backend's emulated time.
    close = [rec("int8", FLOAT, p50=0.200, ci=(0.19, 0.25)), rec("qat_int8", FLOAT, p50=0.24, ci=(0.22, 0.26)),
             rec("qat_int8", FLOAT, p50=9.0, backend="fp16"), rec("int8", FLOAT, p50=0.2, backend="fp16")]
    assert slower_than_plain(close) == []
    # float16 computes in float: slower than int8 is expected, slower than float32 is not.
    f16 = [rec("float32", FLOAT, p50=0.30, ci=(0.29, 0.31)), rec("int8", FLOAT, p50=0.2, ci=(0.19, 0.21)),
           rec("float16", FLOAT, p50=0.29, ci=(0.28, 0.30))]
    assert slower_than_plain(f16) == []
    (f,) = slower_than_plain([*f16[:2], rec("float16", FLOAT, p50=0.45, ci=(0.44, 0.46))])
    assert "float16 is slower than plain float32" in f.message


def test_a_split_too_small_to_decide_the_budget():
    # One image of 40 differs: the paired interval of the drop holds the 2 pt limit.
    small_float, small_int8 = "1" * 30 + "0" * 10, "1" * 29 + "0" * 11
    (f,) = split_too_small([rec("float32", small_float), rec("int8", small_int8)], BUDGETS)
    assert "40 images; one image is 2.50 pt" in f.message and "2.00 pt" in f.message
    # Identical answers on 2000 images decide it: the paired interval is a fraction of a point wide.
    big = "1" * 1500 + "0" * 500
    assert split_too_small([rec("float32", big), rec("int8", big)], BUDGETS) == []
    assert split_too_small([rec("float32", small_float), rec("int8", small_int8)], Budgets()) == []


def test_a_clean_run_has_no_findings():
    big = "1" * 1900 + "0" * 100
    records = [rec("float32", big, p50=0.3), rec("int8", big, p50=0.2, size=30_000),
               rec("prune_int8", big, p50=0.2, size=20_000)]
    assert findings(records, BUDGETS) == []


def test_an_auto_int8_search_that_missed_its_budget_is_named(tmp_path):
    import json

    from liteship.judge.findings import search_unmet

    steps = [{"step": "int8", "met": False, "drop_interval": [0.0, 0.03], "size_bytes": 10,
              "why": "upper end of the 95 % interval +3.00 pt > budget 1.00 pt on 100 validation images"},
             {"step": "qat_int8", "met": False, "drop_interval": [0.0, 0.04], "size_bytes": 11, "why": "..."}]
    (tmp_path / "variants").mkdir()
    record = rec("auto_int8", FLOAT)
    made = {"model": "mnv2", "details": {"met_budget": False, "chosen_step": "int8", "split": "validation",
                                         "max_accuracy_drop": 0.01, "steps": steps}}
    (tmp_path / "variants" / f"{record.variant}.json").write_text(json.dumps(made))
    (f,) = search_unmet([record], str(tmp_path))
    assert "did not meet max_accuracy_drop = 1.00 pt" in f.message and "after 2 steps (int8; qat_int8)" in f.message
    assert "it kept the closest, int8: upper end" in f.message
    made["details"]["met_budget"] = True
    (tmp_path / "variants" / f"{record.variant}.json").write_text(json.dumps(made))
    assert search_unmet([record], str(tmp_path)) == []
