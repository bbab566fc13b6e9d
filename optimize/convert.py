"""Conversion to .tflite, and the recipes that only convert: float32, float16, dynamic, int8, int16x8, int4_weights.

float32 and float16 are the TFLite converter's; dynamic, int8, int16x8 and int4_weights are LiteRT Quantizer's
(:mod:`.quantizer`), from the float32 conversion. Each record says who made it (``details.maker``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from liteship.baseline import BASELINE_RECIPE
from liteship.config import setting
from liteship.contract import pixels_to_float

from liteship.optimize import quantizer
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


@dataclass(frozen=True)
class Int16x8Config:
    calibration_images: int = setting(300, lo=1, hi=100_000)


@dataclass(frozen=True)
class Int4Config:
    # dense layers' weights in blocks of this many inputs, each with its scale; 0: a scale per output channel, as
    # convolutions (see quantizer.int4_weights for why not blocks by default)
    block_size: int = setting(0, choices=(0,) + quantizer.BLOCK_SIZES)
    # a layer with fewer weights keeps them in float: int4 steps are too coarse for a small kernel (the digits
    # small_cnn's first convolution, 864 weights, alone took top-1 from 0.98 to 0.41); the quantizer's own option
    min_weight_elements: int = setting(1024, lo=0, hi=1_000_000_000)


def converter_maker() -> str:
    """Who made a converter-made variant, for its record."""
    from liteship.versions import versions

    return f"TFLite converter (tensorflow {versions(('tensorflow',))['tensorflow']})"


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


def float_once(model, data: RecipeData) -> bytes:
    """The float model's float32 conversion, made once per optimize call: the float32 recipe's file, and what the
    quantizer's recipes quantize."""
    if ("float32",) not in data.shared:
        data.shared[("float32",)] = _converter(model).convert()
    return data.shared[("float32",)]


def quantized(model, data: RecipeData, recipe_entries: list[dict], calibration=None, **facts) -> RecipeOutput:
    """The float32 conversion quantized by LiteRT Quantizer, with what its record says."""
    tflite = quantizer.quantize(float_once(model, data), recipe_entries, calibration)
    return RecipeOutput(tflite, {**facts, **quantizer.facts(tflite)})


@recipe(BASELINE_RECIPE, NoConfig, "plain conversion, float32 weights and math: every model's baseline",
        costs=RecipeCosts(arm_kernels="float"))
def float32(model, data: RecipeData, config: NoConfig) -> RecipeOutput:
    return RecipeOutput(float_once(model, data))


@recipe("float16", NoConfig, "float16 weights (dequantized to float32 at load, or run in fp16 on a GPU)",
        costs=RecipeCosts(arm_kernels="float"))
