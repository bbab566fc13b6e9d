"""Accuracy numbers from probabilities: top-1, top-5, agreement, per class, confusion."""

from __future__ import annotations

import numpy as np

from liteship.stats import wilson


def score(probs: np.ndarray, labels: np.ndarray, class_names: list[str],
          reference_top1: np.ndarray | None = None) -> dict:
    pred = np.argmax(probs, axis=1)
    n_classes = len(class_names)
    correct = int(np.sum(pred == labels))
    out = {"top1": round(correct / len(labels), 6) if len(labels) else None, "images": int(len(labels)),
           "top1_ci": wilson(correct, len(labels)) if len(labels) else None,
           "correct": "".join("1" if ok else "0" for ok in (pred == labels))}
    if n_classes >= 5 and len(labels):
        top5 = np.argsort(-probs, axis=1)[:, :5]
        out["top5"] = round(float(np.mean(np.any(top5 == labels[:, None], axis=1))), 6)
    if reference_top1 is not None and len(labels):
        out["agreement"] = round(float(np.mean(pred == reference_top1)), 6)
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (labels, pred), 1)
    out["confusion"] = confusion.tolist()
    out["per_class_top1"] = {
        name: (round(float(confusion[i, i] / confusion[i].sum()), 6) if confusion[i].sum() else None)
        for i, name in enumerate(class_names)}
    return out
