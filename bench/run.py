"""Bench a run directory: every current variant on its test split, float32 first as the agreement reference.

:func:`plan_bench` is the one skip check (which variants already have every
record the options ask for); :func:`bench_run` measures the variants it is
given and merges their records into ``results.jsonl`` after each one, so a
killed run keeps what it measured.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from liteship.bench.measure import BenchOptions, EvalSet, Target, bench_target
from liteship.bench.record import BenchRecord
from liteship.bench.results import read_results, records_by_key, write_results
from liteship.errors import LiteshipError
from liteship.progress import Progress
from liteship.rundir import FLOAT, VARIANTS
from liteship.runtime import BACKENDS, open_session


def run_targets(run_dir: Path) -> list[Target]:
    run_dir = Path(run_dir)
    targets = []
    for rec_path in sorted((run_dir / VARIANTS).glob("*.json")):
        rec = json.loads(rec_path.read_text())
        if rec.get("status") != "ok":
            continue
        card_path = run_dir / FLOAT / rec["model"] / "card.json"
        card = json.loads(card_path.read_text()) if card_path.is_file() else {}
        targets.append(Target(path=run_dir / rec["file"], variant=rec["id"], recipe=rec["recipe"], arch=rec.get("arch"),
                              alpha=rec.get("alpha"), size=rec.get("size"), params=card.get("params"),
                              group=rec["model"], labels=tuple(card.get("classes", ())) or None))
    if not targets:
        raise LiteshipError(f"No variants in {run_dir / VARIANTS}", "bench measures the variants optimize made",
                            f"run `liteship optimize {run_dir}` first, or pass a .tflite file")
    # float32 first in each group: its predictions are the reference for agreement.
    return sorted(targets, key=lambda t: (t.group or "", t.recipe != "float32", t.recipe or "", t.variant))


def result_keys(variant: str, options: BenchOptions) -> list[tuple]:
    """The (variant, backend, threads) records a bench of ``variant`` with ``options`` makes."""
    return [(variant, b, t) for b in options.backends if BACKENDS[b].kind == "run" for t in options.threads] + \
           [(variant, b, None) for b in options.backends if BACKENDS[b].kind == "coverage"]


@dataclass(frozen=True)
class PlannedBench:
    """One variant to bench, and its records if results.jsonl already has every one the options ask for."""

    target: Target
    done: tuple[BenchRecord, ...] | None


def plan_bench(run_dir: Path, options: BenchOptions) -> list[PlannedBench]:
    """Every variant of the run, done or pending: the one skip check of bench."""
    done = records_by_key(read_results(run_dir, missing_ok=True))
    planned = []
    for target in run_targets(run_dir):
        keys = result_keys(target.variant, options)
        have = tuple(done[k] for k in keys) if all(k in done for k in keys) else None
        planned.append(PlannedBench(target, have))
    return planned


def _reference_top1(target: Target, targets: list[Target], options: BenchOptions, x: np.ndarray) -> np.ndarray | None:
    """The float32 variant's top-1 on these images, for a variant benched without its float32 in the same call."""
    run_backends = [b for b in options.backends if BACKENDS[b].kind == "run"]
    f32 = next((t for t in targets if t.group == target.group and t.recipe == "float32"), None)
    if f32 is None or not run_backends:
        return None
    session = open_session(run_backends[0], str(f32.path), options.threads[0])
    return np.argmax(session.predict(x), axis=1)


def bench_run(run_dir: Path, options: BenchOptions, progress: Progress | None = None,
              timer: Callable[[], int] = time.perf_counter_ns,
              on_variant: Callable[[Target, list[BenchRecord]], None] | None = None,
              only: set[str] | None = None) -> list[BenchRecord]:
    """Measure the run's variants (``only``: those IDs) with accuracy on the test split; return their records."""
    from liteship.trainer.data import load_run_split

    progress = progress or Progress()
    run_dir = Path(run_dir)
    splits: dict[int, tuple] = {}
    reference: dict[str, np.ndarray] = {}
    records = []
    targets = run_targets(run_dir)
    for target in targets:  # float32 first in each group
        if only is not None and target.variant not in only:
            continue
        if target.size not in splits:
            splits[target.size] = load_run_split(run_dir, target.size)["test"]
        x, y = splits[target.size]
        if target.group not in reference and target.recipe != "float32":
            ref = _reference_top1(target, targets, options, x)
            if ref is not None:
                reference[target.group] = ref
        progress.log(f"bench {target.group} {target.recipe} ({target.variant})")
        recs, probs = bench_target(target, options, EvalSet(x, y, list(target.labels or ()), "test split"),
                                   reference.get(target.group), timer, progress)
        if target.recipe == "float32" and probs:
            # The float32 variant's top-1 on the first run backend is what agreement compares with.
            reference[target.group] = ref = np.argmax(next(iter(probs.values())), axis=1)
            recs = [replace(r, agreement=round(float(np.mean(np.argmax(probs[(r.backend, r.threads)], 1) == ref)), 6))
                    if (r.backend, r.threads) in probs else r for r in recs]
        write_results(run_dir, recs)
        records.extend(recs)
        if on_variant:
            on_variant(target, recs)
    return records
