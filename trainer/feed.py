"""The tf.data feed of a data set's pixels, from memory or from the run's image cache, in the same order.

Pixels in memory (an array) are sliced by ``from_tensor_slices``, as they always were. Pixels in the image cache
(:class:`~liteship.image_rows.ImageRows`) are fed as their positions instead: the pipeline shuffles positions
with the same shuffle op, seed and buffer size (the shuffle's order depends on those, never on what it shuffles),
so batches hold the same images in the same order, and each batch's rows are read from the cache file in a
``tf.numpy_function`` (``os.preadv`` lets go of the GIL), several batches at once and ahead of training. A
model trained from either has the same weights (with op determinism on), and the memory held is a few batches,
whatever the number of images.

A cache that cannot be read during training (cut short, an I/O error) raises a LiteshipError in the numpy
function, which TensorFlow hands on as an ``UnknownError`` with a long traceback; the feed keeps the LiteshipError
aside and :func:`carried_errors` raises it instead, so the command says what, why and what to do.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from liteship.errors import LiteshipError
from liteship.image_rows import ImageRows

READ_AHEAD = 4  # batches read from the cache at once, and ahead of the model
_RAISED: list[LiteshipError] = []  # what a read in the pipeline raised, for carried_errors (TF's threads)


def streamed(pixels) -> bool:
    return isinstance(pixels, ImageRows)


def source(pixels):
    """What ``from_tensor_slices`` takes for ``pixels``: the array, or each image's position in the cache view."""
    return np.arange(len(pixels), dtype=np.int64) if streamed(pixels) else pixels


def read_rows(pixels: ImageRows, index):
    """The uint8 images at the positions ``index`` (a 1-D int64 tensor) of ``pixels``, read in a numpy function."""
    import tensorflow as tf

    def read(ix: np.ndarray) -> np.ndarray:
        try:
            return pixels[ix]
        except LiteshipError as exc:
            _RAISED.append(exc)
            raise
        except OSError as exc:  # an I/O error of the disk
            _RAISED.append(pixels._gone(exc.strerror or str(exc)))
            raise _RAISED[-1] from exc

    images = tf.numpy_function(read, [index], tf.uint8, stateful=False, name="read_image_rows")
    images.set_shape([None, pixels.size, pixels.size, 3])
    return images


@contextlib.contextmanager
def carried_errors():
    """Around a fit or predict that reads the cache: the LiteshipError a read raised, not TensorFlow's wrapper."""
    import tensorflow as tf

    _RAISED.clear()
    try:
        yield
    except (tf.errors.UnknownError, tf.errors.InvalidArgumentError):
        if _RAISED:
            raise _RAISED[0] from None
        raise
    finally:
        _RAISED.clear()


def as_floats(images):
    import tensorflow as tf

    return tf.cast(images, tf.float32) / 255.0


def batches(pixels, labels, batch: int, seed: int | None):
    """The contract's pixels as float batches, shuffled by ``seed`` each epoch (None: in order)."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((source(pixels), labels))
    if seed is not None:
        ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    if not streamed(pixels):
        ds = ds.batch(batch).map(lambda x, y: (as_floats(x), y), num_parallel_calls=1)
        return ds.prefetch(2)
    # Rows are read in parallel calls, but made float32 in one call after them: a float batch made in the parallel
    # calls' threads stays in their malloc arenas after it is freed, which grew training's peak memory with the
    # number of photos (measured: 1.34 times from 2,000 to 32,000 photos, 1.19 with the cast here).
    ds = ds.batch(batch).map(lambda i, y: (read_rows(pixels, i), y), num_parallel_calls=READ_AHEAD, deterministic=True)
    return ds.map(lambda x, y: (as_floats(x), y), num_parallel_calls=1).prefetch(2)


def with_images(ds, pixels, batch: int):
    """``ds`` of (image or position, label, ...) elements with each position replaced by its image read from the
    cache, a batch of ``batch`` at a time, one element out per element in, in order (pixels in memory: ``ds``)."""
    if not streamed(pixels):
        return ds
    ds = ds.batch(batch).map(lambda i, *rest: (read_rows(pixels, i), *rest), num_parallel_calls=READ_AHEAD,
                             deterministic=True)
    return ds.unbatch()


def known_length(ds, pixels, batch: int):
    """``ds`` (batches of ``batch`` of ``pixels``) with its number of batches known again after
    :func:`with_images` unbatched it (training's learning-rate schedule counts them); pixels in memory: ``ds``."""
    import tensorflow as tf

    if not streamed(pixels):
        return ds
    return ds.apply(tf.data.experimental.assert_cardinality(math.ceil(len(pixels) / batch)))


def float_predict(model, pixels, batch: int = 32):
    """A Keras model's outputs on the contract's float pixels, as ``model.predict(pixels_to_float(x))`` gives them
    (its batches of 32): an array as that; rows of the image cache read a batch at a time, never held whole."""
    from liteship.contract import pixels_to_float

    if not streamed(pixels):
        return model.predict(pixels_to_float(pixels), verbose=0)
    with carried_errors():
        return model.predict(batches(pixels, np.zeros(len(pixels), np.int64), batch, None), verbose=0)
