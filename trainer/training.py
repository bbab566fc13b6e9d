"""Training: labelled images + an architecture -> a float Keras model and its card.

:func:`train` is the one entry point. It reads the data, writes the split,
trains (frozen base, then fine-tuning, for transfer models), evaluates on the
validation and test splits, and publishes ``float/<arch>/`` atomically:
``model.keras``, ``model.tflite``, ``labels.txt``, ``card.json`` and
``curves.png``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from liteship.contract import InputContract
from liteship.trainer.data import Dataset, load_dataset, split_indices, split_record
from liteship.errors import LiteshipError
from liteship.versions import TRAIN_DISTS, versions
from liteship.files import atomic_write_json, publish_dir, sha256_file
from liteship.trainer.models import backbone_layers, get_arch
from liteship.progress import Progress


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides what a training run produces."""

    arch: str = "small_cnn"
    size: int | None = None  # None: the architecture's default
    alpha: float | None = None  # None: the architecture's default
    weights: str = "imagenet"  # imagenet | none | PATH (transfer architectures only)
    epochs: int | None = None  # None: the architecture's default
    fine_tune_epochs: int | None = None
    fine_tune_at: int | str = 100  # index into the base's layers, or a layer name
    batch_size: int = 32
    learning_rate: float = 1e-3
    fine_tune_learning_rate: float = 1e-4
    seed: int = 0
    val_fraction: float = 0.15
    test_fraction: float = 0.15

    def resolved(self) -> "TrainConfig":
        """Fill the architecture's defaults and check every value."""
        spec = get_arch(self.arch)
        size = spec.default_size if self.size is None else int(self.size)
        alpha = self.alpha
        if alpha is None and spec.alphas:
            alpha = 0.35
        weights = self.weights if spec.transfer else "none"
        spec.check(size, alpha, weights)
        epochs = self.epochs if self.epochs is not None else (5 if spec.transfer else 20)
        ft = self.fine_tune_epochs if self.fine_tune_epochs is not None else (5 if spec.transfer else 0)
        for name, value in (("--epochs", epochs), ("--fine-tune-epochs", ft), ("--batch-size", self.batch_size - 1)):
            if value < 0:
                raise LiteshipError(f"{name} must not be negative", "", f"pass a whole number >= 0 to {name}")
        if epochs + ft == 0:
            raise LiteshipError("Nothing to train: --epochs and --fine-tune-epochs are both 0", "",
                                "pass --epochs 1 or more")
        return replace(self, size=size, alpha=alpha, weights=weights, epochs=epochs, fine_tune_epochs=ft)

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


