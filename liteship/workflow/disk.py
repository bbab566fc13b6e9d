"""Before any work: the disk a run needs, and the refusal when its disk cannot take it.

A folder's images are decoded once into the run's image cache (:mod:`liteship.image_cache`: ``data/cache``, one file
per input size), which training, its later epochs, the recipes' fine-tuning and bench read instead of decoding
again. For a folder of photos that cache is most of the disk a run needs: each image is ``size * size * 3`` bytes
at each input size, whatever its file's size (a 3 MB phone photo is 27,648 bytes at 96 px, 150,528 at 224 px).
It is charged once per input size however many models read it, less the rows the run's cache already holds (a run
again), on top of each model's own files (:class:`~liteship.workflow.resources.Estimate`'s ``disk_bytes``).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from liteship.config import Problem

CACHE_INDEX_BYTES = 48  # a row's entry in the cache's index (data/cache/<size>px.json): 47.7 bytes at 32,000 rows


def cache_bytes(size: int, images: int) -> float:
    """The image cache of ``images`` at ``size`` px on disk: a uint8 row of size x size x 3 bytes each, indexed."""
    return images * (size * size * 3 + CACHE_INDEX_BYTES)


def cache_to_write(estimates, out: Path) -> dict[int, tuple[int, float]]:
    """(images, bytes still to write) of the image cache at each input size the ``estimates`` read: once per size
    (however many models read it), less the rows ``out``'s cache already holds at that size (a run again)."""
    from liteship.image_cache import RowCache
    from liteship.rundir import IMAGE_CACHE

    sizes: dict[int, int] = {}
    for size, images in (e.cache for e in estimates if e.cache is not None):
        sizes[size] = max(sizes.get(size, 0), images)
    held = {}
    for size in sizes:
        with contextlib.suppress(OSError):  # none, or unreadable: rebuilt, so charged whole
            held[size] = RowCache(Path(out) / IMAGE_CACHE, size).path.stat().st_size
    return {size: (n, max(0.0, cache_bytes(size, n) - held.get(size, 0))) for size, n in sorted(sizes.items())}


def disk_problems(estimates, out: Path) -> list[Problem]:
    """The run's disk: the models' files, and the decoded images the image cache will write, said with what the
    cache is, since it is most of the disk a folder of photos needs."""
    from liteship.rundir import IMAGE_CACHE
    from liteship.workflow import resources

    cache = cache_to_write(estimates, out)
    to_write = sum(bytes_ for _, bytes_ in cache.values())
    disk, free = sum(e.disk_bytes for e in estimates) + to_write, resources.free_disk(out)
    if disk <= free:
        return []
    need, have = resources._pair(disk, free)
    if not to_write:
        return [Problem(str(out), None, "", f"the run needs about {need} of disk and {have} is free",
                        "free space or pass --out on another disk")]
    images = max(n for n, _ in cache.values())
    each = " and ".join(f"{size} x {size} x 3 bytes at {size} px" for size, (_, b) in cache.items() if b)
    return [Problem(str(out), None, "", f"the run needs about {need} of disk and {have} is free; its image cache "
                    f"({out / IMAGE_CACHE}) takes {resources.shown(to_write)} of it: each of the {images:,} images "
                    f"decoded, {each}, so that later epochs, the recipes and bench read them without decoding again",
                    "free space, pass --out on a disk with more room, or use fewer images or a smaller size")]
