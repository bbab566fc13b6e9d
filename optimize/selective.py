"""selective_int8: int8, with the layers that quantize worst kept in float.

The TFLite quantization debugger measures each quantized layer's error
against float on validation images (RMSE over the quantization step). The
worst layers are kept in float one more at a time until the variant agrees
with the float model on the validation split often enough, or a limit is
reached. The record lists the layers kept in float and every step taken.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

from liteship.config import setting
from liteship.contract import pixels_to_float

from liteship.optimize.convert import Int8Config, fix_input_scale, representative
from liteship.runtime import predict
from liteship.optimize.registry import RecipeCosts, RecipeData, RecipeOutput, recipe


@dataclass(frozen=True)
class SelectiveConfig(Int8Config):
    target_agreement: float = setting(0.99, hi=1.0)
    max_float_layers: int = setting(8, hi=1_000)
    debug_images: int = setting(64, lo=1, hi=100_000)
    agreement_images: int = setting(500, lo=1, hi=100_000)


def _rank_layers(debugger) -> list[tuple[str, float]]:
    """Quantized layers, worst first, by RMSE in units of the layer's quantization step.

    Uses the debugger's own CSV dump, whose ``tensor_name`` is the node name
    that ``denylisted_nodes`` takes.
    """
    buf = io.StringIO()
    debugger.layer_statistics_dump(buf)
    ranked = []
    for row in csv.DictReader(io.StringIO(buf.getvalue())):
        scale, mse = float(row["scale"] or 0), float(row["mean_squared_error"] or 0)
        if scale > 0:
            ranked.append((row["tensor_name"], float(np.sqrt(mse) / scale)))
    return sorted(ranked, key=lambda item: -item[1])


def debug_layers(model, data: RecipeData, calibration_images: int, debug_images: int):
    """The quantization debugger, run on validation images, and the quantized layers ranked worst first."""
    import tensorflow as tf

    calibration = data.calibration(calibration_images)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative(calibration)
    debug_x = data.val_x[:debug_images] if len(data.val_y) else calibration[:debug_images]
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=conv, debug_dataset=representative(debug_x),
        debug_options=tf.lite.experimental.QuantizationDebugOptions(model_debug_metrics=None))
    debugger.run()
    return debugger, _rank_layers(debugger)


def quantize_keeping(debugger, io: str, float_layers: list[str]) -> bytes:
    """The debugger's calibrated model quantized to int8, ``float_layers`` left in float."""
    return _quantize(debugger.calibrated_model, io, float_layers)


def _quantize(calibrated: bytes, io: str, denylist: list[str]) -> bytes:
    import tensorflow as tf
    from tensorflow.lite.python import convert as lite_convert

    in_type = tf.float32 if io == "float" else tf.uint8  # see convert.int8_tflite for why uint8
    out_type = {"uint8": tf.uint8, "int8": tf.int8, "float": tf.float32}[io]
    # fully_quantize=False keeps a QUANTIZE op after a uint8 input (True would make it int8).
    data = lite_convert.mlir_quantize(calibrated, fully_quantize=False, input_data_type=in_type,
                                      output_data_type=out_type, denylisted_nodes=denylist or None)
    return fix_input_scale(data, io)


@recipe("selective_int8", SelectiveConfig,
        "int8 with the worst-quantizing layers kept in float until agreement with float reaches a target",
        costs=RecipeCosts(convert_factor=2.5))  # the quantization debugger too: 2.7 and 20 s
def selective_int8(model, data: RecipeData, config: SelectiveConfig) -> RecipeOutput:
    debugger, ranked = debug_layers(model, data, config.calibration_images, config.debug_images)

    check_x = data.val_x[: config.agreement_images] if len(data.val_y) else \
        data.calibration(config.calibration_images)[: config.agreement_images]
    reference = np.argmax(model.predict(pixels_to_float(check_x), verbose=0), axis=1)
    steps, tflite, kept = [], b"", []
    for k in range(0, min(config.max_float_layers, len(ranked)) + 1):
        kept = [name for name, _ in ranked[:k]]
        tflite = quantize_keeping(debugger, config.io, kept)
        agreement = float(np.mean(np.argmax(predict(tflite, check_x), axis=1) == reference))
        steps.append({"float_layers": k, "agreement": round(agreement, 4), "size_bytes": len(tflite)})
        if agreement >= config.target_agreement:
            break
    return RecipeOutput(tflite, {
        "float_layers": kept,
        "reached_target": steps[-1]["agreement"] >= config.target_agreement,
        "steps": steps,
        "layer_error_rmse_over_scale": [[name, round(err, 4)] for name, err in ranked[:20]],
    })
