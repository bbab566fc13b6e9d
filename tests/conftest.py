"""Shared fixtures: small image folders made from the bundled digits, never downloaded."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CLASSES = ("zero", "one", "two")
PER_CLASS = 24


def digit_images(per_class: int = PER_CLASS, classes=(0, 1, 2), size: int = 24) -> dict[int, list[Image.Image]]:
    """Real handwritten digits from scikit-learn, as RGB PIL images."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    out = {}
    for c in classes:
        idx = np.flatnonzero(bunch.target == c)[:per_class]
        grey = np.clip(np.rint(bunch.images[idx] * (255.0 / 16.0)), 0, 255).astype(np.uint8)
        out[c] = [Image.fromarray(g, mode="L").resize((size, size), Image.NEAREST).convert("RGB") for g in grey]
    return out


def write_class_folder(root: Path, per_class: int = PER_CLASS) -> Path:
    """DATA/<class>/<n>.png|jpg: alternate PNG and JPEG, like a phone export."""
    for c, images in digit_images(per_class).items():
        folder = root / CLASSES[c]
        folder.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(images):
            if i % 2:
                img.save(folder / f"img_{i:03d}.jpg", quality=95)
            else:
                img.save(folder / f"img_{i:03d}.png")
    return root


# Bad files planted in a class folder: name -> the reason substring expected in the skip list.
def model_and_digit_photos(optimized_run, where: Path, variant: str = "float32", classes=("3", "7"),
                           per_class: int = 10, shape: tuple[int, int] | None = None) -> tuple[Path, Path]:
    """``variant`` of the digits run copied to ``where/m.tflite`` with its ``labels.txt`` (0-9), and
    ``where/data``: ``per_class`` of the digits of each of ``classes`` as PNG photos, resized to ``shape`` (w, h)."""
    from liteship.dataset import load_digits

    out, variants = optimized_run
    model = where / "m.tflite"
    model.write_bytes((out / variants[variant]["file"]).read_bytes())
    (where / "labels.txt").write_text("\n".join(str(i) for i in range(10)) + "\n")
    ds = load_digits(32)
    data = where / "data"
    for c in classes:
        (data / c).mkdir(parents=True)
        for i in np.flatnonzero(ds.labels == int(c))[:per_class]:
            image = Image.fromarray(ds.pixels[i])
            (image.resize(shape) if shape else image).save(data / c / f"{i}.png")
    return model, data


