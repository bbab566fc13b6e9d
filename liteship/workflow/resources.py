"""Before any work: will it fit, and how long will it take?

Peak memory of training is estimated from the activations of one batch (forward and backward), the model's weights
with their gradients and optimizer slots and the frameworks' own footprint, plus the data: a folder's images stream
from the run's image cache, so memory holds the batches in flight and a little bookkeeping per image, and the disk
holds every image once per input size (the built-in digits are decoded into memory, and charged there). The run
directory's disk from the float model and one file per variant. A sweep's time from per-image costs measured on a
2-core x86 machine (rough: a different machine or data set moves it). What an architecture or a recipe costs is
declared with it (``ArchSpec.costs`` in :mod:`liteship.trainer.models`, ``RecipeSpec.costs`` in
:mod:`liteship.optimize.registry`); one that declares none is left out of the estimate, which says so
(:func:`unknown_costs`), never costed as another. Every other constant is named here.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from liteship.config import Problem
from liteship.files import existing_ancestor

FRAMEWORK_BYTES = 1.2e9  # TensorFlow, Keras and LiteRT loaded, before any data
# Images streamed from the run's image cache (trainer.feed): STREAM_BATCHES batches in flight (read ahead as uint8,
# made float32, prefetched), of EVAL_BATCH images (validation's and test's, the largest) or batch_size. What each
# image holds however large it is (its name, hash and label in the data set, the split and the cache's index, its
# place in the training shuffle's buffer), measured as the peak RSS of `liteship train` (small_cnn, one epoch): 1.43
# KiB an image from 2,000 to 64,000 photos at 16 px, where batches weigh nothing (tests/perf/test_streaming.py).
STREAM_BATCHES = 6
EVAL_BATCH = 256  # validation and test are scored this many images a batch (trainer.training)
STREAM_IMAGE_BYTES = 1_500
# Activation values per input pixel in one forward pass (ArchCosts.activations) were measured from the Keras models:
# the sum of every layer's output elements / size².

# Seconds of each job alone on the reference machine (a 2-core AMD EPYC, where a job alone may use both cores),
# measured with --workers 1 in the default sweep and tests/perf's sweeps (RUN_DIR/logs/jobs.json). Side by side,
# jobs share the cores by JOB_CPUS (:func:`liteship.workflow.schedule.simulate`).
# Training (ArchCosts.train_seconds): per training image per epoch per 1,000 pixels. TRAIN_START: building,
# evaluating and saving the model.
TRAIN_START = 2.5
JOB_START = 1.0  # a job loads its model and images
WORKER_START = 6.0  # a worker process (or the sweep's own, with one worker) starts and imports TensorFlow, once
# A fine-tuning epoch (pruning, QAT, clustering wrappers) against a training epoch is declared by each recipe
# (RecipeCosts.fine_tuning: 1.0, 2.5 and 2.0), and TUNE_START is the fixed cost of each fine-tuning (wrapping,
# compiling, evaluating): MobileNetV2's prune_int8 + pqat_int8 173 s, int8 + qat_int8 + auto_int8 92 s,
# cluster_int8 38 s; small_cnn at 32 px 29, 13 and 5.6 s.
TUNE_START = 2.0
# A conversion and its checks, per variant: ArchCosts.convert_seconds times RecipeCosts.convert_factor.
BENCH_SECONDS = 0.9  # scoring and timing one variant on one run backend (alone), at the default 50 runs x 10 rounds
TIMED_SHARE = 0.4  # of BENCH_SECONDS, the part that grows with the timed invokes (runs x rounds)
DEFAULT_INVOKES = 500
# An x86 count (ArchCosts.x86_count): one valgrind run of three invokes, mostly the runtime's start under valgrind.
# An ARM count: QEMU's start, then the kernels on the 100-image subset (ArchCosts.arm_work); float kernels
# (RecipeCosts.arm_kernels) run ArchCosts.arm_float times as long under QEMU, dynamic-range ones about twice, and
# LiteRT's reference kernels (int16x8's) ARM_REFERENCE times. Not their instructions' ratio: reference int16 runs 42
# to 69 times int8's aarch64 instructions on the digits models, but QEMU's CPU seconds of a count's kernels, after its
# start, were 3.4 (small_cnn at 32 px) and 2.5 (MobileNetV2 0.35 at 64 px) times int8's, where float's were 8.8 and
# 4.7, as ArchCosts.arm_float says (tests/workflow/test_estimate_reference_kernels.py).
ARM_START = 1.5
ARM_HYBRID = 2.0
ARM_REFERENCE = 2.9  # the two measured ratios' geometric mean
# The cores a job keeps busy alone: TensorFlow's threads (training, converting) about one and a quarter (side by
# side on two cores, two small trainings ran at 0.83 of their speed alone, a chain of recipes beside a training
# at 0.67, MobileNetV2's training beside the small CNN's jobs at 0.97); a count (valgrind's or QEMU's) one.
JOB_CPUS = {"tf": 1.25, "count": 1.0}
DIGITS_IMAGES = 1797
SWEEP_OVERHEAD = 10.0  # the driver's start and planning, and the reports at the end
# A sweep with nothing left to run: planning, reading the records, writing the reports. Re-runs of a finished
# small_cnn sweep took 3 to 5 s at a measured pace of 1.5 to 3.2 (a machine shared with other work): about 2 s on
# the reference machine.
NOTHING_TO_RUN = 2.0
# The probe of a machine's speed (:func:`machine_pace`): its seconds on the machine the seconds above were
# measured on (the median of ten runs). The same machine's probe moved from 0.95 to 1.27 of these from one run to
# the next, so a pace within PACE_NOISE of 1 is taken as 1.
PROBE_SECONDS = {"zlib": 0.115, "numpy": 0.021}
PACE_NOISE = (0.75, 1.35)


@functools.lru_cache(maxsize=None)  # measured once per process: the plan and its fixed costs use the same pace
def machine_pace(rounds: int = 8) -> float:
    """How long this machine takes for the work the costs above were measured with, as a factor (2.0: twice as
    slow): zlib compressing and a numpy loop (integer and vector work, one core), timed in total over ``rounds``
    rounds (not the best round, so a machine whose cores are shared with other work is seen as the share it gets),
    against the reference machine's; 1.0 within the probe's own noise (PACE_NOISE). About 0.15 s. The number of
    cores is not in it: the sweep's plan puts the jobs on the workers and cores."""
    import math
    import time
    import zlib

    import numpy as np

    data = np.random.default_rng(0).integers(0, 16, 400_000, dtype=np.uint8).tobytes()
    start = np.linspace(0.0, 1.0, 100_000, dtype=np.float32)
    packed = looped = 0.0
    for _ in range(rounds):
        began = time.perf_counter()
        zlib.compress(data, 6)
        middle = time.perf_counter()
        x = start
        for _ in range(40):
            x = np.sqrt(x * np.float32(1.0001) + np.float32(0.5))
        packed, looped = packed + middle - began, looped + time.perf_counter() - middle
    scale = rounds / 8
    pace = math.sqrt(packed / (PROBE_SECONDS["zlib"] * scale) * looped / (PROBE_SECONDS["numpy"] * scale))
    return 1.0 if PACE_NOISE[0] <= pace <= PACE_NOISE[1] else pace


