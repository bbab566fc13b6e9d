"""Training: labelled images + an architecture -> a float Keras model and its card.

:func:`train` is the one entry point, a few named steps: prepare the data
(decode, split, write ``data/split.json``), build the model, fit it (frozen
base, then fine-tuning, for transfer models), evaluate it on the validation
and test splits, and publish ``float/<model>/`` atomically (:mod:`.card`)
with the split it was trained on (``float/<model>/split.json``): optimize and
bench read a model's own split, since a later training of another model into
the same run directory may replace ``data/split.json``.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from liteship.config import Problem, Problems, describe, range_problems, setting
from liteship.contract import InputContract
from liteship.errors import LiteshipError
from liteship.files import atomic_write_json, ensure_writable
from liteship.progress import Progress
from liteship.rundir import FLOAT, IMAGE_CACHE, RUN_JSON, SPLIT, Split, read_split, writing
from liteship.trainer.augment import AUGMENTATIONS, Augmentation, augment_problems, augmentation_of, augmented_dataset
from liteship.trainer.card import augment_entry, publish_model
from liteship.data_checks import cross_class_duplicates
from liteship.dataset import Dataset, load_dataset, split_indices, split_record
from liteship.image_rows import take
from liteship.trainer import feed
from liteship.trainer.determinism import op_determinism, when
from liteship.trainer.models import backbone_layers, get_arch
from liteship.versions import TRAIN_DISTS, versions

SHOWN_SKIPS = 20  # skipped files named on the terminal; card.json lists every one


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides what a training run produces."""

    arch: str = "small_cnn"
    size: int | None = None  # None: the architecture's default
    alpha: float | None = None  # None: the architecture's default
    weights: str = "imagenet"  # imagenet | none | PATH (transfer architectures only)
    epochs: int | None = setting(None, lo=0, hi=10_000)  # None: the architecture's default
    fine_tune_epochs: int | None = setting(None, lo=0, hi=10_000)
    fine_tune_at: int | str = 100  # index into the base's layers, or a layer name
    batch_size: int = setting(32, lo=1, hi=4096)
    learning_rate: float = setting(1e-3, lo=1e-7, hi=1.0)
    fine_tune_learning_rate: float = setting(1e-4, lo=1e-7, hi=1.0)
    seed: int = setting(0, lo=0, hi=2**32 - 1)
    val_fraction: float = setting(0.15, lo=0.0, hi=0.5)  # 0: no validation split (val_top1 is None)
    test_fraction: float = setting(0.15, lo=0.01, hi=0.5)  # their sum leaves training at least 10%
    # Augmentation while training (.augment): the steps; None: the data set's default (photos: crop and flip, as
    # MediaPipe Model Maker; the built-in digits: none); (): none. A step's settings follow, read only when it runs.
    augment: tuple[str, ...] | None = setting(None, choices=AUGMENTATIONS)
    crop_area: tuple[float, float] = setting((0.08, 1.0), lo=0.01, hi=1.0)  # the crop's share of the image
    crop_aspect_ratio: tuple[float, float] = setting((3 / 4, 4 / 3), lo=0.1, hi=10.0)  # its width / height
    rotation_degrees: float = setting(15.0, lo=0.0, hi=180.0)  # the largest turn, either way
    brightness: float = setting(0.2, lo=0.0, hi=1.0)  # the largest shift, of the [0, 1] pixel range
    contrast: float = setting(0.2, lo=0.0, hi=0.9)  # the factor, from 1 - contrast to 1 + contrast

    def problems(self, names: dict | None = None) -> list[Problem]:
        """Every problem with these settings at once; ``names``: where each was given (default: the CLI flags)."""
        from liteship.trainer.models import FLAG_NAMES, list_archs, weights_file_problem

        names = names or FLAG_NAMES
        archs = {spec.name: spec for spec in list_archs()}
        if self.arch not in archs:
            return [Problem(*names["arch"], describe(self.arch), "architectures: " + ", ".join(archs),
                            "pick one of them (liteship train --list describes them)")]
        spec = archs[self.arch]
        out = range_problems(self, names) + augment_problems(self, names)
        size = spec.default_size if self.size is None else int(self.size)
        alpha = 0.35 if self.alpha is None and spec.alphas else self.alpha
        weights = self.weights if spec.transfer else "none"
        out += spec.problems(size, alpha, weights, names)
        why = weights_file_problem(weights) if spec.transfer and weights not in ("imagenet", "none") else None
        if why is not None:
            out.append(Problem(*names["weights"], describe(weights), "weights are imagenet, none, or the path of "
                               f"a MobileNetV2 no-top weights file (.h5): {why}",
                               "check the path"))
        epochs = self.epochs if self.epochs is not None else (5 if spec.transfer else 20)
        ft = self.fine_tune_epochs if self.fine_tune_epochs is not None else (5 if spec.transfer else 0)
        if epochs == 0 and ft == 0:
            out.append(Problem(*names["epochs"], "0", "with no fine-tuning epochs either, nothing would train",
                               "give epochs 1 or more"))
        return out

    def resolved(self) -> "TrainConfig":
        """Fill the architecture's defaults; every problem with the settings raised together."""
        found = self.problems()
        if found:
            raise Problems(found)
        spec = get_arch(self.arch)
        alpha = 0.35 if self.alpha is None and spec.alphas else self.alpha
        return replace(self, size=spec.default_size if self.size is None else int(self.size), alpha=alpha,
                       augment=None if self.augment is None else tuple(self.augment),
                       crop_area=tuple(self.crop_area), crop_aspect_ratio=tuple(self.crop_aspect_ratio),
                       weights=self.weights if spec.transfer else "none",
                       epochs=self.epochs if self.epochs is not None else (5 if spec.transfer else 20),
                       fine_tune_epochs=self.fine_tune_epochs if self.fine_tune_epochs is not None else
                       (5 if spec.transfer else 0))

    @property
    def model_dir_name(self) -> str:
        """``small_cnn_32``, ``mobilenet_v2_0.35_96``: one folder per trained model."""
        spec = get_arch(self.arch)
        if spec.alphas:
            return f"{self.arch}_{self.alpha:g}_{self.size}"
        return f"{self.arch}_{self.size}" if self.alpha is None else f"{self.arch}_{self.alpha:g}_{self.size}"


