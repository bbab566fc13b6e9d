"""A device's milliseconds predicted for the variants nobody measured on it, from their counts on the ISA profile
that stands for its chip: one :class:`Outcome` per device backend and thread count, and the predicted records.

For each CPU device backend of a run (``device:iphone-13``) and each thread count its current measurements were
made at, the points are (the device record's median, the variant's count on the profile from the run's count
records); with three distinct counts or more, :func:`liteship.bench.device_predict.fit` calibrates, and every other
current variant counted on the profile gets a record of ``predicted:iphone-13`` at that thread count: its p50 the
prediction, ``ci_low``/``ci_high`` the 95 % prediction interval (widened, and said "extrapolated", beyond the
counts measured), ``device`` the fit and the measurements it rests on. A variant measured on the device at that
thread count never gets one (a measurement at 4 threads replaces the prediction at 4 only). Not predicted, an
outcome says why and what to do: a GPU's measurements (its time is no function of CPU instruction counts), a chip
liteship does not know, a chip no profile stands for (SME2 without ``arm64-a18``), fewer than three measurements
or three distinct counts at one thread count, measured variants not counted on the profile.

:func:`refresh` writes them under the run's lock in one write with the records that caused them (a device's new
measurements, given as ``adding``), each examined backend's predicted records replaced whole: an interrupted
import leaves the file as it was or whole, never measured and predicted from the old measurements at once.
A ``--chip`` that contradicts what the sources, the device's name or its records say of its chip is refused
before anything is written (:func:`chip_contradictions`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

from liteship.bench.backends.device import Device, slug
from liteship.bench.backends.predicted import backend_name, Predicted
from liteship.bench.device_chips import (ChipFound, chip_of, chips_taken, contradiction, from_flag, from_kept,
                                         profile_for)
from liteship.bench.device_predict import Calibration, evidence, fit, MIN_POINTS, Point, Prediction, SAME_COUNT
from liteship.bench.device_records import run_variants
from liteship.bench.record import BenchRecord, Instructions, LatencyStats
from liteship.bench.results import merged_results, read_results, write_results
from liteship.config import Problem, Problems, describe
from liteship.number_formats import percent
from liteship.rundir import VARIANTS, writing

STATISTICS = {"p50": "predicted median", "p90": None, "p99": None}


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What came of one device backend's measurements at one thread count: predicted (its calibration and
    records), or not (why, and what to do)."""

    backend: str  # the device backend measured: device:iphone-13
    device: str  # its name: iPhone 13
    threads: int | None
    measured: int  # current variants measured on it at these threads
    chip: ChipFound | None = None
    profile: str | None = None  # the count backend whose counts stand for the chip
    calibration: Calibration | None = None
    records: tuple[BenchRecord, ...] = ()
    not_positive: tuple[str, ...] = ()  # variants the fit gave 0 ms or less (an intercept): left unpredicted
    extrapolated: tuple[str, ...] = ()  # predicted beyond the counts measured: widened, and said so
    why: str = ""
    fix: str = ""

    @property
    def predicted(self) -> bool:
        return self.calibration is not None

    @property
    def target(self) -> str:
        """The predicted backend: ``predicted:iphone-13``."""
        return backend_name(self.backend)

    def said(self) -> str:
        """"predicted 7 variants on predicted:iphone-13 from arm64-a15 counts: ms = 87.3 x G instructions, ...", or
        why not and what to do."""
        at = "" if self.threads in (None, 1) else f" at {self.threads} threads"
        if not self.predicted:
            return f"{self.backend}{at} not predicted: {self.why}. Fix: {self.fix}"
        c, n = self.calibration, len(self.records)
        skipped = (f"; {len(self.not_positive)} variant(s) left out, the fit giving 0 ms or less: "
                   f"{', '.join(self.not_positive)}") if self.not_positive else ""
        skipped += (f"; {len(self.extrapolated)} extrapolated beyond the counts measured (interval widened): "
                    f"{', '.join(self.extrapolated)}") if self.extrapolated else ""
        return (f"predicted {n} variant{'' if n == 1 else 's'} on {self.target}{at} from {self.profile} counts: "
                f"{c.formula()}, leave-one-out error median {percent(c.loo_median, '.0f')}, worst "
                f"{percent(c.loo_worst, '.0f')} over {c.n} measurements{skipped}")


def _of(record: BenchRecord, device: str) -> bool:
    return slug(str((record.device or {}).get("device") or record.node or "")) == slug(device)


def measured_records(records: list[BenchRecord], device: str | None = None) -> list[BenchRecord]:
    """The device records among ``records`` (of ``device`` only, when named): a device's own measurements."""
    return [r for r in records if r.kind is Device.MEASURED and r.status == "ok" and r.latency_ms is not None
            and (device is None or _of(r, device))]