def fine_tunings(configs: dict) -> dict[str, tuple]:
    """The fine-tunings each recipe runs in a sweep of ``configs`` (typed, by recipe), as the recipe declares them
    (``RecipeCosts.fine_tuning``): one that an earlier recipe of its chain runs with the same ``shared`` key is done
    once (pqat_int8 prunes with prune_int8's pruned model when their pruning settings agree). A recipe that declares
    no costs has none here (:func:`unknown_costs` says so)."""
    from liteship.optimize import recipe_chains

    out: dict[str, tuple] = {}
    for chain in recipe_chains(list(configs)):
        done: set = set()
        for name in chain:
            costs = recipe_costs(name)
            tunings = costs.fine_tuning(configs[name]) if costs is not None else ()
            out[name] = tuple(t for t in tunings if t.shared is None or t.shared not in done)
            done |= {t.shared for t in tunings if t.shared is not None}
    return {name: out[name] for name in configs}


@dataclass(frozen=True)
class Estimate:
    memory_bytes: float
    disk_bytes: float
    seconds: float
    units: dict | None = None  # seconds per unit of work, by its key (TrainKey, ChainKey, ... of workflow.plan)
    unknown: tuple[str, ...] = ()  # what it left out, in words (:func:`unknown_costs`)
    cache: tuple[int, int] | None = None  # (size, images) of the image cache it reads; None: images held in memory
    held: tuple[str, str] | None = None  # (cache folder, why) a folder's images are held in memory: said on refusal


