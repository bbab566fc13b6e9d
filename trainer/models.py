"""Model architectures, registered by name with :func:`register`.

Every model takes RGB in [0, 1] (the input contract) and outputs softmax
probabilities; any normalisation a backbone needs is a layer inside the
graph. Models are built with ``tf_keras`` (Keras 2), which tfmot requires.
TensorFlow is imported inside the builders only, so listing the registry
costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from liteship.config import Problem, Problems
from liteship.errors import LiteshipError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"  # at byte 0, or 512, 1024, 2048 ... after a user block
ZIP_SIGNATURE = b"PK\x03\x04"


def weights_file_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be a weights file Keras loads, found from its first bytes, or None.

    Keras (tf_keras ``load_weights``) reads a ``.keras`` file as a zip and any other file as HDF5 (``.h5``);
    anything else fails only once the model is built, after the images were read. Links are resolved; a FIFO,
    a device or a file in /proc, /sys or /dev is never opened (:func:`liteship.files.open_regular`).
    """
    try:
        head = _head(path)
    except LiteshipError as exc:
        return exc.why
    if str(path).endswith(".keras"):
        return None if head.startswith(ZIP_SIGNATURE) else "a .keras file is a zip archive, and this one is not"
    if any(head[at:at + 8] == HDF5_SIGNATURE for at in (0, 512, 1024, 2048)):
        return None
    return "it is not an HDF5 file (its first bytes are not HDF5's signature), so Keras cannot load weights from it"


def _head(path: str | Path) -> bytes:
    from liteship.files import open_regular

    with open_regular(path, "Weights file") as fh:
        return fh.read(2056)


MOBILENET_V2_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
MOBILENET_V2_IMAGENET_SIZES = (96, 128, 160, 192, 224)


@dataclass(frozen=True)
class ArchCosts:
    """What one model of an architecture costs, measured on the reference machine (a 2-core AMD EPYC; how:
    :mod:`liteship.workflow.resources`). The sweep's estimate reads them; an architecture that declares none is
    estimated as unknown, never as another's."""

    activations: tuple[float, float]  # activation values per input pixel of one forward pass: a + b * alpha
    params: tuple[float, float]  # weights: a + b * alpha²
    train_seconds: float  # training, per training image per epoch per 1,000 pixels
    convert_seconds: float  # one conversion and its checks (metadata, contract); grows with the graph's layers
    x86_count: tuple[float, float]  # one valgrind count of three invokes: a + b * size² seconds
    arm_work: float  # an ARM count's int8 kernels on the 100-image subset, seconds per px² (after QEMU's start)
    arm_float: float  # float kernels under QEMU (floating point emulated in software), times the int8 ones


@dataclass(frozen=True)
class ArchSpec:
    """How to build one architecture and which inputs it accepts."""

    name: str
    build: Callable
    summary: str
    default_size: int
    min_size: int
    max_size: int | None
    alphas: tuple[float, ...] = ()
    transfer: bool = False  # has a pretrained base to freeze, then fine-tune
    costs: ArchCosts | None = None  # for the sweep's estimate; None: the estimate says it knows nothing of it

    def problems(self, size: int, alpha: float | None, weights: str, names: dict) -> list[Problem]:
        """What is wrong with these inputs for this architecture; ``names``: where each setting was given."""
        out = []
        hi = self.max_size if self.max_size is not None else MAX_SIZE
        if not self.min_size <= size <= hi:
            out.append(Problem(*names["size"], str(size), f"{self.name} takes square inputs from {self.min_size} "
                               f"to {hi} px", f"give a size between {self.min_size} and {hi} "
                               f"(default {self.default_size})"))
        if self.alphas and alpha is not None and alpha not in self.alphas:
            out.append(Problem(*names["alpha"], f"{alpha:g}", f"Keras' {self.name} has width multipliers "
                               + ", ".join(map(str, self.alphas)), "pick one of those"))
        elif not self.alphas and alpha is not None and not ALPHA_LIMITS[0] <= alpha <= ALPHA_LIMITS[1]:
            out.append(Problem(*names["alpha"], f"{alpha:g}", "the width multiplier must be from "
                               f"{ALPHA_LIMITS[0]:g} to {ALPHA_LIMITS[1]:g}",
                               "leave it out (1.0) or pick a value in that range"))
        if self.transfer and weights == "imagenet" and size not in MOBILENET_V2_IMAGENET_SIZES:
            out.append(Problem(*names["size"], str(size), f"{self.name} has ImageNet weights only for "
                               + ", ".join(map(str, MOBILENET_V2_IMAGENET_SIZES)) + " px",
                               "pick one of those sizes, or use weights none or a weights file"))
        return out

    def check(self, size: int, alpha: float | None, weights: str) -> None:
        """Raise every problem at once (the CLI's flags name them)."""
        found = self.problems(size, alpha, weights, FLAG_NAMES)
        if found:
            raise Problems(found)