def predictions(run_dir: Path, device: str | None = None, chip: str | None = None,
                registered: Callable[[str], bool] | None = None,
                records: list[BenchRecord] | None = None) -> tuple[Outcome, ...]:
    """Every device backend's outcome (of ``device`` only, when named), from the run's records (``records``: the
    records to predict from, in memory, when the caller holds them); nothing is written. ``chip``: ``--chip``,
    over what the records keep; ``registered``: whether the registry holds a count backend (default: ask it)."""
    run_dir = Path(run_dir)
    current, _ = run_variants(run_dir)
    records = read_results(run_dir, missing_ok=True) if records is None else records
    records = [r for r in records if r.variant in current]
    measured = measured_records(records, device)
    outcomes = []
    for backend in sorted({r.backend for r in measured}):
        mine = [r for r in measured if r.backend == backend]
        for threads in sorted({r.threads or 0 for r in mine}):
            group = [r for r in mine if (r.threads or 0) == threads]
            outcomes.append(_outcome(run_dir, group, mine, records, current, chip, registered))
    return tuple(outcomes)


def _chip(on_device: list[BenchRecord], flag: str | None) -> tuple[ChipFound | None, str]:
    """The device's chip: ``flag``, else the one its records keep, else what their sources said; or why none."""
    if flag:
        return from_flag(flag), f"--chip {flag} is not a chip liteship knows"
    kept = {(d.get("chip"), d.get("chip_from")) for d in (r.device or {} for r in on_device) if d.get("chip")}
    if len({chip for chip, _ in kept}) > 1:
        return None, f"its records name {len(kept)} chips ({', '.join(sorted({c for c, _ in kept}))})"
    if kept:
        chip, how = next(iter(kept))
        found = from_kept(chip, how)
        return found, f"its records name the chip {chip}, which this liteship does not know"
    said = [s for r in on_device for s in ((r.device or {}).get("device_named"), (r.device or {}).get("session"))]
    name = (on_device[0].device or {}).get("device") or on_device[0].node
    return chip_of(name, said), f"liteship does not know the chip of {name}"


def _outcome(run_dir: Path, group: list[BenchRecord], on_device: list[BenchRecord], records: list[BenchRecord],
             current: dict[str, dict], flag: str | None, registered) -> Outcome:
    first = group[0]
    name = str((first.device or {}).get("device") or first.node)
    o = Outcome(first.backend, name, first.threads, len(group))
    accelerator = (first.device or {}).get("accelerator") or "cpu"
    if accelerator != "cpu":
        return dataclasses.replace(o, why=f"its measurements ran on the {accelerator.upper()}, whose time is not a "
                                   "function of CPU instruction counts", fix="measure the variants on the device's "
                                   "CPU too (benchmark_model's default) and import them as their own backend")
    found, unknown = _chip(on_device, flag)
    if found is None:
        return dataclasses.replace(o, why=unknown, fix=f"say which: liteship device predict {run_dir} --device "
                                   f"\"{name}\" --chip CHIP, CHIP being {chips_taken()}")
    profile = profile_for(found, registered)
    o = dataclasses.replace(o, chip=found, profile=profile.backend)
    if profile.backend is None:
        return dataclasses.replace(o, why=profile.why, fix=profile.fix.replace("RUN_DIR", str(run_dir)))
    return _fitted(o, run_dir, group, _counts(records, profile.backend, current), current)


def _counts(records: list[BenchRecord], profile: str, current: dict[str, dict]) -> dict[str, Instructions]:
    """Each current variant's count on ``profile``, from the run's count records of the file as it is now."""
    out = {}
    for r in records:
        sha = current[r.variant].get("sha256")
        if r.backend == profile and r.kind.counts and r.status == "ok" and r.instructions is not None and \
                r.instructions.counted and (not sha or not r.sha256 or r.sha256 == sha):
            out[r.variant] = r.instructions
    return out


def _suggested(measured: list[Point], counts: dict[str, Instructions], current: dict[str, dict], need: int) -> str:
    """Variants to measure so the counts measured become ``need`` more distinct ones: each the counted variant
    farthest (in log count) from every count measured or suggested before it."""
    import math

    taken = [p.instructions.per_invoke for p in measured]
    chosen = []
    for _ in range(need):
        far = [(min(abs(math.log(c.per_invoke / t)) for t in taken), v) for v, c in sorted(counts.items())
               if all(abs(c.per_invoke / t - 1) > SAME_COUNT for t in taken)]
        if not far:
            break
        _, vid = max(far)
        chosen.append(vid)
        taken.append(counts[vid].per_invoke)
    return ", ".join(f"{i} ({current[i].get('model')} {current[i].get('recipe')}, {counts[i].per_invoke / 1e6:.3f} M)"
                     for i in chosen) or "a variant of another architecture or input size (none counted here differs)"