def plant_bad_files(folder: Path) -> dict[str, str]:
    good = folder / "img_000.png"
    png_bytes = good.read_bytes()
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.jpg").write_text("this is not an image\n")
    (folder / "truncated.png").write_bytes(png_bytes[: len(png_bytes) // 2])
    (folder / "notes.txt").write_text("labelled by hand\n")
    (folder / ".DS_Store").write_bytes(b"\0\1\2")  # hidden: ignored, not counted
    loop = folder / "loop.png"
    os.symlink(loop.name, loop)  # points at itself
    return {
        "empty.jpg": "empty file",
        "text.jpg": "not a readable image",
        "truncated.png": "truncated",
        "notes.txt": "not an image file type",
        "loop.png": "symbolic links",
    }


def plant_odd_but_usable(folder: Path) -> list[str]:
    """Images in unusual modes that must be converted, not skipped."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    Image.fromarray(rgb).convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray((rng.integers(0, 65536, (20, 20))).astype(np.uint16)).save(folder / "sixteen.png")
    pal = Image.fromarray(rgb).convert("P")
    pal.info["transparency"] = 0
    pal.save(folder / "palette.png", transparency=0)
    Image.fromarray(rgb).convert("LA").save(folder / "grey_alpha.png")
    Image.fromarray(rgb).convert("RGBA").save(folder / "rgba.webp")
    frames = [Image.fromarray(rgb), Image.fromarray(255 - rgb)]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    Image.fromarray(rgb[:1, :1]).save(folder / "one_pixel.bmp")
    Image.fromarray(rgb).save(folder / "ünïcode name é.png")
    return ["cmyk.jpg", "sixteen.png", "palette.png", "grey_alpha.png", "rgba.webp", "animated.gif",
            "one_pixel.bmp", "ünïcode name é.png"]


@pytest.fixture(scope="session")
def class_folder(tmp_path_factory) -> Path:
    """Three digit classes, 24 images each, no bad files."""
    return write_class_folder(tmp_path_factory.mktemp("data") / "digits3")


@pytest.fixture(scope="session")
def tf_available() -> bool:
    try:
        import tensorflow  # noqa: F401
        import tf_keras  # noqa: F401
    except ImportError:
        pytest.skip("needs the train extra (tensorflow, tf-keras)")
    return True


@pytest.fixture(scope="session")
def digits_run(tf_available, tmp_path_factory):
    """small_cnn at 32 px trained on the bundled digits with the default settings (about 20 s)."""
    from liteship.trainer import TrainConfig, train
    from liteship.progress import Progress

    out = tmp_path_factory.mktemp("digits_run")
    return out, train("digits", TrainConfig(arch="small_cnn", size=32, seed=0), out, Progress(quiet=True),
                     deterministic=True)


@pytest.fixture(scope="session")
def optimized_run(digits_run):
    """The digits run with its float32, float16, dynamic and int8 variants (a few seconds)."""
    from liteship.optimize import optimize_run
    from liteship.progress import Progress

    out, result = digits_run
    records = optimize_run(out, "float32,float16,dynamic,int8", None, Progress(quiet=True), deterministic=True)
    return out, {r["recipe"]: r for r in records}


CONFIG = """
[train]
epochs = 3
seed = 0
[[models]]
arch = "small_cnn"
size = 16
[optimize]
recipes = ["float32", "int8", "prune_int8"]
[optimize.prune_int8]
epochs = 2
recovery_epochs = 1
[bench]
backends = ["xnnpack", "gpu"]
threads = [1]
runs = 10
instructions = false
arm64 = false
"""


@pytest.fixture(scope="session")
def swept(tf_available, tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    cfg = root / "sweep.toml"
    cfg.write_text(CONFIG)
    out = root / "run"
    from liteship.workflow.sweep_config import load_sweep_config
    from liteship.progress import Progress

    records = run_sweep("digits", out, load_sweep_config(cfg), Progress(quiet=True))
    return out, cfg, records


def run_sweep(data, out, config, progress=None, executor=None, costs=None):
    """The sweep's driver as execute runs it, inside a session holding ``out`` (its lock; the frameworks' logs left
    on the terminal), with a test's own config object, executor and costs."""
    from liteship.workflow.requests import SweepRequest
    from liteship.workflow.session import open_session
    from liteship.workflow.sweep import sweep

    with open_session(SweepRequest(data=str(data), out=str(out), verbose=True)) as session:
        return sweep(data, out, config, progress, executor, costs, session=session)


@pytest.fixture(scope="session")
def all_recipes(digits_run):
    """Every recipe's variant of the digits small_cnn: {recipe: its record}, all made (about 30 s)."""
    from liteship.optimize import optimize_run
    from liteship.progress import Progress

    out, _ = digits_run
    records = optimize_run(out, "all", None, Progress(quiet=True), deterministic=True)
    assert all(r["status"] == "ok" for r in records), [r.get("error") for r in records]
    return out, {r["recipe"]: r for r in records}


def full_int8_tflite(model, size: int, io_type) -> bytes:
    """``model`` converted by TensorFlow's converter to full integer (int8 kernels, ``io_type`` input and output),
    calibrated on 8 random images of ``size`` x ``size``: a test's own model, made without liteship's recipes."""
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    rng = np.random.default_rng(0)
    conv.representative_dataset = lambda: ([rng.random((1, size, size, 3), dtype=np.float32)] for _ in range(8))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = io_type
    return conv.convert()
