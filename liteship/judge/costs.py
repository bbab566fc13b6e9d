"""What a variant costs, where each number was measured, and the order each cost ranks a model's variants in.

A variant has up to four costs, each ranking variants its own way:

- x86 milliseconds, timed on this machine's CPU (``xnnpack``: LiteRT's Interpreter with XNNPACK);
- x86 instructions, valgrind's count of the same kernels on this CPU;
- a phone's milliseconds: measured on the device by its own benchmark tool and imported (a ``device:<slug>``
  record), else predicted from the variant's aarch64 count by a calibration fitted on that device's own
  measurements (a ``predicted:<slug>`` record: a 95 % prediction interval and the measurements it rests on);
- aarch64 instructions, counted under QEMU on an ISA profile (``arm64-a15``): a count, not a phone's time.

:func:`phone_columns` says what a report's phone column shows of each variant, one column per CPU device
(measured, else predicted, else the count), and never lets a prediction pass for a measurement;
:func:`decision_order` says which order a decision rested on (its budgets' backend) and what it used it for;
:func:`orders` holds every order of a run, for the finding that says where they disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from liteship.bench import backends
from liteship.bench import BenchRecord, chip_kept, chip_of, profile_for, X86_64
from liteship.judge.budgets import budget_record, Budgets, predicted  # predicted: ms from a count, never measured


def on_device(record: BenchRecord) -> bool:
    """A device's own measurement, imported: timed on the phone, not here, not predicted."""
    return record.kind.times and not record.kind.here and record.device is not None and not predicted(record)


def device_name(record: BenchRecord) -> str:
    """The device a device or predicted record is of, as its import named it ("iPhone 13")."""
    return str((record.device or {}).get("device") or record.node or record.backend)


def latency_source(record: BenchRecord) -> str:
    """Where a record's milliseconds come from, in words: "this x86 CPU", "measured on iPhone 13", "predicted for
    iPhone 13 from arm64-a15 instructions, not measured"."""
    if predicted(record):
        profile = (record.device or {}).get("profile")
        return f"predicted for {device_name(record)}" + (f" from {profile} instructions" if profile else "") + \
            ", not measured"
    if on_device(record):
        return f"measured on {device_name(record)}"
    b = backends.find(record.backend)
    if b is None:
        return f"{record.backend} (a backend this liteship does not know)"
    where = "this x86 CPU" if b.isa == X86_64 else f"this machine ({b.isa})"
    return where + (" (emulated: its time says nothing of a phone's)" if b.emulated_time else "")


@dataclass(frozen=True)
class CountProfile:
    """The count backend whose aarch64 counts are a device's instruction set (and what says so), or why none is."""

    backend: str | None
    chip: str | None = None  # the device's chip, as its records keep it or its name says it
    said: str = ""  # backend: what says it stands for the device ("the profile its predictions used", ...)
    why: str = ""  # no backend: why no counted profile stands for the chip


def count_profile(records: list[BenchRecord], device: str) -> CountProfile:
    """The count backend that stands for ``device``'s chip: the ISA profile its predictions used; else the one its
    chip's ISA class names (:func:`liteship.bench.profile_for`: ``arm64-a15`` for an A15, none for an SME2 chip
    while the registry holds no SME2 profile); else none, with why."""
    mine = [r for r in records if (on_device(r) or predicted(r)) and device_name(r) == device]
    used = next((r.device["profile"] for r in mine if predicted(r) and r.device.get("profile")), None)
    chip, chip_from = next(((r.device["chip"], r.device.get("chip_from")) for r in mine if r.device.get("chip")),
                           (None, None))
    if used is not None:
        return CountProfile(used, chip, "the profile its predictions used")
    found = chip_kept(chip, chip_from) if chip else chip_of(device)
    if found is None:
        return CountProfile(None, chip, why=f"liteship does not know {f'the chip {chip}' if chip else 'its chip'}, "
                            "so no ISA profile is known to run the kernels it runs")
    profile = profile_for(found)
    return CountProfile(profile.backend, found.chip, f"the ISA profile that stands for its chip, {found.chip}",
                        profile.why)