def config_estimate(config, images: int, recipes: int, held: tuple[str, str] | None) -> "Estimate":
    """:func:`train_estimate` of a TrainConfig, its images charged as held in memory when ``held`` (a
    :func:`held_reason`: said on refusal for a folder; the digits are always held) or else as streamed."""
    estimate = train_estimate(config.arch, config.size, config.alpha, config.batch_size, images, recipes,
                              held is not None)
    return dataclasses.replace(estimate, held=held) if held and held[0] else estimate


def held_reason(data: str, out) -> tuple[str, str] | None:
    """Why training holds the images in memory: (the run's cache folder, its problem), or None when a folder's
    images stream from the run's image cache. The built-in digits are always held (``("", "")``); a folder's are
    when its cache folder is a symbolic link or a file (:func:`liteship.cache_files.folder_problem`) or a folder
    this user cannot write (read-only, no permission): the pass falls back to memory, and the estimate must charge
    every image."""
    from liteship.cache_files import folder_problem
    from liteship.rundir import IMAGE_CACHE

    if data == "digits":
        return "", ""
    if out is None:
        return None
    cache = Path(out) / IMAGE_CACHE
    try:
        why = folder_problem(cache)
    except OSError:  # a part of its path is not a folder: checks.cache_path_problems refuses the run
        return None
    if why is None and cache.is_dir() and not os.access(cache, os.W_OK | os.X_OK):
        why = "a folder this user cannot write"
    return None if why is None else (str(cache), why)


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


def arch_costs(arch: str):
    """The costs ``arch`` declares (:class:`~liteship.trainer.models.ArchCosts`), or None: not known."""
    from liteship.errors import LiteshipError
    from liteship.trainer import get_arch

    try:
        return get_arch(arch).costs
    except LiteshipError:
        return None


def recipe_costs(recipe: str):
    """The costs ``recipe`` declares (:class:`~liteship.optimize.registry.RecipeCosts`), or None: not known."""
    from liteship.errors import LiteshipError
    from liteship.optimize import get_recipe

    try:
        return get_recipe(recipe).costs
    except LiteshipError:
        return None


def unknown_costs(arch: str, recipes=()) -> tuple[str, ...]:
    """What the estimate leaves out, in words: an architecture or recipe that declares no costs."""
    out = [] if arch_costs(arch) is not None else [f"no cost measured for architecture {arch}: not counted"]
    return tuple(out + [f"no cost measured for recipe {r}: not counted" for r in recipes if recipe_costs(r) is None])


def unknown_note(unknown) -> str:
    """What the printed estimate adds for the work it left out: "" when it knows every cost."""
    said = list(dict.fromkeys(unknown))
    return f"; {'; '.join(said)} (the estimate is short by that work)" if said else ""


def _epoch_seconds(arch: str, size: int, images: int) -> float:
    costs = arch_costs(arch)
    return 0.0 if costs is None else 0.7 * images * size * size / 1000 * costs.train_seconds


def _recipe_seconds(arch: str, recipe: str = "") -> float:
    a, r = arch_costs(arch), recipe_costs(recipe)
    return 0.0 if a is None or r is None else a.convert_seconds * r.convert_factor


def _tune_seconds(per_epoch: float, tunings) -> float:
    """Fine-tuning of one recipe: its ``tunings`` (:func:`fine_tunings`)."""
    return sum(TUNE_START + per_epoch * t.factor * t.epochs for t in tunings if t.epochs)


def _bench_seconds(run_backends: int, invokes: int) -> float:
    """Scoring and timing one variant on each run backend."""
    return run_backends * BENCH_SECONDS * ((1 - TIMED_SHARE) + TIMED_SHARE * invokes / DEFAULT_INVOKES)


