"""TFLite metadata in every variant, checked against MediaPipe itself (its displayer and its ImageClassifier,
in the isolated environment `liteship runtimes install mediapipe` makes)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from liteship import task_api
from liteship.dataset import load_run_split
from liteship.runtime import InterpreterSession

pytestmark = pytest.mark.skipif(not task_api.installed(), reason="the MediaPipe environment is not installed: "
                                f"`{task_api.INSTALL}`")


@pytest.fixture(scope="module")
def worker():
    with task_api.Worker() as w:
        yield w


def test_every_recipe_carries_metadata_and_loads_in_mediapipe(all_recipes, worker):
    """Every recipe of small_cnn: MediaPipe's displayer reads the fields the issue names, the associated
    labels file is the model's labels.txt, and MediaPipe's ImageClassifier answers as LiteRT does."""
    out, records = all_recipes
    labels = (out / "float" / records["float32"]["model"] / "labels.txt").read_text(encoding="utf-8")
    x, y = load_run_split(out, 32)["test"]
    for recipe, rec in records.items():
        path = out / rec["file"]
        shown = task_api.read_metadata(worker, path)
        assert shown["ok"], (recipe, shown)
        meta = shown["metadata"]
        assert meta["name"] == f"{rec['model']} {recipe}" and meta["version"] == rec["id"]
        assert "liteship" in meta["description"] and recipe in meta["description"] and rec["id"] in meta["description"]
        units = meta["subgraph_metadata"][0]["input_tensor_metadata"][0]["process_units"][0]["options"]
        want = ([0.0], [255.0]) if rec["inputs"][0]["dtype"] == "float32" else ([0.0], [1.0])
        assert (units["mean"], units["std"]) == want, recipe
        # the writer joins the labels with "\n" and drops liteship's final newline: the same labels, line by line
        assert shown["files"] == ["labels.txt"] and shown["labels"].split("\n") == labels.splitlines()
        reference = InterpreterSession(str(path)).predict(x)
        found = task_api.check(worker, path, x, y, reference)
        if recipe == "int4_weights":  # MediaPipe 0.10.21's TFLite reads an int4 tensor as a byte per weight
            assert not found["loaded"] and "requires" in found["error"], found
            continue
        assert found["loaded"] and not found["metadata_problems"], (recipe, found)
        assert found["agreement"] >= 0.99, (recipe, found)


def test_metadata_changes_no_number(digits_run, worker, tmp_path):
    """The same graph with and without metadata: LiteRT's outputs are equal bit for bit on the test split."""
    out, _ = digits_run
    bare = (out / "float" / "small_cnn_32" / "model.tflite").read_bytes()
    labels = [str(i) for i in range(10)]
    with_md = task_api.add_metadata(worker, bare, labels, "m", "liteship test", "1", "float32")
    assert len(with_md) > len(bare)
    import time

    time.sleep(2.1)  # past the zip format's 2-second clock: the same input must still give the same bytes
    assert task_api.add_metadata(worker, bare, labels, "m", "liteship test", "1", "float32") == with_md
    (tmp_path / "bare.tflite").write_bytes(bare)
    (tmp_path / "md.tflite").write_bytes(with_md)
    x, _ = load_run_split(out, 32)["test"]
    a = InterpreterSession(str(tmp_path / "bare.tflite")).predict(x)
    b = InterpreterSession(str(tmp_path / "md.tflite")).predict(x)
    np.testing.assert_array_equal(a, b)


def test_no_metadata_or_wrong_metadata_is_caught(digits_run, worker, tmp_path):
    out, _ = digits_run
    bare = (out / "float" / "small_cnn_32" / "model.tflite").read_bytes()
    x, y = load_run_split(out, 32)["test"]
    (tmp_path / "bare.tflite").write_bytes(bare)
    reference = InterpreterSession(str(tmp_path / "bare.tflite")).predict(x[:20])
    found = task_api.check(worker, tmp_path / "bare.tflite", x[:20], y[:20], reference)
    assert not found["loaded"] and found["metadata_problems"][0].startswith("no TFLite metadata")
    # normalization of [-1, 1] (mean 127.5, std 127.5) and 9 labels for 10 outputs: both sides named
    wrong = task_api.Worker.ask(worker, {"action": "write", "src": str(tmp_path / "bare.tflite"),
                                         "dst": str(tmp_path / "wrong.tflite"), "name": "m", "description": "d",
                                         "version": "1", "mean": [127.5], "std": [127.5],
                                         "labels": [str(i) for i in range(9)]})
    assert wrong["ok"]
    found = task_api.check(worker, tmp_path / "wrong.tflite", x[:20], y[:20], reference)
    problems = " | ".join(found["metadata_problems"])
    assert "'mean': [127.5]" in problems and "mean [0.0] std [255.0]" in problems, problems
    assert "labels.txt has 9 labels; the model outputs 10 classes" in problems