@dataclass(frozen=True)
class TrainResult:
    model_dir: Path
    val_top1: float | None
    test_top1: float
    seconds: float
    card: dict


@dataclass(frozen=True)
class Prepared:
    """The decoded data set, its split, and the split's record (what ``data/split.json`` holds)."""

    dataset: Dataset
    splits: dict  # split name -> (pixels, labels)
    record: Split
    fractions: dict
    augmentation: Augmentation  # what training does to its images (evaluation never augments)


def _write_split(out: Path, record: Split, replace_split: bool) -> None:
    path = out / SPLIT
    if path.exists() and not replace_split:
        old = read_split(out)
        same = (old.content_hash, old.seed, old.fractions, old.classes) == \
               (record.content_hash, record.seed, record.fractions, record.classes)
        if not same:
            raise LiteshipError(
                f"{out} already holds a different data split ({path})",
                "every model in a run directory is trained and tested on the same split, "
                "but the data, seed or fractions differ from that run's",
                "pass a new --out, or the same --data and --seed as before",
            )
    atomic_write_json(path, record.to_dict())


def tf_dataset(pixels, labels: np.ndarray, batch: int, seed: int | None):
    """The contract's pixels (an array, or rows of the image cache: :mod:`.feed`) as float batches, shuffled by
    ``seed`` each epoch (None: in order): what evaluation, validation and every accuracy measurement read, never
    augmented."""
    return feed.batches(pixels, labels, batch, seed)


def train_dataset(pixels, labels: np.ndarray, batch: int, seed: int, augmentation: Augmentation | None):
    """Training batches: :func:`tf_dataset`'s, each image augmented from its own seed; with no augmentation,
    :func:`tf_dataset` itself (the pixels, order and model bytes of a training before augmentation existed)."""
    if augmentation is None or not augmentation.steps:
        return tf_dataset(pixels, labels, batch, seed)
    return augmented_dataset(pixels, labels, batch, seed, augmentation)


