"""What a budget on a phone's backend judges, and the words its verdicts say: a device's imported measurement
(``device:<slug>``), or a prediction from counts (``predicted:<slug>``) on its 95 % interval's upper end.

On a backend of predictions, a variant measured on that device at the budget's threads is judged on its
measurement, whether or not a prediction of it is still in the run (an interrupted import, a file merged by hand):
the measurement is the better number (:func:`stand_in`). A prediction whose count is no longer the variant's count
on its profile, or whose measurements are no longer the device's, is stale (:func:`stale`): not judged, and the fix
is to predict again. A number that is missing says why and what makes it: a variant not predicted (counted since,
or not counted), a device's p90 or p99 (its tools print p5 and p95), a variant the device did not measure, a
device the run holds none of, an accuracy budget whose scored record is missing. :mod:`liteship.judge.budgets` asks this module; its words live here.
"""

from __future__ import annotations

import dataclasses
import math
import re

from liteship.bench import backends, BenchRecord


def predicted(record: BenchRecord | None) -> bool:
    """A prediction from instruction counts (``predicted:<device>``), never a measurement: a record not measured
    here whose ``device`` says so (its kind's traits are a device's own)."""
    return record is not None and not record.kind.here and bool((record.device or {}).get("predicted"))


def device_of(record: BenchRecord) -> tuple:
    """The device and accelerator a device's or a prediction's record is of."""
    return (record.device or {}).get("device"), (record.device or {}).get("accelerator")


def _measured_there(record: BenchRecord) -> bool:
    return record.kind.times and not record.kind.here and not predicted(record)


def stand_in(backend: str, threads: int, records: list[BenchRecord], every, found: BenchRecord | None):
    """On a backend of predictions: the device's own measurement, at ``threads``, of the variant whose records are
    ``records`` (the device: ``found``'s, the prediction judged, else that of ``every``'s predictions on
    ``backend``); None elsewhere, or where the device has not measured it."""
    if found is not None and not predicted(found):
        return None
    devices = {device_of(found)} if found is not None else \
        {device_of(r) for r in every if r.backend == backend and predicted(r)}
    return next((r for r in records if r.threads == threads and r.status == "ok" and _measured_there(r)
                 and device_of(r) in devices), None)


def _count(every, variant: str, profile: str | None) -> int | None:
    """``variant``'s count per invoke on ``profile`` among the run's records ``every``, where one is counted."""
    return next((r.instructions.per_invoke for r in every if r.variant == variant and r.backend == profile
                 and r.kind.counts and r.status == "ok" and r.instructions and r.instructions.counted), None)


def stale(record: BenchRecord | None, every) -> str | None:
    """Why the prediction ``record`` is no longer the run's, or None: the count it scaled is not the variant's
    count on its profile now (counted again since); or the measurements it rests on are not the device's now, at
    its threads: one measured again (another median), one gone though its variant is still in the run, or a
    measurement of a variant counted on the profile that it does not rest on (imported since). A measurement of a
    variant no longer in the run (replaced since) still measured the device, and is not held against it."""
    if not predicted(record):
        return None
    d = record.device or {}
    profile = d.get("profile")
    now = _count(every, record.variant, profile)
    if now is not None and now != d.get("instructions"):
        was = d.get("instructions")
        was = f"{was / 1e6:.3f} M" if isinstance(was, (int, float)) else "no count"
        return f"it scaled an {profile} count of {was}, and the variant's count there is {now / 1e6:.3f} M now"
    theirs = {r.variant: r.latency_ms.p50 for r in every if r.threads == record.threads and r.status == "ok"
              and _measured_there(r) and device_of(r) == device_of(record) and r.latency_ms}
    rests = {m.get("variant"): m.get("median_ms") for m in d.get("rests_on") or () if isinstance(m, dict)}
    in_run = {r.variant for r in every}
    moved = sorted(str(v) for v in set(theirs) | set(rests) if theirs.get(v) != rests.get(v) and (
        (v in theirs and v in rests) or (v in theirs and _count(every, v, profile) is not None)
        or (v in rests and v in in_run)))
    if not moved:
        return None
    return (f"it rests on {len(rests)} measurement(s) on the {d.get('device')}, and the device's records at "
            f"{record.threads} thread(s) differ from them now ({', '.join(moved[:5])}{', ...' if len(moved) > 5 else ''}"
            ": measured, measured again or gone since)")