def float16(model, data: RecipeData, config: NoConfig) -> RecipeOutput:
    import tensorflow as tf

    conv = _converter(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_types = [tf.float16]
    return RecipeOutput(conv.convert())


@recipe("dynamic", NoConfig, "dynamic-range quantization: int8 weights, float activations (LiteRT Quantizer)",
        costs=RecipeCosts(convert_factor=1.2, arm_kernels="hybrid"))
def dynamic(model, data: RecipeData, config: NoConfig) -> RecipeOutput:
    """LiteRT Quantizer's ``dynamic_wi8_afp32`` with its ``min_weight_elements`` at 1024, which it ships as
    ``dynamic_legacy_wi8_afp32``: a layer with fewer weights stays float, as in the converter's dynamic range.

    Measured on the digits MobileNetV2 0.35 at 64 px (269 test images): with every layer quantized, top-1 0.855
    against the converter's 0.874 (-1.9 pt, paired 95 % interval [-4.0, +0.1]: the converter right and the quantizer
    wrong on 5 images, never the other way); with the 1024 threshold, the same answer as the converter's on every
    test image (and on small_cnn at 32 px). Its op versions are set from its tensor types (:mod:`.op_versions`): the
    same as the converter's file (FULLY_CONNECTED 12, so TFLite 2.14 refuses it instead of answering wrongly).
    """
    from litert_quantizer import recipe as recipes

    return quantized(model, data, list(recipes.dynamic_legacy_wi8_afp32()))


def int8_once(model, data: RecipeData, calibration_images: int, io: str) -> bytes:
    """The float model's full-integer quantization (the int8 recipe's: LiteRT Quantizer's), made once per optimize
    call for the same calibration and I/O: the int8 recipe's file and auto_int8's first step are the same bytes."""
    key = ("int8", calibration_images, io)
    if key not in data.shared:
        data.shared[key] = quantizer.quantize(float_once(model, data), quantizer.static_int8(io),
                                              data.calibration(calibration_images))
    return data.shared[key]


@recipe("int8", Int8Config, "full-integer post-training quantization, calibrated on training images (LiteRT "
        "Quantizer)", costs=RecipeCosts(convert_factor=2.0))
def int8(model, data: RecipeData, config: Int8Config) -> RecipeOutput:
    """LiteRT Quantizer's ``static_wi8_ai8``, with the contract's input (uint8 at scale 1/255, zero point 0, by
    default) and output set through its ``INPUT`` and ``OUTPUT`` ops (:func:`.quantizer.static_int8`).

    Measured against the converter's int8 on the test split: the digits small_cnn at 32 px, the same answer on every
    image; MobileNetV2 0.35 at 64 px, top-1 0.862 against 0.874 (-1.1 pt, paired 95 % interval [-4.2, +1.9]; 6
    images only the quantizer's got right, 9 only the converter's): within the interval, so the quantizer makes it.
    """
    tflite = int8_once(model, data, config.calibration_images, config.io)
    return RecipeOutput(tflite, {"calibration_images": len(data.calibration(config.calibration_images)),
                                 **quantizer.facts(tflite)})


# Its counts run LiteRT's reference int16 kernels: 68 M aarch64 instructions an invoke on the digits small_cnn against
# int8's 1.0 M and float's 3.8 M, yet QEMU runs them in 2.5 to 3.4 times int8's seconds (resources.ARM_REFERENCE).
@recipe("int16x8", Int16x8Config, "int16 activations, int8 weights, calibrated on training images; float input and "
        "output (LiteRT Quantizer)", costs=RecipeCosts(convert_factor=2.5, arm_kernels="reference"))
def int16x8(model, data: RecipeData, config: Int16x8Config) -> RecipeOutput:
    """LiteRT Quantizer's ``static_wi8_ai16``: activations in int16 (256 times the int8 resolution), weights int8
    per channel; the input and output stay float32, which the contract allows (:func:`.quantizer.int16x8`).
    XNNPACK has no int16 kernels: LiteRT runs it on its reference kernels. Measured on the digits test split:
    MobileNetV2 0.35 at 64 px, top-1 0.862 (float32 0.866), 6.9 ms on x86 against int8's 0.056, 62.7 M aarch64
    instructions against 1.5 M; TFLite 2.14 loads and runs it (agreement with LiteRT 1.0)."""
    calibration = data.calibration(config.calibration_images)
    return quantized(model, data, quantizer.int16x8(), calibration, calibration_images=len(calibration))


@recipe("int4_weights", Int4Config, "int4 weights (int8 depthwise), dequantized at load, float math (LiteRT "
        "Quantizer)", costs=RecipeCosts(convert_factor=1.1, arm_kernels="float"))
def int4_weights(model, data: RecipeData, config: Int4Config) -> RecipeOutput:
    """Weights stored as int4, computed in float (:func:`.quantizer.int4_weights` says which layers how).

    Measured on the digits test split: MobileNetV2 0.35 at 64 px, 372.5 KB against int8's 619.8 KB, top-1 0.855
    against float32's 0.866 (-1.1 pt [-4.2, +1.9]); small_cnn, 56.7 KB against 103.3 KB, 0.974 against 0.978. It is
    slower than float32 (MobileNetV2 0.196 against 0.076 ms on x86): XNNPACK does not take the int4 DEQUANTIZE ops,
    which LiteRT runs at every invoke and which split the graph into 25 partitions. TFLite before 2.18 has no int4
    DEQUANTIZE (2.14 refuses it), and MediaPipe 0.10.21's ImageClassifier cannot build it ("Tensor ... requires 73728
    bytes, but is allocated with 36864": its TFLite reads an int4 tensor as a byte per weight)."""
    return quantized(model, data, quantizer.int4_weights(config.block_size, config.min_weight_elements))
