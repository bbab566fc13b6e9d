"""MODEL.md says how the shipped variant's float model was trained: the augmentation its card records (each step with
its settings, and whether it was the data set's default or the run's own setting), that a card made before liteship
augmented trained with none, and that validation, the test split, int8 calibration and every accuracy measurement
are never augmented. Cards are written here by hand; the expected lines are written out, not rendered by the code."""

from __future__ import annotations

import json
import shutil

import pytest

from liteship.judge import Budgets, decide, judge, read_trained
from liteship.judge.gate import VariantVerdict
from liteship.judge.release_docs import model_md
from tests.judge.test_model_md import rec

NAMES = ["cat", "dog"]
CONTRACT = {"input": {"shape": [1, 32, 32, 3], "dtype": "float32"}, "output": {"shape": [1, 2], "dtype": "float32"}}
NEVER = ("- validation, the test split, int8 calibration and every accuracy measurement read the input contract's "
         "pixels only (the preprocessing above), never augmented")


def _model_md(tmp_path, card: dict | None) -> str:
    """MODEL.md of model m's int8 variant, its float model's card being ``card`` (None: no card.json)."""
    if card is not None:
        (tmp_path / "float" / "m").mkdir(parents=True)
        (tmp_path / "float" / "m" / "card.json").write_text(json.dumps(card))
    records = [rec("float32", "1" * 100, NAMES), rec("int8", "1" * 100, NAMES)]
    budgets = Budgets(max_accuracy_drop=0.02)
    verdicts = [VariantVerdict(r.variant, r.recipe, r.model, tuple(judge(budgets, r.variant, [r], records)))
                for r in records]
    decision = decide(records, budgets, "accuracy", verdicts)
    chosen = [r for r in records if r.variant == decision.chosen.variant]
    (trained,) = read_trained(tmp_path, ["m"])
    return model_md(decision, chosen, CONTRACT, NAMES, "here", None, None, trained)


def _training(text: str) -> list[str]:
    """The lines of MODEL.md's Training section."""
    lines = text.splitlines()
    start = lines.index("## Training")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("## "))
    return [line for line in lines[start + 1:end] if line]


def test_model_md_says_the_photo_default_with_its_settings(tmp_path):
    card = {"classes": ["cat", "dog"], "counts": {"train": 1200, "val": 150, "test": 150},
            "augment": {"steps": ["crop", "flip"], "default": "photos", "crop_area": [0.08, 1.0],
                        "crop_aspect_ratio": [0.75, 1.3333333333333333], "said": "crop, flip"}}
    assert _training(_model_md(tmp_path, card)) == [
        "- float model `m` (`float/m/card.json`), 1,200 training images of 2 classes",
        "- augmentation while training: random resized crop (area 0.08–1 of the image, aspect ratio 3/4–4/3), "
        "random horizontal flip: the default for photos",
        "- a recipe that fine-tunes (pruning, QAT, clustering) trains with its float model's augmentation", NEVER]


def test_model_md_says_the_run_s_own_setting(tmp_path):
    card = {"classes": ["cat", "dog"], "counts": {"train": 80},
            "augment": {"steps": ["flip", "rotate"], "default": None, "rotation_degrees": 10}}
    (_, line, *_) = _training(_model_md(tmp_path, card))
    assert line == ("- augmentation while training: random horizontal flip, random rotation (up to 10° either way): "
                    "the run's own setting (`[train] augment`, `--augment` or `augment=`)")


def test_model_md_of_a_model_trained_before_augmentation_existed_says_none_and_no_default(tmp_path):
    card = {"classes": ["cat", "dog"], "counts": {"train": 80}}  # no "augment": made before liteship augmented
    training = _training(_model_md(tmp_path, card))
    assert training[1] == "- augmentation while training: none (trained before liteship augmented)"
    assert NEVER in training and not any("default" in line for line in training)


def test_model_md_without_the_card_says_it_is_unknown(tmp_path):
    training = _training(_model_md(tmp_path, None))
    assert training[:2] == ["- float model `m` (`float/m/card.json`)",
                            "- augmentation while training: unknown: float/m/card.json is missing"]


def test_model_md_without_training_facts_has_no_training_section(tmp_path):
    records = [rec("float32", "1" * 100, NAMES)]
    budgets = Budgets(max_accuracy_drop=0.02)
    verdicts = [VariantVerdict(r.variant, r.recipe, r.model, tuple(judge(budgets, r.variant, [r], records)))
                for r in records]
    text = model_md(decide(records, budgets, "accuracy", verdicts), records, CONTRACT, NAMES, "here")
    assert "## Training" not in text and "## Accuracy" in text


@pytest.mark.slow
def test_pick_of_a_digits_run_says_the_digits_default_and_an_older_card_none(optimized_run, tmp_path):
    """The release of the trained digits run (augment unset: the digits' default, which is none, as the issue asks:
    a mirrored 2 is not a 2); then the same run with its card's augment entry removed by hand, as a card written
    before augmentation existed: its MODEL.md and report say none, and no default."""
    from liteship.app.cli import main

    out, _ = optimized_run
    run = tmp_path / "run"
    shutil.copytree(out, run, ignore=shutil.ignore_patterns(".liteship.lock", "release", "results.*", "report.*"))
    assert main(["bench", str(run), "--backends", "xnnpack", "--runs", "3", "--rounds", "1", "--quiet"]) == 0
    assert main(["pick", str(run)]) == 0
    model = json.loads((run / "release" / "manifest.json").read_text())["float_model"]
    said = "- augmentation while training: none: the default for the built-in digits"
    assert said in (run / "release" / "MODEL.md").read_text()
    assert f"| {model} | 10 |" in (run / "report.md").read_text()
    card_path = run / "float" / model / "card.json"
    card = json.loads(card_path.read_text())
    assert card["augment"]["steps"] == [] and card["augment"]["default"] == "digits"
    del card["augment"]
    card_path.write_text(json.dumps(card))
    assert main(["pick", str(run)]) == 0
    text = (run / "release" / "MODEL.md").read_text()
    assert "- augmentation while training: none (trained before liteship augmented)" in text
    assert "the default for the built-in digits" not in text
    report = (run / "report.md").read_text()
    assert f"| {model} | 10 | {card['counts']['train']:,} | none (trained before liteship augmented) | – |" in report
