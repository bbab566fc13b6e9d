"""Device measurements as records of a run: each matched to a current variant, then a :class:`BenchRecord` of the
device's backend (``device:iphone-13``) carrying where its numbers came from.

A measurement is matched to a variant by, in order: an explicit ``--model FILE=VARIANT`` (FILE: the model file
the measurement names, or the measurement file itself); the variant ID in the model file's name (the device kit
names each file ``<model>-<recipe>-<ID>.tflite``; a run's own ``<ID>.tflite`` works too); the sha256 the source
gives, or that of the model file it names where that file is here. One that matches nothing, or matches a variant
that is no longer current, is refused (:class:`Refused`, every one at once), naming its file and line.

What the record holds is the tool's own numbers, never made up: p50 is the tool's median (a measurement with only
an average is refused: the average is not a median); the tools give p5 and p95, neither of which is a p90 or a
p99, so those stay None and a budget on them says "not measured"; there is no interval (one session's numbers).
``BenchRecord.device`` says so, and keeps every statistic as the source gave it.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from liteship.bench.backends.device import backend_name, Device
from liteship.bench.device_chips import chip_of, ChipFound
from liteship.bench.device_measurement import MEMORY, Measurement, STATISTICS
from liteship.bench.record import BenchRecord, LatencyStats
from liteship.bench.run import variant_status
from liteship.files import sha256_file
from liteship.rundir import VARIANTS

STATISTIC_OF = {"p50": "median", "p90": None, "p99": None}  # which of the tool's statistics each record field is
GPU_DELEGATES = ("gpu", "metal", "opencl", "litert_cl", "webgpu")


@dataclasses.dataclass(frozen=True)
class Refused:
    """A measurement that cannot become a record: where it was read, what, why, what to do."""

    where: str
    what: str
    why: str
    fix: str


@dataclasses.dataclass(frozen=True)
class Matched:
    measurement: Measurement
    variant: dict  # the variant's record (variants/<ID>.json)
    how: str  # "--model", "file name", "sha256"


def run_variants(run_dir: Path) -> tuple[dict[str, dict], dict[str, tuple[dict, str]]]:
    """(current variants by ID, stale variants by ID with why)."""
    current, stale = variant_status(Path(run_dir))
    return {v["id"]: v for v in current}, {v["id"]: (v, why) for v, why in stale}


def _id_in_name(name: str | None, ids) -> str | None:
    """The variant ID a model file's name carries: ``<ID>.tflite`` or ``...-<ID>.tflite``."""
    if not name:
        return None
    stem = name.rsplit("/", 1)[-1].removesuffix(".tflite")
    return next((i for i in ids if stem == i or stem.endswith(f"-{i}")), None)


def _named_sha(m: Measurement, base: Path) -> str | None:
    """The sha256 the source gives for its model, or that of the model file it names where that file is here
    (as written, or beside the measurement file)."""
    if m.model_sha256:
        return m.model_sha256.lower()
    if not m.model:
        return None
    for path in (Path(m.model), base / m.model_file):
        if path.is_file():
            return sha256_file(path)
    return None


def _explicit(m: Measurement, source: str, models: dict[str, str]) -> str | None:
    for key in (m.model, m.model_file, source, os.path.basename(source)):
        if key and key in models:
            return models[key]
    return None