FLAG_NAMES = {"size": ("--size", None), "alpha": ("--alpha", None), "weights": ("--weights", None),
              "epochs": ("--epochs", None), "fine_tune_epochs": ("--fine-tune-epochs", None),
              "batch_size": ("--batch-size", None), "seed": ("--seed", None), "arch": ("--arch", None)}
MAX_SIZE = 1024  # px: past this, one image's activations alone outgrow a phone (and this machine's memory)
SIZE_LIMITS = (1, MAX_SIZE)  # any architecture's input size; each takes its own part of it (min_size, max_size)
ALPHA_LIMITS = (0.1, 4.0)  # any width multiplier; an architecture with a fixed list (alphas) takes only those


_REGISTRY: dict[str, ArchSpec] = {}


def register(name: str, *, summary: str, default_size: int, min_size: int, max_size: int | None = None,
             alphas: tuple[float, ...] = (), transfer: bool = False, costs: ArchCosts | None = None):
    """Decorator: add a builder ``f(num_classes, size, alpha, weights) -> tf_keras.Model``."""

    def deco(fn):
        if name in _REGISTRY:
            raise ValueError(f"architecture {name!r} is registered twice")
        _REGISTRY[name] = ArchSpec(name, fn, summary, default_size, min_size, max_size, alphas, transfer, costs)
        return fn

    return deco


def get_arch(name: str) -> ArchSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise LiteshipError(
            f"Unknown architecture {name!r}",
            "valid architectures are: " + ", ".join(sorted(_REGISTRY)),
            "pass one of them with --arch (liteship train --list describes them)",
        ) from None


def list_archs() -> list[ArchSpec]:
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


# Measured: activations 183 per pixel at width 1; training 26 s at 32 px for 20 epochs; a conversion 1.4 to 2.4 s
# with its job's start; valgrind 6.3 s at 16 px, 7 s at 32 px; QEMU's int8 kernels 0.3 s at 16 px, 1.1 s at 32 px.
@register("small_cnn", summary="three conv-BN-ReLU blocks and a softmax head; for tiny inputs, fast on CPU",
          default_size=32, min_size=8,
          costs=ArchCosts(activations=(0.0, 183.0), params=(0.0, 95_000.0), train_seconds=0.95e-3, convert_seconds=0.6,
                          x86_count=(5.8, 1.2e-3), arm_work=1.1e-3, arm_float=9.0))
