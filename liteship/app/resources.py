"""Before any work: will it fit, and how long will it take?

Peak memory of training is estimated from the images at the input size, the
activations of one batch (forward and backward) and the model's weights with
their gradients and optimizer slots, plus the frameworks' own footprint. The
run directory's disk from the float model and one file per variant. A sweep's
time from per-image costs measured on a 2-core x86 machine (rough: a
different machine or data set moves it). Every constant is named here.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from liteship.config import Problem
from liteship.files import existing_ancestor

FRAMEWORK_BYTES = 1.2e9  # TensorFlow, Keras and LiteRT loaded, before any data
# Activation values per input pixel in one forward pass (measured from the Keras models: sum of every layer's
# output elements / size²): small_cnn 183; MobileNetV2 194 at alpha 0.35, 440 at 1.0, 629 at 1.4.
ACTIVATIONS_PER_PIXEL = {"small_cnn": lambda alpha: 183 * (alpha or 1.0), "mobilenet_v2": lambda a: 50 + 415 * a}
PARAMS = {"small_cnn": lambda alpha: 95_000 * (alpha or 1.0) ** 2, "mobilenet_v2": lambda a: 2.25e6 * a * a + 1.5e5}
# Seconds per training image per epoch per 1,000 pixels, measured here (2-core AMD EPYC, digits):
# small_cnn at 32 px: 15 s for 1,257 images x 20 epochs; MobileNetV2 0.35 at 64 px: 48 s for 10 epochs.
TRAIN_SECONDS = {"small_cnn": 0.58e-6 * 1000, "mobilenet_v2": 0.93e-6 * 1000}
# A conversion and its checks (metadata, contract), per variant: it grows with the graph's layers, not the data.
# Measured in the default sweep on a 2-core AMD EPYC: small_cnn 1 to 3 s, MobileNetV2 0.35 at 64 px 19 to 25 s.
RECIPE_SECONDS = {"small_cnn": 1.5, "mobilenet_v2": 20.0}
BENCH_SECONDS = 2.5  # loading, scoring and timing one variant on one run backend, at the default 50 runs x 10 rounds
TIMED_SHARE = 0.4  # of BENCH_SECONDS, the part that grows with the timed invokes (runs x rounds)
DEFAULT_INVOKES = 500
INSTRUCTION_SECONDS = 5.0  # one valgrind count per variant
ARM_SECONDS = 9.0  # one ARM count under QEMU per variant and ARM backend, with its 100-image subset
DIGITS_IMAGES = 1797


@dataclass(frozen=True)
class Estimate:
    memory_bytes: float
    disk_bytes: float
    seconds: float
    units: dict | None = None  # seconds per unit of work, by its progress label ("train M", "optimize M R", ...)


def image_count(data: str) -> int | None:
    """How many images ``data`` holds, counted without decoding any; None for an archive (not counted)."""
    if data == "digits":
        return DIGITS_IMAGES
    from liteship.dataset import IMAGE_SUFFIXES

    path = Path(data)
    if not path.is_dir():
        return None
    return sum(1 for _, _, files in os.walk(path) for f in files if f.lower().endswith(IMAGE_SUFFIXES))


def available_memory() -> float:
    """Bytes the machine can give a new process now (MemAvailable), or its physical memory."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def free_disk(out: Path) -> float:
    """Free bytes on the disk ``out`` will be on (its nearest existing parent)."""
    return float(shutil.disk_usage(existing_ancestor(out)).free)


def _epoch_seconds(arch: str, size: int, images: int) -> float:
    return 0.7 * images * size * size / 1000 * TRAIN_SECONDS.get(arch, TRAIN_SECONDS["mobilenet_v2"])


def _recipe_seconds(arch: str) -> float:
    return RECIPE_SECONDS.get(arch, RECIPE_SECONDS["mobilenet_v2"])


def _bench_seconds(run_backends: int, instructions: bool, invokes: int, arm_backends: int) -> float:
    """Benching one variant: each run backend, its counts."""
    bench = BENCH_SECONDS * ((1 - TIMED_SHARE) + TIMED_SHARE * invokes / DEFAULT_INVOKES)
    return run_backends * bench + (INSTRUCTION_SECONDS if instructions else 0) + arm_backends * ARM_SECONDS


def train_estimate(arch: str, size: int, alpha: float | None, batch: int, images: int, epochs: int,
                   recipes: int, fine_tune_epochs: int, run_backends: int, instructions: bool,
                   invokes: int = DEFAULT_INVOKES, arm_backends: int = 0) -> Estimate:
    """Rough memory, disk and time of training one model and making and benching its variants.

    ``invokes``: timed invokes per variant and backend (runs x rounds), which the bench time grows with.
    """
    pixels = size * size
    acts = ACTIVATIONS_PER_PIXEL.get(arch, ACTIVATIONS_PER_PIXEL["mobilenet_v2"])(alpha or 1.0)
    params = PARAMS.get(arch, PARAMS["mobilenet_v2"])(alpha or 1.0)
    data = images * pixels * 3 * (1 + 4)  # uint8 pixels, and a float32 copy of each batch's worth in flight
    batch_bytes = batch * pixels * acts * 4 * 3  # forward activations, their gradients, workspace
    memory = FRAMEWORK_BYTES + data + batch_bytes + params * 4 * 4  # weights, gradients, two Adam slots
    disk = params * 4 * 4 + recipes * params * 4 + images * 200
    per_epoch = _epoch_seconds(arch, size, images)
    seconds = per_epoch * (epochs + fine_tune_epochs) + recipes * (
        _recipe_seconds(arch) + _bench_seconds(run_backends, instructions, invokes, arm_backends))
    return Estimate(memory, disk, seconds)


def unit_seconds(model: str, arch: str, size: int, images: int, epochs: int, recipe_epochs: dict[str, int],
                 run_backends: int, instructions: bool, invokes: int = DEFAULT_INVOKES,
                 arm_backends: int = 0) -> dict[str, float]:
    """:func:`train_estimate`'s seconds unit by unit, keyed by the sweep's progress labels: what the remaining time
    of a running sweep is weighed with (a MobileNet's training is not one step among 42 equal ones)."""
    per_epoch = _epoch_seconds(arch, size, images)
    bench = _bench_seconds(run_backends, instructions, invokes, arm_backends)
    out = {f"train {model}": per_epoch * epochs}
    for recipe, tune in recipe_epochs.items():
        out[f"optimize {model} {recipe}"] = _recipe_seconds(arch) + per_epoch * tune
        out[f"bench {model} {recipe}"] = bench
    return out


def bound_problems(estimates: list[tuple[str, Estimate]], out: Path) -> list[Problem]:
    """Refuse what cannot fit: the largest model's memory, and every model's disk together."""
    found = []
    limit = available_memory()
    for where, e in estimates:
        if e.memory_bytes > limit:
            found.append(Problem(where, None, "", f"training it needs about {_gb(e.memory_bytes)} of memory "
                                 f"(images at the input size, one batch's activations, the weights), and this machine "
                                 f"has {_gb(limit)} available", "use a smaller size, a smaller batch_size or fewer "
                                 "images, or a machine with more memory"))
    disk = sum(e.disk_bytes for _, e in estimates)
    free = free_disk(out)
    if disk > free:
        found.append(Problem(str(out), None, "", f"the run needs about {_gb(disk)} of disk and {_gb(free)} is free",
                             "free space or pass --out on another disk"))
    return found


def _gb(n: float) -> str:
    if n >= 1e12:
        return f"{n / 1e12:,.1f} TB"
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.0f} MB"


def duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"
