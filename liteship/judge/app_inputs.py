"""The release fed as apps feed it, on the test split's own photos (not liteship's crops of them).

Two checks, both at pick time:

- MediaPipe Tasks: its ``ImageClassifier`` is given each photo whole, with the contract's centre square as the
  region of interest, as MODEL.md's Swift passes it (``classify(image:regionOfInterest:)``); the photo given
  without a region (MediaPipe then stretches the whole photo to the input size) is classified too and reported
  beside it, as the number an app that forgets the region gets.
- Resize kernels: the same centre squares resized by antialiased bilinear (Pillow, which is the contract, and
  Apple's vImage) and by plain bilinear (MediaPipe's and OpenCV's INTER_LINEAR), both scored in LiteRT; where
  the paired 95 % interval of the difference excludes 0, a warning says the app's resize changes the top-1.

The built-in ``digits`` have no photo files: their photos are the 8x8 source images, square, so the region of
interest is the whole image and the stretched path is the same path; MediaPipe (and the plain kernel) then
upscale them, where antialiasing changes nothing.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from liteship.contract import center_box, plain_bilinear, to_model_pixels, to_rgb
from liteship.errors import LiteshipError
from liteship.number_formats import pt, pt_interval
from liteship.stats import paired, wilson

KERNELS = {"antialiased": "antialiased bilinear (Pillow, as the contract; Apple's vImage)",
           "plain": "plain bilinear, no antialiasing (MediaPipe, OpenCV's INTER_LINEAR)"}
BATCH = 32  # photos sent to MediaPipe at a time: full-size photos are never all in memory,
BATCH_BYTES = 64 * 1024**2  # and a batch of 12-megapixel photos stops at about 64 MB
DIGITS_FED = ("the built-in digits have no photo files: their 8x8 source images, square, so the region of interest "
              "is the whole image and the stretched path is the same")


def roi_of(width: int, height: int) -> list[float]:
    """The contract's centre square as a normalized region of interest: [left, top, right, bottom]."""
    left, top, right, bottom = center_box(width, height)
    return [left / width, top / height, right / width, bottom / height]


NO_SKLEARN = ("the built-in digits need scikit-learn, which is not installed here (it is in the train extra: "
              "pip install 'liteship[train]'), so the app's paths were not checked")


def _sklearn_missing() -> bool:
    try:
        import sklearn.datasets  # noqa: F401
    except ImportError:
        return True
    return False


