"""selective_int8: int8, with the ops that quantize worst kept in float.

The ops are ranked by their quantization error as LiteRT Quantizer's validator measures it (:mod:`.op_error`): every
op's output in the full-integer model against the float .tflite's, on calibration images, lowest SNR first. The worst
ops are kept in float one more at a time until the variant agrees with the float model on the validation split often
enough, or a limit is reached. The record lists the ops kept in float with their measured error, and every step.

The ops stay in float through the converter: its calibrated model (statistics recorded, nothing quantized yet) is
quantized with ``denylisted_nodes``, the option TensorFlow's quantization debugger passes to the same step. A
quantizer recipe would select the same ops by the same names (an entry ``{"regex": "^<name>;$", "operation": "*",
"algorithm_key": "no_quantize"}`` per op: its scope is the op's output names followed by ';'), so the ranking is the
same either way. The converter is used because its quantize step makes the app's input contract (uint8 at 1/255, a
QUANTIZE after the input, or a DEQUANTIZE when the first op stays in float) whatever ops stay in float, from one
calibration, each step one quantize pass; the quantizer's static recipe gives the graph an int8 input and output at
the calibrated scale, and giving a quantizer-made graph the contract (its INPUT and OUTPUT entries, the input's range
pinned to what bytes mean) is the int8 recipe's own step, which this recipe would otherwise copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from liteship.config import setting
from liteship.contract import pixels_to_float
from liteship.versions import versions

from liteship.optimize.convert import Int8Config, _converter, fix_input_scale, representative
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
    """The converter's calibrated model of a float model, and that model's float .tflite (the same tensor names)."""

    model: bytes
    float_tflite: bytes


def calibrate(model, calibration: np.ndarray) -> Calibrated:
    """The converter's calibration of ``model`` on ``calibration`` (contract pixels), quantized by nothing yet."""
    import tensorflow as tf

    conv = _converter(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative(calibration)
    conv.experimental_mlir_quantizer = True
    conv._experimental_calibrate_only = True  # what tf.lite.experimental.QuantizationDebugger sets to calibrate
    return Calibrated(conv.convert(), _converter(model).convert())


def rank_ops(model, data: RecipeData, calibration_images: int, images: int,
             io: str = "uint8") -> tuple[Calibrated, list[OpError]]:
    """The calibrated model, and the ops of its full-integer quantization (``io`` input and output) ranked worst
    first by their error against the float model on the first ``images`` calibration images."""
    calibration = data.calibration(calibration_images)
    calibrated = calibrate(model, calibration)
    full = quantize_keeping(calibrated, io, [])
    return calibrated, worst_first(op_errors(calibrated.float_tflite, full, calibration[:images]))


def debug_layers(model, data: RecipeData, calibration_images: int, debug_images: int):
    """The calibrated model and the ops ranked worst first, as (output tensor name, SNR in dB): what auto_int8 keeps
    in float one at a time."""
    calibrated, ranked = rank_ops(model, data, calibration_images, debug_images)
    return calibrated, [(e.tensor, e.snr_db) for e in ranked]


def quantize_keeping(calibrated: Calibrated, io: str, float_ops: list[str]) -> bytes:
    """The calibrated model quantized to int8 with the ops whose outputs ``float_ops`` names left in float."""
    import tensorflow as tf
    from tensorflow.lite.python import convert as lite_convert

    in_type = tf.float32 if io == "float" else tf.uint8  # see convert.int8_tflite for why uint8
    out_type = {"uint8": tf.uint8, "int8": tf.int8, "float": tf.float32}[io]
    # fully_quantize=False keeps a QUANTIZE op after a uint8 input (True would make it int8).
    data = lite_convert.mlir_quantize(calibrated.model, fully_quantize=False, input_data_type=in_type,
                                      output_data_type=out_type, denylisted_nodes=list(float_ops) or None)
    return fix_input_scale(data, io)


@recipe("selective_int8", SelectiveConfig,
        "int8 with the ops of worst quantization error (LiteRT Quantizer's validator) kept in float until agreement "
        "with float reaches a target", costs=RecipeCosts(convert_factor=2.5))  # the per-op error too
def selective_int8(model, data: RecipeData, config: SelectiveConfig) -> RecipeOutput:
    calibrated, ranked = rank_ops(model, data, config.calibration_images, config.debug_images, config.io)
    check_x = data.val_x[: config.agreement_images] if len(data.val_y) else \
        data.calibration(config.calibration_images)[: config.agreement_images]
    reference = np.argmax(model.predict(pixels_to_float(check_x), verbose=0), axis=1)
    steps, tflite, kept = [], b"", []
    for k in range(0, min(config.max_float_layers, len(ranked)) + 1):
        kept = [e.tensor for e in ranked[:k]]
        tflite = quantize_keeping(calibrated, config.io, kept)
        agreement = float(np.mean(np.argmax(predict(tflite, check_x), axis=1) == reference))
        steps.append({"float_layers": k, "agreement": round(agreement, 4), "size_bytes": len(tflite)})
        if agreement >= config.target_agreement:
            break
    return RecipeOutput(tflite, {
        "float_layers": kept,
        "float_ops": [e.to_dict() for e in ranked[:len(kept)]],  # which ops stayed float, and their error in int8
        "reached_target": steps[-1]["agreement"] >= config.target_agreement,
        "steps": steps,
        "op_error": {"measured_by": VALIDATOR, "versions": versions(("litert-quantizer",)),
                     "images": int(min(config.debug_images, len(data.calibration(config.calibration_images)))),
                     "ranked_by": "SNR of each op's output against the float model's, lowest first"},
        "op_errors_worst": [e.to_dict() for e in ranked[:SHOWN]],
    })
