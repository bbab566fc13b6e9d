"""Fine-tuning shared by the recipes that train (pruning, QAT, clustering)."""

from __future__ import annotations

import math

from liteship.trainer import op_determinism, when
from liteship.trainer import carried_errors, tf_dataset, train_dataset

from liteship.optimize.registry import RecipeData


def steps_per_epoch(data: RecipeData) -> int:
    return max(1, math.ceil(len(data.train_y) / data.batch_size))


def fine_tune(model, data: RecipeData, epochs: int, learning_rate: float, callbacks=()) -> list[dict]:
    """Train ``model`` in place on the training split, augmented as the float model was trained; return per-epoch
    history."""
    import tf_keras as keras

    if epochs <= 0:
        return []
    keras.utils.set_random_seed(data.seed)  # with deterministic ops (data.deterministic): the same variant anywhere
    # Cosine decay, as in training: the last steps settle the weights (and BatchNorm) instead of bouncing.
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=epochs * steps_per_epoch(data))
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    val = tf_dataset(data.val_x, data.val_y, 256, None) if len(data.val_y) else None
    with op_determinism(when(data.deterministic)), carried_errors():  # a cache cut short: liteship's error
        train = train_dataset(data.train_x, data.train_y, data.batch_size, data.seed, data.augmentation)
        hist = model.fit(train, validation_data=val,
                         epochs=epochs, verbose=0, callbacks=list(callbacks))
    return [{k: round(float(v[i]), 5) for k, v in hist.history.items()} | {"epoch": i + 1} for i in range(epochs)]


def kernel_layer(layer) -> bool:
    """Layers whose kernels pruning and clustering act on."""
    import tf_keras as keras

    return isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense))