def judged_latency(record: BenchRecord | None, stat: str) -> tuple[float | None, str]:
    """(the latency a budget on ``stat`` judges, what its verdict adds): the record's ``stat``; a prediction's
    95 % interval's upper end (p50 only: nothing predicts a p90 or a p99), or None with why when it holds no
    interval to judge (a prediction is never judged on its median). The interval is written to the judged value's
    precision (3 decimals), and an extrapolated prediction says so."""
    lat = record.latency_ms if record is not None else None
    if not predicted(record):
        return (getattr(lat, stat) if lat else None), ""
    if stat != "p50":
        return None, f'not predicted: a prediction gives a median and its interval, no {stat}; use latency_stat = "p50"'
    got = (lat.ci_low, lat.p50, lat.ci_high) if lat else (None,) * 3
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in got) or sorted(got) != list(got):
        return None, (f"not judged: the prediction's interval is not one (ci_low, p50, ci_high = {', '.join(map(str, got))}"
                      "), and a prediction is judged on its upper end; predict it again (liteship device import)")
    far = (record.device or {}).get("extrapolated")
    beyond = (f" (extrapolated: its count is {far['ratio']:.2f}x {far['side']} the counts measured on the device; "
              "the interval widened to hold ms in proportion to the count from the nearest measured)"
              if isinstance(far, dict) and isinstance(far.get("ratio"), (int, float)) else "")
    return lat.ci_high, (f"predicted {lat.p50:.3f} ms, 95 % interval {lat.ci_low:.3f}-{lat.ci_high:.3f} ms{beyond}, "
                         "upper end judged")


def _run_dir(run_dir) -> str:
    return str(run_dir) if run_dir is not None else "RUN_DIR"


def _not_on_backend(budgets, variant: str, every, run_dir) -> str:
    """Why a budget's backend of a phone holds no number of ``variant``, and what makes one; "" when nothing
    says."""
    named = next((r for r in every if r.backend == budgets.backend and predicted(r)), None)
    if named is not None:
        profile = named.device.get("profile")
        count = _count(every, variant, profile)
        if count is not None:
            return (f"not predicted: {budgets.backend} holds no prediction of it, though it is counted on {profile} "
                    f"({count / 1e6:.3f} M): the fit gave it 0 ms or less, or it was counted after the last "
                    f"prediction; liteship device predict {_run_dir(run_dir)} predicts it, or says why not")
        return (f"not predicted: {budgets.backend} holds no prediction of it: a prediction is made for each variant "
                f"counted on {profile} and not measured on the device, and it has no {profile} count; count it: "
                f"liteship bench {_run_dir(run_dir)} --backends {profile} (which predicts it too)")
    theirs = next((r for r in every if r.backend == budgets.backend and _measured_there(r)), None)
    if theirs is None:
        return ""
    d = theirs.device or {}
    return (f"not measured: {budgets.backend} holds no measurement of it at {budgets.threads} thread(s); measure it "
            f"on the {d.get('device') or theirs.node} (liteship device kit {_run_dir(run_dir)} --out DIR writes it), "
            f"then liteship device import {_run_dir(run_dir)} FILE --device \"{d.get('device') or theirs.node}\"")


def _no_statistic(record: BenchRecord, stat: str) -> str:
    """Why a device's measurement has no ``stat`` (p90, p99): its tool never printed one."""
    return (f"not measured: a device's benchmark tool (benchmark_model, the iOS benchmark app, the leaderboard) "
            f"prints p5, the median and p95, and neither p5 nor p95 is a {stat}, so {record.backend} holds none; "
            'judge its median: latency_stat = "p50"')


