"""Gate: judge a run's variants against budgets; re-measure latency that is too close to call."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from xml.etree import ElementTree as ET

from liteship.errors import LiteshipError

from liteship.judge.budgets import Budgets, Verdict, judge
from liteship.bench.record import BenchRecord


def load_results(run_dir: Path) -> list[BenchRecord]:
    path = Path(run_dir) / "results.jsonl"
    if not path.is_file():
        raise LiteshipError(f"{run_dir} has no results.jsonl", "gate and pick judge measured variants",
                            f"run `liteship sweep` or `liteship bench {run_dir}` first")
    records = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(BenchRecord.from_dict(json.loads(line)))
        except (json.JSONDecodeError, TypeError) as exc:
            raise LiteshipError(f"{path} line {n} is not a bench record ({exc})", "the file is damaged",
                                f"re-run `liteship bench {run_dir}`") from exc
    return records


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


def _float_top1(records: list[BenchRecord], model: str | None, budgets: Budgets) -> float | None:
    f32 = [r for r in records if r.model == model and r.recipe == "float32" and r.top1 is not None]
    exact = [r for r in f32 if r.backend == budgets.backend and r.threads == budgets.threads]
    return (exact or f32)[0].top1 if (exact or f32) else None


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


def remeasure_latency(record: BenchRecord, budgets: Budgets) -> BenchRecord:
    """Time the variant again, four times as long: a result within its CI of the limit is not a verdict yet."""
    from liteship.bench.run import BenchOptions, Target, bench_target

    options = BenchOptions(backends=(budgets.backend,), threads=(budgets.threads,), runs=200, rounds=20)
    target = Target(path=Path(record.model_path), variant=record.variant, recipe=record.recipe, arch=record.arch,
                    alpha=record.alpha, size=record.size, group=record.model)
    fresh, _ = bench_target(target, options)
    return replace(record, latency_ms=fresh[0].latency_ms)


def gate(run_dir: Path, budgets: Budgets, variant: str | None = None, remeasure: bool = True) -> list[VariantVerdict]:
    records = load_results(run_dir)
    out = []
    for vid in select(records, variant):
        recs = [r for r in records if r.variant == vid]
        verdicts = judge(budgets, vid, recs, _float_top1(records, recs[0].model, budgets))
        if remeasure and budgets.max_latency_ms is not None:
            run = next((r for r in recs if r.backend == budgets.backend and r.threads == budgets.threads
                        and r.latency_ms), None)
            if run is not None and run.latency_ms.ci_low <= budgets.max_latency_ms <= run.latency_ms.ci_high \
                    and Path(run.model_path).is_file():
                fresh = remeasure_latency(run, budgets)
                recs = [fresh if r is run else r for r in recs]
                verdicts = [replace(v, remeasured=True, message=v.message + " [re-measured: the first result's "
                                    f"95 % CI {run.latency_ms.ci_low:.3f}-{run.latency_ms.ci_high:.3f} ms held the limit]")
                            if v.check.startswith("max_latency_ms") else v
                            for v in judge(budgets, vid, recs, _float_top1(records, recs[0].model, budgets))]
        out.append(VariantVerdict(vid, recs[0].recipe, recs[0].model, tuple(verdicts)))
    return out


def render(results: list[VariantVerdict]) -> str:
    lines = []
    for vv in results:
        lines.append(f"{'PASS' if vv.passed else 'FAIL'} {vv.variant} ({vv.model} {vv.recipe})")
        for v in vv.verdicts:
            lines.append(f"    {v.message}")
    return "\n".join(lines)


def junit_xml(results: list[VariantVerdict]) -> str:
    suite = ET.Element("testsuite", name="liteship.gate", tests=str(sum(len(v.verdicts) for v in results)),
                       failures=str(sum(1 for vv in results for v in vv.verdicts if not v.passed)))
    for vv in results:
        for v in vv.verdicts:
            case = ET.SubElement(suite, "testcase", classname=f"liteship.{vv.model}.{vv.recipe}",
                                 name=f"{vv.variant}.{v.check}")
            if not v.passed:
                ET.SubElement(case, "failure", message=v.message).text = v.message
            else:
                ET.SubElement(case, "system-out").text = v.message
    return ET.tostring(ET.ElementTree(suite).getroot(), encoding="unicode", xml_declaration=True) + "\n"


def markdown_summary(results: list[VariantVerdict]) -> str:
    lines = ["## liteship gate", "", "| variant | model | recipe | check | measured | limit | margin | verdict |",
             "|---|---|---|---|---:|---:|---:|---|"]
    for vv in results:
        for v in vv.verdicts:
            fmt = (lambda x: f"{x:.4g}" if isinstance(x, float) else ("–" if x is None else str(x)))
            lines.append(f"| `{vv.variant}` | {vv.model} | {vv.recipe} | {v.check} | {fmt(v.measured)} | "
                         f"{fmt(v.limit)} | {fmt(v.margin)} | {'✅' if v.passed else '❌'}"
                         f"{' (re-measured)' if v.remeasured else ''} |")
    passed = sum(vv.passed for vv in results)
    lines += ["", f"{passed} of {len(results)} variants pass every budget."]
    return "\n".join(lines) + "\n"
