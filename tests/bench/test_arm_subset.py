"""The ARM backends' accuracy subset: a seeded sample of every class in proportion, named in the record and in the
verdicts. Before, it was the first 100 test images, which for a folder data set (read class by class, its test
split sorted by index) are the first classes only."""

from pathlib import Path

import numpy as np

from liteship.bench.accuracy import arm_subset, stratified_subset, subset_words
from liteship.bench.measure import EvalSet, Prepared, Target, arm_pixels, _count_record

ISSUE_CASE = np.repeat(np.arange(10), 18)  # 10 classes x 120 images, 15 % test: 18 a class, listed class by class


def test_the_issue_case_every_class_ten_of_its_eighteen():
    # By hand: 100 of 180, each class 18/180 of them = 10 exactly. The first 100 were 18 x 5, 10, then 0 x 4.
    assert np.bincount(ISSUE_CASE[:100], minlength=10).tolist() == [18, 18, 18, 18, 18, 10, 0, 0, 0, 0]
    assert np.bincount(ISSUE_CASE[arm_subset(ISSUE_CASE)], minlength=10).tolist() == [10] * 10


def test_unequal_classes_in_proportion_counted_by_hand():
    labels = np.repeat([0, 1, 2, 3], [45, 30, 15, 10])  # 100 images
    # 30 of them: quotas 13.5, 9, 4.5, 3; rounded down 13 + 9 + 4 + 3 = 29; the one left goes to the largest
    # remainder, 0.5, a tie of classes 0 and 2: the lower class. So 14, 9, 4, 3.
    picked = stratified_subset(labels, 30, seed=0)
    assert np.bincount(labels[picked], minlength=4).tolist() == [14, 9, 4, 3]
    assert len(set(picked.tolist())) == 30 and picked.tolist() == sorted(picked.tolist())


def test_a_class_too_small_for_one_image_still_gets_one():
    labels = np.repeat([0, 1, 2, 3, 4], [50, 30, 15, 4, 1])
    # 20 of 100: quotas 10, 6, 3, 0.8, 0.2; 19 rounded down, the one left to 0.8 (class 3): 10, 6, 3, 1, 0.
    # Class 4 gets one image, from the class most over its share (a tie at 0 over: the lowest, class 0).
    picked = stratified_subset(labels, 20, seed=0)
    assert np.bincount(labels[picked], minlength=5).tolist() == [9, 6, 3, 1, 1]


def test_the_same_seed_the_same_subset_another_seed_another():
    labels = np.repeat([0, 1, 2], [40, 25, 35])
    a, b, c = (stratified_subset(labels, 30, seed=s) for s in (0, 0, 1))
    assert a.tolist() == b.tolist() and a.tolist() != c.tolist()
    assert np.bincount(labels[a]).tolist() == np.bincount(labels[c]).tolist() == [12, 8, 10]  # 40 %, 25 %, 35 %
    assert stratified_subset(labels, 200, seed=0).tolist() == list(range(100))  # all, when there are no more


def _evalset(labels: np.ndarray) -> EvalSet:
    pixels = np.arange(len(labels), dtype=np.uint8).reshape(-1, 1, 1, 1)  # each image's pixel is its position
    return EvalSet(pixels, labels, [f"c{i}" for i in range(10)], "folder", "test", "data-hash", "split-hash", 0)


def test_what_the_arm_backend_runs_covers_every_class():
    """The pixels a count runs are those of the subset (the old rule ran the first 100: classes 0 to 5 only)."""
    pixels, scored = arm_pixels(_evalset(ISSUE_CASE))
    positions = pixels.reshape(-1)
    assert scored and len(positions) == 100
    assert np.bincount(ISSUE_CASE[positions], minlength=10).tolist() == [10] * 10


def _arm_record(recipe: str, wrong: int = 0):
    """An ARM record of a model that answers every image it ran right but the first ``wrong``."""
    evalset = _evalset(ISSUE_CASE)
    pixels, _ = arm_pixels(evalset)
    answers = ISSUE_CASE[pixels.reshape(-1)].copy()
    answers[:wrong] = (answers[:wrong] + 1) % 10
    counted = {"instructions": {"per_invoke": 1, "isa": "aarch64"}, "emulation": {}, "note": "counted",
               "outputs": np.eye(10)[answers], "runtime": "qemu"}
    facts = {"sha256": "f", "options": {}, "data": evalset.describe(), "size_bytes": 1, "gzip_bytes": 1,
             "params": 1, "sparsity": 0.0}
    target = Target(path=Path("m.tflite"), variant=recipe, recipe=recipe, group="m")
    prep = Prepared(target, None, facts, tuple(evalset.class_names), evalset, {}, {}, [])
    return _count_record(prep, "arm64-a15", counted, ISSUE_CASE.copy()), pixels.reshape(-1)


