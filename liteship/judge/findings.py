"""Warnings a report must show, each with its numbers: things that make a table misleading if read alone.

- a compressed variant beats its float model by more than the paired interval: the baseline, not the
  compression, explains it (an under-trained float model whose fine-tuning recipes kept training it);
- a quantized variant is slower than plain ``int8`` or ``float32`` of the same model on the same backend,
  outside both latency intervals and by more than SLOWER_MARGIN (``liteship explain`` says which ops differ);
- differences in top-1 between a model's variants that the test split cannot tell from noise;
- a test split too small to decide the accuracy budgets;
- the order of costs the decision used (its budgets' backend: x86 ms, a phone's measured or predicted ms, or
  instruction counts), where another order ranks a pair of variants the other way (:mod:`liteship.judge.costs`).

Findings of one kind are one finding listing every variant it concerns, ranked by how much each should weigh
on the decision, so a report says a thing once.

A new warning is one function here, registered with :func:`finder` and the line that says what it checked (a
report with no warnings lists those lines, :func:`checked`); :func:`findings` calls every one.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from liteship.baseline import BASELINE_RECIPE, is_baseline
from liteship.rundir import VARIANTS, read_variant_record
from liteship.bench import backends
from liteship.bench import BenchRecord
from liteship.judge.baseline import drop_with_interval, float_record
from liteship.judge.budgets import Budgets
from liteship.judge.costs import decision_order, Order, orders, predicted
from liteship.number_formats import change_pt, points, pt, pt_interval

PLAIN_INT8 = "int8"  # the plain integer variant a quantized one is timed against before the baseline


@dataclass(frozen=True)
class Finding:
    kind: str  # "baseline", "slower", "noise", "split", "order", ...
    model: str | None
    message: str
    variants: tuple[str, ...] = ()
    explain: str | None = None  # a command that says more


FINDERS: list = []  # every finding function, in the order a report lists its warnings


def finder(checked: str):
    """Register a finding function with what it checks, in one line ("no ... ", said when it found nothing).
    :func:`findings` calls it with those of ``records``, ``budgets``, ``run_dir`` and ``used`` it takes."""
    def register(fn):
        fn.checked = checked
        FINDERS.append(fn)
        return fn
    return register


def checked() -> list[str]:
    """What :func:`findings` checks, one line per finding function: what a report with no warnings lists."""
    return [fn.checked for fn in FINDERS]


def _runs(records: list[BenchRecord], backend: str | None = None) -> list[BenchRecord]:
    return [r for r in records if r.kind.times and r.status == "ok" and (backend is None or r.backend == backend)]


def _primary_backend(records: list[BenchRecord], budgets: Budgets) -> tuple[str, int]:
    runs = _runs(records)
    if any(r.backend == budgets.backend and r.threads == budgets.threads for r in runs):
        return budgets.backend, budgets.threads
    return (runs[0].backend, runs[0].threads) if runs else (budgets.backend, budgets.threads)


@finder("no compressed variant beats its float32 model by more than the 95 % paired interval")
def beats_float(records: list[BenchRecord], budgets: Budgets) -> list[Finding]:
    backend, threads = _primary_backend(records, budgets)
    out = []
    for model in dict.fromkeys(r.model for r in records):
        base = float_record(records, model, backend, threads)
        better = []
        for r in _runs(records, backend):
            if r.model == model and r.threads == threads and not is_baseline(r.recipe) and base is not None:
                drop = drop_with_interval(r, records)
                if drop is not None and drop.high < 0:
                    better.append((r, drop))
        if better:
            better.sort(key=lambda rd: rd[1].value)
            listed = "; ".join(f"{r.recipe} {change_pt(d.value)} {pt_interval(-d.high, -d.low)}" for r, d in better)
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


SLOWER_MARGIN = 0.05  # a slowdown under 5 % is not called one even outside both intervals: the rounds of one
# run share the machine's state, so their intervals can part on a few % that the next run would not reproduce


def _slowdowns(records: list[BenchRecord]) -> list[tuple[BenchRecord, BenchRecord, float]]:
    """(variant, plain, p50 ratio): integer variants against plain int8, then float32; float-compute ones (float16,
    dynamic) against float32; slower outside both intervals and by more than SLOWER_MARGIN."""
    out = []
    for r in _runs(records):
        if not backends.time_stands(r.backend) or predicted(r) or r.recipe == PLAIN_INT8 or is_baseline(r.recipe) \
                or not r.latency_ms:
            continue
        for plain in ((PLAIN_INT8, BASELINE_RECIPE) if _integer(r) else (BASELINE_RECIPE,)):
            ref = next((q for q in _runs(records, r.backend) if q.model == r.model and q.recipe == plain
                        and q.threads == r.threads and q.latency_ms), None)
            if ref is not None and None not in (r.latency_ms.ci_low, ref.latency_ms.ci_high) and \
                    r.latency_ms.ci_low > ref.latency_ms.ci_high and \
                    r.latency_ms.p50 > ref.latency_ms.p50 * (1 + SLOWER_MARGIN):
                out.append((r, ref, r.latency_ms.p50 / ref.latency_ms.p50))
                break  # slower than int8 says it; float32 is named only when int8 is not beaten
    return out


@finder("no quantized variant is slower than plain int8 or float32 of its model on the same backend")
def slower_than_plain(records: list[BenchRecord], run_dir: str = "RUN") -> list[Finding]:
    """One finding listing every slowdown on a backend that times (a prediction from counts is no timing), the
    largest first. Where another cost (a phone's, an aarch64 count) orders a pair the other way, the one finding
    on the cost orders says so (:func:`orders_disagree`)."""
    found = sorted(_slowdowns(records), key=lambda f: -f[2])
    if not found:
        return []
    items = []
    for r, ref, ratio in found:
        lat, base = r.latency_ms, ref.latency_ms
        items.append(f"{r.model} {r.recipe} is slower than plain {ref.recipe} on {r.backend}, {r.threads} thread(s): "
                     f"p50 {lat.p50:.3f} ms [{lat.ci_low:.3f}, {lat.ci_high:.3f}] vs {base.p50:.3f} ms "
                     f"[{base.ci_low:.3f}, {base.ci_high:.3f}] ({ratio:.2f}×), at "
                     f"{r.size_bytes / 1024:.1f} KB vs {ref.size_bytes / 1024:.1f} KB")
    r, ref = found[0][0], found[0][1]
    return [Finding("slower", r.model if len({f[0].model for f in found}) == 1 else None,
                    f"{len(found)} variant(s) slower than a plain variant of the same model on the same backend and "
                    f"threads, outside both 95 % intervals and by more than {SLOWER_MARGIN * 100:.0f} % (largest "
                    "first): " + "; ".join(items) + ". `liteship explain RUN VARIANT --vs PLAIN` says which ops "
                    "differ.", tuple(dict.fromkeys(v for f in found for v in (f[0].variant, f[1].variant))),
                    f"liteship explain {run_dir} {r.variant} --vs {ref.variant}")]


@finder("no variant's change in top-1 vs float32 lies inside its 95 % paired interval")
def inside_noise(records: list[BenchRecord], budgets: Budgets) -> list[Finding]:
    backend, threads = _primary_backend(records, budgets)
    out = []
    for model in dict.fromkeys(r.model for r in records):
        tied = []
        for r in _runs(records, backend):
            if r.model == model and r.threads == threads and not is_baseline(r.recipe):
                drop = drop_with_interval(r, records)
                if drop is not None and drop.value != 0 and drop.low <= 0 <= drop.high:
                    tied.append((r, drop))
        if tied:
            lo, hi = min(-d.value for _, d in tied), max(-d.value for _, d in tied)
            out.append(Finding("noise", model, f"{model}: the top-1 of {len(tied)} variant(s) ({', '.join(r.recipe for r, _ in tied)}) "
                               f"differs from float32 by {points(lo)} to {pt(hi)}, each inside its 95 % "
                               f"paired interval on {tied[0][1].images} images: the test split cannot tell them from "
                               "float32; do not rank them by those digits.", tuple(r.variant for r, _ in tied)))
    return out


@finder("the test split decides max_accuracy_drop for every variant")
def split_too_small(records: list[BenchRecord], budgets: Budgets) -> list[Finding]:
    if budgets.max_accuracy_drop is None:
        return []
    backend, threads = _primary_backend(records, budgets)
    undecided, images = [], None
    for r in _runs(records, backend):
        if r.threads == threads and not is_baseline(r.recipe):
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


@finder("every auto_int8 search met its accuracy budget")
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


def _pairs(records: list[BenchRecord]) -> list[tuple[BenchRecord, BenchRecord]]:
    """The pairs whose order a decision weighs, per model: each variant against its float32, and each integer
    variant against plain int8 (one record each: the variant's first that holds its contract, else its first)."""
    first: dict[str, BenchRecord] = {}
    for r in records:
        if r.variant not in first or (r.contract and not first[r.variant].contract):
            first[r.variant] = r
    out = []
    for model in dict.fromkeys(r.model for r in first.values()):
        mine = [r for r in first.values() if r.model == model]
        base = next((r for r in mine if is_baseline(r.recipe)), None)
        plain = next((r for r in mine if r.recipe == PLAIN_INT8), None)
        for r in mine:
            out += [(r, base)] if base is not None and r is not base else []
            out += [(r, plain)] if plain is not None and r is not plain and _integer(r) and r is not base else []
    return out


def _flipped(order: Order, other: Order, a: str, b: str) -> float | None:
    """``other``'s ratio of a to b where it orders the pair the other way from ``order`` (both beyond the margin)."""
    x, y = order.ratio(a, b), other.ratio(a, b)
    if x is None or y is None or abs(x - 1) <= FLIP_MARGIN or abs(y - 1) <= FLIP_MARGIN or (x > 1) == (y > 1):
        return None
    return y


def _used_words(order: Order, used: str | None, budgets: Budgets, decision) -> str:
    if used is None:
        prefer = getattr(decision, "prefer", "accuracy")
        return (f"the decision used no cost order: it ranked by {prefer} and judged no latency or instruction "
                f"budget. Its budgets' backend ({budgets.backend}) orders by {order.name}, the order a latency "
                "budget would judge")
    return f"the decision used {order.name}: it {used}"


@finder("every other cost order (x86 ms and counts, a phone's ms, aarch64 counts) ranks each variant against its "
        "float32 and plain int8 as the decision's order does")
def orders_disagree(records: list[BenchRecord], budgets: Budgets, decision=None, run_dir: str = "RUN"
                    ) -> list[Finding]:
    """One finding: which order of costs the decision used (its budgets' backend: x86 ms, a device's ms, predicted
    ms, or counts), and each pair of variants another order ranks the other way, with both ratios."""
    order, used = decision_order(records, budgets, decision)
    if order is None:
        return []
    others = [o for o in orders(records, budgets.threads)
              if o.name != order.name and (order.device is None or o.device != order.device)]
    items, pairs = [], []
    for r, base in _pairs(records):
        against = [(o.label(r.variant, base.variant), y) for o in others
                   if (y := _flipped(order, o, r.variant, base.variant)) is not None]
        if against:
            items.append(f"{r.model} {r.recipe} against {base.recipe}: {order.ratio(r.variant, base.variant):.2f}× "
                         f"by {order.label(r.variant, base.variant)}, but "
                         + ", ".join(f"{y:.2f}× by {what}" for what, y in against))
            pairs.append((r, base))
    if not items:
        return []
    r, base = pairs[0]
    said = _used_words(order, used, budgets, decision)
    listed = "; ".join(items)
    notes = [note for words, note in (("aarch64 instructions", "an aarch64 count is the phone's instructions, not its "
                                       "time"), ("predicted", "a predicted time is an aarch64 count scaled by the "
                                                 "device's own measurements, not measured"))
             if words in said + listed]
    return [Finding("order", r.model if len({p[0].model for p in pairs}) == 1 else None,
                    f"{said[0].upper()}{said[1:]}. Another order ranks {len(items)} pair(s) of variants the other "
                    f"way: {listed}." + "".join(f" {n[0].upper()}{n[1:]}." for n in notes),
                    tuple(dict.fromkeys(v for p in pairs for v in (p[0].variant, p[1].variant))),
                    f"liteship explain {run_dir} {r.variant} --vs {base.variant}")]


@finder("the emulated ARM kernels answer as x86 LiteRT does on the same images")
def arm_disagrees(records: list[BenchRecord]) -> list[Finding]:
    """Emulated ARM kernels that answer differently from x86 LiteRT on the same images."""
    return [Finding("arm_agreement", r.model, f"{r.model} {r.recipe} on {r.backend}: top-1 agrees with x86 "
                    f"{r.reference_backend} on only "
                    f"{r.reference_agreement:.4f} of {r.images} images (max probability difference "
                    f"{r.reference_max_diff:.3g}): the phone's kernels may not answer as the x86 numbers say",
                    (r.variant,))
            for r in records if r.kind.counts and r.status == "ok" and r.reference_agreement is not None
            and r.reference_agreement < 1.0]


@finder("every instruction count asked for was made")
def counts_failed(records: list[BenchRecord]) -> list[Finding]:
    """Instruction counts asked for that failed (the record's ``count_failed``): the variant has no count on that
    ISA, and the reason it failed. A count not asked for, or whose tool is not installed, is no failure."""
    return [Finding("count_failed", r.model, f"{r.model} {r.recipe}: no {_counter(r)} instruction count "
                    f"({r.count_failed}); an instruction budget on it is not measured", (r.variant,))
            for r in records if r.count_failed]


def _counter(r: BenchRecord) -> str:
    """The count backend a record's count failed on: its own, or the one that counts on the reference's records."""
    if r.kind.counts:
        return r.backend
    return next((b.name for b in backends.on_reference()), r.backend)


def decision_used(budgets: Budgets, decision=None, records: list[BenchRecord] = ()) -> str:
    """Which order of costs the decision rested on, in words: "the decision used x86 ms (xnnpack, 1 thread): it
    judged max_latency_ms (p50) by it"."""
    order, used = decision_order(list(records), budgets, decision)
    if order is None:
        return f"the decision used no cost measured on its budgets' backend ({budgets.backend})"
    return _used_words(order, used, budgets, decision)


def _grouped(found: list[Finding]) -> list[Finding]:
    """Findings of one kind as one finding listing them all, in the order their function ranked them."""
    kinds: dict[str, list[Finding]] = {}
    for f in found:
        kinds.setdefault(f.kind, []).append(f)
    out = []
    for kind, group in kinds.items():
        if len(group) == 1:
            out.append(group[0])
            continue
        models = {f.model for f in group}
        out.append(Finding(kind, group[0].model if len(models) == 1 else None,
                           f"{len(group)} of one kind: " + " ".join(f"({i}) {f.message}" for i, f in
                                                                    enumerate(group, 1)),
                           tuple(dict.fromkeys(v for f in group for v in f.variants)), group[0].explain))
    return out


def findings(records: list[BenchRecord], budgets: Budgets, run_dir: str = "RUN", decision=None) -> list[Finding]:
    """Every warning of the run, one finding per kind; ``decision``: the one the report opens with, so that the
    finding on the cost orders says which order it used."""
    given = {"records": records, "budgets": budgets, "run_dir": run_dir, "decision": decision,
             "used": decision_used(budgets, decision, records)}
    return _grouped([f for fn in FINDERS
                     for f in fn(**{k: v for k, v in given.items() if k in inspect.signature(fn).parameters})])