def why_uncounted(backend: str, records: list[BenchRecord], every: list[BenchRecord] = ()) -> str | None:
    """Why an instruction budget on ``backend`` has no count of a variant (``records``: the variant's; ``every``:
    the run's): the reason its count failed with, kept on the records; or, on a device's or a prediction's backend
    (milliseconds, never counts), which count backend holds the device's counts; None when nothing says why."""
    notes = [n for r in records if r.backend == backend for n in r.notes]
    why = next((n for n in notes if n.startswith(("instructions not counted", "n/a"))), None)
    first = next((r for r in every if r.backend == backend and (on_device(r) or predicted(r))), None)
    if why is not None or first is None:
        return why
    device, profile = device_name(first), count_profile(list(every), device_name(first))
    held = (f"{backend} holds milliseconds predicted from counts, not counts" if predicted(first) else
            f"{backend} holds milliseconds measured on the device, not counts")
    if profile.backend is None:
        return f"{held}, and no count backend stands for the {device}'s chip: {profile.why}"
    return (f"{held}: counts of the {device}'s instruction set are on {profile.backend} ({profile.said}); judge "
            f'them there with [budgets] backend = "{profile.backend}"')


@dataclass(frozen=True)
class PhoneCost:
    """One variant's cell of a phone column: what the device measured, else what is predicted for it, else the
    variant's aarch64 count."""

    how: str  # "measured", "predicted" or "count"
    value: float  # ms (the device tool's median; the predicted median), or millions of aarch64 instructions
    record: BenchRecord = field(compare=False, repr=False)
    interval: tuple[float, float] | None = None  # predicted: the 95 % prediction interval, ms
    rests_on: int | None = None  # predicted: how many of the device's measurements the calibration rests on
    profile: str | None = None  # count: the count backend; predicted: the ISA profile whose count it scales

    @property
    def is_measured(self) -> bool:
        return self.how == "measured"

    @property
    def is_predicted(self) -> bool:
        return self.how == "predicted"

    @property
    def is_count(self) -> bool:
        return self.how == "count"

    @property
    def runs(self) -> int | None:
        """Measured: the runs the device's median is over, where the tool said."""
        lat = self.record.latency_ms
        return lat.runs if self.is_measured and lat is not None else None

    @property
    def threads(self) -> int | None:
        return None if self.is_count else self.record.threads


@dataclass(frozen=True)
class PhoneColumn:
    """A report's phone column: one CPU device's cost of each variant (``device`` None: no phone measured any
    variant of the run, and the column holds aarch64 counts)."""

    device: str | None
    cells: dict[str, PhoneCost]  # by variant; a variant with nothing to show has no cell
    uncounted: str = ""  # a device's: why no counted profile stands for its chip (no count falls back then)

    @property
    def threads(self) -> tuple[int, ...]:
        """The thread counts its times were measured (or predicted) at."""
        return tuple(sorted({c.threads for c in self.cells.values() if c.threads is not None}))


def _at(records: list[BenchRecord], threads: int) -> BenchRecord | None:
    """The record at ``threads`` where there is one, else the one of fewest threads."""
    return min(records, key=lambda r: (r.threads != threads, r.threads or 0)) if records else None


def _rests_on(record: BenchRecord) -> int | None:
    d = record.device or {}
    return len(d["rests_on"]) if d.get("rests_on") else (d.get("fit") or {}).get("n")


