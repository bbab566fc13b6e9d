"""qat_int8 and pqat_int8: quantization-aware training (tfmot), then int8."""

from __future__ import annotations

from dataclasses import dataclass

from .convert import Int8Config, fresh_copy, int8_tflite
from .finetune import fine_tune, freeze_batchnorm
from .prune import PruneConfig, prune
from .registry import RecipeData, RecipeOutput, recipe


@dataclass(frozen=True)
class QatConfig(Int8Config):
    epochs: int = 2
    learning_rate: float = 1e-4


@dataclass(frozen=True)
class PqatConfig(PruneConfig):
    qat_epochs: int = 2
    qat_learning_rate: float = 1e-4


def quantize_aware(model, scheme=None):
    """Annotate every layer tfmot's 8-bit registry supports, then apply QAT.

    Layers it does not support (the Rescaling that maps [0, 1] to [-1, 1])
    stay float in training and are calibrated by the converter instead.
    """
    import tensorflow_model_optimization as tfmot
    import tf_keras as keras
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit import (
        default_8bit_quantize_registry,
    )

    registry = default_8bit_quantize_registry.Default8BitQuantizeRegistry()
    skipped = []

    def annotate(layer):
        if isinstance(layer, keras.layers.InputLayer):
            return layer
        if registry.supports(layer):
            return tfmot.quantization.keras.quantize_annotate_layer(layer)
        skipped.append(layer.name)
        return layer

    annotated = keras.models.clone_model(model, clone_function=annotate)
    with tfmot.quantization.keras.quantize_scope():
        qat = tfmot.quantization.keras.quantize_apply(annotated, scheme) if scheme else \
            tfmot.quantization.keras.quantize_apply(annotated)
    return qat, skipped


@recipe("qat_int8", QatConfig, "quantization-aware training from the float model, then int8")
def qat_int8(model, data: RecipeData, config: QatConfig) -> RecipeOutput:
    qat, skipped = quantize_aware(freeze_batchnorm(fresh_copy(model)))
    history = fine_tune(qat, data, config.epochs, config.learning_rate)
    calibration = data.calibration(config.calibration_images)
    return RecipeOutput(int8_tflite(qat, calibration, config.io), {"not_qat_layers": skipped, "history": history})


@recipe("pqat_int8", PqatConfig, "sparsity-preserving QAT on the pruned model (collaborative optimization), then int8")
def pqat_int8(model, data: RecipeData, config: PqatConfig) -> RecipeOutput:
    import tensorflow_model_optimization as tfmot

    pruned, facts = prune(model, data, config)
    scheme = tfmot.experimental.combine.Default8BitPrunePreserveQuantizeScheme()
    qat, skipped = quantize_aware(pruned, scheme)  # BatchNorm trainable: the scheme cannot fold a frozen one
    history = fine_tune(qat, data, config.qat_epochs, config.qat_learning_rate)
    calibration = data.calibration(config.calibration_images)
    return RecipeOutput(int8_tflite(qat, calibration, config.io),
                        {**facts, "not_qat_layers": skipped, "qat_history": history})
