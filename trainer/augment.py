"""Training-time augmentation: seeded, stateless, in the tf.data pipeline; nothing else ever augments.

What runs, in this order, on the contract's pixels as floats in [0, 1] (the names ``[train] augment``,
``--augment`` and ``TrainConfig.augment`` take):

- ``crop``: a random resized crop, as MediaPipe Model Maker's ``image_preprocessing`` makes it (its
  distorted-bounding-box crop: ``sample_distorted_bounding_box`` over the whole image, area 0.08-1.0 of the
  image, width / height 3/4-4/3, 10 attempts, else the whole image), resized back to the input size
  (bilinear). Two differences, both so that the configured ranges are the real ones: the crop must cover at
  least the range's smallest area (MediaPipe asks for 10 % of the image, so its real floor is 0.1, not 0.08),
  and a box whose aspect ratio leaves the range once rounded to whole pixels (about 1 draw in 70 at 32 px, 1 in
  500 at 224 px, measured) counts as a failed attempt: the image is used whole.
- ``flip``: a random horizontal flip (half the images, mirrored exactly).
- ``rotate`` (off by default): a rotation by up to ``rotation_degrees`` either way, bilinear, the corners
  filled by reflection (Keras' ``RandomRotation``).
- ``brightness``, ``contrast`` (off by default): a shift of up to ``brightness`` (of the [0, 1] range), a
  contrast factor from 1 - ``contrast`` to 1 + ``contrast`` about each image's per-channel mean; then
  clipped to [0, 1].

Defaults (``augment`` unset): photos get ``crop`` and ``flip``, MediaPipe Model Maker's
``do_data_augmentation``. The built-in ``digits`` get none (:data:`DIGITS`). A mirrored 2 is not a 2, so never a
flip; MediaPipe's crop (down to 8 % of the image) cuts most of a digit away and cost small_cnn 3 to 6 pt of test
top-1 (seeds 0-2: 0.922, 0.926, 0.952 against 0.978, 0.993, 0.985). A mild crop (area 0.64-1.0, aspect ratio
0.9-1.1) is neutral for small_cnn (test 0.978, 1.000, 0.985: +0.2 pt on average, one image; validation -0.1 pt) and
helps MobileNetV2 0.35 at 64 px trained from scratch (test 0.952, 0.963, 0.963 against 0.937, 0.948, 0.955: +1.2
pt; validation +2.6 pt), at 8-13 % more time per epoch. None is the default all the same: digits are the built-in
demo and CI fixture, and with none the default sweep (the README's first command) trains the very models, makes the
very variants and takes the time it did before augmentation existed, so a run compared against a baseline made
before this change differs in nothing. ``[train] augment = ["crop"]`` with ``crop_area = [0.64, 1.0]`` and
``crop_aspect_ratio = [0.9, 1.1]`` asks for the mild crop.

Seeds: each image of each epoch draws six numbers from ``tf.data.Dataset.random``, seeded with the training's
seed and redrawn each epoch (``rerandomize_each_iteration``): two seed the crop's stateless box op
(``stateless_sample_distorted_bounding_box``), the others decide the flip, the angle, the brightness shift and the
contrast factor. So the same seed gives the same pixels whatever the pipeline's parallelism, and, with
TensorFlow's op determinism on, the same weights; the shuffle is :func:`~liteship.trainer.training.tf_dataset`'s,
so the images come in the same order as without augmentation.

Speed: augmentation runs in the tf.data pipeline, per image before batching, in parallel calls (AUTOTUNE).
Per image was the faster of the two in training, measured side by side on digits' 1,259 training images with
crop and flip, epochs interleaved, on a shared 2-core machine: small_cnn at 32 px 0.67-0.72 s an epoch per image,
0.77-0.82 s per batch (a batch's crop boxes are drawn in a loop), 0.59-0.63 s without augmentation; MobileNetV2
0.35 at 64 px 2.77, 3.21 and 2.56 s. The feed alone runs at 8,000-12,000 images a second either way.

Evaluation, validation, int8 calibration and every accuracy measurement read the contract's pixels only
(:func:`liteship.trainer.training.tf_dataset`); training and the recipes' fine-tuning (pruning, QAT,
clustering) read :func:`augmented_dataset` with the augmentation the float model was trained with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from liteship.config import Problem, describe

AUGMENTATIONS = ("crop", "flip", "rotate", "brightness", "contrast")  # every step, in the order they run
PHOTOS = ("crop", "flip")  # a folder of photos: MediaPipe Model Maker's default
DIGITS = ()  # the built-in digits: see the module's docstring
MAX_ATTEMPTS = 10  # boxes tried before the image is used whole (MediaPipe Model Maker's)
SEEDS = 6  # seeded numbers an image draws: the crop box op's seed (2), then flip, angle, brightness, contrast
SEED_OFFSET = 1  # the per-image seeds' stream is seeded apart from the shuffle's, which takes the seed itself
PARAMETERS = {"crop": ("crop_area", "crop_aspect_ratio"), "rotate": ("rotation_degrees",),
              "brightness": ("brightness",), "contrast": ("contrast",)}  # the TrainConfig settings each step reads
_SETTINGS = tuple(name for names in PARAMETERS.values() for name in names)


@dataclass(frozen=True)
class Augmentation:
    """The augmentation one training uses: its steps (in :data:`AUGMENTATIONS` order) and their settings.

    ``default``: the data set whose default it is ("photos", "digits"), or None when the config named it."""

    steps: tuple[str, ...] = ()
    # each step's settings (TrainConfig's, where their defaults and ranges are); None where no step reads it
    crop_area: tuple[float, float] | None = None
    crop_aspect_ratio: tuple[float, float] | None = None
    rotation_degrees: float | None = None
    brightness: float | None = None
    contrast: float | None = None
    default: str | None = None

    def record(self) -> dict:
        """What the card keeps: the steps, the settings of those steps, and whose default it is."""
        out: dict = {"steps": list(self.steps), "default": self.default}
        for step in self.steps:
            for name in PARAMETERS.get(step, ()):
                value = getattr(self, name)
                out[name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_record(cls, record: dict | None) -> "Augmentation":
        """The augmentation a card records; a card without one (made before augmentation existed) trained
        without any."""
        if not record:
            return cls()
        settings = {k: tuple(v) if isinstance(v, list) else v for k, v in record.items() if k in _SETTINGS}
        return cls(steps=tuple(record.get("steps", ())), default=record.get("default"), **settings)

    def words(self) -> str:
        """``crop (area 0.08-1, aspect ratio 0.75-1.333), flip; the default for photos``, or ``none``."""
        parts = []
        for step in self.steps:
            if step == "crop":
                parts.append(f"crop (area {_span(self.crop_area)}, aspect ratio {_span(self.crop_aspect_ratio)})")
            elif step == "rotate":
                parts.append(f"rotate (up to {self.rotation_degrees:g} degrees)")
            elif step in ("brightness", "contrast"):
                parts.append(f"{step} ({getattr(self, step):g})")
            else:
                parts.append(step)
        text = ", ".join(parts) or "none"
        return f"{text}; the default for {self.default}" if self.default else text


def _span(pair) -> str:
    return f"{pair[0]:.4g}-{pair[1]:.4g}"


def default_steps(source: str) -> tuple[tuple[str, ...], str]:
    """The steps a data set gets when the config names none, and the data set's kind."""
    return (DIGITS, "digits") if source == "digits" else (PHOTOS, "photos")


