"""The report's sections, in the order a person deciding what to ship reads them. Numbers come from the
records, the decision and the findings; this module only arranges and formats them."""

from __future__ import annotations

from liteship.bench import backends
from liteship.bench import BenchRecord, subset_words
from liteship.judge import float_record
from liteship.judge import BEST, Decision, Option, shown_record
from liteship.judge import checked_findings, count_profile, Finding, PhoneColumn, phone_columns
from liteship.report import phone
from liteship.report.document import Image, Para, Section, Table
from liteship.report.machine import machine_section
from liteship.report.format import change_pt, change_with_interval, interval, num, percent_change, with_interval
from liteship.report.tables import latency_how, latency_where, rows
from liteship.report.training import training_section
from liteship.rundir import PARETO




# What a verdict's numbers are, where its name alone does not say (the drop is written as the change, in pt).
CHECK_UNITS = {"max_accuracy_drop": "max_accuracy_drop (change vs float32, pt)"}

def _n(value, spec: str):
    """A numeric cell: its text and its sort key."""
    return (num(value, spec), value)


def _ms(value: float | None, how: str) -> tuple:
    """A latency cell; a prediction's says so, never read as a measurement, and a device's says it was measured
    (``how``: a row's ``latency_how``, "here", "device" or "predicted")."""
    said = {"predicted": " predicted", "device": " measured"}.get(how, "")
    return (num(value, ".3f") + (said if value is not None else ""), value)


def _option_how(o: Option) -> str:
    """Where an option's latency comes from, as the variants table's rows say it (``latency_how``)."""
    return latency_how(o.record) if o.record is not None else "here"


def _rel(x: float | None) -> str:
    return percent_change(x, ".0f")


def _budgets_line(decision: Decision) -> str:
    b = decision.budgets
    set_ = [f"{k} = {v}" for k, v in b.to_dict().items()
            if v is not None and k not in ("latency_stat", "backend", "threads") and v is not False
            and not (k == "min_delegated" and b.require_delegate is None)]
    return (f"Budgets in force: {', '.join(set_) or 'none'}; judged on {b.backend}, {b.threads} thread(s)"
            + (f", latency {b.latency_stat}" if b.max_latency_ms is not None else "") + ".")


def _latency_text(o: Option, stat: str) -> str:
    """The option's latency, saying a device's measurement and a prediction as such."""
    if o.latency_ms is None:
        return "latency not measured"
    if o.stale:  # a prediction made before its count or its measurements changed: no number to show
        return f"{stat} stale: run liteship device predict RUN_DIR"
    cost = next((c.cells[o.variant] for c in phone_columns([o.record], o.record.threads or 1)
                 if c.device is not None and o.variant in c.cells), None) if o.record is not None else None
    return f"{stat} {phone.text(cost)}" if cost is not None else f"{o.latency_ms:.3f} ms {stat}"


def _option_line(o: Option, decision: Decision) -> str:
    b = decision.budgets
    lat = _latency_text(o, b.latency_stat)
    cov = "".join(f", {k} delegate takes {v * 100:.0f} % of ops" for k, v in o.delegated.items())
    subset = subset_words(o.record) if o.record is not None else ""  # an ARM record scores a subset of the split
    on = f"{b.backend} ({b.threads} thread(s))"
    if o.record is not None and o.record.backend != b.backend and o.latency_ms is not None:
        on = f"{o.record.backend} ({b.threads} thread(s); standing in for {b.backend})"  # the device's own median
    return (f"top-1 {with_interval(o.top1, o.top1_ci)}{subset}, {change_with_interval(o.drop, o.drop_ci)} "
            f"vs its float32, {o.size_bytes / 1024:.1f} KB, {lat} on {on}{cov}")


def costs_line(variant: str | None, records: list[BenchRecord]) -> str:
    """Which cost came from where, in each backend's own words (``measures``, ``source``): said beside every
    decision; "none is a phone's milliseconds" while every one was measured on this machine."""
    shown = {b.name: b for r in records if r.status == "ok" for b in backends.measured_by(r)
             if b.kind.times or b.kind.counts}
    groups: dict[tuple[str, str], list] = {}
    for b in sorted(shown.values(), key=lambda b: b.rank):
        groups.setdefault((b.measures, b.source), []).append(b)
    said = [what + (f" ({', '.join(b.name for b in group)})" if group[0].own_records else "") + f": {source}"
            for (what, source), group in groups.items()]
    here = all(b.kind.here for b in shown.values())
    return ("Where the costs come from: " + ("; ".join(said) or "nothing measured") + "."
            + (" None is a phone's milliseconds." if here else ""))