def _count_seconds(kind: str, arch: str, size: int, recipe: str) -> float:
    """One count of one variant by the count backend ``kind``: valgrind's on this x86 CPU, or an ARM backend's
    under QEMU."""
    from liteship.bench import X86_64, backends

    a, r = arch_costs(arch), recipe_costs(recipe)
    if backends.get(kind).isa == X86_64:
        return 0.0 if a is None else a.x86_count[0] + a.x86_count[1] * size * size
    if a is None or r is None:  # not known: QEMU's start alone
        return ARM_START
    factor = {"int8": 1.0, "hybrid": ARM_HYBRID, "float": a.arm_float, "reference": ARM_REFERENCE}[r.arm_kernels]
    return ARM_START + a.arm_work * size * size * factor


def job_cpus(key) -> float:
    """The cores the job of a unit ``key`` (:mod:`liteship.workflow.plan`) keeps busy alone (JOB_CPUS)."""
    from liteship.workflow.plan import CountKey

    return JOB_CPUS["count" if isinstance(key, CountKey) else "tf"]


def train_estimate(arch: str, size: int, alpha: float | None, batch: int, images: int, recipes: int,
                   in_memory: bool = True) -> Estimate:
    """Rough memory and disk of training one model and making its variants (its time is the sweep's plan:
    :func:`unit_seconds`); an architecture that declares no costs counts the data and frameworks alone.
    ``in_memory``: the images are decoded into memory (the built-in digits); else (a folder) they stream from the
    run's image cache, which holds a few batches in memory and every image on disk (``Estimate.cache``)."""
    pixels = size * size
    costs, a = arch_costs(arch), alpha or 1.0
    acts = costs.activations[0] + costs.activations[1] * a if costs else 0.0
    params = costs.params[0] + costs.params[1] * a * a if costs else 0.0
    if in_memory:
        data = images * pixels * 3 * (1 + 4)  # uint8 pixels, and a float32 copy of each batch's worth in flight
    else:  # the batches in flight (uint8 read, float32 made), each image's bookkeeping
        data = STREAM_BATCHES * max(batch, EVAL_BATCH) * pixels * 3 * (1 + 4) + images * STREAM_IMAGE_BYTES
    batch_bytes = batch * pixels * acts * 4 * 3  # forward activations, their gradients, workspace
    memory = FRAMEWORK_BYTES + data + batch_bytes + params * 4 * 4  # weights, gradients, two Adam slots
    disk = params * 4 * 4 + recipes * params * 4 + images * 200
    return Estimate(memory, disk, 0.0, unknown=unknown_costs(arch), cache=None if in_memory else (size, images))


def unit_seconds(model: str, arch: str, size: int, images: int, epochs: int, recipe_tunings: dict[str, tuple],
                 run_backends: int, kinds: list[str], invokes: int = DEFAULT_INVOKES) -> dict:
    """Each unit's seconds, by its key (:mod:`liteship.workflow.plan`): training, making each variant, each count
    (``kinds``: x86, an ARM backend), benching each variant; ``recipe_tunings``: :func:`fine_tunings`. The sweep's plan puts them on its workers
    (:func:`liteship.workflow.pipeline.simulate_sweep`), and the progress line's remaining time weighs finished units by
    them."""
    from liteship.workflow.plan import BenchKey, ChainKey, CountKey, TrainKey

    per_epoch = _epoch_seconds(arch, size, images)
    out = {TrainKey(model): JOB_START + TRAIN_START + per_epoch * epochs}
    for recipe, tune in recipe_tunings.items():
        out[ChainKey(model, (recipe,))] = JOB_START + _recipe_seconds(arch, recipe) + _tune_seconds(per_epoch, tune)
        out[BenchKey(model, recipe)] = _bench_seconds(run_backends, invokes)
        for kind in kinds:
            out[CountKey(model, recipe, kind)] = _count_seconds(kind, arch, size, recipe)
    return out


def pending_seconds(costs: dict, done: set) -> dict:
    """``costs`` with the units already done (their keys in ``done``) at 0 s: the estimate counts only the work that
    will run."""
    return {key: 0.0 if key in done else seconds for key, seconds in costs.items()}


