"""The augmentation's steps against computations made here: crop boxes over 1,000 draws, an exact mirror, a constant
shift, a contrast factor about the mean, a rotation against scipy's; and the pipeline with augmentation off against
the feed training had before augmentation existed, byte for byte."""

import numpy as np
import pytest

from liteship.trainer import AUGMENTATIONS, Augmentation, TrainConfig, augmentation_of

PHOTOS = augmentation_of(TrainConfig(), "photos/folder")
EVERY = augmentation_of(TrainConfig(augment=AUGMENTATIONS), "photos/folder")


def seeded_numbers(n: int, seed: int = 5) -> np.ndarray:
    """(n, 6) int64 as the pipeline draws them for each image: the crop's seed (i, 17), then four random numbers."""
    rng = np.random.default_rng(seed)
    out = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, (n, 6), dtype=np.int64)
    out[:, 0], out[:, 1] = np.arange(n), 17
    return out


def _boxes(size: int, aug: Augmentation, n: int = 1000, first_seed: int = 0):
    """(begin, extent) in whole pixels of ``n`` crops, from seeds (first_seed + i, 17)."""
    import tensorflow as tf

    from liteship.trainer.augment import crop_box

    seeds = tf.stack([tf.range(first_seed, first_seed + n, dtype=tf.int64), tf.fill([n], tf.constant(17, tf.int64))], 1)
    begin, extent = tf.map_fn(lambda s: crop_box(s, size, aug, pixels=True), seeds,
                              fn_output_signature=(tf.int32, tf.int32))
    return begin.numpy(), extent.numpy()


@pytest.mark.parametrize("size, area, ratio", [(32, (0.08, 1.0), (3 / 4, 4 / 3)), (224, (0.08, 1.0), (3 / 4, 4 / 3)),
                                               (64, (0.3, 1.0), (0.5, 2.0))])
def test_crop_area_and_aspect_ratio_stay_in_the_configured_ranges_over_1000_draws(tf_available, size, area, ratio):
    aug = augmentation_of(TrainConfig(augment=("crop",), crop_area=area, crop_aspect_ratio=ratio), "photos")
    begin, extent = _boxes(size, aug)
    h, w = extent[:, 0].astype(float), extent[:, 1].astype(float)
    areas, ratios = h * w / size**2, w / h  # recomputed from the boxes, in whole pixels
    assert ((areas >= area[0]) & (areas <= area[1])).all(), (areas.min(), areas.max())
    assert ((ratios >= ratio[0]) & (ratios <= ratio[1])).all(), (ratios.min(), ratios.max())
    assert (begin >= 0).all() and (begin + extent <= size).all()
    # the draws cover the ranges (not one box used over and over, nor the whole image every time)
    assert areas.min() < area[0] + 0.1 and (areas < 1).mean() > 0.95 and len({tuple(b) for b in begin}) > 150
    assert ratios.min() < ratio[0] * 1.1 and ratios.max() > ratio[1] / 1.1


def test_a_crop_is_the_box_it_drew_resized(tf_available):
    """Each output's corners are the box's corner pixels (a resize that keeps corners, as crop_and_resize does)."""
    import tensorflow as tf

    from liteship.trainer.augment import augment_batch

    size, n = 24, 40
    ys, xs = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    image = np.stack([ys, xs, ys * 0], -1).astype(np.float32) / 255.0  # each pixel says where it is
    aug = augmentation_of(TrainConfig(augment=("crop",)), "photos")
    out = augment_batch(tf.constant(np.repeat(image[None], n, 0)), tf.constant(seeded_numbers(n)), aug).numpy()
    begin, extent = _boxes(size, aug, n)
    for o, (y, x), (h, w) in zip(out, begin, extent):
        assert np.allclose(o[0, 0, :2] * 255, [y, x], atol=1e-3)
        assert np.allclose(o[-1, -1, :2] * 255, [y + h - 1, x + w - 1], atol=1e-3)


def test_a_crop_is_resized_bilinear_inside_too(tf_available):
    """On a ramp (each pixel says where it is) a bilinear resize is a ramp: output pixel i of a box from y of h
    pixels is y + i (h - 1) / (size - 1), down and across; a nearest-neighbour resize would step."""
    import tensorflow as tf

    from liteship.trainer.augment import augment_batch

    size, n = 24, 20
    ys, xs = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    image = np.stack([ys, xs, ys * 0], -1).astype(np.float32) / 255.0
    aug = augmentation_of(TrainConfig(augment=("crop",)), "photos")
    out = augment_batch(tf.constant(np.repeat(image[None], n, 0)), tf.constant(seeded_numbers(n)), aug).numpy()
    begin, extent = _boxes(size, aug, n)
    steps = np.arange(size) / (size - 1)
    for o, (y, x), (h, w) in zip(out, begin, extent):
        assert np.allclose(o[:, 0, 0] * 255, y + steps * (h - 1), atol=1e-3)
        assert np.allclose(o[0, :, 1] * 255, x + steps * (w - 1), atol=1e-3)


def _images(n: int = 200, size: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n, size, size, 3)) / 255.0).astype(np.float32)


def _run(steps, images, **settings):
    import tensorflow as tf

    from liteship.trainer.augment import augment_batch

    aug = augmentation_of(TrainConfig(augment=steps, **settings), "photos")
    return augment_batch(tf.constant(images), tf.constant(seeded_numbers(len(images))), aug).numpy()