def _digits_photos(items: list[str]) -> Iterator[np.ndarray]:
    if _sklearn_missing():  # guarded as dataset.load_digits is; photos_gone says so before any work
        raise LiteshipError("The built-in 'digits' data set needs scikit-learn, which is not installed",
                            "scikit-learn ships the digits inside its package (no download)",
                            "pip install 'liteship[train]' or pip install scikit-learn")
    from sklearn.datasets import load_digits

    grey = np.clip(np.rint(load_digits().images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    for item in items:
        yield np.repeat(grey[int(item.split("/", 1)[1])][:, :, None], 3, axis=2)


def _file_photos(root: Path, items: list[str]) -> Iterator[np.ndarray]:
    from liteship.dataset import PIL_FORMATS, not_a_regular_file

    for item in items:
        path = root / item
        why = not_a_regular_file(path)
        if why is not None:
            raise LiteshipError(f"Test image {path} cannot be read again: {why}", "pick feeds each test photo to "
                                "the app's paths", "restore the data the run was trained on")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(path.read_bytes()), formats=PIL_FORMATS) as img:
                img.load()
                yield np.asarray(to_rgb(img), dtype=np.uint8)


def photos_gone(run_dir: Path, model: str | None) -> str | None:
    """Why the test photos cannot be fed again, when the run was moved or copied without the data folder it was
    made from, or its data are the built-in digits and scikit-learn is not installed (gate and pick judge a run from
    its own files; this check alone needs the photos); else None."""
    from liteship.rundir import EXTRACTED, has_split, read_split

    if not has_split(run_dir, model) or (Path(run_dir) / EXTRACTED).is_dir():
        return None
    source = read_split(run_dir, model).source
    if source == "digits":
        return NO_SKLEARN if _sklearn_missing() else None
    if Path(source).is_dir():
        return None
    return (f"the test photos are not at {source} (the run was moved or copied without its data), so the app's "
            "paths were not checked; run pick where the data is to check them")


def split_photos(run_dir: Path, model: str | None, split: str = "test") -> tuple[Iterator[np.ndarray], str]:
    """The split's photos in its order, as RGB arrays with EXIF orientation applied (Pillow decodes what MediaPipe's
    own file reader cannot, CMYK JPEGs among them), and what they are."""
    from liteship.archive import data_root
    from liteship.rundir import EXTRACTED, read_split

    record = read_split(run_dir, model)
    items = list(record.splits.get(split, ()))
    if record.source == "digits":
        return _digits_photos(items), DIGITS_FED
    extracted = Path(run_dir) / EXTRACTED
    root = data_root(extracted) if extracted.is_dir() else Path(record.source)
    return _file_photos(root, items), "the test split's photo files, whole, EXIF orientation applied"


def _change(a_right: np.ndarray, b_right: np.ndarray) -> dict:
    p = paired(a_right, b_right)
    return {"value": p.value, "interval": [p.low, p.high], "beyond_interval": bool(p.low > 0 or p.high < 0)}


def _batches(photos: Iterator[np.ndarray], x: np.ndarray, size: int) -> Iterator[tuple[list, np.ndarray]]:
    """Batches of (photos, their centre squares resized by the plain kernel); each photo must still give the
    contract's pixels the run scored, else the data changed since it was read."""
    changed = LiteshipError("The test photos changed while pick read them", "each photo must give the pixels its "
                            "top-1 was scored on", "restore the data and pick again")
    batch: list[np.ndarray] = []
    plain: list[np.ndarray] = []
    count = 0
    for count, photo in enumerate(photos, 1):
        if count > len(x) or not np.array_equal(to_model_pixels(Image.fromarray(photo), size), x[count - 1]):
            raise changed
        left, top, right, bottom = center_box(photo.shape[1], photo.shape[0])
        batch.append(photo)
        plain.append(plain_bilinear(photo[top:bottom, left:right], size))
        if len(batch) == BATCH or sum(p.nbytes for p in batch) >= BATCH_BYTES:
            yield batch, np.stack(plain)
            batch, plain = [], []
    if count != len(x):
        raise changed
    if batch:
        yield batch, np.stack(plain)


def _kernels(right: np.ndarray, plain_right: np.ndarray) -> dict:
    change = _change(plain_right, right)
    out = {"images": int(len(right)), "antialiased": {"resize": KERNELS["antialiased"], "top1": _rate(right)},
           "plain": {"resize": KERNELS["plain"], "top1": _rate(plain_right)}, "change": change, "warning": None}
    if change["beyond_interval"]:
        low, high = change["interval"]
        out["warning"] = (f"the resize kernel changes the top-1: {_rate(plain_right):.4f} with "
                          f"{KERNELS['plain']} against {_rate(right):.4f} with {KERNELS['antialiased']} "
                          f"({pt(change['value'])}, 95 % paired interval {pt_interval(low, high)} pt, "
                          f"on {len(right)} test images): resize as the contract does "
                          "(Pillow's or vImage's antialiased bilinear) in the app")
    return out


def _rate(right: np.ndarray) -> float:
    return round(float(np.mean(right)), 6) if len(right) else 0.0


def app_inputs(run_dir: Path, model_path: Path, size: int, model: str | None,
               worker=None) -> tuple[dict, dict | None]:
    """(kernels, mediapipe): the top-1 under each resize kernel, and, with a MediaPipe ``worker``, the classes
    MediaPipe's ImageClassifier gives each photo with the centre square as region of interest and without."""
    from liteship import task_api
    from liteship.dataset import load_run_split
    from liteship.runtime import InterpreterSession

    x, y = load_run_split(run_dir, size, model)["test"]
    session = InterpreterSession(str(model_path))
    reference = session.predict(x)
    photos, fed = split_photos(Path(run_dir), model)
    plain_scores, roi_scores, whole_scores, errors, non_square = [], [], [], [], 0
    for batch, plain in _batches(photos, x, size):
        plain_scores.append(session.predict(plain))
        non_square += sum(p.shape[0] != p.shape[1] for p in batch)
        if worker is None or errors:
            continue
        for rois, into in (([roi_of(p.shape[1], p.shape[0]) for p in batch], roi_scores), (None, whole_scores)):
            answer, scores = task_api.classify(worker, model_path, batch, rois)
            if scores is None:
                errors.append(answer.get("error") or "no answer")
                break
            into.append(scores)
    right = np.argmax(reference, 1) == y
    kernels = _kernels(right, np.argmax(np.concatenate(plain_scores), 1) == y) if plain_scores else None
    if worker is None:
        return kernels, None
    found = {"fed": fed, "images": int(len(y)), "non_square": int(non_square), "loaded": not errors,
             "error": errors[0] if errors else None, "contract_top1": _rate(right)}
    if not errors:
        found.update(_mediapipe_numbers(np.concatenate(roi_scores), np.concatenate(whole_scores), reference, y))
    return kernels, found


def _mediapipe_numbers(roi: np.ndarray, whole: np.ndarray, reference: np.ndarray, y: np.ndarray) -> dict:
    """MediaPipe's top-1 with the centre square as region of interest (what the app gets), against liteship's
    contract path, and the stretched whole photo's beside it."""
    right = np.argmax(reference, 1) == y
    out = {}
    for name, scores in (("roi", roi), ("stretched", whole)):
        hit = np.argmax(scores, 1) == y
        out[name] = {"top1": _rate(hit), "top1_ci": list(wilson(int(hit.sum()), len(hit))),
                     "agreement": round(float(np.mean(np.argmax(scores, 1) == np.argmax(reference, 1))), 6),
                     "max_score_diff": round(float(np.max(np.abs(scores - reference))), 6),
                     "change_vs_contract": _change(hit, right)}
    roi_numbers = out.pop("roi")
    return {**roi_numbers, "region": "centre square", "stretched": {**out["stretched"], "region": "whole photo"}}