def _why_chosen(decision: Decision) -> str:
    ranked_on = getattr(decision, "ranked_on", "")  # --prefer latency on predictions: what it ranked on
    return _why(decision) + (f" It {ranked_on}." if ranked_on else "")


def _why(decision: Decision) -> str:
    if decision.tie is None:
        missing = decision.uncounted
        return (f"It is the {BEST[decision.prefer]} of the {decision.total} variants judged that passes every budget "
                "(ties go to the smaller file, then the faster)."
                + (f" {len(missing)} passing variant(s) have no count on {decision.budgets.backend} and were ranked "
                   f"last: {', '.join(f'`{v}`' for v in missing)}." if missing else ""))
    return (f"Of the {decision.total} variants judged, it passes every budget and is tied for the most accurate. "
            + decision.tie.describe())


def _left_out(decision: Decision) -> list:
    """Where the target runtime judged came from, and the variants it refuses: never recommended."""
    out = [Para(decision.target_sentence)] if decision.target_sentence else []
    if decision.left_out:
        out.append(Para(f"Left out, never recommended: {decision.budgets.target_runtime} refuses "
                        + "; ".join(f"`{v}` ({why})" for v, why in decision.left_out) + ".", "warning"))
    return out


def judged_on(decision: Decision | None) -> tuple:
    """(budgets, the records the decision's verdicts judged): what the variants table and the plots show."""
    if decision is None:
        return None, ()
    options = [*([decision.chosen] if decision.chosen else []), *(a.option for a in decision.alternatives),
               *decision.misses]
    return decision.budgets, [o.record for o in options if o.record is not None]


def decision_section(decision: Decision | None, run_dir: str, records: list[BenchRecord] = ()) -> Section:
    if decision is None:
        return Section("Decision", "decision", (Para("No decision: the run has no measured variant."),))
    blocks: list = []
    if decision.chosen is not None:
        o = decision.chosen
        vv = o.verdict
        blocks.append(Para(f"**Ship `{vv.variant}`: {vv.model} {vv.recipe}.** {_option_line(o, decision)}. "
                           + _why_chosen(decision)))
        blocks.append(Table(("budget", "value judged", "limit", "margin", ""), tuple(
            (CHECK_UNITS.get(v.check, v.check), _n(v.measured, ".4g") if isinstance(v.measured, (int, float))
             else str(v.measured),
             _n(v.limit, ".4g") if isinstance(v.limit, (int, float)) else str(v.limit),
             _n(v.margin, "+.4g"), "ok" if v.passed else "FAILED") for v in vv.verdicts),
            caption="Why: every budget, with its margin"))
        if decision.alternatives:
            blocks.append(Table(("listed as", "model", "recipe", "top-1", "vs chosen", "size KB", "vs chosen",
                                 f"{decision.budgets.latency_stat} ms", "vs chosen", "variant"), tuple(
                (a.why_listed, a.option.verdict.model, a.option.verdict.recipe, _n(a.option.top1, ".4f"),
                 change_pt(None if a.top1_change is None else -a.top1_change), _n(a.option.size_bytes / 1024, ".1f"),
                 _rel(a.size_change), _ms(a.option.latency_ms, _option_how(a.option)), _rel(a.latency_change),
                 f"`{a.option.variant}`") for a in decision.alternatives),
                caption="The closest alternatives, and what each trades against the choice"))
    else:
        blocks.append(Para(f"**No variant passes every budget** ({decision.total} judged). The closest misses, "
                           "with what each lacks:", "warning"))
        blocks.append(Table(("model", "recipe", "variant", "what it lacks"), tuple(
            (o.verdict.model, o.verdict.recipe, f"`{o.variant}`", "; ".join(o.failing())) for o in decision.misses)))
    blocks.append(Para(_budgets_line(decision)))
    blocks += _left_out(decision)
    blocks.append(Para(costs_line(decision.chosen.verdict.variant if decision.chosen else None, records)))
    if decision.made_by == "pick":
        blocks.append(Para(f"Chosen by `liteship pick --prefer {decision.prefer}`; the bundle for the app is in "
                           "`release/` (model.tflite, labels.txt, manifest.json, MODEL.md, Classifier.swift)."))
    else:
        blocks.append(Para(f"What `liteship pick {run_dir}` would choose with the default budgets; the sweep wrote "
                           "no release. `liteship pick` (with `--budgets` and `--prefer`) rewrites this section."))
    return Section("Decision", "decision", tuple(blocks))