def augmentation_of(config, source: str) -> Augmentation:
    """The augmentation ``config`` (a TrainConfig) trains with on the data ``source`` ("digits", a path): its
    steps, and the settings of those steps only."""
    steps, default = (tuple(config.augment), None) if config.augment is not None else default_steps(source)
    steps = tuple(s for s in AUGMENTATIONS if s in steps)
    settings = {name: getattr(config, name) for step in steps for name in PARAMETERS.get(step, ())}
    return Augmentation(steps, default=default, **{k: tuple(v) if isinstance(v, list) else v
                                                   for k, v in settings.items()})


def augment_problems(config, names: dict) -> list[Problem]:
    """Every problem of a TrainConfig's augmentation settings that its types and ranges (checked with the other
    settings, from a table or flags) leave unsaid, and those too when the config was built in Python and handed
    to ``train`` straight: a step that does not exist or is named twice, a (least, most) pair that is not two
    numbers in the setting's range with the least first. ``names[field]``: (where, key) of each setting."""
    from liteship.config import limits

    out = []
    steps = config.augment
    where = names.get("augment", ("--augment", None))
    if steps is not None and (not isinstance(steps, (list, tuple)) or not all(isinstance(s, str) for s in steps)):
        out.append(Problem(*where, describe(steps), "it takes a list of step names: " + ", ".join(AUGMENTATIONS),
                           'for example ["crop", "flip"]; [] for none'))
    elif steps is not None:
        unknown = [s for s in steps if s not in AUGMENTATIONS]
        twice = sorted({s for s in steps if list(steps).count(s) > 1})
        if unknown or twice:
            out.append(Problem(*where, describe(list(steps)), f"{', '.join(unknown)}: no such step" if unknown else
                               f"{', '.join(twice)} named more than once", "name each step once, from "
                               + ", ".join(AUGMENTATIONS) + " (they run in that order); [] for none"))
    for name in ("crop_area", "crop_aspect_ratio"):
        pair, (lo, hi) = getattr(config, name), limits(type(config), name)
        numbers = isinstance(pair, (list, tuple)) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                          and math.isfinite(v) for v in pair)
        if not numbers or len(pair) != 2 or not lo <= pair[0] <= pair[1] <= hi:
            example = "[0.08, 1.0]" if name == "crop_area" else "[0.75, 1.333]"
            out.append(Problem(*names.get(name, (f"--{name.replace('_', '-')}", None)), describe(pair),
                               f"it takes two numbers from {lo} to {hi}, the least first",
                               f"for example {example}"))
    return out