def match(m: Measurement, source: str, run: tuple[dict, dict], models: dict[str, str]) -> Matched | Refused:
    """The current variant ``m`` measured, or why it cannot be said."""
    current, stale = run
    every = {**{i: v for i, (v, _) in stale.items()}, **current}
    named = _explicit(m, source, models)
    how = "--model"
    if named is None:
        named, how = _id_in_name(m.model_file, every), "file name"
    if named is None:
        sha = _named_sha(m, Path(m.source).parent)
        named = next((i for i, v in every.items() if sha and v.get("sha256") == sha), None)
        how = "sha256"
    if named in current:
        return Matched(m, current[named], how)
    what = f"a measurement of {m.model or 'an unnamed model'}"
    if named in stale:
        return Refused(m.where, f"{what} is of variant {named}, which is not current", stale[named][1],
                       "measure the current variants again (liteship device kit RUN_DIR --out DIR)")
    if named is not None:
        return Refused(m.where, f"{what}: --model names {named}", "the run has no such variant",
                       f"pass one of: {', '.join(sorted(current))}")
    return Refused(m.where, f"{what} matches no variant of the run",
                   "its file name holds no variant ID, and no variant's sha256 is the model's",
                   "measure the files liteship device kit writes (their names hold the ID), or say which variant "
                   "it is: --model FILE=VARIANT")


def _accelerator(m: Measurement) -> str:
    delegate = (m.delegate or "").casefold()
    return m.accelerator or ("gpu" if any(g in delegate for g in GPU_DELEGATES) else "cpu")


def refusal(m: Measurement, threads: int | None = None) -> Refused | None:
    """What a measurement lacks that a record needs: a median (p50) and the threads it ran on (``threads``: what
    the caller says of a source that does not say it; one that says another number is refused)."""
    if m.median_ms is None:
        return Refused(m.where, "the measurement has no median", f"{m.format.value} gave an average "
                       f"({m.avg_ms:g} ms) only, and an average is not a median: a p50 budget would judge another "
                       "number", "measure with a benchmark_model that prints the median (count=... median=...)")
    if m.threads is None and threads is None:
        return Refused(m.where, "the measurement does not say how many threads ran",
                       "budgets judge a backend at a thread count", "pass the tool's whole output, which says"
                       " Num threads, or say it: --threads N (benchmark_model's default is one)")
    if m.threads is not None and threads is not None and m.threads != threads:
        return Refused(m.where, f"it ran on {m.threads} thread(s), --threads says {threads}",
                       "a measurement's threads are its own", "drop --threads, or import this file on its own")
    return None


def provenance(m: Matched, device: str, chip: ChipFound | None) -> dict:
    """Everything the record says of where its numbers came from (``chip``: the device's, as resolved, and what
    said it)."""
    x = m.measurement
    return {"device": device, "chip": chip and chip.chip, "chip_from": chip and chip.chip_from, "platform": x.platform, "device_named": x.device or x.device_id,
            "os": x.os, "runtime_version": x.runtime_version, "threads": x.threads, "accelerator": _accelerator(x),
            "delegate": x.delegate, "runs": x.runs, "warmup_runs": x.warmup_runs, "date": x.date,
            "source": x.source, "source_sha256": x.source_sha256, "line": x.line, "session": x.session,
            "format": x.format.value, "model_file": x.model, "matched_by": m.how, "statistics": dict(STATISTIC_OF),
            "measured": {k: getattr(x, k) for k in STATISTICS + MEMORY if getattr(x, k) is not None}}


def to_record(m: Matched, device: str, chip: ChipFound | None) -> BenchRecord:
    """The device backend's record of the matched variant."""
    x, v = m.measurement, m.variant
    cv = x.std_ms / x.avg_ms if x.std_ms is not None and x.avg_ms else None
    latency = LatencyStats(init=x.init_ms, first=x.first_inference_ms, p50=x.median_ms, p90=None, p99=None,
                           mean=x.avg_ms, std=x.std_ms, cv=cv, min=x.min_ms, runs=x.runs, rounds=None, ci_low=None,
                           ci_high=None)
    info = provenance(m, device, chip)
    runtime = f"LiteRT {x.runtime_version or '(version not given)'} on {device}" + (f" ({x.os})" if x.os else "")
    return BenchRecord(
        variant=v["id"], model=v.get("model"), recipe=v.get("recipe"), arch=v.get("arch"), alpha=v.get("alpha"),
        size=v.get("size"), backend=backend_name(device, info["accelerator"]), threads=x.threads, runtime=runtime,
        kind=Device.MEASURED, status="ok", size_bytes=v.get("size_bytes") or 0, gzip_bytes=v.get("gzip_bytes") or 0,
        params=v.get("params"), sparsity=v.get("sparsity"), latency_ms=latency, model_path=v.get("file") or
        f"{VARIANTS}/{v['id']}.tflite", node=device, sha256=v.get("sha256"), device=info,
        notes=(f"imported from {x.where} ({x.format.value}, matched by {m.how}): p50 is the tool's median; the "
               "tool gives no p90, p99 or interval",))


