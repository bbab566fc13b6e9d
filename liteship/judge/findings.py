"""Warnings a report must show, each with its numbers: things that make a table misleading if read alone.

- a compressed variant beats its float model by more than the paired interval: the baseline, not the
  compression, explains it (an under-trained float model whose fine-tuning recipes kept training it);
- a quantized variant is slower than plain ``int8`` or ``float32`` of the same model on the same backend,
  outside both latency intervals (``liteship explain`` says which ops differ);
- differences in top-1 between a model's variants that the test split cannot tell from noise;
- a test split too small to decide the accuracy budgets.
"""

from __future__ import annotations

from dataclasses import dataclass

from liteship.rundir import VARIANTS, read_variant_record
from liteship.bench import backends
from liteship.bench import BenchRecord
from liteship.judge.baseline import drop_with_interval, float_record
from liteship.judge.budgets import Budgets

NOT_COMPRESSED = ("float32",)
PLAIN = ("int8", "float32")


@dataclass(frozen=True)
class Finding:
    kind: str  # "baseline", "slower", "noise", "split"
    model: str | None
    message: str
    variants: tuple[str, ...] = ()
    explain: str | None = None  # a command that says more


def _runs(records: list[BenchRecord], backend: str | None = None) -> list[BenchRecord]:
    return [r for r in records if r.kind == "run" and r.status == "ok" and (backend is None or r.backend == backend)]


def _primary_backend(records: list[BenchRecord], budgets: Budgets) -> tuple[str, int]:
    runs = _runs(records)
    if any(r.backend == budgets.backend and r.threads == budgets.threads for r in runs):
        return budgets.backend, budgets.threads
    return (runs[0].backend, runs[0].threads) if runs else (budgets.backend, budgets.threads)


def beats_float(records: list[BenchRecord], budgets: Budgets) -> list[Finding]:
    backend, threads = _primary_backend(records, budgets)
    out = []
    for model in dict.fromkeys(r.model for r in records):
        base = float_record(records, model, backend, threads)
        better = []
        for r in _runs(records, backend):
            if r.model == model and r.threads == threads and r.recipe not in NOT_COMPRESSED and base is not None:
                drop = drop_with_interval(r, records)
                if drop is not None and drop.high < 0:
                    better.append((r, drop))
        if better:
            better.sort(key=lambda rd: rd[1].value)
            listed = "; ".join(f"{r.recipe} {-d.value * 100:+.2f} pt [{-d.high * 100:+.2f}, {-d.low * 100:+.2f}]"
                               for r, d in better)
            out.append(Finding("baseline", model, f"{model}: {len(better)} compressed variant(s) beat the float32 model "
                               f"(top-1 {base.top1:.4f}) by more than the 95 % paired interval: {listed}. Recipes "
                               "that fine-tune kept training the float model, so the baseline looks under-trained, "
                               "and their gains are not the compression's. Train the float model longer "
                               "([[models]] epochs / fine_tune_epochs) and sweep again.",
                               tuple(r.variant for r, _ in better)))
    return out


def _integer(r: BenchRecord) -> bool:
    """A variant whose input is 8-bit: it computes in integers (a float input means float kernels)."""
    return ((r.contract or {}).get("input") or {}).get("dtype", "float32") != "float32"


def slower_than_plain(records: list[BenchRecord], run_dir: str = "RUN") -> list[Finding]:
    """Integer variants against plain int8, then float32; float-compute ones (float16, dynamic) against float32."""
    out = []
    for r in _runs(records):
        if not backends.time_stands(r.backend) or r.recipe in PLAIN or not r.latency_ms:
            continue
        for plain in (PLAIN if _integer(r) else ("float32",)):
            ref = next((q for q in _runs(records, r.backend) if q.model == r.model and q.recipe == plain
                        and q.threads == r.threads and q.latency_ms), None)
            if ref is not None and r.latency_ms.ci_low > ref.latency_ms.ci_high:
                out.append(Finding(
                    "slower", r.model,
                    f"{r.model} {r.recipe} is slower than plain {plain} on {r.backend}, {r.threads} thread(s): p50 "
                    f"{r.latency_ms.p50:.3f} ms [{r.latency_ms.ci_low:.3f}, {r.latency_ms.ci_high:.3f}] vs "
                    f"{ref.latency_ms.p50:.3f} ms [{ref.latency_ms.ci_low:.3f}, {ref.latency_ms.ci_high:.3f}] "
                    f"({r.latency_ms.p50 / ref.latency_ms.p50:.2f}×, outside both intervals), at "
                    f"{r.size_bytes / 1024:.1f} KB vs {ref.size_bytes / 1024:.1f} KB.",
                    (r.variant, ref.variant), f"liteship explain {run_dir} {r.variant} --vs {ref.variant}"))
                break  # slower than int8 says it; float32 is named only when int8 is not beaten
    return out