def _epoch_callback(progress: Progress, phase: str, total_epochs: int):
    """A line per epoch, and a bar over its batches on a terminal."""
    import tf_keras as keras

    class EpochLog(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()
            self.batches = progress.steps(self.params.get("steps") or 0, f"{phase} epoch {epoch + 1}/{total_epochs}",
                                          unit="batch", lines=False)

        def on_train_batch_end(self, batch, logs=None):
            logs = logs or {}
            self.batches.step(postfix={"loss": f"{logs.get('loss', 0):.3f}", "acc": f"{logs.get('accuracy', 0):.3f}"})

        def on_epoch_end(self, epoch, logs=None):
            self.batches.close()
            logs = logs or {}
            val = f" val_acc {logs['val_accuracy']:.4f}" if "val_accuracy" in logs else ""
            progress.log(f"{phase} epoch {epoch + 1}/{total_epochs}: loss {logs.get('loss', 0):.4f} "
                         f"acc {logs.get('accuracy', 0):.4f}{val} ({time.perf_counter() - self.t0:.1f} s)")

    return EpochLog()


def _fine_tune_start(model, at: int | str) -> int:
    """Index into the backbone layers from which fine-tuning unfreezes."""
    base = backbone_layers(model)
    if isinstance(at, str) and not re.fullmatch(r"-?[0-9]+", at):  # isdigit() takes "²", which int() refuses
        names = [layer.name for layer in base]
        if at not in names:
            raise LiteshipError(f"--fine-tune-at {at!r} is not a layer of the base",
                                f"the base has {len(names)} layers, from {names[0]} to {names[-1]}",
                                "pass a layer index or one of those names")
        return names.index(at)
    index = int(at)
    if not 0 <= index <= len(base):
        raise LiteshipError(f"--fine-tune-at {index} is out of range", f"the base has {len(base)} layers",
                            f"pass an index from 0 to {len(base)}")
    return index


def _fit(model, phases, train_ds, val_ds, progress: Progress) -> list[dict]:
    """Run the training phases; return one history row per epoch."""
    import tf_keras as keras

    rows, epoch0 = [], 0
    total = sum(epochs for _, epochs, _ in phases)
    for phase, epochs, lr in phases:
        if epochs == 0:
            continue
        # Cosine decay to zero: the last epochs settle instead of bouncing.
        schedule = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, epochs * len(train_ds)))
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        with feed.carried_errors():  # a cache cut short: its LiteshipError, not TensorFlow's traceback
            hist = model.fit(train_ds, validation_data=val_ds, initial_epoch=epoch0, epochs=epoch0 + epochs,
                             verbose=0, callbacks=[_epoch_callback(progress, phase, total)])
        for i in range(epochs):
            rows.append({"epoch": epoch0 + i + 1, "phase": phase, "lr": lr,
                         **{k: float(v[i]) for k, v in hist.history.items()}})
        epoch0 += epochs
    return rows


def _top1(model, pixels, labels: np.ndarray) -> float | None:
    if len(labels) == 0:
        return None
    with feed.carried_errors():
        probs = model.predict(tf_dataset(pixels, labels, 256, None), verbose=0)
    return float(np.mean(np.argmax(probs, axis=1) == labels))


def skipped_lines(skipped: list[dict], used: int) -> list[str]:
    """What the terminal says of the files a data set skipped: the first SHOWN_SKIPS, then a count by reason."""
    if not skipped:
        return []
    reasons = Counter(item["reason"].split(" (")[0] for item in skipped)
    more = f" ({len(skipped) - SHOWN_SKIPS} not shown above)" if len(skipped) > SHOWN_SKIPS else ""
    return [f"skipped {item['file']}: {item['reason']}" for item in skipped[:SHOWN_SKIPS]] + [
        f"{len(skipped)} files skipped{more}, {used} images used; by reason: "
        + ", ".join(f"{n} {why}" for why, n in reasons.most_common(5)) + "; all listed in card.json"]


def prepare_data(data: str | Dataset, config: TrainConfig, out: Path, progress: Progress,
                 replace_split: bool = False) -> Prepared:
    """Decode the images at the model's size (a folder's into the run's image cache, each file read once), split
    them by seed and write ``data/split.json``.

    ``replace_split``: the data changed and every model of the run is being retrained (the sweep).
    """
    dataset = data if isinstance(data, Dataset) else load_dataset(data, config.size, out, progress, out / IMAGE_CACHE)
    fingerprint = dataset.fingerprint  # from the same pass over the files
    if dataset.size != config.size:
        raise LiteshipError(f"The data set was decoded at {dataset.size} px, not {config.size}", "",
                            "load it at the model's size")
    for line in skipped_lines(dataset.skipped, len(dataset.labels)):
        progress.log(line)
    fractions = {"val": config.val_fraction, "test": config.test_fraction}
    duplicates, pinned = cross_class_duplicates(dataset)
    for line in duplicates:
        progress.log(line)
    indices = split_indices(dataset.labels, config.seed, **fractions, train_only=pinned)
    record = split_record(dataset, indices, config.seed, fractions, fingerprint)
    _write_split(out, record, replace_split)
    splits = {s: (take(dataset.pixels, ix), dataset.labels[ix]) for s, ix in indices.items()}
    return Prepared(dataset, splits, record, fractions, augmentation_of(config, dataset.source))


