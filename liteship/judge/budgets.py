"""Budgets: a TOML table mapped onto a frozen dataclass, judged by check objects.

Every verdict carries the measured value, the limit and the margin, like
pytest-benchmark's "Field 'mean' has failed PercentageRegressionCheck: 23.33 > 5.00".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Callable, Literal

from liteship.config import Problem, Problems, describe, from_mapping, liteship_table, setting
from liteship.errors import LiteshipError
from liteship.number_formats import signed

from liteship.bench import backends, BenchRecord, runtime_problem, runtime_verdict, subset_words
from liteship.judge.baseline import drop_vs_float, drop_with_interval
from liteship.judge.phone_verdicts import (judged_latency, latency_judged, missing_phone, phone_backend,  # noqa: F401
                                           predicted, stand_in, unscored_words)  # (judged_latency, predicted: decision's too)


@dataclass(frozen=True)
class Budgets:
    max_size_kb: float | None = None
    max_gzip_kb: float | None = None
    max_latency_ms: float | None = None
    max_instructions_m: float | None = None  # millions of instructions per invoke on the budget's backend (exact)
    latency_stat: Literal["p50", "p90", "p99"] = "p50"
    # the backend every run budget is judged on: a run backend, or an ARM one for instructions and accuracy
    backend: str = setting(backends.reference().name, choices=lambda: backends.judged(lambda b: b.kind.times or b.kind.counts))
    threads: int = setting(1, lo=1, hi=256)
    min_accuracy: float | None = setting(None, hi=1.0)
    max_accuracy_drop: float | None = setting(None, hi=1.0)  # vs the float32 variant of the same model (0.01 = 1 pt)
    min_agreement: float | None = setting(None, hi=1.0)  # top-1 agreement of the variant with its float32
    require_contract: bool = True
    target_runtime: str | None = None
    min_runtime_agreement: float = setting(0.99, hi=1.0)  # target_runtime's or task_api's top-1 vs LiteRT's
    task_api: str | None = setting(None, choices=("mediapipe",))  # the variant must load and agree there too
    require_delegate: str | None = setting(None, choices=lambda: backends.names(lambda b: b.kind.analyses))  # a delegate whose op coverage counts
    min_delegated: float = setting(1.0, hi=1.0)  # with require_delegate: the share of ops it must take (1.0: all)

    def to_dict(self) -> dict:
        return asdict(self)


DEFAULT_BUDGETS = Budgets(max_accuracy_drop=0.02, min_agreement=0.97, require_contract=True)
# The keys that set a limit (unset by default). A budgets table that sets none of them (empty, or only backend,
# threads, latency_stat...) keeps the default limits: it cannot mean "judge nothing", which would pass every
# variant. One that sets any is the whole list (TOML has no null to switch a default limit off otherwise).
LIMITS = tuple(f.name for f in fields(Budgets) if f.default is None)


def load_budgets(path: str | Path | None) -> Budgets:
    """``liteship.toml`` [budgets], or ``pyproject.toml`` [tool.liteship.budgets]; None: the defaults."""
    if path is None:
        return DEFAULT_BUDGETS
    table, where = liteship_table(path, "budgets")
    if table is None:
        raise LiteshipError(f"{path} has no {where.split(' ', 1)[1]} table", "budgets live in that table",
                            "add it, for example [budgets] / max_size_kb = 500")
    budgets = from_mapping(Budgets, table, where)
    if not set(table) & set(LIMITS):  # empty, or only where and how to judge: the default limits, judged there
        budgets = replace(budgets, **{k: getattr(DEFAULT_BUDGETS, k) for k in LIMITS})
    why = None if budgets.target_runtime is None else runtime_problem(budgets.target_runtime)
    if why is not None:
        raise Problems([Problem(where, "target_runtime", describe(budgets.target_runtime), why,
                                'give the release the app ships, e.g. target_runtime = "2.14"')])
    return budgets


@dataclass(frozen=True)
class Verdict:
    """One budget check's outcome, carrying the record it judged: a number shown beside it is that record's."""

    variant: str
    check: str  # what the reader sees: "max_latency_ms (p50, xnnpack, 1 thr)"
    measured: float | str | None
    limit: float | str | None
    margin: float | None  # positive: room left; negative: over the limit
    passed: bool
    message: str
    remeasured: bool = False
    id: str = ""  # the budget key it checks ("max_latency_ms"): what code matches on, never the label
    record: BenchRecord | None = field(default=None, compare=False, repr=False)  # the record judged


def _num(check, variant, measured, limit, upper: bool, unit: str, fmt: str | Callable = ".3f") -> Verdict:
    """A verdict on one number; ``fmt`` is a format spec, or a number format (``number_formats.signed``) that
    writes the measured value, the limit and the margin alike."""
    show = fmt if callable(fmt) else (lambda v: format(v, fmt))
    if measured is None:
        return Verdict(variant, check, None, limit, None, False, f"{check}: not measured (limit {show(limit)}{unit})")
    margin = (limit - measured) if upper else (measured - limit)
    passed = margin >= 0
    op = ("<=" if passed else ">") if upper else (">=" if passed else "<")
    word = "ok" if passed else "FAILED"
    return Verdict(variant, check, measured, limit, round(margin, 6), passed,
                   f"{check} {word}: {show(measured)}{unit} {op} {show(limit)}{unit}"
                   f" (margin {fmt(margin) if callable(fmt) else format(margin, '+' + fmt)}{unit})")


def budget_record(budgets: Budgets, records: list[BenchRecord], every=()) -> BenchRecord | None:
    """The record every run budget is judged on: the budget's backend and thread count, measured. On a backend of
    predictions (held in ``every``, the run's records), a variant measured on that device at those threads is
    judged on its measurement there, a better number than a prediction of it, whether or not one is in the run
    (:func:`.phone_verdicts.stand_in`)."""
    found = next((r for r in records if r.backend == budgets.backend and r.threads == budgets.threads
                  and r.status == "ok"), None)
    return stand_in(budgets.backend, budgets.threads, records, every, found) or found


def _latency_verdict(budgets: Budgets, variant: str, run: BenchRecord | None, every, run_dir=None) -> Verdict:
    """max_latency_ms on the budget record's statistic, a prediction's on its interval's upper end, saying so."""
    value, said = latency_judged(budgets, variant, run, every, run_dir)
    stat = budgets.latency_stat + (" upper end" if value is not None and predicted(run) else "")
    v = _num(f"max_latency_ms ({stat}, {budgets.backend}, {budgets.threads} thr)", variant, value,
             budgets.max_latency_ms, True, " ms")
    if value is None and said.startswith("not "):
        head, why = said.split(": ", 1)
        return replace(v, message=f"{v.check}: {head} (limit {budgets.max_latency_ms:.3f} ms): {why}")
    return replace(v, message=v.message + f" [{said}]") if said else v


def _not_counted(budgets: Budgets, records, verdict: Verdict, every) -> Verdict:
    """An instruction budget not measured says why, or where the counts are (:func:`.costs.why_uncounted`)."""
    from liteship.judge.costs import why_uncounted  # costs asks this module what a prediction is: imported late
    why = why_uncounted(budgets.backend, records, every) if verdict.measured is None else None
    return replace(verdict, message=f"{verdict.message}: {why}") if why else verdict


RUN_BUDGETS = ("max_latency_ms", "min_accuracy", "max_accuracy_drop", "min_agreement")
ON_SUBSET = ("min_accuracy", "max_accuracy_drop", "min_agreement")  # an ARM record scores a subset of the split


def backend_problem(budgets: Budgets, records: list[BenchRecord]) -> str | None:
    """Why ``budgets`` cannot be judged on ``records`` at all: their backend and threads were never measured. Says
    the [budgets] keys that name the missing record (threads alone when the backend was measured with others)."""
    have = sorted({f"{r.backend}@{r.threads}" if r.threads else r.backend for r in records})
    phone = missing_phone(budgets, records) if any(getattr(budgets, k) is not None for k in RUN_BUDGETS) else None
    if phone is not None:  # a device's backend the run holds no record of: its devices, and how one is imported
        return phone[0]
    wanted = []
    if any(getattr(budgets, k) is not None for k in RUN_BUDGETS) and \
            not any(r.backend == budgets.backend and r.threads == budgets.threads for r in records):
        measured = any(r.backend == budgets.backend for r in records)
        wanted.append(f"threads = {budgets.threads} (with backend = \"{budgets.backend}\")" if measured else
                      f"backend = \"{budgets.backend}\", threads = {budgets.threads}")
    if budgets.require_delegate is not None and not any(r.backend == budgets.require_delegate for r in records):
        wanted.append(f"require_delegate = \"{budgets.require_delegate}\"")
    if budgets.max_latency_ms is not None and not backends.get(budgets.backend).times:
        return (f"max_latency_ms is judged on the budget's backend, and {budgets.backend} counts instructions on an "
                "emulated ISA: it times nothing")
    if not wanted or not records:
        return None
    return f"[budgets] {'; '.join(wanted)}: no record measured there; measured: {', '.join(have)}"


def _real_words(compat: dict) -> str:
    """What the real load in the app's runtime said, in the runtime's own words."""
    from liteship.bench import missing_op

    real = compat.get("real")
    if not real:
        return ""
    if not real["loaded"]:
        op = missing_op(real["error"])
        said = f"{real['runtime']} refused it" + (f": it has no {op}" if op else f": {real['error'][:200]}")
    else:
        said = f"{real['runtime']} loaded and ran it: top-1 agreement with LiteRT {real['agreement']:.4f} on " \
               f"{real['images']} images, max |difference| {real['max_abs_diff']:.3g}"
    bug = f"; BUG in liteship's op-version table: {compat['table_bug']}" if compat.get("table_bug") else ""
    return f" [{said}{bug}]"


def _runtime_verdict(budgets: Budgets, variant: str, record: BenchRecord) -> Verdict:
    """From the op versions, and the real load, recorded at bench time: no model file is needed."""
    compat = runtime_verdict(record.compat or {}, budgets.target_runtime, budgets.min_runtime_agreement)
    msg = f"target_runtime {'ok' if compat['ok'] else 'FAILED'}: needs {compat['min_runtime']}, " \
          f"app ships {budgets.target_runtime}" + (f" (too new: {', '.join(compat['too_new'])})"
                                                   if compat["too_new"] else "") + \
          (f" (not in the op-version map, unverified: {', '.join(compat['unknown'])})" if compat["unknown"] else "") + \
          _real_words(compat)
    return Verdict(variant, "target_runtime", compat["min_runtime"], budgets.target_runtime, None, compat["ok"], msg)


def runtime_check(budgets: Budgets, variant: str, records: list[BenchRecord]) -> Verdict:
    """``target_runtime``'s verdict alone, for one variant's records, as :func:`judge` makes it."""
    return replace(_on_fact("target_runtime", lambda r: _runtime_verdict(budgets, variant, r), records),
                   id="target_runtime")


def _too_small(images: int | None) -> str:
    return f" — the test split ({images} images) is too small to decide this budget: more test images would be needed to tell whether it is met"


def _drop_verdict(budgets: Budgets, variant: str, run: BenchRecord | None, all_records: list[BenchRecord]) -> Verdict:
    """The point decides; written as every output writes it, the change vs float32 in pt (negative: the variant is
    worse) against the lowest change allowed, with its paired interval, saying when the split cannot decide."""
    drop = drop_with_interval(run, all_records)
    value = drop.value if drop else drop_vs_float(run, all_records)
    v = _num("max_accuracy_drop", variant, None if value is None else round(-value * 100, 4) + 0.0,
             round(-budgets.max_accuracy_drop * 100, 4), False, " pt", signed)
    # The check keeps the budget's name (JUnit case names, CI filters); the line says which number it shows.
    v = replace(v, message=v.message.replace("max_accuracy_drop ", "max_accuracy_drop (change vs float32) ", 1))
    if drop is None:
        return v
    note = f" [{drop.describe()}" + ("]" if drop.decides(budgets.max_accuracy_drop) else _too_small(drop.images) + "]")
    return replace(v, message=v.message + note)


def _accuracy_verdict(budgets: Budgets, variant: str, run: BenchRecord | None) -> Verdict:
    v = _num("min_accuracy", variant, run.top1 if run else None, budgets.min_accuracy, False, "", ".4f")
    if run is None or not run.top1_ci:
        return v
    low, high = run.top1_ci
    note = f" [95 % interval {low:.4f}-{high:.4f} over {run.images} images" + \
        ("]" if not low <= budgets.min_accuracy <= high else _too_small(run.images) + "]")
    return replace(v, message=v.message + note)


def _task_api_verdict(budgets: Budgets, variant: str, record: BenchRecord) -> Verdict:
    """Loaded in the Task API the app uses, and agreeing with liteship's own answers at min_runtime_agreement."""
    found, check = record.task_api, f"task_api ({budgets.task_api})"
    if not found:
        return Verdict(variant, check, None, budgets.task_api, None, False,
                       f"{check}: not measured (bench with --task-api {budgets.task_api}, or [bench] task_api)")
    if not found.get("loaded"):
        return Verdict(variant, check, "refused", "loaded", None, False,
                       f"{check} FAILED: {found.get('runtime')} cannot load it: {found.get('error')}")
    if found.get("metadata_problems"):
        return Verdict(variant, check, "; ".join(found["metadata_problems"]), "metadata matching the contract", None,
                       False, f"{check} FAILED: " + "; ".join(found["metadata_problems"]))
    v = _num(f"{check} agreement", variant, found.get("agreement"), budgets.min_runtime_agreement, False, "", ".4f")
    return replace(v, message=v.message + f" [{found.get('runtime')}, top-1 {found.get('top1'):.4f} over "
                                          f"{found.get('images')} images]")


def _contract_verdict(variant: str, record: BenchRecord) -> Verdict:
    problems = (record.contract or {}).get("problems", ["no contract check recorded"])
    return Verdict(variant, "require_contract", "ok" if not problems else "; ".join(problems), "ok", None,
                   not problems, "require_contract " + ("ok" if not problems else "FAILED: " + "; ".join(problems)))


def judge(budgets: Budgets, variant: str, records: list[BenchRecord], all_records: list[BenchRecord],
          run_dir=None) -> list[Verdict]:
    """Every budget that is set, for one variant's ``records`` (``all_records``: the run's, for the float baseline;
    ``run_dir``: where it is, for the commands a verdict tells to run).

    Latency and accuracy come from one record, the budget's backend and thread count, never the best of several.
    The file's facts (size, contract, the app's runtime, the Task API) come from the record holding that fact's
    evidence, the worst verdict where several do (a refusal recorded with one backend is never hidden by another
    record's silence), then the registry's order: the same verdicts whatever the order of the records.
    """
    run = budget_record(budgets, records, all_records)
    ordered = sorted(records, key=lambda r: (r is not run, backends.rank(r.backend), r.threads or 0, r.kind))
    on_run = (*RUN_BUDGETS, "max_instructions_m")  # judged on the budget record; the rest on the file's facts
    scored = scored_record(records, run, budgets)
    return [replace(v, id=key, record=(scored if key in ON_SUBSET else run) if key in on_run else
                    (v.record or ordered[0]), message=_accuracy_words(key, v, budgets, run, scored, run_dir))
            for key, v in _checks(budgets, variant, records, all_records, run, ordered, scored, run_dir)]


def _accuracy_words(key: str, v: Verdict, budgets: Budgets, run, scored, run_dir) -> str:
    """An accuracy verdict's message, saying which record scored it; on a phone's backend (times only) without
    the record scored here, why not measured (:func:`.phone_verdicts.unscored_words`)."""
    if key not in ON_SUBSET:
        return v.message
    if v.measured is not None:
        return v.message + subset_words(scored) + _scored_words(run, scored, budgets.backend)
    if scored is None and phone_backend(budgets.backend):
        head, _, limit = v.message.partition(": not measured ")
        return f"{head}: {unscored_words(budgets, run_dir).replace(': ', f' {limit}: ', 1)}"
    return v.message


def scored_record(records: list[BenchRecord], run: BenchRecord | None, budgets: Budgets | None = None):
    """The record a variant's accuracy is read from, ``run`` its budget record: ``run``, or, for a device's
    imported times or a prediction (no accuracy of their own), the reference backend's at the same threads among
    ``records`` (at the budget's threads, where the variant has no record of the phone's backend)."""
    phone = budgets is not None and phone_backend(budgets.backend)
    if (run is None and not phone) or (run is not None and (run.kind.here or run.top1 is not None)):
        return run
    ref, threads = backends.reference().name, run.threads if run is not None else budgets.threads
    return next((r for r in records if (run is None or r.variant == run.variant) and r.backend == ref
                 and r.threads == threads and r.status == "ok"), None)


def _scored_words(run: BenchRecord | None, scored: BenchRecord | None, backend: str) -> str:
    return "" if scored is run or scored is None else \
        f" [scored on {scored.backend}, {scored.threads} thread(s): {run.backend if run else backend} brought times only]"


# A file fact's evidence in a record: 2 a real check (a real load, MediaPipe's), 1 a table's, 0 none.
_EVIDENCE = {"require_contract": lambda r: 1 if r.contract else 0,
             "target_runtime": lambda r: 2 if (r.compat or {}).get("real") else (1 if r.compat else 0),
             "task_api": lambda r: 2 if r.task_api else 0}


def _fact_record(key: str, records: list[BenchRecord], passes=lambda r: True) -> BenchRecord:
    """The one rule for a file fact: the record with the most evidence for ``key``, a failing one (``passes``)
    first among equals (a refusal seen with one backend is never hidden by another record's), then the registry's
    order. The same record whatever the order of ``records``."""
    return min(records, key=lambda r: (-_EVIDENCE[key](r), passes(r), backends.rank(r.backend), r.threads or 0,
                                       r.kind))


def _on_fact(key: str, check, records: list[BenchRecord]) -> Verdict:
    """``check`` (record -> Verdict) on the record :func:`_fact_record` chooses for ``key``."""
    record = _fact_record(key, records, lambda r: check(r).passed)
    return replace(check(record), record=record)


def _checks(budgets: Budgets, variant: str, records, all_records, run, ordered, scored=None,
            run_dir=None) -> list[tuple[str, Verdict]]:
    """(budget key, verdict) for every budget that is set, in a fixed order."""
    out, any_rec = [], ordered[0]  # size and gzip: the file's bytes, the same in every record of it
    if budgets.max_size_kb is not None:
        out.append(("max_size_kb", _num("max_size_kb", variant, any_rec.size_bytes / 1024, budgets.max_size_kb, True,
                                        " KB", ".1f")))
    if budgets.max_gzip_kb is not None:
        out.append(("max_gzip_kb", _num("max_gzip_kb", variant, any_rec.gzip_bytes / 1024, budgets.max_gzip_kb, True,
                                        " KB", ".1f")))
    if budgets.max_latency_ms is not None:
        out.append(("max_latency_ms", _latency_verdict(budgets, variant, run, all_records, run_dir)))
    if budgets.max_instructions_m is not None:
        counted = run.instructions if run is not None else None  # the budget record's own count, never another's
        value = counted.millions if counted and counted.counted else None  # 0: not counted
        isa = counted.isa if counted else backends.get(budgets.backend).isa
        out.append(("max_instructions_m", _not_counted(budgets, records, _num(
            f"max_instructions_m ({budgets.backend}, {isa})", variant, value, budgets.max_instructions_m, True, " M",
            ".3f"), all_records)))
    if budgets.min_accuracy is not None:
        out.append(("min_accuracy", _accuracy_verdict(budgets, variant, scored)))
    if budgets.max_accuracy_drop is not None:
        out.append(("max_accuracy_drop", _drop_verdict(budgets, variant, scored, all_records)))
    if budgets.min_agreement is not None:
        out.append(("min_agreement", _num("min_agreement", variant, scored.agreement if scored else None,
                                          budgets.min_agreement, False, "", ".4f")))
    if budgets.require_contract:
        out.append(("require_contract", _on_fact("require_contract", lambda r: _contract_verdict(variant, r), ordered)))
    if budgets.target_runtime is not None:
        out.append(("target_runtime", _on_fact("target_runtime", lambda r: _runtime_verdict(budgets, variant, r),
                                               ordered)))
    if budgets.task_api is not None:
        out.append(("task_api", _on_fact("task_api", lambda r: _task_api_verdict(budgets, variant, r), ordered)))
    if budgets.require_delegate is not None:
        cov = next((r for r in records if r.backend == budgets.require_delegate), None)
        value = cov.delegated if cov and cov.status == "ok" else (0.0 if cov else None)
        out.append(("require_delegate", _num(f"require_delegate ({budgets.require_delegate})", variant, value,
                                             budgets.min_delegated, False, "", ".2f")))
    return out


def _runtime_verdicts(records: list[BenchRecord], target: str) -> dict[str, dict]:
    """Each variant's verdict in the app's runtime ``target``, on the record :func:`_fact_record` chooses."""
    ok = (lambda r: runtime_verdict(r.compat or {}, target)["ok"])
    return {v: runtime_verdict(_fact_record("target_runtime", [r for r in records if r.variant == v], ok).compat or {},
                               target) for v in dict.fromkeys(r.variant for r in records)}


def runtime_failures(records: list[BenchRecord], target: str) -> list[str]:
    """Why variants cannot run in the app's runtime ``target``: one line per too-new op and per failing variant."""
    lines = []
    for variant, verdict in _runtime_verdicts(records, target).items():
        lines += [f"too new for {target}: {variant}: {op}" for op in verdict["too_new"]]
        if verdict.get("table_bug"):
            lines.append(f"BUG in liteship's op-version table for {variant}: {verdict['table_bug']}")
        if not verdict["ok"]:
            lines.append(f"{variant} cannot ship to {target}: needs TFLite {verdict['min_runtime']}"
                         + _real_words(verdict))
    return lines


def runtime_blocked(records: list[BenchRecord], target: str) -> list[str]:
    """The variants the app's runtime ``target`` cannot load, by the record :func:`runtime_failures` judges."""
    return [v for v, verdict in _runtime_verdicts(records, target).items() if not verdict["ok"]]


def runtime_notes(records: list[BenchRecord]) -> list[str]:
    """One line per variant that was loaded in an older runtime: what happened there."""
    lines = []
    for variant in dict.fromkeys(r.variant for r in records):
        rec = _fact_record("target_runtime", [r for r in records if r.variant == variant])
        words = _real_words(rec.compat or {})
        if words:
            lines.append(f"{variant} in the app's runtime: {words.strip()[1:-1]}")
    return lines
