"""Conversion to .tflite, and the recipes that only convert: float32, float16, dynamic, int8."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from liteship.config import setting
from liteship.contract import pixels_to_float

from liteship.optimize.registry import RecipeData, RecipeOutput, recipe
from liteship.tflite_file import set_input_quantization

IO = Literal["uint8", "int8", "float"]
# What raw bytes mean under the input contract: value = byte / 255.
CONTRACT_INPUT = {"uint8": (1.0 / 255.0, 0), "int8": (1.0 / 255.0, -128)}


@dataclass(frozen=True)
class NoConfig:
    """This recipe has no settings."""


@dataclass(frozen=True)
class Int8Config:
    io: IO = "uint8"  # input/output tensor type; uint8 is the input contract
    calibration_images: int = setting(300, lo=1, hi=100_000)


def fresh_copy(model):
    """A clone with copied weights: tfmot wrappers share layer objects, so never wrap the caller's model."""
    import tf_keras as keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def _converter(model):
    import tensorflow as tf

    return tf.lite.TFLiteConverter.from_keras_model(model)


def representative(calibration: np.ndarray):
    """The converter's representative data set: one contract-fed image at a time."""

    def gen():
        for i in range(len(calibration)):
            yield [pixels_to_float(calibration[i:i + 1])]

    return gen


def int8_tflite(model, calibration: np.ndarray, io: str = "uint8") -> bytes:
    """Full-integer conversion; a quantized input gets exactly the contract's scale and zero point."""
    import tensorflow as tf

    conv = _converter(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative(calibration)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if io != "float":
        # A uint8 input always gets a QUANTIZE op after it, which fix_input_scale relies on;
        # an int8 input would feed the first conv directly, so int8 I/O starts from uint8 too.
        conv.inference_input_type = tf.uint8
        conv.inference_output_type = {"uint8": tf.uint8, "int8": tf.int8}[io]
    return fix_input_scale(conv.convert(), io)


def fix_input_scale(data: bytes, io: str) -> bytes:
    """Set a quantized input to the contract's scale and zero point (and type, for int8)."""
    if io == "float":
        return data
    return set_input_quantization(data, *CONTRACT_INPUT[io], dtype=io)


@recipe("float32", NoConfig, "plain conversion, float32 weights and math")
def float32(model, data: RecipeData, config: NoConfig) -> RecipeOutput:
    return RecipeOutput(_converter(model).convert())


@recipe("float16", NoConfig, "float16 weights (dequantized to float32 at load, or run in fp16 on a GPU)")
def float16(model, data: RecipeData, config: NoConfig) -> RecipeOutput:
    import tensorflow as tf

    conv = _converter(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_types = [tf.float16]
    return RecipeOutput(conv.convert())


@recipe("dynamic", NoConfig, "dynamic-range quantization: int8 weights, float activations")
def dynamic(model, data: RecipeData, config: NoConfig) -> RecipeOutput:
    import tensorflow as tf

    conv = _converter(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    return RecipeOutput(conv.convert())


@recipe("int8", Int8Config, "full-integer post-training quantization, calibrated on training images")
def int8(model, data: RecipeData, config: Int8Config) -> RecipeOutput:
    calibration = data.calibration(config.calibration_images)
    return RecipeOutput(int8_tflite(model, calibration, config.io), {"calibration_images": len(calibration)})