def _too_few_counts(o: Outcome, run_dir: Path, points: list[Point], counts: dict[str, Instructions],
                    current: dict[str, dict], at: str) -> Outcome | None:
    """Not predicted when the points hold fewer than three distinct counts: counts within 1 % of each other (a
    model's int8, prune_int8 and auto_int8) are one point of evidence about the slope."""
    groups = evidence(points)
    if len(groups) >= MIN_POINTS:
        return None
    held = "; ".join(f"{g[0].instructions.per_invoke / 1e6:.3f} M ({', '.join(p.variant for p in g)})" for g in groups)
    need = MIN_POINTS - len(groups)
    return dataclasses.replace(o, why=f"the {len(points)} variants measured at {at} have {len(groups)} distinct "
                               f"{o.profile} count{'' if len(groups) == 1 else 's'} ({held}): counts within "
                               f"{SAME_COUNT * 100:.0f} % of each other are one point of evidence about how "
                               f"milliseconds follow the count, and a calibration needs {MIN_POINTS} distinct counts",
                               fix=f"measure {need} variant{'' if need == 1 else 's'} whose count differs on the device "
                               f"at {at} and import {'it' if need == 1 else 'them'}: "
                               f"{_suggested(points, counts, current, need)} (liteship device kit {run_dir} --out DIR "
                               "writes them)")


def _fitted(o: Outcome, run_dir: Path, group: list[BenchRecord], counts: dict[str, Instructions],
            current: dict[str, dict]) -> Outcome:
    at = f"{o.threads} thread{'' if o.threads == 1 else 's'}"
    if len(group) < MIN_POINTS:
        more = MIN_POINTS - len(group)
        return dataclasses.replace(o, why=f"{len(group)} variant{'' if len(group) == 1 else 's'} measured at {at}, "
                                   f"and a calibration needs {MIN_POINTS}", fix=f"measure {more} more variant"
                                   f"{'' if more == 1 else 's'} on the device at {at} and import them (liteship "
                                   f"device kit {run_dir} --out DIR writes them)")
    points = [Point(r.variant, r.latency_ms.p50, counts[r.variant]) for r in group if r.variant in counts]
    if len(points) < MIN_POINTS:
        missing = sorted(r.variant for r in group if r.variant not in counts)
        return dataclasses.replace(o, why=f"{len(missing)} of the {len(group)} variants measured have no {o.profile}"
                                   f" count ({', '.join(missing)}), and a calibration needs {MIN_POINTS} counted",
                                   fix=f"liteship bench {run_dir} --backends {o.profile}")
    refused = _too_few_counts(o, run_dir, points, counts, current, at)
    if refused is not None:
        return refused
    try:
        calibration = fit(points)
    except ValueError as exc:
        return dataclasses.replace(o, why=str(exc), fix="import measurements of positive milliseconds")
    o = dataclasses.replace(o, calibration=calibration)
    measured = {r.variant for r in group}  # at these threads: a measurement at other threads replaces nothing here
    rests_on = [{"variant": r.variant, "median_ms": r.latency_ms.p50, "instructions": counts[r.variant].per_invoke,
                 "source": (r.device or {}).get("source"), "source_sha256": (r.device or {}).get("source_sha256")}
                for r in group if r.variant in counts]
    made, not_positive = [], []
    for vid in sorted(set(counts) - measured):
        guess = calibration.predict_at(counts[vid])
        if guess.ms > 0:
            made.append(_record(o, current[vid], counts[vid], guess, group, rests_on))
        else:
            not_positive.append(vid)
    return dataclasses.replace(o, records=tuple(made), not_positive=tuple(not_positive),
                               extrapolated=tuple(r.variant for r in made if r.device.get("extrapolated")))


def _said(group: list[BenchRecord], key: str) -> str | None:
    """What the measurements say of ``key`` (their LiteRT version, OS): one value, or each of theirs."""
    values = sorted({str(v) for v in ((r.device or {}).get(key) for r in group) if v})
    return ", ".join(values) or None


def _extrapolated_words(said: dict | None) -> tuple[str, str]:
    """What a note says of an extrapolated prediction: in its head (which a note cut short still shows), and at
    its end; nothing for one inside the counts measured."""
    if not said:
        return "", ""
    low, high = said["measured_instructions"]
    return (f", extrapolated {said['ratio']:.2f}x {said['side']} the counts measured",
            f"; the interval widened to hold ms in proportion to the count from the nearest measured "
            f"({said['proportional_ms']:.3f} ms) too: no measurement on the device is near its count "
            f"({said['instructions'] / 1e6:.3f} M; measured {low / 1e6:.3f}-{high / 1e6:.3f} M)")


