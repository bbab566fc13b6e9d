"""selective_int8: int8, with the ops that quantize worst kept in float.

The ops are ranked by the quantization error each one adds. LiteRT Quantizer's validator (:mod:`.op_error`) measures
every op's output in the int8 recipe's graph against the float .tflite's, on calibration images; that error is
cumulative, each op inheriting the error of every op before it (on MobileNetV2 the SNR falls with depth, and the
lowest SNRs are the last ops'). So an op is ranked by its output's noise ratio (error power over the float tensor's
power, 1 / SNR) less the largest noise ratio among its activation inputs (the graph's input counts as exact, the
uint8 contract input being the app's bytes), clipped at 0: what the op itself adds. The worst ops are kept in float
one more at a time until the variant agrees with the float model on the validation split often enough, or a limit
is reached; if the target is never met, the step that agreed best is kept (the fewer float ops on a tie), not the
last. The record lists the ops kept in float with both errors, every step, and which step was kept and why.

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

import math
from dataclasses import dataclass

import numpy as np

from liteship.config import setting
from liteship.contract import pixels_to_float
from liteship.versions import versions

from liteship.optimize import quantizer
from liteship.optimize.convert import Int8Config, float_once
from liteship.optimize.op_error import VALIDATOR, OpError, op_errors
from liteship.runtime import predict
from liteship.tflite_file import read_model
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


def _noise_ratio(e: OpError) -> float:
    """Error power over the float tensor's power (1 / SNR): 0 exact, 1 as large as the signal."""
    return 1.0 / e.snr if e.snr > 0 else math.inf


def activation_inputs(float_tflite: bytes) -> dict[str, list[str]]:
    """Each op's output tensor name -> the names of its activation inputs in the float model: the tensors other ops
    make, and the graph's inputs (its weights and other constants left out)."""
    model = read_model(float_tflite)
    sg = model.subgraphs[0]
    name = [t.name.decode("utf-8", "replace") if isinstance(t.name, bytes) else str(t.name) for t in sg.tensors]
    made = {int(t) for op in sg.operators or [] for t in (op.outputs if op.outputs is not None else [])}
    activations = made | {int(t) for t in (sg.inputs if sg.inputs is not None else [])}
    return {name[op.outputs[0]]: [name[i] for i in (op.inputs if op.inputs is not None else []) if i in activations]
            for op in sg.operators or [] if op.outputs is not None and len(op.outputs) and op.outputs[0] >= 0}


@dataclass(frozen=True)
class AddedError:
    """One op's error as measured (cumulative, ``error``) and what it adds to its inputs' (``added``)."""

    error: OpError
    inputs_noise: float  # the largest noise ratio among its activation inputs (0 for the graph's input)
    added: float  # its output's noise ratio less ``inputs_noise``, at least 0

    def to_dict(self) -> dict:
        def g(v):
            return float(f"{v:.4g}") if math.isfinite(v) else None
        return {**self.error.to_dict(), "noise_ratio": g(_noise_ratio(self.error)), "inputs_noise_ratio":
                g(self.inputs_noise), "added_noise_ratio": g(self.added)}


def added_errors(errors, inputs: dict[str, list[str]]) -> list[AddedError]:
    """``errors`` (the validator's, cumulative) ranked by the noise ratio each op adds, largest first (then graph
    order). A tensor the validator has no number for (it names no op's output in the quantized graph) passes its
    own inputs' largest noise ratio on; the graph's input is exact."""
    measured = {e.tensor: _noise_ratio(e) for e in errors}
    memo: dict[str, float] = {}

    def noise(tensor: str, seen=()) -> float:
        if tensor in measured:
            return measured[tensor]
        if tensor not in memo:
            memo[tensor] = max([noise(t, seen + (tensor,)) for t in inputs.get(tensor, []) if t not in seen],
                               default=0.0)
        return memo[tensor]

    out = []
    for e in errors:
        before = max([noise(t, (e.tensor,)) for t in inputs.get(e.tensor, [])], default=0.0)
        after = _noise_ratio(e)
        out.append(AddedError(e, before, 0.0 if after <= before else after - before))
    return sorted(out, key=lambda a: (-a.added, a.error.index))