def test_mediapipe_stretches_a_non_square_photo_where_the_contract_crops(all_recipes, worker):
    """Wide photos (96x64): MediaPipe's classes follow LiteRT fed the whole photo stretched to 32x32, not the
    contract's centre crop; the top-1 of each way is measured on the same photos."""
    out, records = all_recipes
    path = out / records["float32"]["file"]
    x, y = load_run_split(out, 32)["test"]
    x, y = x[:100], y[:100]
    photos = [np.asarray(Image.fromarray(np.concatenate([img, img[:, :16]], axis=1)).resize((96, 64), Image.BILINEAR))
              for img in x]  # the digit on the left two thirds: a centre crop cuts part of it
    _, scores = task_api.classify(worker, path, photos)
    session = InterpreterSession(str(path))
    stretched = session.predict(np.stack([np.asarray(Image.fromarray(p).resize((32, 32), Image.BILINEAR))
                                          for p in photos]))
    cropped = session.predict(np.stack([np.asarray(Image.fromarray(p[:, 16:80]).resize((32, 32), Image.BILINEAR))
                                        for p in photos]))
    ours = np.argmax(scores, 1)
    like_stretch, like_crop = (float(np.mean(ours == np.argmax(r, 1))) for r in (stretched, cropped))
    top1 = {name: float(np.mean(np.argmax(r, 1) == y)) for name, r in
            (("mediapipe", scores), ("stretched", stretched), ("centre crop", cropped))}
    print(f"\n100 wide photos (96x64): MediaPipe's class is the stretched photo's on {like_stretch:.0%}, the centre "
          f"crop's on {like_crop:.0%}; top-1 " + ", ".join(f"{k} {v:.2f}" for k, v in top1.items()))
    assert like_stretch >= 0.9 and like_stretch > like_crop


def test_bench_with_the_task_api_then_gate_and_pick_check_it(swept, tmp_path, capsys):
    """`bench --task-api mediapipe` records MediaPipe's answers, `[budgets] task_api` judges them, and pick's
    release is classified in MediaPipe with its metadata read back."""
    import json
    import shutil

    from liteship.app.cli import main

    out, _, _ = swept
    run = tmp_path / "run"
    shutil.copytree(out, run, ignore=shutil.ignore_patterns(".liteship.lock", "release"))
    assert main(["bench", str(run), "--backends", "xnnpack", "--runs", "5", "--rounds", "2", "--task-api",
                 "mediapipe", "--quiet"]) == 0
    records = [r for line in (run / "results.jsonl").read_text().splitlines()
               if (r := json.loads(line))["backend"] == "xnnpack"]  # the sweep's gpu records stay as they were
    assert len(records) == 3 and all(r["task_api"]["loaded"] and r["task_api"]["agreement"] >= 0.99 for r in records)
    budgets = tmp_path / "liteship.toml"
    budgets.write_text('[budgets]\ntask_api = "mediapipe"\nmin_runtime_agreement = 0.99\n')
    capsys.readouterr()
    assert main(["gate", str(run), "--budgets", str(budgets), "--all"]) == 0
    assert "task_api (mediapipe) agreement ok" in capsys.readouterr().out
    budgets.write_text('[budgets]\ntask_api = "mediapipe"\nmin_runtime_agreement = 1.01\n')
    assert main(["gate", str(run), "--budgets", str(budgets)]) == 2  # out of range: exit 2 before any work
    assert main(["pick", str(run)]) == 0
    manifest = json.loads((run / "release" / "manifest.json").read_text())
    found = manifest["task_api"]
    # pick feeds the digits' own 8x8 images, as an app passes a photo: MediaPipe resizes them itself, so its
    # top-1 is its own, not liteship's (bench fed it liteship's 16x16 pixels); square, the stretched path is the same
    assert found["loaded"] and found["images"] == 269 and "no photo files" in found["fed"]
    assert found["stretched"]["top1"] == found["top1"] and found["non_square"] == 0
    assert found["metadata"]["labels_file_matches"] and found["metadata"]["version"] == manifest["variant"]
    text = (run / "release" / "MODEL.md").read_text()
    assert "ImageClassifierOptions()" in text and f"top-1 {found['top1'] * 100:.2f} %" in text
    assert "regionOfInterest: square" in text
    beyond = _beyond_by_hand(found)
    if beyond is not None:  # the counts decide it: the flag and MODEL.md's warning must say the same
        assert found["change_vs_contract"]["beyond_interval"] is beyond, found
        assert ("MediaPipe's top-1 differs from liteship's" in text) is beyond, text
    assert ("MediaPipe's top-1 differs from liteship's" in text) == found["change_vs_contract"]["beyond_interval"]


