"""Accuracy numbers from probabilities: top-1, top-5, agreement, per class, confusion; the ARM backends' subset."""

from __future__ import annotations

import numpy as np

from liteship.rundir import members_hash
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


def stratified_subset(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Positions of ``n`` of the images (all of them if there are no more), every class in proportion to its share.

    Each class gets n x its share, rounded down, and the images left over go to the classes with the largest
    remainders (the lower class first on a tie); when ``n`` is at least the number of classes, a class whose
    share rounds to none still gets one image, taken from the class most over its share. Within a class the
    images are drawn at random from ``seed``. Returned in ascending order, the order of the split.
    """
    labels = np.asarray(labels)
    if n >= len(labels):
        return np.arange(len(labels), dtype=np.int64)
    classes, counts = np.unique(labels, return_counts=True)
    quota = n * counts / len(labels)
    take = np.floor(quota).astype(np.int64)
    order = sorted(range(len(classes)), key=lambda i: (-(quota[i] - take[i]), i))
    for i in order[:n - int(take.sum())]:
        take[i] += 1
    if n >= len(classes):
        for i in np.flatnonzero(take == 0):
            donor = max((j for j in range(len(classes)) if take[j] > 1), key=lambda j: (take[j] - quota[j], -j))
            take[donor] -= 1
            take[i] = 1
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(labels == c), int(k), replace=False) for c, k in zip(classes, take) if k]
    return np.sort(np.concatenate(chosen)).astype(np.int64) if chosen else np.zeros(0, np.int64)


ARM_IMAGES = 100  # the accuracy subset an ARM backend runs: 100 scored images (all, if fewer), ...
ARM_SUBSET_SEED = 0  # ... drawn with this seed, ...
ARM_SUBSET_RULE = "stratified"  # ... every class in proportion (stratified_subset); records name the rule


def arm_subset(labels: np.ndarray) -> np.ndarray:
    """Which scored images an ARM backend runs (positions in the split): ARM_IMAGES of them, every class in
    proportion, drawn with ARM_SUBSET_SEED. Not the first ones: a folder's test split lists its classes in order."""
    return stratified_subset(labels, ARM_IMAGES, ARM_SUBSET_SEED)


def subset_data(described: dict, labels: np.ndarray, subset: np.ndarray, class_names: list[str]) -> dict:
    """What a record scored on a subset of a split (``described``): the subset's positions in the split, its member
    list's hash (of the split's and the positions), the split's own member hash, how many images of each class,
    and the rule that picked them."""
    per_class = np.bincount(np.asarray(labels)[subset], minlength=len(class_names))
    return {**described, "images": int(len(subset)), "split_members": described.get("members"),
            "members": members_hash([str(described.get("members")), *map(str, subset.tolist())]),
            "subset": {"rule": ARM_SUBSET_RULE, "seed": ARM_SUBSET_SEED, "of": int(len(labels)),
                       "indices": subset.tolist(),
                       "per_class": {name: int(n) for name, n in zip(class_names, per_class)}}}


def subset_words(record) -> str:
    """' (scored on 100 of 269 test images, stratified)' for a record scored on a subset of its split; '' else."""
    data = getattr(record, "data", None) or {}
    subset = data.get("subset")
    if not isinstance(subset, dict) or not isinstance(subset.get("of"), int) or record.images is None \
            or record.images >= subset["of"]:
        return ""
    return f" (scored on {record.images} of {subset['of']} {data.get('split') or 'test'} images, {subset.get('rule')})"