def _timed_cell(records: list[BenchRecord], threads: int) -> PhoneCost | None:
    """A measurement at ``threads``, else a prediction at ``threads`` (a measurement replaces the prediction at its
    own thread count only), else a measurement at another thread count, else a prediction at one."""
    timed = [r for r in records if r.latency_ms]
    same = [r for r in timed if r.threads == threads]
    chosen = next((r for r in same if not predicted(r)), None) or next((r for r in same if predicted(r)), None) \
        or _at([r for r in timed if not predicted(r)], threads) or _at([r for r in timed if predicted(r)], threads)
    if chosen is not None and not predicted(chosen):
        return PhoneCost("measured", chosen.latency_ms.p50, chosen)
    guess = chosen
    if guess is None:
        return None
    return PhoneCost("predicted", guess.latency_ms.p50, guess, guess.latency_ms.interval("p50"), _rests_on(guess),
                     (guess.device or {}).get("profile"))


def _count_cell(ok: list[BenchRecord], variant: str, profiles: tuple[str, ...]) -> PhoneCost | None:
    """The variant's aarch64 count on the first of ``profiles`` that counted it: a device's column passes its own
    profile alone (never another profile's count as if it were the device's), a column of counts alone every one."""
    counted = {r.backend: r for r in ok if r.variant == variant and r.kind.counts and r.instructions
               and r.instructions.counted and not r.instructions.on_x86}
    name = next((b for b in profiles if b in counted), None)
    return None if name is None else PhoneCost("count", counted[name].instructions.millions, counted[name],
                                               profile=name)


def _cpu_timed(ok: list[BenchRecord]) -> list[BenchRecord]:
    """Device and predicted records of a device's CPU (a GPU's time is not a function of CPU counts)."""
    return [r for r in ok if (on_device(r) or predicted(r)) and r.latency_ms
            and (r.device or {}).get("accelerator", "cpu") == "cpu"]


def phone_columns(records: list[BenchRecord], threads: int = 1) -> list[PhoneColumn]:
    """One column per CPU device of the run: per variant, the device's measured milliseconds (at ``threads``
    where measured at several), else the predicted ones, else the variant's aarch64 count on the profile that
    stands for the device's chip (:func:`count_profile`; none when no counted profile does, and the column says
    why). Without a device, one column of counts (``device`` None); without a count either, none."""
    ok = [r for r in records if r.status == "ok"]
    variants = list(dict.fromkeys(r.variant for r in records))
    timed = _cpu_timed(ok)
    columns = []
    for name in dict.fromkeys(device_name(r) for r in timed):
        mine, profile = [r for r in timed if device_name(r) == name], count_profile(timed, name)
        own = (profile.backend,) if profile.backend else ()
        cells = {v: c for v in variants if (c := _timed_cell([r for r in mine if r.variant == v], threads)
                                            or _count_cell(ok, v, own)) is not None}
        columns.append(PhoneColumn(name, cells, profile.why if profile.backend is None else ""))
    if not columns:
        every = (*backends.names(lambda b: b.kind.counts), *(r.backend for r in ok if r.kind.counts))
        cells = {v: c for v in variants if (c := _count_cell(ok, v, every)) is not None}
        columns = [PhoneColumn(None, cells)] if cells else []
    return columns


@dataclass(frozen=True)
class Order:
    """One cost of the variants it covers, as a ranking (lower is cheaper). ``name`` says which of the four it is:
    "x86 ms", "device ms", "predicted ms" or "counts", and where."""

    name: str
    values: dict[str, float]
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    separate: bool = False  # two values are ordered only where their intervals part (times measured here)
    tags: dict[str, str] = field(default_factory=dict)  # a phone's order: each value "measured" or "predicted"
    device: str | None = None  # the device a phone's order is of

    def ratio(self, variant: str, base: str) -> float | None:
        """``variant``'s cost over ``base``'s; None where either is missing, or where the two cannot be ordered:
        intervals that overlap (times measured here), or a measured time inside a prediction's interval."""
        if variant not in self.values or base not in self.values or not self.values[base]:
            return None
        a, b = self.intervals.get(variant), self.intervals.get(base)
        if a and b and self.separate and not (a[0] > b[1] or a[1] < b[0]):
            return None
        if (a is None) != (b is None):
            low, high = a or b
            if low <= self.values[base if a else variant] <= high:
                return None
        return self.values[variant] / self.values[base]

    def label(self, variant: str, base: str) -> str:
        """Its name; for a phone's order that holds measured and predicted values, which the two are: "device ms
        (iPhone 13, measured)", "predicted ms (iPhone 13)", "predicted ms against measured ms (iPhone 13)"."""
        tags = (self.tags.get(variant), self.tags.get(base))
        if None in tags:
            return self.name
        if tags[0] != tags[1]:
            return f"{_unit(tags[0])} against {_unit(tags[1])} ({self.device})"
        return f"predicted ms ({self.device})" if tags[0] == "predicted" else f"device ms ({self.device}, measured)"