def warnings_section(findings: list[Finding]) -> Section:
    if not findings:  # what was checked, in each finding's own words
        return Section("Warnings", "warnings", (Para("None. Checked: " + "; ".join(checked_findings()) + "."),))
    blocks = [Para(f.message + (f" See `{f.explain}`." if f.explain else ""), "warning") for f in findings]
    return Section(f"Warnings ({len(findings)})", "warnings", tuple(blocks))


def _p50_words(rs: list) -> str:
    """What the p50 column holds, for each place its numbers come from (each row's "measured on")."""
    said = {}
    for r in rs:
        if r.p50_ms is None or r.latency_from in said:
            continue
        if r.predicted:
            said[r.latency_from] = (f"p50 {r.latency_from}: marked predicted, its 95 % prediction interval in the "
                                    "CI column")
        elif r.latency_how == "device":
            said[r.latency_from] = (f"p50 {r.latency_from}: marked measured, the device's benchmark tool's median, "
                                    "imported")
        else:
            said[r.latency_from] = ("p50: median of round medians [95 % bootstrap CI over the rounds] on "
                                    + r.latency_from)
    return "; ".join(said.values()) or "p50: median of round medians [95 % bootstrap CI over the rounds]"


def _uncounted_words(column: PhoneColumn, profile, variants: list[str]) -> str:
    """A device column whose variants fall back to no count, and why: no counted profile stands for its chip, or the
    profile that stands for it has not counted them (so nothing is predicted for them either)."""
    if column.uncounted:
        return (f"in the {column.device} column no variant falls back to a count: no counted ISA profile stands for "
                f"its chip ({column.uncounted}); ")
    missing = [v for v in variants if v not in column.cells]
    if not missing or profile is None or profile.backend is None:
        return ""
    return (f"in the {column.device} column {len(missing)} of the {len(variants)} variants have no count: "
            f"{profile.backend}, {profile.said}, has not counted them, so no count and no prediction stands for "
            f"them (`liteship bench RUN_DIR --backends {profile.backend}` counts them; `liteship device predict "
            "RUN_DIR` then predicts them from the device's measurements); ")


def _phone_cell(column: PhoneColumn, variant: str, profile, every=()) -> tuple:
    """A phone column's cell; a device's variant neither measured nor predicted says why it has no count (no counted
    profile stands for its chip, or that profile has not counted it), never another profile's count."""
    if variant not in column.cells and column.uncounted:
        return ("no count: no counted profile stands for its chip", None)
    if variant not in column.cells and profile is not None and profile.backend is not None:
        return (f"no count: {profile.backend} has not counted it", None)
    return phone.cell(column, variant, every)


