"""Bench one .tflite file given by path: labels beside it or named, images from ``--data``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np

from liteship.bench.contract import check_contract, input_size
from liteship.bench.measure import BenchOptions, EvalSet, Target, bench_target, load_model_file
from liteship.bench.record import BenchRecord
from liteship.errors import LiteshipError
from liteship.progress import Progress


def read_labels(path: Path) -> list[str]:
    labels = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not labels:
        raise LiteshipError(f"Labels file {path} is empty", "it must hold one class name a line", "fix the file")
    return labels


def file_evalset(model, data: str, labels: list[str]) -> EvalSet:
    """Images from ``data`` (class folders or digits), labelled by their index in ``labels``."""
    from liteship.tflite_file import io_specs
    from liteship.trainer.data import load_dataset

    size = input_size(model)
    if size is None:
        raise LiteshipError(f"The model's input shape {list(io_specs(model)[0][0].shape)} is not [1, S, S, 3]",
                            "accuracy needs a square RGB image input", "bench it without --data, or re-export it")
    ds = load_dataset(data, size)
    missing = [c for c in ds.class_names if c not in labels]
    if missing:
        raise LiteshipError(f"Data classes {', '.join(missing)} are not in the labels",
                            f"the labels are: {', '.join(labels)}",
                            "pass the matching --labels file, or remove those class folders")
    index = np.asarray([labels.index(c) for c in ds.class_names])
    return EvalSet(ds.pixels, index[ds.labels], labels, ds.source)


def bench_file(path: Path, options: BenchOptions, data: str | None = None, labels_path: Path | None = None,
               progress: Progress | None = None, timer: Callable[[], int] = time.perf_counter_ns) -> list[BenchRecord]:
    """One .tflite: size, latency and compatibility; accuracy too when ``data`` is given."""
    path = Path(path)
    _, model = load_model_file(path)
    labels_path = Path(labels_path) if labels_path else path.with_name("labels.txt")
    labels = None
    if labels_path.is_file():
        labels = read_labels(labels_path)
    elif data is not None:
        raise LiteshipError(f"Labels file {labels_path} does not exist",
                            "accuracy needs the class names in the model's output order",
                            "pass --labels FILE (one class a line)")
    if labels is not None:
        out_classes = check_contract(model, None)["output"]["shape"][-1]
        if out_classes != len(labels):
            raise LiteshipError(f"{labels_path} has {len(labels)} labels but the model outputs {out_classes} classes",
                                "each output must have exactly one label, in order",
                                "pass the labels.txt written with this model")
    evalset = file_evalset(model, data, labels) if data is not None else None
    target = Target(path=path, variant=path.stem, labels=tuple(labels) if labels else None, size=input_size(model))
    records, _ = bench_target(target, options, evalset, None, timer, progress)
    return records