def latency_judged(budgets, variant: str, run: BenchRecord | None, every, run_dir=None) -> tuple[float | None, str]:
    """(the latency a budget judges on ``run``, the words its verdict adds: "not ...: why" where there is none):
    :func:`judged_latency`, refusing a stale prediction, and saying why a phone's backend has no number."""
    value, said = judged_latency(run, budgets.latency_stat)
    why = stale(run, every) if value is not None else None
    if why is not None:
        return None, (f"not judged: the prediction is stale: {why}; predict again: liteship device predict "
                      f"{_run_dir(run_dir)}")
    if value is None and not said and run is not None and _measured_there(run) and budgets.latency_stat != "p50":
        return None, _no_statistic(run, budgets.latency_stat)
    if run is not None and run.backend != budgets.backend and not said:
        return value, f"measured on the device, not predicted: {run.backend}'s median"
    return value, said or ("" if run is not None else _not_on_backend(budgets, variant, every, run_dir))


def phone_backend(name: str) -> bool:
    """A backend of a phone's times: a device's imported measurements or predictions of them (nothing here times
    it, and its records bring no accuracy of their own)."""
    b = backends.find(name)
    return b is not None and b.kind.times and not b.kind.here


def unscored_words(budgets, run_dir=None) -> str:
    """Why an accuracy budget on a phone's backend has no number: the record scored here that it reads is
    missing."""
    ref = backends.reference().name
    return (f"not scored: a budget on {budgets.backend} reads accuracy from the record scored here ({ref}, "
            f"{budgets.threads} thread(s)), and the run holds none of this variant; bench it: liteship bench "
            f"{_run_dir(run_dir)}")


def _held(records) -> str:
    """The phone backends ``records`` hold, with their device: "device:iphone-13 (iPhone 13), predicted:..."."""
    held = {r.backend: ("predictions for " if predicted(r) else "") + str((r.device or {}).get("device") or r.node)
            for r in records if phone_backend(r.backend)}
    return ", ".join(f"{b} ({d})" for b, d in sorted(held.items())) or "none (no device's measurements were imported)"


def missing_phone(budgets, records) -> tuple[str, str] | None:
    """(why, fix) when the budgets judge a phone's backend the run holds no record of: which devices it holds, and
    how a device's records are made (imported, never benched); None otherwise."""
    if not phone_backend(budgets.backend) or not records or any(r.backend == budgets.backend for r in records):
        return None
    return (f'[budgets] backend = "{budgets.backend}": the run holds no records of that device; the devices it holds: '
            f"{_held(records)}",
            "import the device's measurements (liteship device import RUN_DIR FILE... --device NAME, whose backend "
            "is device:<name in lower case, words joined by '-'>; its predictions are predicted:<the same>), or set "
            "backend to one the run holds; bench never measures a device")


def backend_fix(budgets, records) -> str | None:
    """What to do about :func:`missing_phone`'s problem (None where it is none): import, not bench."""
    found = missing_phone(budgets, records)
    return found[1] if found else None


def _named(problem, records):
    given = problem.given.strip('"') if isinstance(problem.given, str) else ""
    if problem.key != "backend" or not given.startswith(("device:", "predicted:")):
        return problem
    prefix, name = given.split(":", 1)
    guess = f"{prefix}:{'-'.join(re.findall(r'[a-z0-9]+', name.casefold()))}"
    held = {r.backend for r in records if phone_backend(r.backend)}
    return dataclasses.replace(
        problem, allowed=f"a device's backend is \"device:\" and its name in lower case, words joined by \"-\" "
        f"({guess}), a prediction's \"predicted:\" the same; the run holds {_held(records)}",
        fix=f'backend = "{guess}"' if guess in held else "one of those, or import the device's measurements first "
        "(liteship device import RUN_DIR FILE... --device NAME)")


def named_in_run(problems: list, run_dir) -> list:
    """``problems``, a [budgets] backend refused because it is not written as a backend's name ("device:iPhone
    13") said with the phone backends the run in ``run_dir`` holds and how a device's backend is written."""
    if not any(p.key == "backend" for p in problems) or not run_dir:
        return problems
    from liteship.bench import read_results
    from liteship.errors import LiteshipError

    try:
        records = read_results(run_dir, missing_ok=True)
    except (LiteshipError, OSError):
        return problems
    return [_named(p, records) for p in problems]
