"""auto_int8: the smallest int8 variant that keeps accuracy within a budget of the float model.

Tries, in order, full int8; int8 with the worst-quantizing layers kept in
float, one more layer a step; then quantization-aware training. Each step's
paired drop vs the float model is measured on the validation split (never the
test split, which the bench keeps for the numbers it reports), and the search
stops at the first step whose drop meets ``max_accuracy_drop``: the upper end
of its 95 % interval by default, the point estimate with
``judge_by = "point"``. The record lists every step, its drop and why it was
or was not enough, like NNCF's accuracy-controlled quantization.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from liteship.config import setting
from liteship.number_formats import pt
from liteship.runtime import predict
from liteship.stats import paired
from liteship.trainer import float_predict

from liteship.optimize import quantizer
from liteship.optimize.convert import Int8Config, converter_maker, int8_once
from liteship.optimize.qat import QatConfig, qat_int8
from liteship.optimize.registry import RecipeCosts, RecipeData, RecipeOutput, recipe
from liteship.optimize.selective import debug_layers, quantize_keeping


@dataclass(frozen=True)
class AutoInt8Config(Int8Config):
    max_accuracy_drop: float = setting(0.01, lo=-1.0, hi=1.0)  # float's validation top-1 minus the variant's (0.01 = 1 pt)
    judge_by: Literal["interval", "point"] = "interval"  # the drop's 95 % upper end, or the point estimate
    max_float_layers: int = setting(4, hi=1_000)
    debug_images: int = setting(64, lo=1, hi=100_000)
    qat_epochs: int = setting(4, hi=10_000)
    qat_learning_rate: float = setting(1e-3, hi=1.0)


class _Search:
    """The validation images, the float model's right/wrong on them, and the steps taken so far."""

    def __init__(self, model, data: RecipeData, config: AutoInt8Config):
        self.config = config
        self.x, self.y = (data.val_x, data.val_y) if len(data.val_y) else (data.train_x, data.train_y)
        self.split = "validation" if len(data.val_y) else "training (no validation split)"
        self.float_right = np.argmax(float_predict(model, self.x), axis=1) == self.y  # a batch read at a time
        self.steps: list[dict] = []
        self.files: list[bytes] = []
        self.undecided = False

    def enough(self, name: str, tflite: bytes, **facts) -> bool:
        right = np.argmax(predict(tflite, self.x), axis=1) == self.y
        drop = paired(self.float_right, right)
        judged = drop.high if self.config.judge_by == "interval" else drop.value
        met = judged <= self.config.max_accuracy_drop
        what = "upper end of the 95 % interval" if self.config.judge_by == "interval" else "point drop"
        self.steps.append({
            "step": name, **facts, "size_bytes": len(tflite), "top1": round(float(right.mean()), 6),
            "float_top1": round(float(self.float_right.mean()), 6), "drop": drop.value,
            "drop_interval": [drop.low, drop.high], "images": drop.images, "met": met,
            "why": f"{what} {pt(judged)} {'<=' if met else '>'} budget "
                   f"{self.config.max_accuracy_drop * 100:.2f} pt on {drop.images} {self.split} images"
                   f" (float right, variant wrong: {drop.only_a_right}; the other way: {drop.only_b_right})"})
        self.files.append(tflite)
        return met

    def undecidable(self) -> bool:
        """The interval budget cannot be met on this split by any step: even a variant that answers exactly as the
        float model does on every image leaves an interval wider than the budget. Said in the last step, and the
        search stops there instead of trying steps that cannot succeed."""
        if self.config.judge_by != "interval":
            return False
        same = paired(self.float_right, self.float_right)
        if same.high <= self.config.max_accuracy_drop:
            return False
        self.steps[-1]["why"] += (f"; no step can meet it: {len(self.y)} {self.split} images leave a 95 % interval "
                                  f"up to {pt(same.high)} even when every answer is the float model's, so "
                                  "the search stopped (more validation images, a larger budget, or judge_by = "
                                  '"point" decide it)')
        self.undecided = True
        return True

    def result(self) -> RecipeOutput:
        met = [i for i, s in enumerate(self.steps) if s["met"]]
        # None met: keep the step that came closest (lowest judged drop, then the smaller file).
        judged = (lambda s: s["drop_interval"][1]) if self.config.judge_by == "interval" else (lambda s: s["drop"])
        key = (lambda i: 0) if met else (lambda i: (judged(self.steps[i]), self.steps[i]["size_bytes"]))
        best = met[0] if met else min(range(len(self.steps)), key=key)
        return RecipeOutput(self.files[best], {
            "chosen_step": self.steps[best]["step"], "maker": self.steps[best].get("maker", converter_maker()),
            "met_budget": bool(met), "split": self.split,
            "max_accuracy_drop": self.config.max_accuracy_drop, "judge_by": self.config.judge_by,
            "undecidable": self.undecided, "steps": self.steps})


@recipe("auto_int8", AutoInt8Config,
        "the first of int8, int8 with float fallback, QAT int8 whose validation drop vs float meets a budget",
        reuses=("int8", "qat_int8"), costs=RecipeCosts(convert_factor=2.0))  # judges its int8 step on the validation images
def auto_int8(model, data: RecipeData, config: AutoInt8Config) -> RecipeOutput:
    search = _Search(model, data, config)
    # The int8 recipe's conversion with these settings: made once per optimize call (see RecipeData.shared).
    if search.enough("int8", int8_once(model, data, config.calibration_images, config.io), maker=quantizer.maker()) \
            or search.undecidable():
        return search.result()
    calibrated, ranked = debug_layers(model, data, config.calibration_images, config.debug_images, config.io)
    for k in range(1, min(config.max_float_layers, len(ranked)) + 1):
        kept = [name for name, _ in ranked[:k]]
        if search.enough(f"int8 with {k} float layer(s)", quantize_keeping(calibrated, kept),
                         maker=quantizer.maker(), float_layers=kept):
            return search.result()
    # The qat_int8 recipe with these settings: made once per optimize call (see RecipeData.shared).
    qat = qat_int8(model, data, QatConfig(io=config.io, calibration_images=config.calibration_images,
                                          epochs=config.qat_epochs, learning_rate=config.qat_learning_rate))
    search.enough("qat_int8", qat.tflite, **qat.extra)
    return search.result()