def variants_section(records: list[BenchRecord], decision: Decision | None = None) -> Section:
    budgets, judged = judged_on(decision)
    rs = rows(records, budgets, judged)
    arms = [b for b in dict.fromkeys(b for r in rs for b, _ in r.arm_m)]
    columns = phone_columns(records, budgets.threads if budgets is not None else 1)
    profiles = {c.device: count_profile(records, c.device) for c in columns if c.device is not None}  # its ISA's
    variants = list(dict.fromkeys(r.variant for r in rs))
    blocks = [Para("Each row is the record the budgets judge (measured on: backend@threads). Top-1 on the test split "
                   "with its 95 % Wilson interval; Δ vs float32: the change in top-1 vs the float32 variant of the "
                   "same model, in pt (negative: the variant is worse; every output of liteship writes it so), with "
                   "Newcombe's 95 % score interval, paired image by image on the same test images; "
                   + _p50_words(rs) + "; "
                   + "".join(f"{phone.described(c)}; " + _uncounted_words(c, profiles.get(c.device), variants) for c in columns)
                   + "M x86: millions of instructions per invoke counted under valgrind (– where not counted)"
                   + "".join(f"; M {b}: millions of aarch64 instructions per invoke under QEMU, on the phone's "
                             "instruction set (a count, not a phone's time)" for b in arms)
                   + "; ★: on its model's size-vs-top-1 Pareto front. Click a header to sort.")]
    for model in dict.fromkeys(r.model for r in rs):
        blocks.append(Table(("★", "recipe", "measured on", "top-1 [95 %]", "Δ vs float32", "agreement", "size KB",
                             "gzip KB", "p50 ms", "95 % CI", *(phone.header(c) for c in columns), "M x86",
                             *(f"M {b}" for b in arms), "sparsity", "variant"), tuple(
            ("★" if r.front else "", r.recipe, r.backend, (with_interval(r.top1, r.top1_ci), r.top1),
             (change_with_interval(r.drop, r.drop_ci), None if r.drop is None else -r.drop),
             _n(r.agreement, ".4f"), _n(r.size_kb, ".1f"), _n(r.gzip_kb, ".1f"), _ms(r.p50_ms, r.latency_how),
             interval(*(r.ci or (None, None))), *(_phone_cell(c, r.variant, profiles.get(c.device), records) for c in columns),
             _n(r.instructions_m, ".3f"), *(_n(r.arm(b), ".3f") for b in arms), _n(r.sparsity, ".3f"),
             f"`{r.variant}`")
            for r in rs if r.model == model), caption=model, sortable=True))
    return Section("All variants", "variants", tuple(blocks))


def _fallback_text(r: BenchRecord) -> str:
    """"MEAN: not in the documented op list; QUANTIZE ×2: ..." — each op type once, with its count and reason."""
    if r.status != "ok" or not r.ops:
        return "; ".join(r.notes)[:200]
    seen: dict[str, list] = {}
    for item in r.ops.get("fallback") or []:
        head, _, reason = item.partition(": ")
        name = head.split(" ", 1)[-1]
        seen.setdefault(name, [0, reason])[0] += 1
    parts = [f"{name}{f' ×{n}' if n > 1 else ''}" + (f": {why}" if why else "") for name, (n, why) in seen.items()]
    return f"{r.ops['supported']} of {r.ops['total']} ops, {r.ops['partitions']} partition(s)" + \
        (f"; falls back: {'; '.join(parts)}" if parts else "")


def _scored_here(name: str) -> bool:
    """A backend whose records this machine makes, so they carry top-1 and agreement; a device's imported times
    and a prediction's (kinds not ``here``) never do, and the table leaves those columns out for them."""
    b = backends.find(name)
    return b is None or b.kind.here


def _pivot_row(recs: list[BenchRecord], run_backends: list[str], cov_backends: list[str], reference: str) -> tuple:
    by = {r.backend: r for r in recs}
    cells = [recs[0].model, recs[0].recipe]
    for b in run_backends:
        r = by.get(b)
        ok = r is not None and r.status == "ok"
        p50 = r.latency_ms.p50 if ok and r.latency_ms else None
        if not _scored_here(b):  # a phone's time: said measured (on the device) or predicted, as the variants table
            cells.append(_ms(p50, latency_how(r)) if ok else _n(None, ".3f"))
            continue
        cells += [_n(p50, ".3f"), _n(r.top1 if ok else None, ".4f")]
        if b != reference:
            cells += [_n(r.reference_agreement if ok else None, ".4f"), _n(r.reference_max_diff if ok else None, ".3g")]
    for b in cov_backends:
        r = by.get(b)
        cells.append(_n(r.delegated, ".2f") if r is not None and r.status == "ok" else ("n/a", None))
    return tuple(cells)