# --------------------------------------------------------------------------- the pipeline (TensorFlow from here)

def _draws(seeds, size: int, aug: Augmentation):
    """Each image's random draws from its six seeded numbers (``seeds``: (B, 6) int64, uniform over their range):
    its crop box (normalised, as crop_and_resize takes it; from the first two, the box op's seed), whether it is
    flipped, its angle (radians), brightness shift and contrast factor (each from one of the other four)."""
    import tensorflow as tf

    if "crop" in aug.steps and seeds.shape[0] == 1:  # one image (per-image augmentation): no loop to run
        boxes = crop_box(seeds[0, :2], size, aug)[None]
    elif "crop" in aug.steps:
        boxes = tf.map_fn(lambda s: crop_box(s[:2], size, aug), seeds, fn_output_signature=tf.float32)
    else:
        boxes = tf.tile([[0.0, 0.0, 1.0, 1.0]], [tf.shape(seeds)[0], 1])
    # the top 53 bits of each number, as a float from -1 to 1
    u = tf.cast(tf.bitwise.right_shift(tf.bitcast(seeds[:, 2:], tf.uint64), 11), tf.float64) * 2.0**-52 - 1
    u = tf.cast(u, tf.float32)
    return (boxes, u[:, 0] < 0, u[:, 1] * math.radians(aug.rotation_degrees or 0.0), u[:, 2] * (aug.brightness or 0.0),
            1 + u[:, 3] * (aug.contrast or 0.0))


def crop_box(seed, size: int, aug: Augmentation, pixels: bool = False):
    """A crop of a ``size`` x ``size`` image from ``seed``: the op's box, or the whole image when the box's aspect
    ratio in whole pixels leaves the range. Normalised [y1, x1, y2, x2] from the first pixel's centre to the
    last's; ``pixels``: (begin [y, x], extent [h, w]) in whole pixels instead."""
    import tensorflow as tf

    begin, extent, _ = tf.image.stateless_sample_distorted_bounding_box(
        [size, size, 3], tf.constant([[[0.0, 0.0, 1.0, 1.0]]]), seed=seed, min_object_covered=aug.crop_area[0],
        aspect_ratio_range=aug.crop_aspect_ratio, area_range=aug.crop_area, max_attempts=MAX_ATTEMPTS,
        use_image_if_no_bounding_boxes=True)
    ratio = tf.cast(extent[1], tf.float32) / tf.cast(extent[0], tf.float32)
    fits = (ratio >= aug.crop_aspect_ratio[0]) & (ratio <= aug.crop_aspect_ratio[1])
    begin = tf.where(fits, begin[:2], tf.zeros([2], tf.int32))
    extent = tf.where(fits, extent[:2], tf.fill([2], size))
    if pixels:
        return begin, extent
    last = float(max(size - 1, 1))
    start, end = tf.cast(begin, tf.float32), tf.cast(begin + extent - 1, tf.float32)
    return tf.concat([start, end], 0) / last