def fixed_seconds(pending: dict) -> float:
    """The sweep's fixed costs on this machine: with nothing left to run, NOTHING_TO_RUN; else the driver's start,
    planning and reports, and a worker's start (TensorFlow's import) when a training, a variant or a count will
    run (the bench runs in the driver)."""
    if not any(seconds > 0 for seconds in pending.values()):
        return NOTHING_TO_RUN * machine_pace()
    from liteship.workflow.plan import BenchKey

    work = any(seconds > 0 for key, seconds in pending.items() if not isinstance(key, BenchKey))
    return (SWEEP_OVERHEAD + (WORKER_START if work else 0.0)) * machine_pace()


MAX_AUTO_WORKERS = 4


def default_workers(estimates: list[Estimate]) -> int:
    """One worker per core, at most MAX_AUTO_WORKERS, and only as many as the largest models fit in memory side by
    side."""
    workers = min(os.cpu_count() or 1, MAX_AUTO_WORKERS)
    while workers > 1 and peak_memory(estimates, workers) > available_memory():
        workers -= 1
    return workers


def peak_memory(estimates: list[Estimate], workers: int = 1) -> float:
    """The ``workers`` largest models in memory at once (each worker trains or fine-tunes one; with more workers
    than models, the largest again)."""
    sizes = sorted((e.memory_bytes for e in estimates), reverse=True)
    return sum((sizes * max(workers, 1))[:max(workers, 1)]) if sizes else 0.0


def bound_problems(estimates: list[tuple[str, Estimate]], out: Path, workers: int = 1) -> list[Problem]:
    """Refuse what cannot fit: the largest models' memory (``workers`` of them side by side), and every model's
    disk together with the image cache's rows still to write (:mod:`liteship.workflow.disk`)."""
    found = []
    limit = available_memory()
    for where, e in estimates:
        if e.memory_bytes > limit:
            need, have = _pair(e.memory_bytes, limit)
            streamed = e.cache is not None
            held = ("one batch's activations, the weights, the batches streamed from the image cache and a little "
                    "per image" if streamed else "images at the input size, one batch's activations, the weights")
            because = f"; the images are held in memory because {e.held[0]} is {e.held[1]}" if e.held else ""
            fix = (f"make {e.held[0]} a folder liteship can write, or remove it, so the images stream from the "
                   "disk; or " if e.held else "") + "use a smaller size or a smaller batch_size"
            found.append(Problem(where, None, "", f"training it needs about {need} of memory ({held}), and this "
                                 f"machine has {have} available{because}", f"{fix}"
                                 f"{'' if streamed else ' or fewer images'}, or a machine with more memory"))
    together = peak_memory([e for _, e in estimates], workers)
    if not found and workers > 1 and together > limit:
        found.append(Problem("--workers", None, str(workers), f"{workers} workers side by side need about "
                             "{} of memory and this machine has {} available".format(*_pair(together, limit)),
                             "pass fewer --workers (1 needs the least), or leave it at auto"))
    from liteship.workflow.disk import disk_problems

    return found + disk_problems([e for _, e in estimates], Path(out))


def _gb(n: float, extra: int = 0) -> str:
    if n >= 1e12:
        return f"{n / 1e12:,.{1 + extra}f} TB"
    return f"{n / 1e9:.{1 + extra}f} GB" if n >= 1e8 else f"{n / 1e6:.{extra}f} MB"


def shown(n: float, extra: int = 0) -> str:
    """``n`` bytes with ``extra`` more digits, and more until one is not 0 ("0.2 MB", not "0 MB"; 0 is "0 MB")."""
    return next((_gb(n, e) for e in range(extra, 6) if not n or any(c in "123456789" for c in _gb(n, e))), _gb(n, 5))


def _pair(need: float, have: float) -> tuple[str, str]:
    """``need`` and ``have`` written with enough digits that the numbers shown differ ("2.4 MB and 2.1 MB", not
    "2 MB and 2 MB") and neither reads 0 unless it is, so a refusal's numbers show why."""
    for extra in range(6):
        pair = shown(need, extra), shown(have, extra)
        if pair[0] != pair[1]:
            return pair
    return pair


def duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"