def backends_section(records: list[BenchRecord]) -> Section:
    runs = [r for r in records if r.kind.times]
    cov = [r for r in records if r.kind.analyses]
    run_backends = list(dict.fromkeys(r.backend for r in runs))
    cov_backends = list(dict.fromkeys(r.backend for r in cov))
    reference = backends.reference().name
    said = [f"{b.name}: {b.summary}" + (f" ({b.emulated_time})" if b.emulated_time else "")
            for b in map(backends.find, run_backends + cov_backends) if b is not None]
    phones = [b for b in run_backends if not _scored_here(b)]
    blocks = [Para("One row per variant, first thread count. " + "; ".join(said) + f". agreement: top-1 agreement "
                   f"with the same file on {reference}; max |Δp|: the largest probability difference from {reference}"
                   + (f". {' and '.join(phones)}: a p50 column only, marked measured (the device's benchmark tool's "
                      "median, imported) or predicted (from counts, not measured): a phone's benchmark tool times the "
                      "model and scores no image, and a prediction is of a time, so top-1 and agreement are this "
                      f"machine's alone ({reference})" if phones else "")
                   + (". ops: the share of ops the delegate takes, from its documented ops and constraints (no Apple "
                      "hardware ran them); n/a: the delegate does not take this model" if cov_backends else "") + ".")]
    head = ["model", "recipe"]
    for b in run_backends:
        head += [f"{b} p50 ms"] + ([f"{b} top-1"] if _scored_here(b) else []) + (
            [f"{b} agreement", f"{b} max |Δp|"] if b != reference and _scored_here(b) else [])
    head += [f"{b} ops" for b in cov_backends]
    threads = {r.variant: r.threads for r in sorted(runs, key=lambda r: r.threads or 0)[::-1]}
    groups: dict[str, list[BenchRecord]] = {}
    for r in records:
        if r.kind.analyses or r.threads == threads.get(r.variant):
            groups.setdefault(r.variant, []).append(r)
    blocks.append(Table(tuple(head), tuple(_pivot_row(g, run_backends, cov_backends, reference)
                                                  for g in groups.values()),
                        caption="Run backends and delegate coverage", sortable=True))
    if cov:
        blocks.append(Table(("model", "recipe", "delegate", "coverage and the ops that fall back to the CPU"), tuple(
            (r.model, r.recipe, r.backend, _fallback_text(r)) for r in cov if r.status == "ok"),
            caption="Ops that fall back", sortable=True))
    return Section("Per backend", "backends", tuple(blocks), folded=True)


def _confusion(rec: BenchRecord, names: list[str], title: str) -> Table:
    return Table(("true \\ predicted", *names), tuple(
        (names[i], *((str(v), v) for v in row)) for i, row in enumerate(rec.confusion)), caption=title)


def classes_section(records: list[BenchRecord], decision: Decision | None) -> Section | None:
    chosen = shown_record(records, decision)  # the judge's choice of what to show
    if chosen is None:
        return None
    base = float_record(records, chosen.model, chosen.backend, chosen.threads)
    names = list(chosen.per_class_top1)
    head = ("class", f"{chosen.recipe} top-1") + (("float32 top-1", "change") if base else ())
    table = Table(head, tuple(
        (n, _n(chosen.per_class_top1[n], ".4f"),
         *((_n(base.per_class_top1.get(n), ".4f"),
            change_pt(None if None in (base.per_class_top1.get(n), chosen.per_class_top1[n])
                      else base.per_class_top1[n] - chosen.per_class_top1[n])) if base else ()))
        for n in names), caption=f"{chosen.model}: {chosen.recipe} (`{chosen.variant}`) and its float32 model, "
                                 f"{chosen.backend}, {chosen.images} test images", sortable=True)
    blocks = [table, _confusion(chosen, names, f"Confusion matrix: {chosen.recipe}")]
    if base is not None and base.variant != chosen.variant:
        blocks.append(_confusion(base, names, "Confusion matrix: float32"))
    return Section("Per class", "classes", tuple(blocks), folded=True)


def report_sections(records: list[BenchRecord], decision: Decision | None, findings: list[Finding],
                    png: bytes | None, run_dir: str) -> list[Section]:
    where = latency_where(rows(records, *judged_on(decision)))
    plots = Section("Plots", "plots", (Image(PARETO, "size, latency and instructions vs top-1", png),
                                       Para("Colour: model; marker: recipe; bars: 95 % intervals; dashed: each "
                                            f"model's size-vs-top-1 Pareto front. Latency {where}.")))
    classes, training = classes_section(records, decision), training_section(records, run_dir)
    return [decision_section(decision, run_dir, records), warnings_section(findings), plots,
            variants_section(records, decision), *([training] if training else []),
            backends_section(records), *([classes] if classes else []), machine_section(records)]
