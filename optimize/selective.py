"""selective_int8: int8, with the ops that quantize worst kept in float.

The ops are ranked by their quantization error as LiteRT Quantizer's validator measures it (:mod:`.op_error`): every
op's output in the int8 recipe's graph against the float .tflite's, on calibration images, lowest SNR first. The worst
ops are kept in float one more at a time until the variant agrees with the float model on the validation split often
enough, or a limit is reached. The record lists the ops kept in float with their measured error, and every step.

Each step is a LiteRT Quantizer recipe: the int8 recipe's own (``static_wi8_ai8`` with the app's input and output
set through its ``INPUT`` and ``OUTPUT`` entries, :func:`.quantizer.static_int8`) followed by one ``no_quantize``
entry per op kept in float, selected by a regular expression on the op's scope, its output tensor's name followed by
';' (:func:`.quantizer.keepable`), with the op's own type, so the graph's output keeps the contract's type. The
quantizer puts a DEQUANTIZE before a kept op's int8 inputs and a QUANTIZE after it, and keeps the uint8 input at
scale 1/255 whatever op stays float (a DEQUANTIZE right after the input when the first op does). The float32
conversion is calibrated once, with the int8 recipe, and every step is quantized with those ranges; so step 0, no
op kept in float, is the int8 variant, byte for byte, and a kept op's neighbours keep the ranges they have in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from liteship.config import setting
from liteship.contract import pixels_to_float
from liteship.versions import versions

from liteship.optimize import quantizer
from liteship.optimize.convert import Int8Config, float_once
from liteship.optimize.op_error import VALIDATOR, OpError, op_errors, worst_first
from liteship.runtime import predict
from liteship.optimize.registry import RecipeCosts, RecipeData, RecipeOutput, recipe

SHOWN = 20  # the worst ops the record lists with their error


@dataclass(frozen=True)
class SelectiveConfig(Int8Config):
    target_agreement: float = setting(0.99, hi=1.0)
    max_float_layers: int = setting(8, hi=1_000)
    debug_images: int = setting(64, lo=1, hi=100_000)  # the calibration images the per-op error is measured on
    agreement_images: int = setting(500, lo=1, hi=100_000)


@dataclass(frozen=True)
class Calibrated:
    """A float32 .tflite, the quantizer's ranges of its tensors under the int8 recipe with ``io`` input and output,
    and the entries that keep each of its ops in float, by output tensor name."""

    float_tflite: bytes
    ranges: dict
    io: str
    keepable: dict

    def recipe(self, float_ops=()) -> list[dict]:
        """The int8 recipe, with the ops whose outputs ``float_ops`` names left in float."""
        unknown = [name for name in float_ops if name not in self.keepable]
        if unknown:
            raise ValueError(f"no op of the float model the quantizer can keep in float makes {unknown}")
        return quantizer.static_int8(self.io) + [self.keepable[name] for name in float_ops]


def calibrate(float_tflite: bytes, calibration: np.ndarray, io: str = "uint8") -> Calibrated:
    """``float_tflite`` calibrated by the quantizer on ``calibration`` (contract pixels), as the int8 recipe does."""
    ranges = quantizer.calibrate(float_tflite, quantizer.static_int8(io), calibration)
    return Calibrated(float_tflite, ranges, io, quantizer.keepable(float_tflite))


def quantize_keeping(calibrated: Calibrated, float_ops) -> bytes:
    """The calibrated model quantized to int8 with the ops whose outputs ``float_ops`` names left in float."""
    return quantizer.quantize(calibrated.float_tflite, calibrated.recipe(float_ops), ranges=calibrated.ranges)


def rank_ops(model, data: RecipeData, calibration_images: int, images: int,
             io: str = "uint8") -> tuple[Calibrated, bytes, list[OpError]]:
    """The float model's float32 conversion calibrated, its int8 quantization (``io`` input and output, no op kept in
    float), and that graph's ops ranked worst first by their error against the float model on the first ``images``
    calibration images."""
    calibration = data.calibration(calibration_images)
    calibrated = calibrate(float_once(model, data), calibration, io)
    full = quantize_keeping(calibrated, [])
    return calibrated, full, worst_first(op_errors(calibrated.float_tflite, full, calibration[:images]))


def debug_layers(model, data: RecipeData, calibration_images: int, debug_images: int, io: str = "uint8"):
    """The calibrated model and the ops it can keep in float ranked worst first, as (output tensor name, SNR in dB):
    what auto_int8 keeps in float one at a time."""
    calibrated, _, ranked = rank_ops(model, data, calibration_images, debug_images, io)
    return calibrated, [(e.tensor, e.snr_db) for e in ranked if e.tensor in calibrated.keepable]


@recipe("selective_int8", SelectiveConfig,
        "int8 with the ops of worst quantization error (LiteRT Quantizer's validator) kept in float until agreement "
        "with float reaches a target (LiteRT Quantizer)", costs=RecipeCosts(convert_factor=2.5))  # the per-op error too
def selective_int8(model, data: RecipeData, config: SelectiveConfig) -> RecipeOutput:
    calibrated, tflite, ranked = rank_ops(model, data, config.calibration_images, config.debug_images, config.io)
    candidates = [e for e in ranked if e.tensor in calibrated.keepable]
    check_x = data.val_x[: config.agreement_images] if len(data.val_y) else \
        data.calibration(config.calibration_images)[: config.agreement_images]
    reference = np.argmax(model.predict(pixels_to_float(check_x), verbose=0), axis=1)
    steps: list[dict] = []
    for k in range(0, min(config.max_float_layers, len(candidates)) + 1):
        if k:
            tflite = quantize_keeping(calibrated, [e.tensor for e in candidates[:k]])
        agreement = float(np.mean(np.argmax(predict(tflite, check_x), axis=1) == reference))
        steps.append({"float_layers": k, "agreement": round(agreement, 4), "size_bytes": len(tflite)})
        if agreement >= config.target_agreement:
            break
    kept = candidates[:steps[-1]["float_layers"]]
    return RecipeOutput(tflite, {
        "float_layers": [e.tensor for e in kept],
        "float_ops": [e.to_dict() for e in kept],  # which ops stayed float, and their error in int8
        "reached_target": steps[-1]["agreement"] >= config.target_agreement,
        "steps": steps,
        "op_error": {"measured_by": VALIDATOR, "versions": versions(("litert-quantizer",)),
                     "images": int(min(config.debug_images, len(data.calibration(config.calibration_images)))),
                     "ranked_by": "SNR of each op's output against the float model's, lowest first"},
        "op_errors_worst": [e.to_dict() for e in ranked[:SHOWN]],
        **quantizer.facts(tflite),
    })