def rank_ops(model, data: RecipeData, calibration_images: int, images: int,
             io: str = "uint8") -> tuple[Calibrated, bytes, list[AddedError]]:
    """The float model's float32 conversion calibrated, its int8 quantization (``io`` input and output, no op kept in
    float), and that graph's ops ranked worst first by the error each adds, against the float model on the first
    ``images`` calibration images."""
    calibration = data.calibration(calibration_images)
    calibrated = calibrate(float_once(model, data), calibration, io)
    full = quantize_keeping(calibrated, [])
    errors = op_errors(calibrated.float_tflite, full, calibration[:images])
    return calibrated, full, added_errors(errors, activation_inputs(calibrated.float_tflite))


def debug_layers(model, data: RecipeData, calibration_images: int, debug_images: int, io: str = "uint8"):
    """The calibrated model and the ops it can keep in float ranked worst first by the error each adds, as (output
    tensor name, added noise ratio): what auto_int8 keeps in float one at a time."""
    calibrated, _, ranked = rank_ops(model, data, calibration_images, debug_images, io)
    return calibrated, [(a.error.tensor, a.added) for a in ranked if a.error.tensor in calibrated.keepable]


def _kept_step(steps: list[dict], target: float) -> tuple[int, str]:
    """The step the variant keeps, and why: the first that meets ``target``; else the one of best agreement, the
    fewer float ops (the smaller file) on a tie."""
    for i, step in enumerate(steps):
        if step["agreement"] >= target:
            return i, f"the first step whose agreement {step['agreement']} met the target {target}"
    best = min(range(len(steps)), key=lambda i: (-steps[i]["agreement"], steps[i]["float_layers"]))
    return best, (f"no step met the target {target}: kept the step of best agreement ({steps[best]['agreement']}, "
                  f"step 0 {steps[0]['agreement']}), the one with fewer float ops on a tie")


@recipe("selective_int8", SelectiveConfig,
        "int8 with the ops that add most quantization error (LiteRT Quantizer's validator) kept in float until "
        "agreement with float reaches a target (LiteRT Quantizer)", costs=RecipeCosts(convert_factor=2.5))
def selective_int8(model, data: RecipeData, config: SelectiveConfig) -> RecipeOutput:  # the per-op error costs 2.5
    calibrated, tflite, ranked = rank_ops(model, data, config.calibration_images, config.debug_images, config.io)
    candidates = [a for a in ranked if a.error.tensor in calibrated.keepable]
    check_x = data.val_x[: config.agreement_images] if len(data.val_y) else \
        data.calibration(config.calibration_images)[: config.agreement_images]
    reference = np.argmax(model.predict(pixels_to_float(check_x), verbose=0), axis=1)
    steps: list[dict] = []
    files: list[bytes] = []
    for k in range(0, min(config.max_float_layers, len(candidates)) + 1):
        if k:
            tflite = quantize_keeping(calibrated, [a.error.tensor for a in candidates[:k]])
        agreement = float(np.mean(np.argmax(predict(tflite, check_x), axis=1) == reference))
        steps.append({"float_layers": k, "agreement": round(agreement, 4), "size_bytes": len(tflite),
                      **({"added_float_op": candidates[k - 1].error.tensor} if k else {})})
        files.append(tflite)
        if agreement >= config.target_agreement:
            break
    best, why = _kept_step(steps, config.target_agreement)
    kept = candidates[:steps[best]["float_layers"]]
    return RecipeOutput(files[best], {
        "float_layers": [a.error.tensor for a in kept],
        "float_ops": [a.to_dict() for a in kept],  # which ops stayed float: their error in int8, cumulative and added
        "reached_target": steps[best]["agreement"] >= config.target_agreement,
        "kept_step": best, "why": why,
        "steps": steps,
        "op_error": {"measured_by": VALIDATOR, "versions": versions(("litert-quantizer",)),
                     "images": int(min(config.debug_images, len(data.calibration(config.calibration_images)))),
                     "ranked_by": "the noise ratio (1 / SNR) each op adds: its output's against the float model's, "
                                  "less the largest of its activation inputs', clipped at 0; largest first"},
        "op_errors_worst": [a.to_dict() for a in ranked[:SHOWN]],
        **quantizer.facts(files[best]),
    })
