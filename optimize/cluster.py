"""cluster_int8: weight clustering (tfmot), fine-tuning, strip, then int8."""

from __future__ import annotations

from dataclasses import dataclass

from liteship.config import setting
from liteship.optimize.convert import Int8Config, fresh_copy, int8_tflite
from liteship.optimize.finetune import fine_tune, kernel_layer
from liteship.optimize.registry import FineTuning, RecipeCosts, RecipeData, RecipeOutput, recipe


@dataclass(frozen=True)
class ClusterConfig(Int8Config):
    clusters: int = setting(16, lo=2, hi=256)
    epochs: int = setting(2, hi=10_000)
    learning_rate: float = setting(1e-4, hi=1.0)


CLUSTER_FACTOR = 2.0  # a clustering epoch against a training epoch (the estimate; see liteship.workflow.resources)


@recipe("cluster_int8", ClusterConfig, "weight clustering to a few shared values per kernel, fine-tuned, then int8",
        costs=RecipeCosts(fine_tuning=lambda config: (FineTuning(config.epochs, CLUSTER_FACTOR),)))
def cluster_int8(model, data: RecipeData, config: ClusterConfig) -> RecipeOutput:
    import tensorflow_model_optimization as tfmot
    import tf_keras as keras

    clustering = tfmot.clustering.keras
    params = {"number_of_clusters": config.clusters,
              "cluster_centroids_init": clustering.CentroidInitialization.KMEANS_PLUS_PLUS}
    work = fresh_copy(model)
    keras.utils.set_random_seed(data.seed)
    wrapped = keras.models.clone_model(
        work, clone_function=lambda layer: clustering.cluster_weights(layer, **params) if kernel_layer(layer) else layer)
    history = fine_tune(wrapped, data, config.epochs, config.learning_rate)
    stripped = clustering.strip_clustering(wrapped)
    calibration = data.calibration(config.calibration_images)
    return RecipeOutput(int8_tflite(stripped, calibration, config.io), {"history": history})