def test_the_arm_record_scores_the_subset_and_names_it():
    """A model that answers every image right: scored against the subset's own labels, its top-1 is 1.0; the
    record names the subset (its positions, per-class counts, rule and seed), and its member list differs from the
    whole split's, so it pairs only with a record of the same subset."""
    rec, positions = _arm_record("int8")
    assert rec.top1 == 1.0 and rec.agreement == 1.0 and rec.images == 100
    subset = rec.data["subset"]
    assert subset["of"] == 180 and subset["seed"] == 0 and subset["rule"] == "stratified"
    assert subset["indices"] == positions.tolist()
    assert subset["per_class"] == {f"c{i}": 10 for i in range(10)}
    assert rec.data["split_members"] == "split-hash" and rec.data["members"] != "split-hash"
    assert subset_words(rec) == " (scored on 100 of 180 test images, stratified)"


def test_the_verdicts_say_they_judge_a_subset_paired_with_float_on_the_same_images():
    from liteship.judge.budgets import Budgets, judge

    base, _ = _arm_record("float32")
    variant, _ = _arm_record("int8", wrong=3)
    assert variant.top1 == 0.97
    budgets = Budgets(backend="arm64-a15", min_accuracy=0.5, max_accuracy_drop=0.1, min_agreement=0.5)
    said = {v.check.split(" ")[0]: v.message for v in judge(budgets, "int8", [variant], [base, variant])}
    for check in ("min_accuracy", "max_accuracy_drop", "min_agreement"):
        assert said[check].endswith(" (scored on 100 of 180 test images, stratified)"), said[check]
    assert "paired, 100 images" in said["max_accuracy_drop"]  # float32's record of the same 100 images


def test_a_whole_split_is_not_called_a_subset():
    evalset = _evalset(ISSUE_CASE[:50])
    counted = {"instructions": {}, "emulation": {}, "note": "", "outputs": np.eye(10)[ISSUE_CASE[:50]],
               "runtime": "qemu"}
    facts = {"sha256": "f", "options": {}, "data": evalset.describe(), "size_bytes": 1, "gzip_bytes": 1,
             "params": 1, "sparsity": 0.0}
    prep = Prepared(Target(path=Path("m.tflite"), variant="v"), None, facts, None, evalset, {}, {}, [])
    rec = _count_record(prep, "arm64-a15", counted, None)
    assert rec.images == 50 and subset_words(rec) == ""


def test_float32_has_its_own_agreement_on_an_arm_backend():
    """float32's ARM answers against its own x86 answers on the same images: 4 of the subset's 100 differ by
    construction, so 0.96 (it had none, and failed min_agreement on an arm64-* budget backend)."""
    from liteship.bench.measure import BenchOptions
    from liteship.bench.run import _group_records
    from liteship.progress import Progress

    _, positions = _arm_record("float32")
    evalset = _evalset(ISSUE_CASE)
    x86 = ISSUE_CASE.copy()
    x86[positions[[0, 10, 50, 99]]] += 1  # float32's x86 answers: 4 of the subset's images answered otherwise
    x86 %= 10
    pixels, _ = arm_pixels(evalset)
    counted = {"instructions": {"per_invoke": 1}, "emulation": {}, "note": "n", "runtime": "qemu",
               "outputs": np.eye(10)[ISSUE_CASE[pixels.reshape(-1)]]}
    facts = {"sha256": "f", "options": {}, "data": evalset.describe(), "size_bytes": 1, "gzip_bytes": 1,
             "params": 1, "sparsity": 0.0}
    target = Target(path=Path("m.tflite"), variant="v", recipe="float32", group="m")
    prep = Prepared(target, None, facts, tuple(evalset.class_names), evalset, {}, {}, [], None,
                    {"arm64-a15": counted})
    [[arm]] = _group_records([target], [prep], BenchOptions(backends=("xnnpack",)), x86, Progress(quiet=True), None)
    assert arm.backend == "arm64-a15" and arm.top1 == 1.0 and arm.agreement == 0.96


def test_the_reports_decision_says_it_judged_a_subset():
    from liteship.judge import Budgets, VariantVerdict, decide, judge
    from liteship.report.sections import _option_line

    base, _ = _arm_record("float32")
    variant, _ = _arm_record("int8", wrong=3)
    records = [base, variant]
    budgets = Budgets(backend="arm64-a15", require_contract=False, min_accuracy=0.5)
    verdicts = [VariantVerdict(r.variant, r.recipe, r.model, tuple(judge(budgets, r.variant, [r], records)))
                for r in records]
    decision = decide(records, budgets, "accuracy", verdicts)
    line = _option_line(decision.chosen, decision)
    assert line.startswith(f"top-1 {decision.chosen.top1:.4f}") and \
        "(scored on 100 of 180 test images, stratified), " in line, line
