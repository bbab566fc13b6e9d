"""The float model's card and its publication: ``float/<model>/`` appears whole or not at all.

The folder holds ``model.keras``, ``model.tflite``, ``labels.txt``,
``card.json`` (config, data, the augmentation it was trained with, counts,
accuracy, history, versions, hashes) and ``curves.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from liteship.contract import labels_text
from liteship.files import atomic_write_json, sha256_file, staged
from liteship.trainer.augment import Augmentation
from liteship.trainer.determinism import op_determinism
from liteship.rundir import CARD, CURVES, LABELS, MODEL_KERAS, MODEL_SPLIT, MODEL_TFLITE


def count_macs(model) -> int:
    """Multiply-adds of one forward pass: conv, depthwise conv and dense layers."""
    import tf_keras as keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            _, h, w, _ = layer.output_shape
            kh, kw = layer.kernel_size
            total += h * w * kh * kw * layer.input_shape[-1] * layer.depth_multiplier
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, c = layer.output_shape
            kh, kw = layer.kernel_size
            total += h * w * kh * kw * layer.input_shape[-1] * c // layer.groups
        elif isinstance(layer, keras.layers.Dense):
            total += layer.input_shape[-1] * layer.units
    return int(total)


def augment_entry(augmentation: Augmentation) -> dict:
    """The card's ``augment``: the steps the training ran on its images, their settings, whose default they are
    (``default``: "photos", "digits", or None when the config named them) and the same in words (``said``).
    Optimize's fine-tuning reads it back (:meth:`Augmentation.from_record`): a card without it trained with none."""
    return {**augmentation.record(), "said": augmentation.words()}


def plot_curves(history: list[dict], path: Path) -> None:
    """Accuracy and loss per epoch, a dashed line where a phase starts. Drawn on a Figure of its own, never
    pyplot: the caller's matplotlib backend and open figures stay as they were (a notebook's, say)."""
    from matplotlib.figure import Figure

    epochs = [r["epoch"] for r in history]
    fig = Figure(figsize=(10, 4))
    axes = fig.subplots(1, 2)
    for ax, key, title in ((axes[0], "accuracy", "Top-1 accuracy"), (axes[1], "loss", "Loss")):
        ax.plot(epochs, [r.get(key) for r in history], marker="o", label="train")
        if any(f"val_{key}" in r for r in history):
            ax.plot(epochs, [r.get(f"val_{key}") for r in history], marker="o", label="validation")
        starts = [r["epoch"] - 0.5 for a, r in zip(history, history[1:]) if r["phase"] != a["phase"]]
        for x in starts:
            ax.axvline(x, color="grey", linestyle="--", linewidth=1)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=80)
    tmp.replace(path)


def weights_sha256(model) -> str:
    """sha256 of the architecture (its JSON config) and every weight, in order."""
    import hashlib

    h = hashlib.sha256(model.to_json(sort_keys=True).encode())
    for w in model.get_weights():
        h.update(str(w.dtype).encode() + str(w.shape).encode() + np.ascontiguousarray(w).tobytes())
    return h.hexdigest()


def convert_float_tflite(model) -> bytes:
    import tensorflow as tf

    with op_determinism(False):  # the converter's output depends on the switch: always convert with it off
        return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def publish_model(final: Path, model, class_names: list[str], history: list[dict], card: dict,
                  split: dict | None = None) -> dict:
    """Write the model folder in a hidden staging folder, then move it into place; return the full card.

    ``split``: the split the model was trained on, kept beside it as ``split.json``."""
    final.parent.mkdir(parents=True, exist_ok=True)
    with staged(final) as staging:
        model.save(staging / MODEL_KERAS)
        (staging / MODEL_TFLITE).write_bytes(convert_float_tflite(model))
        (staging / LABELS).write_text(labels_text(class_names), encoding="utf-8")
        plot_curves(history, staging / CURVES)
        card = {**card, "params": int(model.count_params()), "multiply_adds": count_macs(model),
                "model_sha256": sha256_file(staging / MODEL_KERAS),
                # What the model is, independent of when it was saved (.keras files carry a date):
                # variants are content-addressed by this, so the same training anywhere gives the same IDs.
                "weights_sha256": weights_sha256(model)}
        atomic_write_json(staging / CARD, card)
        if split is not None:
            atomic_write_json(staging / MODEL_SPLIT, split)
    return card