def build_model(config: TrainConfig, num_classes: int):
    import tf_keras as keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    return get_arch(config.arch).build(num_classes, config.size, config.alpha, config.weights)


def fit_model(model, config: TrainConfig, prep: Prepared, progress: Progress) -> list[dict]:
    """Transfer models: head with the base frozen, then fine-tuning from ``fine_tune_at``; others: all layers."""
    import tf_keras as keras

    train_ds = train_dataset(*prep.splits["train"], config.batch_size, config.seed, prep.augmentation)
    val_ds = tf_dataset(*prep.splits["val"], 256, None) if len(prep.splits["val"][1]) else None
    if not (get_arch(config.arch).transfer and config.weights != "none"):
        # Nothing pretrained to protect: every layer trains for all epochs.
        return _fit(model, [("train", config.epochs + config.fine_tune_epochs, config.learning_rate)],
                    train_ds, val_ds, progress)
    base = backbone_layers(model)
    for layer in base:
        layer.trainable = False
    start = _fine_tune_start(model, config.fine_tune_at)
    history = _fit(model, [("head", config.epochs, config.learning_rate)], train_ds, val_ds, progress)
    for layer in base[start:]:
        # BatchNorm statistics stay frozen: small data would wreck them.
        layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
    if config.fine_tune_epochs:
        history += _fit(model, [("fine-tune", config.fine_tune_epochs, config.fine_tune_learning_rate)],
                        train_ds, val_ds, progress)
    return history


def make_card(config: TrainConfig, prep: Prepared, history: list[dict], val_top1, test_top1, seconds: float,
              model_dir: str) -> dict:
    """What the model is and how it was made; :func:`~.card.publish_model` adds sizes and hashes."""
    ds = prep.dataset
    return {
        "arch": config.arch, "model_dir": model_dir, "config": asdict(config),
        "data": {"source": ds.source, "content_hash": ds.content_hash, "fingerprint": prep.record.fingerprint,
                 "images": int(len(ds.labels)), "seed": config.seed, "fractions": prep.fractions},
        "classes": ds.class_names,
        "counts": {s: int(len(lab)) for s, (_, lab) in prep.splits.items()},
        "counts_per_class": {s: {ds.class_names[c]: int((lab == c).sum()) for c in range(len(ds.class_names))}
                             for s, (_, lab) in prep.splits.items()},
        "skipped": ds.skipped, "skipped_count": len(ds.skipped), "augment": augment_entry(prep.augmentation),
        "input_contract": InputContract(config.size).to_dict(),
        "history": history, "val_top1": val_top1, "test_top1": test_top1, "train_seconds": round(seconds, 2),
        "versions": versions(TRAIN_DISTS),
    }


def train(data: str | Dataset, config: TrainConfig, out: str | Path, progress: Progress | None = None,
          deterministic: bool = False, replace_split: bool = False) -> TrainResult:
    """Train one float model into ``out/float/<model>/`` and return its numbers.

    Seeds Python, NumPy and TensorFlow from ``config.seed``. With ``deterministic``
    TensorFlow's op determinism is on while this trains (and put back afterwards),
    so the same seed gives the same weights.
    """
    progress = progress or Progress()
    config = config.resolved()
    # a new, empty or liteship-made folder (anything else is refused before any work), held while it is written
    with writing(out, "train", makes=True) as out:
        ensure_writable(out)
        started = time.perf_counter()
        prep = prepare_data(data, config, out, progress, replace_split)
        progress.log(f"augmentation while training: {prep.augmentation.words()}")
        with op_determinism(when(deterministic)):
            model = build_model(config, len(prep.dataset.class_names))
            history = fit_model(model, config, prep, progress)
        seconds = time.perf_counter() - started
        val_top1, test_top1 = _top1(model, *prep.splits["val"]), _top1(model, *prep.splits["test"])
        model.trainable = True  # saved fully trainable: optimize's fine-tuning sees every layer
        final = out / FLOAT / config.model_dir_name
        card = make_card(config, prep, history, val_top1, test_top1, seconds, final.name)
        card = publish_model(final, model, prep.dataset.class_names, history, card, prep.record.to_dict())
        if not (out / RUN_JSON).exists():
            atomic_write_json(out / RUN_JSON, {"command": "train", "config": asdict(config), "augment": card["augment"],
                                               "versions": card["versions"]})
        return TrainResult(final, val_top1, test_top1, seconds, card)