def _unit(tag: str) -> str:
    return "predicted ms" if tag == "predicted" else "measured ms"


def _timed_order(records: list[BenchRecord], backend: str, threads: int) -> Order | None:
    """The times of ``backend`` at ``threads``: x86 ms (or another run backend's), or a device's measured ms."""
    got = {r.variant: r for r in records if r.backend == backend and r.threads == threads and r.status == "ok"
           and r.latency_ms is not None and r.latency_ms.p50}
    if not got:
        return None
    first = next(iter(got.values()))
    values = {v: r.latency_ms.p50 for v, r in got.items()}
    spans = {v: i for v, r in got.items() if (i := r.latency_ms.interval("p50")) is not None}
    if on_device(first):
        return Order(f"device ms ({device_name(first)}, {backend}, {threads} thread(s))", values,
                     device=device_name(first))
    b = backends.find(backend)
    unit = "x86 ms" if b is not None and b.isa == X86_64 else "ms"
    return Order(f"{unit} ({backend}, {threads} thread(s))", values, spans, separate=True)


def count_order(records: list[BenchRecord], backend: str | None = None) -> Order | None:
    """Instructions per invoke: an aarch64 count backend's (``backend``), else valgrind's x86 count (on the
    reference backend's one-thread records)."""
    if backend is None:
        ref = backends.reference().name
        got = {r.variant: r.instructions.per_invoke for r in records if r.backend == ref and r.threads == 1
               and r.status == "ok" and r.instructions and r.instructions.counted and r.instructions.on_x86}
        return Order("counts (x86 instructions, valgrind)", got) if got else None
    got = {r.variant: r.instructions.per_invoke for r in records if r.backend == backend and r.kind.counts
           and r.status == "ok" and r.instructions and r.instructions.counted}
    return Order(f"counts ({backend}, aarch64 instructions)", got) if got else None


def _phone_order(column: PhoneColumn | None, name: str = "") -> Order | None:
    """A device's ms, measured, else predicted (each value tagged): what its phone column shows."""
    timed = {v: c for v, c in (column.cells.items() if column is not None else ()) if not c.is_count}
    if not timed:
        return None
    return Order(name or f"device ms ({column.device}: measured, else predicted)",
                 {v: c.value for v, c in timed.items()},
                 {v: c.interval for v, c in timed.items() if c.is_predicted and c.interval},
                 tags={v: c.how for v, c in timed.items()}, device=column.device)


def stands_in(records: list[BenchRecord], backend: str, threads: int) -> dict[str, BenchRecord]:
    """On a backend of predictions, the device's own measurement of each variant measured on it at ``threads``
    (none is predicted for such a variant, and a budget there judges the measurement: the rule of
    :func:`~liteship.judge.budgets.budget_record`), by variant; empty for any other backend."""
    if not any(r.backend == backend and predicted(r) for r in records):
        return {}
    rule = Budgets(backend=backend, threads=threads)
    found = {v: budget_record(rule, [r for r in records if r.variant == v], records)
             for v in dict.fromkeys(r.variant for r in records)}
    return {v: r for v, r in found.items() if r is not None and r.backend != backend}


