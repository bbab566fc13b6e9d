"""Conversion to .tflite, and the recipes that only convert: float32, float16, dynamic, int8."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from liteship.baseline import BASELINE_RECIPE
from liteship.config import setting
from liteship.contract import pixels_to_float

from liteship.optimize.registry import RecipeCosts, RecipeData, RecipeOutput, recipe
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
    """The converter of the model's inference call, with the model's input and output names.

    ``from_keras_model`` exports the whole Keras model as a SavedModel first, tracing every layer's functions
    (20 s for MobileNetV2 0.35 here); a module holding only the variables and the one inference function gives
    the same graph, signature and weights (the same bytes but the converter's note of its source) in a
    quarter of the time.
    """
    import tensorflow as tf

    spec = tf.TensorSpec((None, *model.input_shape[1:]), model.inputs[0].dtype, name=model.inputs[0].name.split(":")[0])
    module = tf.Module()
    module.variables_ = list(model.variables)
    module.call = tf.function(lambda x: {model.output_names[0]: model(x, training=False)}, input_signature=[spec])
    return tf.lite.TFLiteConverter.from_concrete_functions([module.call.get_concrete_function()], module)


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


@recipe(BASELINE_RECIPE, NoConfig, "plain conversion, float32 weights and math: every model's baseline",
        costs=RecipeCosts(arm_kernels="float"))
def float32(model, data: RecipeData, config: NoConfig) -> RecipeOutput:
    return RecipeOutput(_converter(model).convert())


@recipe("float16", NoConfig, "float16 weights (dequantized to float32 at load, or run in fp16 on a GPU)",
        costs=RecipeCosts(arm_kernels="float"))
def float16(model, data: RecipeData, config: NoConfig) -> RecipeOutput:
    import tensorflow as tf

    conv = _converter(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_types = [tf.float16]
    return RecipeOutput(conv.convert())


@recipe("dynamic", NoConfig, "dynamic-range quantization: int8 weights, float activations",
        costs=RecipeCosts(arm_kernels="hybrid"))
def dynamic(model, data: RecipeData, config: NoConfig) -> RecipeOutput:
    import tensorflow as tf

    conv = _converter(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    return RecipeOutput(conv.convert())


def int8_once(model, data: RecipeData, calibration_images: int, io: str) -> bytes:
    """The float model's full-integer conversion, made once per optimize call for the same calibration and I/O:
    the int8 recipe's file and auto_int8's first step are the same bytes."""
    key = ("int8", calibration_images, io)
    if key not in data.shared:
        data.shared[key] = int8_tflite(model, data.calibration(calibration_images), io)
    return data.shared[key]


@recipe("int8", Int8Config, "full-integer post-training quantization, calibrated on training images",
        costs=RecipeCosts())
def int8(model, data: RecipeData, config: Int8Config) -> RecipeOutput:
    tflite = int8_once(model, data, config.calibration_images, config.io)
    return RecipeOutput(tflite, {"calibration_images": len(data.calibration(config.calibration_images))})
