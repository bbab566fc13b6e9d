"""The checks of what a run needs of this machine and of its run directory, before any work: the memory and disk
estimate of each model (held or streamed images), the run's image cache path, LiteRT Quantizer for the recipes it
makes, and the local workers. Called by :mod:`liteship.workflow.checks`."""

from __future__ import annotations

import os
from pathlib import Path

from liteship.config import Problem, describe


def bounds_problems(configs, data: str, out: str, recipes: int) -> list[Problem]:
    """Each (where, TrainConfig) of ``configs`` refused where its memory or disk estimate does not fit; a folder's
    images charged as streamed, or as held when the run's image cache cannot be written."""
    from liteship.workflow.resources import bound_problems, config_estimate, held_reason, image_count

    images = image_count(data)
    if images is None:
        return []
    held = held_reason(data, out)
    estimates = [(where, config_estimate(c, images, recipes, held)) for where, c in configs]
    return bound_problems(estimates, Path(out or "."))


def cache_path_problems(out: str | None) -> list[Problem]:
    """A run whose image cache cannot even be looked at (``RUN/data`` a file, a symbolic link loop): refused before
    any work, where it failed mid-pass."""
    from liteship.rundir import IMAGE_CACHE

    if not out:
        return []
    cache = Path(out) / IMAGE_CACHE
    try:
        os.lstat(cache)
    except FileNotFoundError:
        return []
    except OSError as exc:
        return [Problem("--out", None, describe(out), f"its image cache {cache} cannot be reached: "
                        f"{exc.strerror or exc}", f"remove or rename what is at {Path(out) / 'data'}, or pass "
                        "another --out")]
    return []


def scratch_problems(data: str) -> list[Problem]:
    """bench of one file decodes ``--data``'s photos into a temporary folder (``TMPDIR``): one inside the data
    would be listed as a class, or write among the user's photos, so it is refused before any work."""
    import tempfile

    if data == "digits" or not Path(data).is_dir():
        return []
    scratch, folder = Path(tempfile.gettempdir()).resolve(), Path(data).resolve()
    if scratch != folder and folder not in scratch.parents:
        return []
    return [Problem("--data", None, describe(data), f"the temporary folder {scratch} (TMPDIR) is inside it: "
                    "bench decodes the photos into a cache there, which would sit among them",
                    "set TMPDIR to a folder outside the data, e.g. TMPDIR=/tmp")]


def quantizer_problems(recipes, where: str) -> list[Problem]:
    """A sweep whose recipes LiteRT Quantizer makes, on a machine without it: refused before any training."""
    from liteship.optimize import parse_recipes, quantizer

    return quantizer.problems(parse_recipes(recipes), where, "recipes")  # recipes checked_sweep_config checked


def workers_problems(request) -> list[Problem]:
    """``workers``: None (auto) or a whole number in its range, with the local executor only."""
    from liteship.workflow.requests import WORKERS_LIMITS

    workers, (lo, hi) = request.workers, WORKERS_LIMITS
    if workers is None:
        return []
    if not isinstance(workers, int) or isinstance(workers, bool) or not lo <= workers <= hi:
        return [Problem("--workers", None, describe(workers), f"it is auto or a whole number of processes from {lo} "
                        f"to {hi}", "pass --workers 2, say, or leave it out (auto: one per core)")]
    if request.executor != "local":
        return [Problem("--workers", None, str(workers), "--workers sets the local executor's processes; "
                        "Ray places its tasks on the cluster's own workers", "drop --workers, or use --executor local")]
    return []