def _budget_times(records: list[BenchRecord], backend: str, threads: int) -> Order | None:
    """The times a budget on ``backend`` judges: its records', or, on a backend of predictions, each variant's
    prediction and, for a variant measured on that device, its measurement (which stands in for it)."""
    first = next((r for r in records if r.backend == backend and r.status == "ok"), None)
    if first is None or not predicted(first):
        return _timed_order(records, backend, threads)
    name = device_name(first)
    column = next((c for c in phone_columns(records, threads) if c.device == name), None)
    return _phone_order(column, f"predicted ms ({name}, {backend}, {threads} thread(s); a variant measured on the "
                                "device by its measurement)")


def _threads_of(records: list[BenchRecord], backend: str, threads: int) -> int:
    have = sorted({r.threads for r in records if r.backend == backend and r.threads is not None})
    return threads if threads in have or not have else have[0]


def orders(records: list[BenchRecord], threads: int = 1) -> list[Order]:
    """Every order the run holds: x86 ms (the reference backend, at ``threads`` where timed so), x86 counts, each
    CPU device's ms (measured, else predicted), each aarch64 count backend's counts."""
    ref = backends.reference().name
    arms = dict.fromkeys(r.backend for r in records if r.kind.counts and r.status == "ok")
    found = [_timed_order(records, ref, _threads_of(records, ref, threads)), count_order(records),
             *(_phone_order(c) for c in phone_columns(records, threads) if c.device is not None),
             *(count_order(records, b) for b in backends.names(lambda b: b.kind.counts) if b in arms)]
    return [o for o in found if o is not None]


def _tie_backend(records: list[BenchRecord], decision) -> str | None:
    """The count backend a tie was broken by: the registry's first that counted every tied variant (the rule of
    :func:`liteship.judge.decision._tie`)."""
    tie = getattr(decision, "tie", None)
    if tie is None:
        return None
    counted = {(r.backend, r.variant) for r in records if r.kind.counts and r.status == "ok" and r.instructions
               and r.instructions.counted}
    return next((b for b in backends.names(lambda b: b.kind.counts) if all((b, v) in counted for v in tie.tied)),
                None)


def decision_order(records: list[BenchRecord], budgets, decision=None) -> tuple[Order | None, str | None]:
    """(the order the decision rested on, what it used it for); what it used is None when it used no cost (it
    ranked by accuracy or size and judged no latency or instruction budget), and the order is then the one its
    budgets' backend ranks by, which a latency budget would judge."""
    prefer = getattr(decision, "prefer", "accuracy")
    b = backends.find(budgets.backend)
    by_time = b is not None and b.kind.times and (
        budgets.max_latency_ms is not None or prefer == "latency"
        or (budgets.max_instructions_m is None and prefer != "instructions"))
    uses = [f"judged max_latency_ms ({budgets.latency_stat}) by it"] if by_time and budgets.max_latency_ms is not None \
        else []
    uses += ["judged max_instructions_m by it"] if not by_time and budgets.max_instructions_m is not None else []
    uses += [f"ranked by it (--prefer {prefer})"] if prefer == ("latency" if by_time else "instructions") else []
    if uses and by_time and any(predicted(r) for r in records if r.backend == budgets.backend):
        uses[-1] += ", each prediction on its 95 % interval's upper end"
    if by_time:
        order = _budget_times(records, budgets.backend, budgets.threads)
    else:
        order = count_order(records, budgets.backend if b is not None and b.kind.counts else None)
    tied = _tie_backend(records, decision)
    if tied is not None and not uses:
        return count_order(records, tied), "ranked the variants it could not tell apart by accuracy by it"
    if tied is not None:
        uses.append(f"ranked the variants it could not tell apart by accuracy by {tied} instructions")
    return order, ", and ".join(uses) or None