def _article(name: str) -> str:
    vowel = name[:1] in "aeiouAEIOU" or (name[:1] in "FHLMNRSX" and name[1:2].isdigit() or name[1:2].isupper())
    return f"{'an' if vowel else 'a'} {name}"


def measured_on(record: BenchRecord) -> str:
    """"measured on an iPhone 13 (iOS 17.4, LiteRT 2.2.0, 1 thread, CPU), median 3.100 ms over 50 runs"."""
    d, lat = record.device or {}, record.latency_ms
    threads = d.get("threads")
    said = [d.get("os"), f"LiteRT {d['runtime_version']}" if d.get("runtime_version") else "LiteRT version not given",
            f"{threads} thread{'s' if threads != 1 else ''}" if threads else None,
            (d.get("delegate") or d.get("accelerator") or "").upper() if d.get("accelerator") != "cpu" else None]
    runs = f" over {lat.runs} runs" if lat and lat.runs else ""
    median = f", median {lat.p50:.3f} ms{runs}" if lat else ""
    chip = f", {d['chip']}" if d.get("chip") else ""
    return f"measured on {_article(str(d.get('device') or record.node))}{chip} ({', '.join(s for s in said if s)})" \
        f"{median}"


def import_records(run_dir: Path, files, device: str, chip: str | None, models: dict[str, str],
                   threads: int | None = None) -> tuple[list[BenchRecord], list[Refused]]:
    """The device records of every measurement in ``files``, and every one refused (all read before any is
    written): a file that cannot be read, a measurement that matches no current variant, two of one record.
    ``chip`` (``--chip``), else a model identifier the sources give, else the device's name, says the chip the
    records keep (:func:`liteship.bench.device_chips.chip_of`)."""
    matched, refused = _read_and_match(Path(run_dir), files, device, models, threads)
    found = chip_of(device, [s for x, _ in matched for s in (x.measurement.device, x.measurement.device_id,
                                                               x.measurement.session)], chip)
    records, seen = [], {}
    for x, m in matched:
        record, same = to_record(x, device, found), (m.source_sha256, m.line)
        if record.key in seen and seen[record.key][1] == same:
            continue  # the same file named twice: one record
        if record.key in seen:
            refused.append(Refused(m.where, f"it measures {record.variant} on {record.backend} at "
                                   f"{record.threads} thread(s) again ({seen[record.key][0]} did too)", "",
                                   "import one measurement per variant, device and thread count"))
        seen.setdefault(record.key, (m.where, same))
        records.append(record)
    return records, refused


def _read_and_match(run_dir: Path, files, device: str, models: dict[str, str], threads: int | None):
    """Every measurement of ``files`` matched to a current variant (with the measurement as read), and those
    refused."""
    from liteship.bench.device_import import read_measurements
    from liteship.errors import LiteshipError

    run, matched, refused = run_variants(run_dir), [], []
    for source in map(os.fspath, files):
        try:
            found = read_measurements(source, device)
        except LiteshipError as exc:
            refused.append(Refused(exc.what, exc.why, "", exc.fix or "check the file"))
            continue
        for m in found:
            made = refusal(m, threads) or match(dataclasses.replace(m, threads=m.threads or threads), source, run,
                                                models)
            if isinstance(made, Refused):
                refused.append(made)
            else:
                matched.append((made, m))
    return matched, refused