def _record(o: Outcome, v: dict, instr: Instructions, guess: Prediction,
            group: list[BenchRecord], rests_on: list[dict]) -> BenchRecord:
    """The predicted record of variant ``v`` (the spec's: variant facts, p50 and its interval, the fit)."""
    ms, low, high = guess.ms, guess.low, guess.high
    c, version = o.calibration, _said(group, "runtime_version")
    latency = LatencyStats(init=None, first=None, p50=ms, p90=None, p99=None, mean=None, std=None, cv=None,
                           min=None, runs=None, rounds=None, ci_low=low, ci_high=high)
    device = {"device": o.device, "chip": o.chip.chip, "chip_from": o.chip.chip_from, "predicted": True,
              "profile": o.profile, "instructions": instr.per_invoke, "fit": c.to_dict(), "rests_on": rests_on,
              "statistics": dict(STATISTICS), "runtime_version": version, "os": _said(group, "os"),
              "threads": o.threads, "accelerator": "cpu", **({"extrapolated": guess.extrapolated}
                                                            if guess.extrapolated else {})}
    head, tail = _extrapolated_words(guess.extrapolated)
    note = (f"predicted from {o.profile} instructions, not measured{head}: {c.formula()}; 95 % prediction interval "
            f"from the leave-one-out errors of {c.n} measurements (median {percent(c.loo_median, '.0f')}, worst "
            f"{percent(c.loo_worst, '.0f')}){tail}")
    return BenchRecord(
        variant=v["id"], model=v.get("model"), recipe=v.get("recipe"), arch=v.get("arch"), alpha=v.get("alpha"),
        size=v.get("size"), backend=o.target, threads=o.threads, kind=Predicted.FROM_COUNTS, status="ok",
        runtime=f"predicted for {o.device} from {o.profile} instructions (LiteRT "
                f"{version or '(version not given)'} on the device)",
        size_bytes=v.get("size_bytes") or 0, gzip_bytes=v.get("gzip_bytes") or 0, params=v.get("params"),
        sparsity=v.get("sparsity"), latency_ms=latency, model_path=v.get("file") or f"{VARIANTS}/{v['id']}.tflite",
        node=o.device, sha256=v.get("sha256"), device=device, notes=(note,))


def chip_contradictions(run_dir: Path, device: str | None, chip: str | None, adding=(),
                        records: list[BenchRecord] | None = None) -> list[Problem]:
    """``--chip`` against what is known of the chip of each device it applies to (``device``, else every device
    measured in the run): what a model identifier in the sources or the device's name says, and the chip the
    device's records already keep (:func:`liteship.bench.device_chips.contradiction`). ``adding``: the records an
    import is about to merge (their sources' identifiers count; their chip is the flag's own)."""
    if not chip:
        return []
    existing = measured_records(read_results(run_dir, missing_ok=True) if records is None else records)
    names = [device] if device else sorted({str((r.device or {}).get("device") or r.node) for r in existing})
    found = []
    for name in names:
        theirs = [r for r in existing if _of(r, name)]
        said = [(r.device or {}).get(k) for r in (*theirs, *adding) for k in ("device_named", "session")]
        kept = sorted({(d.get("chip"), d.get("chip_from")) for d in (r.device or {} for r in theirs) if d.get("chip")})
        why = contradiction(chip, name, said, kept)
        if why is not None:
            found.append(Problem("--chip", None, describe(chip), *why))
    return found


def refresh(run_dir: Path, device: str | None = None, chip: str | None = None,
            registered: Callable[[str], bool] | None = None, command: str = "device predict", adding=(),
            on_counts: tuple[str, ...] | None = None) -> tuple[Outcome, ...]:
    """Predict (:func:`predictions`) and write, holding the run for ``command`` (``device import`` and ``bench``
    predict as part of their own hold), in one write: ``adding`` (an import's device records) merged, and each
    examined device backend's predicted records replaced whole by the ones predicted from the merged records (none
    where it is no longer predicted), so a variant now measured on the device at those threads loses its predicted
    record there, and no interruption leaves it measured beside its old prediction. ``on_counts``: count backends
    just written (bench): only the devices predicted from one of them are predicted again, and nothing is written
    when there is none. A ``--chip`` contradicting what is known of the device is refused (``Problems``, nothing
    written)."""
    run_dir = Path(run_dir)
    with writing(run_dir, command):
        existing = read_results(run_dir, missing_ok=True)
        problems = chip_contradictions(run_dir, device, chip, adding, existing)
        if problems:
            raise Problems(problems)
        outcomes = predictions(run_dir, device, chip, registered, merged_results(run_dir, list(adding), (), existing))
        if on_counts is not None:
            outcomes = tuple(o for o in outcomes if o.profile in on_counts)
        if outcomes or adding:
            write_results(run_dir, [*adding, *(r for o in outcomes for r in o.records)],
                          replace_backends=tuple(sorted({o.target for o in outcomes})))
    return outcomes