def _beyond_by_hand(found: dict) -> bool | None:
    """Whether MediaPipe's top-1 and the contract's differ beyond the paired 95 % interval, from the manifest's
    counts and Newcombe's formulas written out in the stats test; None when the counts cannot decide it.

    The manifest keeps no per-image answers, but MediaPipe's answer and liteship's agree on a share of the images,
    and only an image where the two answers differ can be right in one and wrong in the other: the images right in
    one only number at most the disagreements, and differ by the gap in right answers. Every such table is tried."""
    from tests.core.test_stats import _newcombe_reference

    n = found["images"]
    mp, contract = round(found["top1"] * n), round(found["contract_top1"] * n)
    assert found["change_vs_contract"]["value"] == pytest.approx((mp - contract) / n, abs=1e-6)
    apart = round((1 - found["agreement"]) * n)
    answers = set()
    for only_mp in range(max(0, mp - contract), apart + 1):
        only_contract = only_mp - (mp - contract)
        both = mp - only_mp
        if only_contract < 0 or only_mp + only_contract > apart or both < 0 or n - both - only_mp - \
                only_contract < 0:
            continue
        low, high = _newcombe_reference(both, only_mp, only_contract, n - both - only_mp - only_contract)
        answers.add(bool(low > 0 or high < 0))
    assert answers, found  # some table fits the manifest's own numbers
    return answers.pop() if len(answers) == 1 else None


def test_bench_of_a_file_reads_its_metadata_labels_and_names_a_disagreement(all_recipes, worker, tmp_path):
    """A variant alone (no labels.txt beside it) is scored with the labels its metadata carries; a file whose
    metadata says another normalization and 9 labels for 10 outputs fails the contract, both sides named."""
    from liteship.bench import BenchOptions, bench_file

    out, records = all_recipes
    alone = tmp_path / "alone" / "model.tflite"
    alone.parent.mkdir()
    alone.write_bytes((out / records["int8"]["file"]).read_bytes())
    options = BenchOptions(backends=("xnnpack",), runs=2, rounds=1, warmup=0)
    (rec,) = bench_file(alone, options, "digits")
    assert rec.images == 1797 and rec.top1 > 0.5 and set(rec.per_class_top1) == {str(i) for i in range(10)}
    assert rec.contract["ok"], rec.contract
    bare = tmp_path / "bare.tflite"
    bare.write_bytes((out / "float" / records["float32"]["model"] / "model.tflite").read_bytes())
    answer = worker.ask({"action": "write", "src": str(bare), "dst": str(tmp_path / "wrong.tflite"), "name": "m",
                         "description": "d", "version": "1", "mean": [127.5], "std": [127.5],
                         "labels": [str(i) for i in range(9)]})
    assert answer["ok"]
    (tmp_path / "labels.txt").write_text("\n".join(str(i) for i in range(10)) + "\n")
    (rec,) = bench_file(tmp_path / "wrong.tflite", options)
    problems = " | ".join(rec.contract["problems"])
    assert not rec.contract["ok"] and "TFLite metadata: metadata normalization" in problems
    assert "mean [0.0] std [255.0]" in problems and "has 9 labels; the model outputs 10 classes" in problems
