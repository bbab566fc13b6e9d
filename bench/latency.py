"""Latency: warm-up, then interleaved timed rounds; median of round medians with a bootstrap CI.

These machines drift by tens of percent between consecutive trials, so the
runs of every session being compared are spread over several rounds taken
in turn (A B C A B C ...): a slow spell hits all of them alike. Inputs are set
before the timed region, the garbage collector is off while timing, and the
timer is injectable so the statistics can be tested with a fake clock.
"""

from __future__ import annotations

import gc
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import numpy as np

from liteship.bench.record import LatencyStats


def summarize(round_samples: list[list[int]], init_ns: int, first_ns: int, seed: int = 0) -> LatencyStats:
    """Nanosecond samples per round -> milliseconds statistics."""
    samples = np.asarray([s for r in round_samples for s in r], dtype=np.float64) / 1e6
    medians = np.asarray([np.median(r) for r in round_samples if len(r)], dtype=np.float64) / 1e6
    p50 = float(np.median(medians))
    if len(medians) > 1:
        rng = np.random.default_rng(seed)
        boot = np.median(rng.choice(medians, size=(2000, len(medians)), replace=True), axis=1)
        low, high = (float(v) for v in np.percentile(boot, [2.5, 97.5]))
    else:
        low = high = p50
    mean = float(samples.mean())
    std = float(samples.std(ddof=1)) if len(samples) > 1 else 0.0
    p90_ci, p99_ci = _tail_intervals(round_samples, seed)
    return LatencyStats(
        init=round(init_ns / 1e6, 4), first=round(first_ns / 1e6, 4), p50=round(p50, 4),
        p90=round(float(np.percentile(samples, 90)), 4), p99=round(float(np.percentile(samples, 99)), 4),
        mean=round(mean, 4), std=round(std, 4), cv=round(std / mean, 4) if mean else 0.0,
        min=round(float(samples.min()), 4), runs=int(len(samples)), rounds=int(len(medians)),
        ci_low=round(low, 4), ci_high=round(high, 4), p90_ci=p90_ci, p99_ci=p99_ci)


def _tail_intervals(round_samples: list[list[int]], seed: int, resamples: int = 1000):
    """95 % intervals of p90 and p99: the rounds resampled whole (drift moves a round, not a sample)."""
    rounds = [np.asarray(r, dtype=np.float64) / 1e6 for r in round_samples if len(r)]
    if len(rounds) < 2:
        return None, None
    rng = np.random.default_rng(seed + 1)
    picks = rng.integers(0, len(rounds), size=(resamples, len(rounds)))
    tails = np.asarray([np.percentile(np.concatenate([rounds[i] for i in pick]), [90, 99]) for pick in picks])
    (l90, l99), (h90, h99) = np.percentile(tails, [2.5, 97.5], axis=0)
    return (round(float(l90), 4), round(float(h90), 4)), (round(float(l99), 4), round(float(h99), 4))


def measure(invokers: dict, runs: int, rounds: int, warmup: int, timer: Callable[[], int] = time.perf_counter_ns,
            min_round_ns: int = 0) -> dict[object, tuple[list[list[int]], int]]:
    """Time each ``invoke`` callable ``runs`` times in all, in ``rounds`` interleaved rounds.

    A round of a fast model also lasts at least ``min_round_ns``: a round of
    a few milliseconds fits inside one noisy spell, one that lasts tens of
    milliseconds does not. Returns per key (samples per round in ns, first-invoke ns).
    """
    per_round = max(1, -(-runs // max(1, rounds)))
    firsts = {}
    for key, invoke in invokers.items():
        t0 = timer()
        invoke()
        firsts[key] = timer() - t0
        for _ in range(max(0, warmup - 1)):
            invoke()
    samples = {key: [] for key in invokers}
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            for key, invoke in invokers.items():
                row, spent = [], 0
                while len(row) < per_round or spent < min_round_ns:
                    t0 = timer()
                    invoke()
                    row.append(timer() - t0)
                    spent += row[-1]
                samples[key].append(row)
    finally:
        if was_enabled:
            gc.enable()
    return {key: (samples[key], firsts[key]) for key in invokers}


LOCK_FILE = "liteship-latency.lock"


@contextmanager
def one_at_a_time_on_this_machine(lock_dir: str | Path | None = None):
    """Hold the machine-wide latency lock: two timings on one machine would slow each other down.

    An exclusive ``flock`` on a file in the machine's temp folder, so it works
    for any number of processes (parallel ``liteship bench`` calls, Ray workers
    on one node) and is released by the kernel if the holder dies.
    """
    path = Path(lock_dir or tempfile.gettempdir()) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)  # never through a planted link
    except OSError:  # no writable temp folder: time without the lock rather than not at all
        yield False
        return
    try:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX)
        yield True
    except ImportError:  # not on Linux or macOS
        yield False
    finally:
        os.close(fd)  # closing the descriptor releases the lock
