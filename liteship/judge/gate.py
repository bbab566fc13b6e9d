"""Gate: judge a run's variants against budgets; re-measure a latency too close to call or over its limit."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from liteship.bench import BenchRecord
from liteship.bench import current_results
from liteship.errors import LiteshipError
from liteship.judge.budgets import RUN_BUDGETS, Budgets, Verdict, judge, predicted

JUDGED_ON_RUN = (*RUN_BUDGETS, "max_instructions_m")
from liteship.rundir import VARIANTS, refuse_if_written


@dataclass(frozen=True)
class VariantVerdict:
    variant: str
    recipe: str | None
    model: str | None
    verdicts: tuple[Verdict, ...]

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)

    @property
    def judged(self) -> BenchRecord | None:
        """The record the run budgets judged (a re-measured one included); None when no run budget was set."""
        return next((v.record for v in self.verdicts if v.id in JUDGED_ON_RUN and v.record is not None), None)

    @property
    def worst_margin(self) -> float:
        """Sum of relative shortfalls: how far a failing variant is from passing."""
        total = 0.0
        for v in self.verdicts:
            if not v.passed:
                if isinstance(v.margin, (int, float)) and isinstance(v.limit, (int, float)) and v.limit:
                    total += abs(v.margin) / abs(v.limit)
                else:
                    total += 1.0
        return total


def select(records: list[BenchRecord], variant: str | None) -> list[str]:
    ids = list(dict.fromkeys(r.variant for r in records))
    if variant is None:
        return ids
    chosen = [i for i in ids if i == variant] or \
        list(dict.fromkeys(r.variant for r in records if r.recipe == variant))
    if not chosen:
        raise LiteshipError(f"No variant {variant!r} in the results", "--variant takes a variant ID or a recipe name",
                            "valid: " + ", ".join(sorted(set(ids) | {r.recipe for r in records if r.recipe})))
    return chosen


def records_to_judge(run_dir: Path) -> list[BenchRecord]:
    """The run's current records (:func:`liteship.bench.current_results`); none is exit 2, never a verdict.

    A gate of no variant would report "0 of 0 variants pass": neither passed nor failed, because nothing was
    judged (the current variants are not benched yet, or the results hold only variants replaced since). For
    readers only: a run directory a liteship command is writing is exit 2 (asked before reading and after).
    """
    refuse_if_written(run_dir, "gate")
    records, stale = current_results(Path(run_dir))
    refuse_if_written(run_dir, "gate")  # began while gate read: what it read may be half-made
    if not records:
        replaced = f"; its {len(stale)} other variants on disk were replaced since" if stale else ""
        raise LiteshipError(f"{run_dir} has no current variant with results to judge",
                            "its results.jsonl holds no record of the variants its latest optimize or sweep "
                            f"made{replaced}, so a gate would judge nothing",
                            f"bench them (`liteship bench {run_dir}`, or let the sweep finish), then gate again")
    return records


def remeasure_latency(record: BenchRecord, budgets: Budgets, model_path: Path) -> BenchRecord:
    """Time the variant again, four times as long: a result within its CI of the limit is not a verdict yet."""
    from liteship.bench import BenchOptions, Target, bench_target

    options = BenchOptions(backends=(budgets.backend,), threads=(budgets.threads,), runs=200, rounds=20)
    target = Target(path=model_path, variant=record.variant, recipe=record.recipe, arch=record.arch,
                    alpha=record.alpha, size=record.size, group=record.model)
    fresh, _ = bench_target(target, options)
    return replace(record, latency_ms=fresh[0].latency_ms)


def _near_limit(budgets: Budgets, run: BenchRecord | None) -> bool:
    """The budget's own statistic's interval holds the limit (p90 and p99 have intervals of their own)."""
    ci = run.latency_ms.interval(budgets.latency_stat) if run is not None and run.latency_ms else None
    return ci is not None and ci[0] <= budgets.max_latency_ms <= ci[1]


def _not_here(run: BenchRecord, run_dir: Path) -> str:
    """Why a latency of a backend not measured here is not measured again, and how it would be."""
    d = run.device or {}
    if predicted(run):
        return (f" [not re-measured: {run.backend} is a prediction from {d.get('profile')} instruction counts, not a "
                f"measurement; to make it one, measure the variant on the {d.get('device')} (liteship device kit "
                f"{run_dir} --out DIR, then liteship device import {run_dir} FILE --device \"{d.get('device')}\"): a "
                "variant measured there is judged on its measurement]")
    return f" [not re-measured: {run.backend} is a device's imported measurement; measure it there again]"


def _with_remeasure(run_dir: Path, budgets: Budgets, vid: str, recs: list[BenchRecord],
                    records: list[BenchRecord], why: str, run: BenchRecord) -> list[Verdict]:
    """Judge again after re-measuring a latency (``run``, the record judged) that is too close to call or over the
    limit, saying so."""
    if not run.kind.here:  # a device's own number, or one predicted for it: nothing here can time that device
        return [replace(v, message=v.message + _not_here(run, run_dir)) if v.id == "max_latency_ms" else v
                for v in judge(budgets, vid, recs, records, run_dir)]
    low, high = run.latency_ms.interval(budgets.latency_stat)
    first = f"{budgets.latency_stat} {getattr(run.latency_ms, budgets.latency_stat):.3f} ms, 95 % CI {low:.3f}-{high:.3f}"
    model_path = run_dir / VARIANTS / f"{vid}.tflite"
    if not model_path.is_file():
        note = f" [{why} ({first}), and {model_path} is not here to re-measure]"
        verdicts, remeasured = judge(budgets, vid, recs, records, run_dir), False
    else:
        fresh = remeasure_latency(run, budgets, model_path)
        recs = [fresh if r is run else r for r in recs]
        note = f" [re-measured: {why} ({first})]"
        verdicts, remeasured = judge(budgets, vid, recs, records, run_dir), True
    return [replace(v, remeasured=remeasured, message=v.message + note) if v.id == "max_latency_ms" else v
            for v in verdicts]


def _remeasure_why(budgets: Budgets, verdicts: list[Verdict]) -> tuple[str, BenchRecord] | None:
    """Why a latency verdict needs a second, longer measurement, with the record it judged: its interval holds the
    limit, or it failed (wall time on a shared machine moves between runs: a failure is confirmed before it is
    reported)."""
    latency = next((v for v in verdicts if v.id == "max_latency_ms"), None)
    if budgets.max_latency_ms is None or latency is None or latency.measured is None or latency.record is None:
        return None
    if _near_limit(budgets, latency.record):
        return "the first result's interval held the limit", latency.record
    return None if latency.passed else ("a latency over the limit is confirmed by a second measurement", latency.record)


def gate(run_dir: Path, budgets: Budgets, variant: str | None = None, remeasure: bool = True,
         records: list[BenchRecord] | None = None) -> list[VariantVerdict]:
    """Every current variant's verdicts; ``records``: the run's current results, when the caller has read them
    (else :func:`records_to_judge` reads them: a reader's, refused while a command writes the run)."""
    run_dir = Path(run_dir)
    records = records_to_judge(run_dir) if records is None else records
    out = []
    for vid in select(records, variant):
        recs = [r for r in records if r.variant == vid]
        verdicts = judge(budgets, vid, recs, records, run_dir)
        why = _remeasure_why(budgets, verdicts) if remeasure else None
        if why is not None:
            verdicts = _with_remeasure(run_dir, budgets, vid, recs, records, *why)
        out.append(VariantVerdict(vid, recs[0].recipe, recs[0].model, tuple(verdicts)))
    return out