def small_cnn(num_classes: int, size: int, alpha: float | None = None, weights: str = "none"):
    import tf_keras as keras

    width = 1.0 if alpha is None else alpha
    filters = [max(4, int(round(f * width))) for f in (32, 64, 128)]
    inputs = keras.Input((size, size, 3), name="image")
    x = inputs
    for i, f in enumerate(filters):
        x = keras.layers.Conv2D(f, 3, padding="same", use_bias=False, name=f"conv{i + 1}")(x)
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"bn{i + 1}")(x)
        x = keras.layers.ReLU(name=f"relu{i + 1}")(x)
        if i < len(filters) - 1:
            x = keras.layers.MaxPooling2D(2, name=f"pool{i + 1}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dropout(0.1, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="small_cnn")


# Measured: activations 194 per pixel at alpha 0.35, 440 at 1.0, 629 at 1.4; training at 0.35 and 64 px 135 s for 20
# epochs; a conversion 8.7 to 11.6 s; valgrind 5.4 to 9.3 s at 64 px; QEMU's int8 kernels 1.7 s at 64 px.
@register("mobilenet_v2", summary="MobileNetV2 transfer learning: frozen base + new head, then fine-tuning",
          default_size=96, min_size=32, alphas=MOBILENET_V2_ALPHAS, transfer=True,
          costs=ArchCosts(activations=(50.0, 415.0), params=(1.5e5, 2.25e6), train_seconds=1.25e-3, convert_seconds=8.5,
                          x86_count=(3.2, 1.1e-3), arm_work=4.2e-4, arm_float=5.0))
def mobilenet_v2(num_classes: int, size: int, alpha: float | None = 0.35, weights: str = "imagenet"):
    """A flat functional graph: the base's layers sit directly in the model.

    ``weights`` is ``imagenet`` (Keras downloads its own file), ``none``, or a
    path to a no-top MobileNetV2 weights file; imagenet and a path go through
    the same Keras loading code.
    """
    import tf_keras as keras

    alpha = 0.35 if alpha is None else alpha
    if weights not in ("imagenet", "none"):
        why = weights_file_problem(weights)
        if why is not None:
            raise LiteshipError(f"Weights file {weights} cannot be used", why + "; --weights takes imagenet, none, "
                                "or the path of a MobileNetV2 no-top weights file (.h5)", "check the path")
    inputs = keras.Input((size, size, 3), name="image")
    # The contract gives [0, 1]; MobileNetV2 wants [-1, 1]: scale inside the graph.
    x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_minus1_1")(inputs)
    try:
        base = keras.applications.MobileNetV2(
            # input_shape as well as input_tensor: without it Keras takes 224 px for the weights file it fetches.
            input_shape=(size, size, 3),
            input_tensor=x,
            include_top=False,
            weights=None if weights == "none" else str(weights),
            alpha=alpha,
        )
    except ValueError as exc:
        raise LiteshipError(
            f"Cannot load MobileNetV2 weights {weights!r}: {exc}",
            "the file must hold weights of a no-top MobileNetV2 with the same alpha",
            f"make it with MobileNetV2(include_top=False, alpha={alpha}).save_weights(PATH), or use --weights none",
        ) from exc
    except Exception as exc:  # Keras raises a bare Exception("URL fetch failure ...") without network
        if weights != "imagenet" or "fetch failure" not in str(exc).lower():
            raise
        raise _no_download(alpha, size, exc) from exc
    if weights == "none":
        # Keras' MobileNetV2 keeps BatchNorm statistics with momentum 0.999, made for
        # ImageNet-length training; from scratch on a small set they would still be
        # near their initial values after training, and inference would be chance.
        for layer in base.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = 0.9
    y = keras.layers.GlobalAveragePooling2D(name="gap")(base.output)
    y = keras.layers.Dropout(0.2, name="dropout")(y)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="probs")(y)
    return keras.Model(inputs, outputs, name=f"mobilenet_v2_{alpha:g}_{size}")


def imagenet_weights_file(alpha: float, size: int) -> str:
    """The file Keras fetches for a no-top MobileNetV2 of this alpha and size."""
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{size}_no_top.h5"


def _no_download(alpha: float, size: int, exc: Exception) -> LiteshipError:
    name = imagenet_weights_file(alpha, size)
    return LiteshipError(
        f"Could not download the ImageNet weights for MobileNetV2 {alpha:g} at {size} px ({name}): "
        f"{str(exc).splitlines()[0][:300]}",
        "--weights imagenet downloads Keras' weights file, and this machine could not reach it",
        f"pass --weights none to train from scratch, or --weights PATH with that file (Keras keeps it as "
        f"~/.keras/models/{name} once downloaded on a machine with internet)",
    )


WRAPPER_LAYERS = ("image", "to_minus1_1", "gap", "dropout", "probs")


def backbone_layers(model) -> list:
    """The pretrained base's layers of a transfer model, in graph order."""
    return [layer for layer in model.layers if layer.name not in WRAPPER_LAYERS]
