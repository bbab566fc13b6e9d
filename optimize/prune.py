"""prune_int8: magnitude pruning (tfmot) on a polynomial schedule, fine-tuning, strip, int8.

tfmot prunes conv and dense kernels; its registry leaves depthwise kernels
dense, so a MobileNet's overall weight sparsity sits below the target while
its conv and dense kernels reach it (the record's ``sparsity_by_op``).
"""

from __future__ import annotations

from dataclasses import dataclass

from liteship.config import setting
from liteship.optimize.convert import Int8Config, fresh_copy, int8_tflite
from liteship.optimize.finetune import fine_tune, kernel_layer, steps_per_epoch
from liteship.optimize.registry import FineTuning, RecipeCosts, RecipeData, RecipeOutput, recipe


@dataclass(frozen=True)
class PruneConfig(Int8Config):
    target_sparsity: float = setting(0.75, hi=0.99)
    epochs: int = setting(8, hi=10_000)  # fine-tuning epochs in all
    recovery_epochs: int = setting(4, hi=10_000)  # of those, the last ones train at full sparsity to recover accuracy
    learning_rate: float = setting(2e-3, hi=1.0)  # BatchNorm keeps training: it must follow the pruned weights
    prune_steps: int = setting(10, lo=1, hi=10_000)  # how many times the mask is updated on the way to the target


def schedule_steps(data: RecipeData, config: PruneConfig) -> tuple[int, int]:
    """(end_step, frequency) from the real steps per epoch.

    tfmot prunes only on steps where ``step % frequency == 0`` up to
    ``end_step``: an end step off that grid never reaches the target, so the
    end step is rounded down onto it.
    """
    end = steps_per_epoch(data) * max(1, config.epochs - config.recovery_epochs)
    freq = max(1, end // max(1, config.prune_steps))
    return freq * (end // freq), freq


def prune(model, data: RecipeData, config: PruneConfig):
    """A pruned, stripped copy of ``model`` (the caller's model is not touched)."""
    import tensorflow_model_optimization as tfmot
    import tf_keras as keras

    end, freq = schedule_steps(data, config)
    schedule = tfmot.sparsity.keras.PolynomialDecay(initial_sparsity=0.0, final_sparsity=config.target_sparsity,
                                                   begin_step=0, end_step=end, frequency=freq)
    work = fresh_copy(model)

    def wrap(layer):
        if kernel_layer(layer):
            return tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=schedule)
        return layer

    wrapped = keras.models.clone_model(work, clone_function=wrap)
    history = fine_tune(wrapped, data, max(config.epochs, 1), config.learning_rate,
                        [tfmot.sparsity.keras.UpdatePruningStep()])
    return tfmot.sparsity.keras.strip_pruning(wrapped), {"end_step": end, "frequency": freq, "history": history}


PRUNING = ("target_sparsity", "epochs", "recovery_epochs", "learning_rate", "prune_steps")  # what decides the weights
PRUNE_FACTOR = 1.0  # a pruning epoch against a training epoch (the estimate; see liteship.workflow.resources)


def pruned_key(config: PruneConfig) -> tuple:
    """What :func:`pruned_once` keeps the pruned model by: the pruning settings."""
    return ("pruned", tuple(getattr(config, name) for name in PRUNING))


def pruning(config: PruneConfig) -> FineTuning:
    """The pruning's fine-tuning, for the estimate: done once per chain for the same settings."""
    return FineTuning(config.epochs + config.recovery_epochs, PRUNE_FACTOR, pruned_key(config))


def pruned_once(model, data: RecipeData, config: PruneConfig):
    """:func:`prune`, done once per optimize call for the same pruning settings: prune_int8 and pqat_int8's pruning
    step are the same model (fine-tuning is seeded and deterministic, so reuse changes no byte). A copy is returned:
    the caller may train it further."""
    key = pruned_key(config)
    if key not in data.shared:
        data.shared[key] = prune(model, data, config)
    pruned, facts = data.shared[key]
    return fresh_copy(pruned), dict(facts)


@recipe("prune_int8", PruneConfig, "magnitude pruning to a target sparsity, fine-tuned, then int8",
        costs=RecipeCosts(fine_tuning=lambda config: (pruning(config),)))
def prune_int8(model, data: RecipeData, config: PruneConfig) -> RecipeOutput:
    pruned, facts = pruned_once(model, data, config)
    calibration = data.calibration(config.calibration_images)
    return RecipeOutput(int8_tflite(pruned, calibration, config.io), facts)
