"""The app's runtime as the run's bench recorded it (``[bench] target_runtime``, ``--target-runtime``): a
constraint on what pick ships and what the report recommends, as if the budgets declared it. Budgets that declare
a target of their own win, and the decision says so."""

from __future__ import annotations

from dataclasses import replace

from liteship.bench import BenchRecord
from liteship.bench import version_key
from liteship.judge.budgets import Budgets, runtime_check


def recorded_targets(records: list[BenchRecord]) -> list[str]:
    """The runtimes the run's bench loaded its variants in, oldest first (none: the bench was given none)."""
    found = {(r.options or {}).get("target_runtime") or (r.compat or {}).get("target") for r in records}
    return sorted((t for t in found if t), key=version_key)


def in_force(budgets: Budgets, records: list[BenchRecord]) -> tuple[Budgets, str]:
    """(the budgets the decision judges with, what it says about the target runtime: "" when nothing to say).

    Budgets without a ``target_runtime`` take the one the bench recorded (the oldest, when several were: a variant
    that runtime refuses cannot ship to every app the run was measured for)."""
    recorded = recorded_targets(records)
    if budgets.target_runtime is not None:
        others = [t for t in recorded if t != budgets.target_runtime]
        return budgets, ("" if not others else
                         f"target_runtime {budgets.target_runtime} comes from the budgets, which win over "
                         f"{', '.join(others)}, the runtime the run's bench recorded ([bench] target_runtime)")
    if not recorded:
        return budgets, ""
    target = recorded[0]
    several = f" (the oldest of {', '.join(recorded)})" if len(recorded) > 1 else ""
    return replace(budgets, target_runtime=target), (
        f"target_runtime {target}{several} is the runtime the run's bench recorded as the app's ([bench] "
        "target_runtime); the budgets declare none, so it is judged as if they did")


def with_runtime_verdicts(verdicts: list, budgets: Budgets, records: list[BenchRecord]) -> list:
    """``verdicts`` (VariantVerdicts), each given the ``target_runtime`` verdict it lacks under ``budgets``."""
    if budgets.target_runtime is None:
        return list(verdicts)
    out = []
    for vv in verdicts:
        recs = [r for r in records if r.variant == vv.variant]
        if recs and not any(v.id == "target_runtime" for v in vv.verdicts):
            vv = replace(vv, verdicts=(*vv.verdicts, runtime_check(budgets, vv.variant, recs)))
        out.append(vv)
    return out


def refused(verdicts: list) -> tuple[tuple[str, str], ...]:
    """(variant, why) for each variant the target runtime refuses: never recommended, never picked."""
    return tuple((vv.variant, v.message) for vv in verdicts for v in vv.verdicts
                 if v.id == "target_runtime" and not v.passed)
