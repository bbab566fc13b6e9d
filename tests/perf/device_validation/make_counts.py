"""The protocol behind counts_<backend>.json: architecture-equivalent models of the leaderboard's files, counted.

For each model of the litert-community files measured in leaderboard_cpu_rows.jsonl that tf_keras.applications
has, this builds the Keras model with seeded random weights (weights=None: nothing is downloaded; XNNPACK's dense
kernels do the same work whatever the weights), converts it as the published file was made (float32; full int8
with per-channel weights and 8-bit input and output; dynamic-range int8 weights with float activations), and
counts one invoke with liteship's own ARM counting path (``liteship.bench.arm64.count_arm64``).

    .venv/bin/python -m tests.perf.device_validation.make_counts --backend arm64-a15

Built models are kept in a cache folder (~/.cache/liteship-validation/models by default), keyed by the published
file name, so a second backend (``--backend arm64-a18``) counts the very same bytes. Each model's count is
written to the output as soon as it is made, and a model already in the output is not counted again (``--force``
counts it anyway), so an interrupted run resumes. See PROTOCOL.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROWS = HERE / "leaderboard_cpu_rows.jsonl"
CACHE = Path(os.environ.get("LITESHIP_VALIDATION_CACHE", Path.home() / ".cache" / "liteship-validation" / "models"))
SEED = 0
CALIBRATION_IMAGES = 8


@dataclass(frozen=True)
class Equivalent:
    """One published file and the Keras model that stands for it."""

    file: str  # the leaderboard row's "file"
    model: str  # the leaderboard row's "model"
    keras: str  # the tf_keras.applications constructor
    size: int  # input height and width
    conversion: str  # "float32" | "int8" | "dynamic"
    kwargs: dict = field(default_factory=dict)  # beyond weights=None, input_shape, classes, classifier_activation


# The published inputs' sizes: the rows give no shape, but throughput_mb_s is the input's MiB over the average
# latency, so throughput x avg gives the input's bytes (PROTOCOL.md): 224 px for all but InceptionV3 (299, as
# torchvision's) and EfficientNetV2-S (384, as torchvision's and Keras's).
EQUIVALENTS = (
    Equivalent("mobilenet_v2.tflite", "litert-community/MobileNet-v2", "MobileNetV2", 224, "float32"),
    Equivalent("mobilenet_v2_int8_channelwise.tflite", "litert-community/MobileNet-v2", "MobileNetV2", 224, "int8"),
    Equivalent("mobilenet_v2_dynamic_wi8_afp32.tflite", "litert-community/MobileNet-v2", "MobileNetV2", 224,
               "dynamic"),
    Equivalent("mobilenet_v3_small.tflite", "litert-community/MobileNet-v3-small", "MobileNetV3Small", 224,
               "float32", {"include_preprocessing": False}),
    Equivalent("mobilenet_v3_large.tflite", "litert-community/MobileNet-v3-large", "MobileNetV3Large", 224,
               "float32", {"include_preprocessing": False}),
    Equivalent("efficientnet_b0.tflite", "litert-community/efficientnet_b0", "EfficientNetB0", 224, "float32"),
    Equivalent("resnet50.tflite", "litert-community/resnet50", "ResNet50", 224, "float32"),
    Equivalent("inception_v3.tflite", "litert-community/inception_v3", "InceptionV3", 299, "float32"),
    Equivalent("efficientnet_v2_s.tflite", "litert-community/efficientnet_v2_s", "EfficientNetV2S", 384, "float32",
               {"include_preprocessing": False}),
    Equivalent("convnext_tiny.tflite", "litert-community/convnext_tiny", "ConvNeXtTiny", 224, "float32",
               {"include_preprocessing": False}),
)
BY_FILE = {e.file: e for e in EQUIVALENTS}

# The issue's validation set (issue 34): the eight models the targets were stated on. The other equivalents are
# counted and reported beside them.
ISSUE_SET = tuple(e.file for e in EQUIVALENTS[:8])

CONVERSIONS = {
    "float32": "TFLiteConverter.from_keras_model, no optimizations: float32 weights, activations, input and output",
    "int8": "TFLiteConverter.from_keras_model, Optimize.DEFAULT, TFLITE_BUILTINS_INT8, a representative dataset of "
            f"{CALIBRATION_IMAGES} seeded uniform [0, 1) images: int8 per-channel weights, int8 activations, int8 "
            "input and output (the published file's input is one byte an element: throughput x avg = 150,528 B)",
    "dynamic": "TFLiteConverter.from_keras_model, Optimize.DEFAULT, no representative dataset: dynamic-range "
               "quantization, int8 per-channel weights, float32 activations, input and output",
}


def build(e: Equivalent):
    """The Keras model of ``e`` with seeded random weights."""
    import tf_keras as keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(SEED)
    make = getattr(keras.applications, e.keras)
    return make(weights=None, input_shape=(e.size, e.size, 3), classes=1000, classifier_activation=None, **e.kwargs)


def convert(e: Equivalent, model) -> bytes:
    """``model`` converted as the published file of ``e`` was made (CONVERSIONS)."""
    import numpy as np
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if e.conversion in ("int8", "dynamic"):
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if e.conversion == "int8":
        rng = np.random.default_rng(SEED)
        images = [rng.random((1, e.size, e.size, 3), dtype=np.float32) for _ in range(CALIBRATION_IMAGES)]
        conv.representative_dataset = lambda: ([x] for x in images)
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int8
    return conv.convert()


def tool_versions() -> dict:
    import tensorflow as tf
    import tf_keras

    return {"tensorflow": tf.__version__, "tf_keras": tf_keras.__version__}


def made_model(e: Equivalent, cache: Path = CACHE) -> tuple[Path, dict]:
    """The cached model file of ``e`` and how it was made, built (and cached) when missing or made otherwise."""
    path, info_path = cache / e.file, cache / (e.file + ".json")
    wanted = {"keras": e.keras, "kwargs": e.kwargs, "size": e.size, "conversion": CONVERSIONS[e.conversion],
              "seed": SEED, **tool_versions()}
    if path.exists() and info_path.exists():
        info = json.loads(info_path.read_text())
        if {k: info.get(k) for k in wanted} == wanted and info.get("sha256") == sha256(path):
            return path, info
    started = time.perf_counter()
    data = convert(e, build(e))
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    info = {**wanted, "sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data),
            "build_seconds": round(time.perf_counter() - started, 1)}
    info_path.write_text(json.dumps(info, indent=1) + "\n")
    return path, info


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def grey_input(path: Path):
    """A mid-grey image fed per liteship's input contract to the model's own input type and shape."""
    import numpy as np

    from liteship.contract import feed
    from liteship.tflite_file import io_specs, read_model

    ins, outs = io_specs(read_model(path.read_bytes()))
    spec = ins[0]
    pixels = np.full((1, *spec.shape[1:]), 128, np.uint8)
    x = feed(pixels, spec.dtype, *(spec.scale[:1] or (0.0,)), *(spec.zero_point[:1] or (0,)))
    return x, {"input_shape": list(spec.shape), "input_dtype": str(np.dtype(spec.dtype)),
               "output_dtype": str(np.dtype(outs[0].dtype))}


def count(e: Equivalent, backend: str, cache: Path = CACHE, timeout: float = 3600) -> dict:
    """The fixture entry of ``e`` on ``backend``: its per-invoke count, the tools, the file and how it was made."""
    from liteship.bench.arm64 import count_arm64

    path, info = made_model(e, cache)
    x, io = grey_input(path)
    started = time.perf_counter()
    counted = count_arm64(path, backend, x, timeout=timeout)
    seconds = time.perf_counter() - started
    instr = counted["instructions"]
    return {"file": e.file, "model": e.model, "keras": f"tf_keras.applications.{e.keras}", "kwargs": e.kwargs,
            "conversion": e.conversion, "converted": CONVERSIONS[e.conversion], **io,
            "sha256": info["sha256"], "size_bytes": info["size_bytes"], "seed": SEED,
            "per_invoke": instr["per_invoke"], "first_invoke": instr.get("first_invoke"),
            "tools": {**instr.get("tool", {}), "tensorflow (converter)": info["tensorflow"],
                      "tf_keras": info["tf_keras"]},
            "backend": backend, "count_seconds": round(seconds, 1), "build_seconds": info.get("build_seconds"),
            "instructions": instr}


def output_path(backend: str) -> Path:
    return HERE / f"counts_{backend}.json"


def _write(out: Path, doc: dict) -> None:
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    tmp.replace(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", default="arm64-a15", help="the ARM count backend (arm64-a15, arm64-a18, ...)")
    p.add_argument("--out", type=Path, help="the fixture to write (default: counts_<backend>.json here)")
    p.add_argument("--models", nargs="*", choices=sorted(BY_FILE), help="only these published files")
    p.add_argument("--cache", type=Path, default=CACHE, help="where the built models are kept")
    p.add_argument("--timeout", type=float, default=3600, help="seconds a count may take")
    p.add_argument("--force", action="store_true", help="count again a model already in the output")
    a = p.parse_args(argv)
    out = a.out or output_path(a.backend)
    doc = json.loads(out.read_text()) if out.exists() else {}
    doc.setdefault("backend", a.backend)
    doc.setdefault("rows", f"{ROWS.name} (see SOURCES.md)")
    doc.setdefault("protocol", "tests/perf/device_validation/make_counts.py; PROTOCOL.md")
    models = doc.setdefault("models", {})
    for file in a.models or [e.file for e in EQUIVALENTS]:
        if file in models and not a.force:
            print(f"{file}: already counted ({models[file]['per_invoke']:,}), skipped", flush=True)
            continue
        entry = count(BY_FILE[file], a.backend, a.cache, a.timeout)
        models[file] = entry
        _write(out, doc)
        print(f"{file}: {entry['per_invoke']:,} instructions per invoke on {a.backend}, counted in "
              f"{entry['count_seconds']:.0f} s (built in {entry['build_seconds']} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
