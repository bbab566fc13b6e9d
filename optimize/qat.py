"""qat_int8 and pqat_int8: quantization-aware training (tfmot), then the int8 conversion of the trained weights.

QAT fine-tunes the weights through tfmot's fake quantization; the file is then made from the float model holding
those weights (:func:`trained_float_model`), converted by ``int8_tflite`` as prune_int8's and cluster_int8's are,
not from tfmot's wrapped model. The wrapped model converts badly, though it is flat (liteship's MobileNetV2 is one
functional graph): tfmot 0.8.1's default scheme only takes the fake quantization out from between a convolution
and its BatchNormalization (``default_8bit_transforms.Conv2DBatchNormQuantize``) and leaves the folding to the
converter, which does not fold BatchNorm into fake-quantized weights (tensorflow#43882, model-optimization#1131).
So every BatchNorm stayed a MUL + ADD (52 pairs in MobileNetV2 0.35, 3 in small_cnn), the input went through an
extra DEQUANTIZE + QUANTIZE, and the aarch64 count was 2.16x int8's for MobileNetV2 and 1.37x for small_cnn.
Converted from the float model, BatchNorm folds as in ``int8``: the op graph is int8's.

What this keeps of the training: a convolution's int8 kernel holds the integers of the per-channel fake
quantization QAT trained through (symmetric per-channel quantization gives the same integers when BatchNorm scales
a channel; a depthwise kernel, fake-quantized per tensor by tfmot, is stored per channel, as ``int8`` stores it).
What it does not keep: the activation ranges tfmot learned, replaced by a calibration on the same images as
``int8``'s. tfmot starts them at [-6, 6] and moves them by an average with decay 0.999, so after the 160 steps of
the default sweep's fine-tuning they were still 85 % their start (MobileNetV2's input [-5.3, 5.3] where the values
span [-1, 1]; a ReLU6 output [-5.1, 5.6] where they span [0, 3.7]): the calibrated ranges are the values' own.
"""

from __future__ import annotations

from dataclasses import dataclass

from liteship.config import setting
from liteship.optimize.convert import Int8Config, fresh_copy, int8_tflite
from liteship.optimize.finetune import fine_tune
from liteship.optimize.prune import PruneConfig, pruned_once, pruning
from liteship.optimize.registry import FineTuning, RecipeCosts, RecipeData, RecipeOutput, recipe


@dataclass(frozen=True)
class QatConfig(Int8Config):
    epochs: int = setting(4, hi=10_000)
    # cosine-decayed; BatchNorm keeps training, and is folded into the convolutions at conversion, as in int8
    learning_rate: float = setting(1e-3, hi=1.0)


@dataclass(frozen=True)
class PqatConfig(PruneConfig):
    qat_epochs: int = setting(4, hi=10_000)
    qat_learning_rate: float = setting(1e-3, hi=1.0)


def _output_only_config():
    """A QuantizeConfig that fake-quantizes only a layer's output, as the converter will.

    For layers tfmot's registry does not know (the Rescaling that maps
    [0, 1] to [-1, 1]): they have no weights, and their int8 output is what
    the next layer sees on the phone.
    """
    import tensorflow_model_optimization as tfmot

    quantizers = tfmot.quantization.keras.quantizers

    class OutputOnlyQuantizeConfig(tfmot.quantization.keras.QuantizeConfig):
        def get_weights_and_quantizers(self, layer):
            return []

        def get_activations_and_quantizers(self, layer):
            return []

        def set_quantize_weights(self, layer, quantize_weights):
            pass

        def set_quantize_activations(self, layer, quantize_activations):
            pass

        def get_output_quantizers(self, layer):
            return [quantizers.MovingAverageQuantizer(num_bits=8, per_axis=False, symmetric=False, narrow_range=False)]

        def get_config(self):
            return {}

    return OutputOnlyQuantizeConfig


def quantize_aware(model, scheme=None):
    """Annotate every layer for QAT and apply it; returns (model, layers given an output-only config)."""
    import tensorflow_model_optimization as tfmot
    import tf_keras as keras
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit import (
        default_8bit_quantize_registry,
    )

    registry = default_8bit_quantize_registry.Default8BitQuantizeRegistry()
    output_only = _output_only_config()
    unknown = []

    def annotate(layer):
        if isinstance(layer, keras.layers.InputLayer):
            return layer
        if registry.supports(layer):
            return tfmot.quantization.keras.quantize_annotate_layer(layer)
        unknown.append(layer.name)
        return tfmot.quantization.keras.quantize_annotate_layer(layer, quantize_config=output_only())

    annotated = keras.models.clone_model(model, clone_function=annotate)
    with tfmot.quantization.keras.quantize_scope({"OutputOnlyQuantizeConfig": output_only}):
        qat = tfmot.quantization.keras.quantize_apply(annotated, scheme) if scheme else \
            tfmot.quantization.keras.quantize_apply(annotated)
    return qat, unknown


def trained_float_model(qat, model):
    """A copy of ``model``, the float model QAT started from, holding the weights ``qat`` trained: every layer's
    weights (BatchNorm's statistics too) taken from its tfmot wrapper, by name."""
    copy = fresh_copy(model)
    for layer in copy.layers:
        if not layer.weights:
            continue
        trained = {w.name: w for w in qat.get_layer("quant_" + layer.name).weights}
        missing = [w.name for w in layer.weights if w.name not in trained]
        if missing:
            raise ValueError(f"the QAT model has no trained value for {', '.join(missing)}")
        layer.set_weights([trained[w.name].numpy() for w in layer.weights])
    return copy


QAT_FACTOR = 2.5  # a QAT epoch against a training epoch (the estimate; see liteship.workflow.resources)


@recipe("qat_int8", QatConfig, "quantization-aware training from the float model, then int8",
        costs=RecipeCosts(fine_tuning=lambda config: (FineTuning(config.epochs, QAT_FACTOR),)))
def qat_int8(model, data: RecipeData, config: QatConfig) -> RecipeOutput:
    """QAT from the float model; the result is kept in ``data.shared`` for auto_int8's QAT step."""
    if config in data.shared:
        return data.shared[config]
    qat, skipped = quantize_aware(fresh_copy(model))
    history = fine_tune(qat, data, config.epochs, config.learning_rate)
    calibration = data.calibration(config.calibration_images)
    out = RecipeOutput(int8_tflite(trained_float_model(qat, model), calibration, config.io),
                       {"output_only_layers": skipped, "history": history})
    data.shared[config] = out
    return out


@recipe("pqat_int8", PqatConfig, "sparsity-preserving QAT on the pruned model (collaborative optimization), then int8",
        reuses=("prune_int8",),
        costs=RecipeCosts(fine_tuning=lambda config: (pruning(config), FineTuning(config.qat_epochs, QAT_FACTOR))))
def pqat_int8(model, data: RecipeData, config: PqatConfig) -> RecipeOutput:
    import tensorflow_model_optimization as tfmot

    pruned, facts = pruned_once(model, data, config)  # prune_int8's pruned model when it was made in this call
    scheme = tfmot.experimental.combine.Default8BitPrunePreserveQuantizeScheme()
    qat, skipped = quantize_aware(pruned, scheme)
    history = fine_tune(qat, data, config.qat_epochs, config.qat_learning_rate)
    calibration = data.calibration(config.calibration_images)
    return RecipeOutput(int8_tflite(trained_float_model(qat, pruned), calibration, config.io),
                        {**facts, "output_only_layers": skipped, "qat_history": history})