def inside_noise(records: list[BenchRecord], budgets: Budgets) -> list[Finding]:
    backend, threads = _primary_backend(records, budgets)
    out = []
    for model in dict.fromkeys(r.model for r in records):
        tied = []
        for r in _runs(records, backend):
            if r.model == model and r.threads == threads and r.recipe != "float32":
                drop = drop_with_interval(r, records)
                if drop is not None and drop.value != 0 and drop.low <= 0 <= drop.high:
                    tied.append((r, drop))
        if tied:
            lo, hi = min(-d.value for _, d in tied), max(-d.value for _, d in tied)
            out.append(Finding("noise", model, f"{model}: the top-1 of {len(tied)} variant(s) ({', '.join(r.recipe for r, _ in tied)}) "
                               f"differs from float32 by {lo * 100:+.2f} to {hi * 100:+.2f} pt, each inside its 95 % "
                               f"paired interval on {tied[0][1].images} images: the test split cannot tell them from "
                               "float32; do not rank them by those digits.", tuple(r.variant for r, _ in tied)))
    return out


def split_too_small(records: list[BenchRecord], budgets: Budgets) -> list[Finding]:
    if budgets.max_accuracy_drop is None:
        return []
    backend, threads = _primary_backend(records, budgets)
    undecided, images = [], None
    for r in _runs(records, backend):
        if r.threads == threads and r.recipe != "float32":
            drop = drop_with_interval(r, records)
            if drop is not None:
                images = drop.images
                if not drop.decides(budgets.max_accuracy_drop):
                    undecided.append((r, drop))
    if not undecided:
        return []
    widest = max(d.high - d.low for _, d in undecided)
    return [Finding("split", None, f"The test split ({images} images; one image is {100 / images:.2f} pt) is too small "
                    f"to decide max_accuracy_drop = {budgets.max_accuracy_drop * 100:.2f} pt for {len(undecided)} "
                    f"variant(s) ({', '.join(f'{r.model} {r.recipe}' for r, _ in undecided)}): their 95 % intervals "
                    f"(up to {widest * 100:.2f} pt wide) hold the limit. More test images would decide them.",
                    tuple(r.variant for r, _ in undecided))]


def search_unmet(records: list[BenchRecord], run_dir: str) -> list[Finding]:
    """auto_int8 variants whose search ended without meeting its budget: which step was kept, and why."""
    from pathlib import Path

    out = []
    for vid in dict.fromkeys(r.variant for r in records if r.recipe == "auto_int8"):
        try:
            made = read_variant_record(Path(run_dir) / VARIANTS / f"{vid}.json")
            details = made["details"]
        except (OSError, ValueError, KeyError):
            continue
        if details.get("met_budget") is False and details.get("steps"):
            kept = next(s for s in details["steps"] if s["step"] == details["chosen_step"])
            out.append(Finding("search", made.get("model"), f"{made.get('model')} auto_int8 did not meet "
                               f"max_accuracy_drop = {details['max_accuracy_drop'] * 100:.2f} pt on the "
                               f"{details['split']} split after {len(details['steps'])} steps "
                               f"({'; '.join(s['step'] for s in details['steps'])}); it kept the closest, "
                               f"{kept['step']}: {kept['why']}. With judge_by = \"interval\" a split this small "
                               "cannot show so small a drop: more validation images, a larger budget, or "
                               "judge_by = \"point\" in [optimize.auto_int8].", (vid,)))
    return out


FLIP_MARGIN = 0.03  # ratios within 3 % of 1 are not called an order


def _arm_ratio(records: list[BenchRecord], variant: str, base: str, backend: str) -> float | None:
    counts = {r.variant: r.instructions["per_invoke"] for r in records if r.backend == backend and r.kind == "count"
              and r.status == "ok" and r.instructions and r.instructions.get("per_invoke")}
    return counts[variant] / counts[base] if variant in counts and base in counts else None


