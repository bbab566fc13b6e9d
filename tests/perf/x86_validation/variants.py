"""The variants the x86 fit is checked on: architectures and recipes as liteship makes them, random weights, seeded.

Nothing is downloaded: every model is built with ``weights=None`` (liteship's own architectures with ``"none"``)
after ``keras.utils.set_random_seed(0)``, and converted by liteship's recipes (``float32``, ``dynamic``, ``int8``
calibrated on 8 seeded random images). XNNPACK's dense kernels do the same work whatever the weights.

Each ``.tflite`` is kept in a cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``, then ``liteship-tests/x86-validation``)
under a key of everything that decides its bytes (this file, liteship's conversion code, TensorFlow's and tf-keras's
versions), and made again when it is missing. Only models are kept there: counts and times are always measured
in the run that uses them, on the machine that runs it.

Each variant takes at least about 0.1 ms on a current x86 core, so the peer tool's medians (written to 0.01 ms)
are not mostly rounding, and its size keeps a valgrind count of three invokes to seconds.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CALIBRATION_IMAGES = 8
CLASSES = 10


@dataclass(frozen=True)
class Spec:
    """One architecture at one input size and width, converted by each of ``recipes``."""

    arch: str  # liteship's small_cnn or mobilenet_v2, or Keras' MobileNetV3Small, MobileNetV3Large, EfficientNetB0
    size: int
    alpha: float | None
    recipes: tuple[str, ...]

    def name(self, recipe: str) -> str:
        width = "" if self.alpha is None else f"_{self.alpha:g}"
        return f"{self.arch}{width}@{self.size}_{recipe}"


# The quick profile (CI): eight smaller variants (0.1 to 0.8 ms), about two minutes to count and time.
QUICK = (
    Spec("small_cnn", 64, None, ("float32", "int8")),
    Spec("mobilenet_v2", 96, 0.35, ("float32", "int8", "dynamic")),
    Spec("MobileNetV3Small", 96, 1.0, ("float32", "int8")),
    Spec("EfficientNetB0", 64, None, ("float32",)),
)
# The full profile: thirteen variants of five architectures, 0.25 to 1.3 ms each on a current x86 core.
FULL = (
    Spec("small_cnn", 96, None, ("float32", "int8", "dynamic")),
    Spec("mobilenet_v2", 160, 0.35, ("float32", "int8", "dynamic")),
    Spec("mobilenet_v2", 128, 1.0, ("float32", "int8")),
    Spec("MobileNetV3Small", 128, 1.0, ("float32", "int8")),
    Spec("MobileNetV3Large", 128, 0.75, ("float32",)),
    Spec("EfficientNetB0", 96, None, ("float32", "int8")),
)


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "liteship-tests" / "x86-validation"


def cache_key() -> str:
    """What decides a model's bytes: this file, liteship's conversion code, TensorFlow's and tf-keras's versions."""
    from importlib.metadata import version

    import liteship.optimize.convert as convert

    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(Path(convert.__file__).read_bytes())
    h.update(f"tensorflow {version('tensorflow')} tf-keras {version('tf-keras')}".encode())
    return h.hexdigest()[:16]


def _keras_model(spec: Spec):
    import tf_keras as keras

    from liteship.trainer.models import get_arch

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    if spec.arch in ("small_cnn", "mobilenet_v2"):
        return get_arch(spec.arch).build(CLASSES, spec.size, spec.alpha, "none")
    build = getattr(keras.applications, spec.arch)
    kwargs = {} if spec.alpha is None else {"alpha": spec.alpha}
    return build(input_shape=(spec.size, spec.size, 3), weights=None, classes=CLASSES, **kwargs)


def _convert(model, size: int, recipe: str) -> bytes:
    """The variant's bytes, made by liteship's recipe of that name (int8: uint8 input and output, the contract)."""
    from liteship.optimize.convert import Int8Config, NoConfig
    from liteship.optimize.registry import RecipeData, get_recipe

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (CALIBRATION_IMAGES, size, size, 3), dtype=np.uint8)
    labels = np.arange(CALIBRATION_IMAGES) % CLASSES
    data = RecipeData(pixels, labels, pixels, labels, seed=0)
    config = Int8Config(calibration_images=CALIBRATION_IMAGES) if recipe == "int8" else NoConfig()
    return get_recipe(recipe).run(model, data, config).tflite


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".tflite")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def models(specs: tuple[Spec, ...], root: Path | None = None) -> dict[str, Path]:
    """{variant name: its .tflite}, every one made now unless the cache folder already holds it."""
    folder = (root or cache_root()) / cache_key()
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for spec in specs:
        paths = {r: folder / f"{spec.name(r)}.tflite" for r in spec.recipes}
        missing = [r for r, p in paths.items() if not p.is_file()]
        if missing:
            model = _keras_model(spec)
            for recipe in missing:
                _write_atomically(paths[recipe], _convert(model, spec.size, recipe))
        out.update({spec.name(r): p for r, p in paths.items()})
    return out