def test_a_flip_mirrors_exactly_and_about_half_the_images(tf_available):
    images = _images()
    out = _run(("flip",), images)
    mirrored = [np.array_equal(o, np.fliplr(i)) for o, i in zip(out, images)]
    kept = [np.array_equal(o, i) for o, i in zip(out, images)]
    assert all(m or k for m, k in zip(mirrored, kept))  # bit for bit one or the other
    assert 0.35 < np.mean(mirrored) < 0.65


def test_brightness_shifts_each_image_by_one_amount_in_its_range(tf_available):
    images = _images() * 0.5 + 0.25  # away from 0 and 1: nothing clipped
    shifts = (_run(("brightness",), images, brightness=0.2) - images).reshape(len(images), -1)
    assert np.allclose(shifts, shifts[:, :1], atol=1e-6)
    assert np.abs(shifts).max() <= 0.2 + 1e-6 and shifts[:, 0].std() > 0.05


def test_contrast_scales_each_image_about_its_channel_means(tf_available):
    images = _images() * 0.5 + 0.25
    out = _run(("contrast",), images, contrast=0.3)
    mean = images.mean(axis=(1, 2), keepdims=True)
    centred, moved = images - mean, out - mean
    factors = (centred * moved).sum(axis=(1, 2, 3)) / (centred**2).sum(axis=(1, 2, 3))  # least squares, per image
    assert np.allclose(moved, factors[:, None, None, None] * centred, atol=1e-5)  # one factor explains every pixel
    assert ((factors >= 0.7 - 1e-6) & (factors <= 1.3 + 1e-6)).all() and factors.std() > 0.05


def test_rotation_matches_scipy_inside_the_frame(tf_available):
    from scipy import ndimage

    size = 33
    images = _images(20, size)
    out = _run(("rotate",), images, rotation_degrees=30.0)
    # each image's angle: its fifth number's top 53 bits, from -1 to 1, times the largest angle
    angles = ((seeded_numbers(20)[:, 3].view(np.uint64) >> np.uint64(11)) * 2.0**-52 - 1) * 30.0
    inner = slice(size // 2 - 8, size // 2 + 9)  # away from the corners the fill decides
    for image, o, angle in zip(images, out, angles):
        turned = np.stack([ndimage.rotate(image[..., c], angle, reshape=False, order=1) for c in range(3)], -1)
        assert np.abs(turned[inner, inner] - o[inner, inner]).max() < 1e-4, angle
    assert np.std(angles) > 5


def test_a_constant_image_stays_constant_under_every_geometric_step(tf_available):
    images = np.full((8, 16, 16, 3), 0.4, np.float32)
    out = _run(("crop", "flip", "rotate"), images)
    assert np.allclose(out, 0.4, atol=1e-6)


def old_tf_dataset(pixels, labels, batch, seed):
    """The training feed before augmentation existed (trainer/training.py at its parent commit), copied."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((pixels, labels))
    if seed is not None:
        ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch).map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y), num_parallel_calls=1)
    return ds.prefetch(2)


def _epochs(ds, n: int = 2):
    return [(x.numpy().tobytes(), y.numpy().tobytes()) for _ in range(n) for x, y in ds]


@pytest.mark.parametrize("off", [None, ()])
def test_augmentation_off_feeds_the_old_pixels_byte_for_byte(tf_available, off):
    import tf_keras as keras

    from liteship.trainer import train_dataset

    rng = np.random.default_rng(1)
    pixels, labels = rng.integers(0, 256, (70, 8, 8, 3), dtype=np.uint8), rng.integers(0, 3, 70)
    keras.utils.set_random_seed(4)
    old = _epochs(old_tf_dataset(pixels, labels, 16, 4))
    keras.utils.set_random_seed(4)
    new = _epochs(train_dataset(pixels, labels, 16, 4, Augmentation(()) if off == () else None))
    assert new == old
    keras.utils.set_random_seed(4)
    on = _epochs(train_dataset(pixels, labels, 16, 4, PHOTOS))
    assert [y for _, y in on] == [y for _, y in old]  # the same shuffle, so the same labels in the same order
    assert all(a != b for (a, _), (b, _) in zip(on, old))  # and other pixels


def test_the_augmented_feed_is_the_same_from_the_same_seed_and_new_each_epoch(tf_available):
    import tf_keras as keras

    from liteship.trainer import train_dataset

    rng = np.random.default_rng(2)
    pixels, labels = rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8), rng.integers(0, 3, 40)
    runs = []
    for _ in range(2):
        keras.utils.set_random_seed(9)
        runs.append(_epochs(train_dataset(pixels, labels, 40, 9, EVERY), 2))
    assert runs[0] == runs[1]
    assert runs[0][0] != runs[0][1]  # a second epoch draws new crops and flips
    keras.utils.set_random_seed(10)
    assert _epochs(train_dataset(pixels, labels, 40, 10, EVERY), 1)[0] != runs[0][0]


def test_per_image_and_per_batch_augmentation_give_the_same_pixels(tf_available):
    from liteship.trainer.augment import augmented_dataset

    rng = np.random.default_rng(3)
    pixels, labels = rng.integers(0, 256, (50, 16, 16, 3), dtype=np.uint8), rng.integers(0, 3, 50)
    batched = [x.numpy() for x, _ in augmented_dataset(pixels, labels, 16, 0, EVERY, per_image=False)]
    single = [x.numpy() for x, _ in augmented_dataset(pixels, labels, 16, 0, EVERY, per_image=True)]
    assert all(np.allclose(a, b, atol=1e-5) for a, b in zip(batched, single))