def ensure_writable(out: Path) -> None:
    """Fail before any work if ``out`` cannot be created or written to."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-check."):
            pass
    except OSError as exc:
        raise LiteshipError(
            f"Cannot write to output folder {out}: {exc.strerror or exc}",
            "liteship writes the run directory there",
            "pass --out a folder you can write to",
        ) from exc


def _write_split(out: Path, record: dict) -> None:
    path = out / "data" / "split.json"
    if path.exists():
        old = json.loads(path.read_text())
        same = {k: old.get(k) for k in ("content_hash", "seed", "fractions", "classes")} == \
               {k: record[k] for k in ("content_hash", "seed", "fractions", "classes")}
        if not same:
            raise LiteshipError(
                f"{out} already holds a different data split ({path})",
                "every model in a run directory is trained and tested on the same split, "
                "but the data, seed or fractions differ from that run's",
                "pass a new --out, or the same --data and --seed as before",
            )
    atomic_write_json(path, record)


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


def tf_dataset(pixels: np.ndarray, labels: np.ndarray, batch: int, seed: int | None):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((pixels, labels))
    if seed is not None:
        ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch).map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y), num_parallel_calls=1)
    return ds.prefetch(2)


def _progress_callback(progress: Progress, phase: str, total_epochs: int):
    import tf_keras as keras

    class EpochLog(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()
            if progress.bar and not progress.quiet:
                from tqdm import tqdm

                self.bar = tqdm(total=self.params.get("steps"), desc=f"{phase} epoch {epoch + 1}/{total_epochs}",
                                file=progress.stream, leave=False)

        def on_train_batch_end(self, batch, logs=None):
            if getattr(self, "bar", None) is not None:
                self.bar.update(1)
                self.bar.set_postfix(loss=f"{logs.get('loss', 0):.3f}", acc=f"{logs.get('accuracy', 0):.3f}")

        def on_epoch_end(self, epoch, logs=None):
            if getattr(self, "bar", None) is not None:
                self.bar.close()
                self.bar = None
            logs = logs or {}
            val = f" val_acc {logs['val_accuracy']:.4f}" if "val_accuracy" in logs else ""
            progress.log(f"{phase} epoch {epoch + 1}/{total_epochs}: loss {logs.get('loss', 0):.4f} "
                         f"acc {logs.get('accuracy', 0):.4f}{val} ({time.perf_counter() - self.t0:.1f} s)")

    return EpochLog()


def _fine_tune_start(model, at: int | str) -> int:
    """Index into the backbone layers from which fine-tuning unfreezes."""
    base = backbone_layers(model)
    if isinstance(at, str) and not at.lstrip("-").isdigit():
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
        hist = model.fit(train_ds, validation_data=val_ds, initial_epoch=epoch0, epochs=epoch0 + epochs,
                         verbose=0, callbacks=[_progress_callback(progress, phase, total)])
        for i in range(epochs):
            rows.append({"epoch": epoch0 + i + 1, "phase": phase, "lr": lr,
                         **{k: float(v[i]) for k, v in hist.history.items()}})
        epoch0 += epochs
    return rows


def _top1(model, pixels: np.ndarray, labels: np.ndarray) -> float | None:
    if len(labels) == 0:
        return None
    probs = model.predict(tf_dataset(pixels, labels, 256, None), verbose=0)
    return float(np.mean(np.argmax(probs, axis=1) == labels))


def plot_curves(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in history]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
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
    plt.close(fig)
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

    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def train(data: str | Dataset, config: TrainConfig, out: str | Path, progress: Progress | None = None) -> TrainResult:
    """Train one float model into ``out/float/<arch>_<size>/`` and return its numbers.

    Seeds Python, NumPy and TensorFlow from ``config.seed`` and turns on
    TensorFlow's op determinism, so the same seed gives the same model.
    """
    progress = progress or Progress()
    config = config.resolved()
    out = Path(out)
    ensure_writable(out)
    started = time.perf_counter()

    dataset = data if isinstance(data, Dataset) else load_dataset(data, config.size, out, progress)
    if dataset.size != config.size:
        raise LiteshipError(f"The data set was decoded at {dataset.size} px, not {config.size}", "",
                            "load it at the model's size")
    for item in dataset.skipped:
        progress.log(f"skipped {item['file']}: {item['reason']}")
    if dataset.skipped:
        progress.log(f"{len(dataset.skipped)} files skipped, {len(dataset.labels)} images used")
    fractions = {"val": config.val_fraction, "test": config.test_fraction}
    splits = split_indices(dataset.labels, config.seed, **fractions)
    record = split_record(dataset, splits, config.seed, fractions)
    _write_split(out, record)

    import tensorflow as tf
    import tf_keras as keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()

    spec = get_arch(config.arch)
    model = spec.build(len(dataset.class_names), config.size, config.alpha, config.weights)
    pick = {s: (dataset.pixels[ix], dataset.labels[ix]) for s, ix in splits.items()}
    train_ds = tf_dataset(*pick["train"], config.batch_size, config.seed)
    val_ds = tf_dataset(*pick["val"], 256, None) if len(pick["val"][1]) else None

    if spec.transfer and config.weights != "none":
        base = backbone_layers(model)
        for layer in base:
            layer.trainable = False
        start = _fine_tune_start(model, config.fine_tune_at)
        phases = [("head", config.epochs, config.learning_rate)]
        history = _fit(model, phases, train_ds, val_ds, progress)
        for layer in base[start:]:
            # BatchNorm statistics stay frozen: small data would wreck them.
            layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
        history += _fit(model, [("fine-tune", config.fine_tune_epochs, config.fine_tune_learning_rate)],
                        train_ds, val_ds, progress) if config.fine_tune_epochs else []
    else:
        # Nothing pretrained to protect: every layer trains for all epochs.
        history = _fit(model, [("train", config.epochs + config.fine_tune_epochs, config.learning_rate)],
                       train_ds, val_ds, progress)
    train_seconds = time.perf_counter() - started

    val_top1 = _top1(model, *pick["val"])
    test_top1 = _top1(model, *pick["test"])
    model.trainable = True  # saved fully trainable: optimize's fine-tuning sees every layer

    final = out / "float" / config.model_dir_name
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        model.save(staging / "model.keras")
        (staging / "model.tflite").write_bytes(convert_float_tflite(model))
        (staging / "labels.txt").write_text("\n".join(dataset.class_names) + "\n", encoding="utf-8")
        plot_curves(history, staging / "curves.png")
        per_split = {s: {dataset.class_names[c]: int((lab == c).sum()) for c in range(len(dataset.class_names))}
                     for s, (_, lab) in pick.items()}
        card = {
            "arch": config.arch,
            "model_dir": final.name,
            "config": asdict(config),
            "data": {"source": dataset.source, "content_hash": dataset.content_hash,
                     "split_hash": record["content_hash"], "seed": config.seed, "fractions": fractions},
            "classes": dataset.class_names,
            "counts": {s: int(len(lab)) for s, (_, lab) in pick.items()},
            "counts_per_class": per_split,
            "skipped": dataset.skipped,
            "skipped_count": len(dataset.skipped),
            "params": int(model.count_params()),
            "multiply_adds": count_macs(model),
            "input_contract": InputContract(config.size).to_dict(),
            "history": history,
            "val_top1": val_top1,
            "test_top1": test_top1,
            "train_seconds": round(train_seconds, 2),
            "versions": versions(TRAIN_DISTS),
            "model_sha256": sha256_file(staging / "model.keras"),
            # What the model is, independent of when it was saved (.keras files carry a date):
            # variants are content-addressed by this, so the same training anywhere gives the same IDs.
            "weights_sha256": weights_sha256(model),
        }
        atomic_write_json(staging / "card.json", card)
        publish_dir(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not (out / "run.json").exists():
        atomic_write_json(out / "run.json", {"command": "train", "config": asdict(config), "versions": card["versions"]})
    return TrainResult(final, val_top1, test_top1, train_seconds, card)
