"""A device's milliseconds predicted for the variants nobody measured on it, from their counts on the ISA profile
that stands for its chip: one :class:`Outcome` per device backend and thread count, and the predicted records.

For each CPU device backend of a run (``device:iphone-13``) and each thread count its current measurements were
made at, the points are (the device record's median, the variant's count on the profile from the run's count
records); with three or more, :func:`liteship.bench.device_predict.fit` calibrates, and every other current variant
counted on the profile gets a record of ``predicted:iphone-13``: its p50 the prediction, ``ci_low``/``ci_high`` the
95 % prediction interval, ``device`` the fit and the measurements it rests on. A variant measured on the device
never gets one. Not predicted, an outcome says why and what to do: a GPU's measurements (its time is no function
of CPU instruction counts), a chip liteship does not know, a chip no profile stands for (SME2 without
``arm64-a18``), fewer than three measurements at one thread count, measured variants not counted on the profile.

:func:`refresh` writes them under the run's lock, each examined backend's predicted records replaced whole.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

from liteship.bench.backends.device import Device, slug
from liteship.bench.backends.predicted import backend_name, Predicted
from liteship.bench.device_chips import ChipFound, chip_of, chips_taken, from_flag, from_kept, profile_for
from liteship.bench.device_predict import Calibration, fit, MIN_POINTS, Point
from liteship.bench.device_records import run_variants
from liteship.bench.record import BenchRecord, Instructions, LatencyStats
from liteship.bench.results import read_results, write_results
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
                registered: Callable[[str], bool] | None = None) -> tuple[Outcome, ...]:
    """Every device backend's outcome (of ``device`` only, when named), read from the run; nothing is written.
    ``chip``: ``--chip``, over what the records keep; ``registered``: whether the registry holds a count backend
    (default: ask it)."""
    run_dir = Path(run_dir)
    current, _ = run_variants(run_dir)
    records = [r for r in read_results(run_dir, missing_ok=True) if r.variant in current]
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
    return _fitted(o, run_dir, group, on_device, _counts(records, profile.backend, current), current)


def _counts(records: list[BenchRecord], profile: str, current: dict[str, dict]) -> dict[str, Instructions]:
    """Each current variant's count on ``profile``, from the run's count records of the file as it is now."""
    out = {}
    for r in records:
        sha = current[r.variant].get("sha256")
        if r.backend == profile and r.kind.counts and r.status == "ok" and r.instructions is not None and \
                r.instructions.counted and (not sha or not r.sha256 or r.sha256 == sha):
            out[r.variant] = r.instructions
    return out


def _fitted(o: Outcome, run_dir: Path, group: list[BenchRecord], on_device: list[BenchRecord],
            counts: dict[str, Instructions], current: dict[str, dict]) -> Outcome:
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
    try:
        calibration = fit(points)
    except ValueError as exc:
        return dataclasses.replace(o, why=str(exc), fix="import measurements of positive milliseconds")
    o = dataclasses.replace(o, calibration=calibration)
    measured = {r.variant for r in on_device}
    rests_on = [{"variant": r.variant, "median_ms": r.latency_ms.p50, "instructions": counts[r.variant].per_invoke,
                 "source": (r.device or {}).get("source"), "source_sha256": (r.device or {}).get("source_sha256")}
                for r in group if r.variant in counts]
    made, not_positive = [], []
    for vid in sorted(set(counts) - measured):
        ms, low, high = calibration.predict(counts[vid])
        if ms > 0:
            made.append(_record(o, current[vid], counts[vid], (ms, low, high), group, rests_on))
        else:
            not_positive.append(vid)
    return dataclasses.replace(o, records=tuple(made), not_positive=tuple(not_positive))


def _said(group: list[BenchRecord], key: str) -> str | None:
    """What the measurements say of ``key`` (their LiteRT version, OS): one value, or each of theirs."""
    values = sorted({str(v) for v in ((r.device or {}).get(key) for r in group) if v})
    return ", ".join(values) or None


def _record(o: Outcome, v: dict, instr: Instructions, predicted: tuple[float, float, float],
            group: list[BenchRecord], rests_on: list[dict]) -> BenchRecord:
    """The predicted record of variant ``v`` (the spec's: variant facts, p50 and its interval, the fit)."""
    ms, low, high = predicted
    c, version = o.calibration, _said(group, "runtime_version")
    latency = LatencyStats(init=None, first=None, p50=ms, p90=None, p99=None, mean=None, std=None, cv=None,
                           min=None, runs=None, rounds=None, ci_low=low, ci_high=high)
    device = {"device": o.device, "chip": o.chip.chip, "chip_from": o.chip.chip_from, "predicted": True,
              "profile": o.profile, "instructions": instr.per_invoke, "fit": c.to_dict(), "rests_on": rests_on,
              "statistics": dict(STATISTICS), "runtime_version": version, "os": _said(group, "os"),
              "threads": o.threads, "accelerator": "cpu"}
    note = (f"predicted from {o.profile} instructions, not measured: {c.formula()}; 95 % prediction interval from "
            f"the leave-one-out errors of {c.n} measurements (median {percent(c.loo_median, '.0f')}, worst "
            f"{percent(c.loo_worst, '.0f')})")
    return BenchRecord(
        variant=v["id"], model=v.get("model"), recipe=v.get("recipe"), arch=v.get("arch"), alpha=v.get("alpha"),
        size=v.get("size"), backend=o.target, threads=o.threads, kind=Predicted.FROM_COUNTS, status="ok",
        runtime=f"predicted for {o.device} from {o.profile} instructions (LiteRT "
                f"{version or '(version not given)'} on the device)",
        size_bytes=v.get("size_bytes") or 0, gzip_bytes=v.get("gzip_bytes") or 0, params=v.get("params"),
        sparsity=v.get("sparsity"), latency_ms=latency, model_path=v.get("file") or f"{VARIANTS}/{v['id']}.tflite",
        node=o.device, sha256=v.get("sha256"), device=device, notes=(note,))


def refresh(run_dir: Path, device: str | None = None, chip: str | None = None,
            registered: Callable[[str], bool] | None = None, command: str = "device predict") -> tuple[Outcome, ...]:
    """Predict (:func:`predictions`) and write, holding the run for ``command`` (``device import`` predicts as part
    of its own hold): each examined device backend's predicted records are replaced whole by the new ones (none
    where it is no longer predicted), so a variant now measured on the device loses its predicted record."""
    with writing(run_dir, command):
        outcomes = predictions(run_dir, device, chip, registered)
        if outcomes:
            write_results(run_dir, [r for o in outcomes for r in o.records],
                          replace_backends=tuple(sorted({o.target for o in outcomes})))
    return outcomes