def augment_batch(images, seeds, aug: Augmentation):
    """``images`` (B, H, W, 3) float32 in [0, 1], each augmented from its seeded numbers (``seeds``: (B, 6) int64)."""
    return _apply(images, *_draws(seeds, int(images.shape[1]), aug), aug)


def augment_image(image, seed, aug: Augmentation):
    """One image (H, W, 3) float32 in [0, 1], augmented from its seeded numbers ((6,) int64)."""
    return augment_batch(image[None], seed[None], aug)[0]


def _apply(images, boxes, flips, angles, shifts, factors, aug: Augmentation):
    import tensorflow as tf

    size = int(images.shape[1])
    if "crop" in aug.steps:
        images = tf.image.crop_and_resize(images, boxes, tf.range(tf.shape(images)[0]), [size, size])
    if "flip" in aug.steps:
        images = tf.where(flips[:, None, None, None], tf.reverse(images, [2]), images)
    if "rotate" in aug.steps:
        images = _rotate(images, angles)
    if "brightness" in aug.steps:
        images = images + shifts[:, None, None, None]
    if "contrast" in aug.steps:
        mean = tf.reduce_mean(images, axis=[1, 2], keepdims=True)
        images = (images - mean) * factors[:, None, None, None] + mean
    if "brightness" in aug.steps or "contrast" in aug.steps:
        images = tf.clip_by_value(images, 0.0, 1.0)
    return images


def _rotate(images, angles):
    """Each image turned by its angle about its centre (Keras' RandomRotation's transform), corners reflected."""
    import tensorflow as tf

    side = tf.cast(tf.shape(images)[1], tf.float32) - 1
    cos, sin = tf.cos(angles), tf.sin(angles)
    x_offset = (side - (cos * side - sin * side)) / 2
    y_offset = (side - (sin * side + cos * side)) / 2
    zeros = tf.zeros_like(angles)
    transforms = tf.stack([cos, -sin, x_offset, sin, cos, y_offset, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(images=images, transforms=transforms,
                                                 output_shape=tf.shape(images)[1:3], fill_value=0.0,
                                                 interpolation="BILINEAR", fill_mode="REFLECT")


def augmented_dataset(pixels, labels, batch: int, seed: int, aug: Augmentation, per_image: bool = True):
    """Training batches as :func:`~liteship.trainer.training.tf_dataset` makes them (the same shuffle, the same
    order), each image augmented from its own seeded numbers, in parallel calls. ``pixels``: an array, or rows of
    the image cache, read a batch at a time (:mod:`.feed`: the same images in the same order). ``per_image``
    False: augment each batch instead (the same pixels; slower in training on digits: see the module's
    docstring)."""
    import tensorflow as tf

    from liteship.trainer.feed import known_length, source, with_images

    ds = tf.data.Dataset.from_tensor_slices((source(pixels), labels))
    ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    seeds = tf.data.Dataset.random(seed=seed + SEED_OFFSET, rerandomize_each_iteration=True).batch(SEEDS)
    ds = tf.data.Dataset.zip((ds, seeds)).map(lambda xy, s: (xy[0], xy[1], s))
    ds = with_images(ds, pixels, batch)

    def floats(x):
        return tf.cast(x, tf.float32) / 255.0

    if per_image:
        ds = ds.map(lambda x, y, s: (augment_image(floats(x), s, aug), y), num_parallel_calls=tf.data.AUTOTUNE)
        return known_length(ds.batch(batch), pixels, batch).prefetch(2)
    ds = ds.batch(batch).map(lambda x, y, s: (augment_batch(floats(x), s, aug), y), num_parallel_calls=tf.data.AUTOTUNE)
    return known_length(ds, pixels, batch).prefetch(2)
