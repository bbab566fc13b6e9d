"""The input contract: how the iOS app turns a camera frame into model input, and how it reads the output.

ARCHITECTURE.md: centre-crop to a square, resize to the model's input size with a bilinear filter, drop alpha,
then, by the input tensor's type:

- ``float32``: bytes / 255, in [0, 1];
- ``uint8``: the raw RGB bytes (scale 1/255, zero point 0);
- ``int8``: bytes - 128 (scale 1/255, zero point -128).

Training, calibration and every accuracy measurement read images through :func:`to_model_pixels`, and a
measurement fills an input tensor through :func:`feed`, so all stages feed a model exactly the same numbers. The one output is probabilities over ``labels.txt``, as ``float32``,
``uint8`` or ``int8``; a quantized one is read with its own scale and zero point (``liteship.runtime.dequantize``).
bench's ``contract`` check fails a variant whose tensors break this.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from liteship.errors import LiteshipError


@dataclass(frozen=True)
class InputContract:
    """What the app feeds the model; written into every card and manifest."""

    size: int
    crop: str = "center-square"
    resize: str = "bilinear (PIL, antialiased)"
    channels: str = "RGB"
    float_input: str = "float32 = uint8 / 255.0, range [0, 1]"
    uint8_input: str = "raw RGB bytes 0..255, scale 1/255, zero point 0"
    int8_input: str = "RGB bytes - 128, -128..127, scale 1/255, zero point -128"
    output: str = ("probabilities over labels.txt, in its line order: float32, or uint8 / int8 read as "
                   "scale * (value - zero point) with the tensor's own scale and zero point")

    def to_dict(self) -> dict:
        return asdict(self)


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode (L, LA, P, RGBA, CMYK, I;16, ...) to RGB, alpha dropped.

    EXIF orientation is applied first, so a photo is used the way the phone
    showed it. 16-bit greyscale is scaled down to 8 bits instead of clipped.
    """
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or arr.max() > 255 else 255.0
        arr = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        image = Image.fromarray(arr, mode="L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode != "RGB":
        image = image.convert("RGB")
    return image


def center_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The centre square of a ``width`` x ``height`` image: (left, top, right, bottom) in pixels."""
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def center_square(image: Image.Image) -> Image.Image:
    return image.crop(center_box(*image.size))


def plain_bilinear(pixels: np.ndarray, size: int) -> np.ndarray:
    """``pixels`` (H x W x 3 uint8) resized to ``size`` x ``size`` by bilinear interpolation without
    antialiasing, as OpenCV's INTER_LINEAR and MediaPipe's image-to-tensor step resize: each output pixel's
    centre is mapped to the source (half-pixel centres, edges clamped) and only its 2 x 2 neighbours are
    weighed, so a large downscale samples the photo instead of averaging it (Pillow and vImage average)."""
    src = pixels.astype(np.float64)

    def taps(n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = np.clip((np.arange(size) + 0.5) * (n_in / size) - 0.5, 0, n_in - 1)
        low = np.floor(pos).astype(np.int64)
        return low, np.minimum(low + 1, n_in - 1), pos - low

    y0, y1, fy = taps(src.shape[0])
    x0, x1, fx = taps(src.shape[1])
    rows = src[y0] * (1 - fy)[:, None, None] + src[y1] * fy[:, None, None]
    out = rows[:, x0] * (1 - fx)[None, :, None] + rows[:, x1] * fx[None, :, None]
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)


def to_model_pixels(image: Image.Image, size: int) -> np.ndarray:
    """A PIL image to the ``size`` x ``size`` x 3 uint8 array the app would feed."""
    square = center_square(to_rgb(image))
    if square.size != (size, size):
        square = square.resize((size, size), Image.BILINEAR)
    return np.asarray(square, dtype=np.uint8)


def pixels_to_float(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels to the float input of a float model: bytes / 255."""
    return pixels.astype(np.float32) / np.float32(255.0)


def feed(pixels: np.ndarray, dtype, scale: float = 0.0, zero_point: int = 0) -> np.ndarray:
    """uint8 pixels to what an input tensor of ``dtype`` takes, per the contract.

    float32: bytes / 255. uint8 with scale 1/255 and zero point 0: the raw
    bytes. Any other quantized input: the value bytes / 255, quantized with
    the tensor's own scale and zero point, which for the contract's int8
    (scale 1/255, zero point -128) is bytes - 128.
    """
    dtype = np.dtype(dtype)
    if dtype == np.float32:
        return pixels_to_float(pixels)
    if dtype in (np.uint8, np.int8):
        if dtype == np.uint8 and zero_point == 0 and np.float32(scale) == np.float32(1 / 255):
            return pixels.astype(np.uint8, copy=False)
        info = np.iinfo(dtype)
        q = np.rint(pixels_to_float(pixels) / np.float32(scale)) + zero_point
        return np.clip(q, info.min, info.max).astype(dtype)
    raise ValueError(f"input dtype {dtype} is outside the input contract (float32, uint8, int8)")


# Characters that end a line for some reader of labels.txt (Python's splitlines, Swift, Kotlin, a text editor),
# and NUL, which ends a C string: a class name holding one would shift every label after it.
LINE_BREAKING = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029\0")


def _control(ch: str) -> bool:
    """A C0 control but tab (ESC and the rest), DEL or a C1 control (U+0080 to U+009F: CSI U+009B starts a
    terminal escape like ESC [ does): none is text a label can show."""
    code = ord(ch)
    return (code < 0x20 and ch != "\t") or 0x7F <= code <= 0x9F


def label_problem(name: str) -> str | None:
    """Why a class name cannot be a line of labels.txt, or None."""
    bad = sorted({f"U+{ord(ch):04X}" for ch in name if ch in LINE_BREAKING or _control(ch)})
    if bad:
        return (f"it holds a control or line-break character ({', '.join(bad)}), which a reader of "
                "labels.txt would split it at, or a screen would not show as text")
    if name != name.strip():
        return "it starts or ends with white space, which readers of labels.txt strip"
    return None


def labels_text(names: list[str]) -> str:
    """labels.txt: one class name a line, in output order."""
    return "".join(f"{n}\n" for n in names)


def read_labels(text: str) -> list[str]:
    """labels.txt read the way the app reads it: Classifier.swift's ``split(separator: "\\n")``, empties dropped,
    white space kept. The one reader of a labels file in liteship (a run's, ``bench --labels``, the metadata's)."""
    return [line for line in text.split("\n") if line]


def read_labels_file(path: Path, what: str = "Labels file") -> list[str]:
    """A labels file on disk, read by :func:`read_labels`; one that is not UTF-8 text (an image passed by mistake)
    is a LiteshipError naming ``what`` (the flag, or "Labels file") and the path."""
    try:
        return read_labels(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise LiteshipError(f"{what} {path}", "it is not UTF-8 text (a labels.txt has one class name a line)",
                            "pass the labels.txt written beside the model, or save the file as UTF-8") from None