def _x86_ratios(records: list[BenchRecord], variant: str, base: str) -> list[tuple[str, float]]:
    """(what, ratio of variant to base) for x86 p50 on the reference backend at 1 thread and x86 instructions
    (valgrind)."""
    ref = backends.reference().name

    def one(vid):
        return next((r for r in records if r.variant == vid and r.backend == ref and r.threads == 1
                     and r.status == "ok"), None)
    a, b = one(variant), one(base)
    out = []
    if a and b and a.latency_ms and b.latency_ms and b.latency_ms.p50 and \
            (a.latency_ms.ci_low > b.latency_ms.ci_high or a.latency_ms.ci_high < b.latency_ms.ci_low):
        out.append(("x86 p50 latency", a.latency_ms.p50 / b.latency_ms.p50))
    if a and b and a.instructions and b.instructions and b.instructions.get("per_invoke"):
        out.append(("x86 instructions", a.instructions["per_invoke"] / b.instructions["per_invoke"]))
    return out


def isa_order_flips(records: list[BenchRecord]) -> list[Finding]:
    """Variants that x86 ranks against their float32 the other way round from the phone's ISA (ARM counts):
    one warning per model and ARM backend, listing each such variant with its ratios."""
    out = []
    arms = list(dict.fromkeys(r.backend for r in records if r.kind == "count" and r.status == "ok"))
    for model in dict.fromkeys(r.model for r in records):
        base = next((r.variant for r in records if r.model == model and r.recipe == "float32"), None)
        for arm in arms:
            listed, ids = [], []
            for vid, recipe in dict.fromkeys((r.variant, r.recipe) for r in records if r.model == model):
                ratio = None if base is None or vid == base else _arm_ratio(records, vid, base, arm)
                flips = [(what, x) for what, x in (_x86_ratios(records, vid, base) if ratio is not None else [])
                         if abs(x - 1) > FLIP_MARGIN and abs(ratio - 1) > FLIP_MARGIN and (x > 1) != (ratio > 1)]
                if flips:
                    listed.append(f"{recipe} {' and '.join(f'{x:.2f}x by {what}' for what, x in flips)}, "
                                  f"{ratio:.2f}x by {arm} instructions")
                    ids.append(vid)
            if listed:
                out.append(Finding("isa", model, f"{model}: x86 orders {len(listed)} variant(s) against float32 the "
                                   f"other way round from the phone's instruction set ({arm}): "
                                   + "; ".join(listed) + ". An instruction count is not a phone's time, but it "
                                   "counts the kernels the phone runs", (*ids, base)))
    return out


def arm_disagrees(records: list[BenchRecord]) -> list[Finding]:
    """Emulated ARM kernels that answer differently from x86 LiteRT on the same images."""
    return [Finding("isa", r.model, f"{r.model} {r.recipe} on {r.backend}: top-1 agrees with x86 "
                    f"{r.reference_backend} on only "
                    f"{r.reference_agreement:.4f} of {r.images} images (max probability difference "
                    f"{r.reference_max_diff:.3g}): the phone's kernels may not answer as the x86 numbers say",
                    (r.variant,))
            for r in records if r.kind == "count" and r.status == "ok" and r.reference_agreement is not None
            and r.reference_agreement < 1.0]


def counts_failed(records: list[BenchRecord]) -> list[Finding]:
    """Instruction counts asked for that failed: the variant has no count on that ISA, and the reason it failed."""
    failed = [(r, n) for r in records for n in r.notes
              if (r.kind == "run" and n.startswith("instructions not counted") and "not installed" not in n)
              or (r.kind == "count" and r.status == "n/a")]
    return [Finding("count_failed", r.model, f"{r.model} {r.recipe}: no {r.backend if r.kind == 'count' else 'x86'} "
                    f"instruction count ({note}); an instruction budget on it is not measured", (r.variant,))
            for r, note in failed]


def findings(records: list[BenchRecord], budgets: Budgets, run_dir: str = "RUN") -> list[Finding]:
    return [*beats_float(records, budgets), *slower_than_plain(records, run_dir), *inside_noise(records, budgets),
            *split_too_small(records, budgets), *search_unmet(records, run_dir), *isa_order_flips(records),
            *arm_disagrees(records), *counts_failed(records)]
