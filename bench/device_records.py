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
import re
from pathlib import Path

from liteship.bench.backends.device import backend_name, Device, name_problem, same_device
from liteship.bench.device_chips import chip_of, ChipFound
from liteship.bench.device_measurement import DeviceFormat, MEMORY, Measurement, STATISTICS
from liteship.bench.record import BenchRecord, LatencyStats
from liteship.bench.run import variant_status
from liteship.files import sha256_file, unreadable_reason
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


def _stem(name: str) -> str:
    """A file's name without its folders and its extension (``/x/mnv2-int8-<ID>.tflite`` -> ``mnv2-int8-<ID>``)."""
    base = name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"\.[A-Za-z][A-Za-z0-9]{0,7}$", "", base)  # .tflite, .txt; not the .35_64 of 0.35_64-int8-<ID>


def _id_in_name(name: str | None, ids) -> str | None:
    """The variant ID a file's name carries: ``<ID>.tflite`` or ``...-<ID>.tflite`` (any extension)."""
    if not name:
        return None
    stem = _stem(name)
    return next((i for i in ids if stem == i or stem.endswith(f"-{i}")), None)


def _id_like(name: str | None) -> str | None:
    """An ID of liteship's shape (12 hex digits) that ``name`` ends with, of this run or not."""
    found = re.search(r"(?:^|-)([0-9a-f]{12})$", _stem(name)) if name else None
    return found.group(1) if found else None


def _model_paths(m: Measurement) -> list[Path]:
    """Where the model file a measurement names may be here: as written, or beside the measurement file."""
    return [Path(m.model), Path(m.source).parent / m.model_file] if m.model and m.model_file else []


def _named_sha(m: Measurement) -> str | None:
    """The sha256 the source gives for its model, or that of the model file it names where that file is here
    and is a regular file liteship reads (never one in /proc, a FIFO, a device)."""
    if m.model_sha256:
        return m.model_sha256.lower()
    for path in _model_paths(m):
        if path.is_file() and unreadable_reason(path) is None:
            return sha256_file(path)
    return None


def _unread(m: Measurement) -> str:
    """The model files the measurement names that are here but liteship does not read, said for a refusal."""
    said = [f"; the model file it names, {p}, is here but {why}" for p in _model_paths(m)
            if os.path.lexists(p) and (why := unreadable_reason(p)) is not None]
    return said[0] if said else ""


def model_keys(m: Measurement, source: str, models: dict[str, str]) -> list[str]:
    """The ``--model`` FILEs that name ``m``: the model file it names (as written, or its file name), or the file it
    was read from (as given, or its name)."""
    return [k for k in dict.fromkeys((m.model, m.model_file, source, os.path.basename(source))) if k and k in models]


def _explicit(m: Measurement, source: str, models: dict[str, str], used: set) -> str | Refused | None:
    """The variant ``--model`` gives ``m`` (by the model file it names, or the measurement file), or a Refused
    when two of its keys give it two variants."""
    keys = model_keys(m, source, models)
    used.update(keys)
    given = {models[k] for k in keys}
    if len(given) > 1:
        return Refused(m.where, f"--model gives it {len(given)} variants: "
                       f"{', '.join(f'{k}={models[k]}' for k in keys)}", "one measurement is of one variant",
                       "give it one --model FILE=VARIANT")
    return next(iter(given), None)


def match(m: Measurement, source: str, run: tuple[dict, dict], models: dict[str, str],
          used: set | None = None) -> Matched | Refused:
    """The current variant ``m`` measured, or why it cannot be said. ``used`` collects the ``models`` keys that
    named a measurement."""
    current, stale = run
    every = {**{i: v for i, (v, _) in stale.items()}, **current}
    named = _explicit(m, source, models, set() if used is None else used)
    if isinstance(named, Refused):
        return named
    how = "--model"
    if named is None:
        named, how = _id_in_name(m.model_file, every), "file name"
    if named is None:
        sha = _named_sha(m)
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
    foreign = _id_like(m.model_file)
    if foreign is not None:
        return Refused(m.where, f"{what} matches no variant of the run", f"its file name holds the variant ID "
                       f"{foreign}, which is not a variant of this run (a kit made from another run?), and no "
                       f"variant's sha256 is the model's{_unread(m)}", "import it into the run whose kit it came "
                       "from, or, if it is one of this run's variants, say which: --model FILE=VARIANT")
    return Refused(m.where, f"{what} matches no variant of the run",
                   f"its file name holds no variant ID, and no variant's sha256 is the model's{_unread(m)}",
                   "measure the files liteship device kit writes (their names hold the ID), or say which variant "
                   "it is: --model FILE=VARIANT")


def model_refusals(models: dict[str, str], run: tuple[dict, dict]) -> list[Refused]:
    """Each ``--model FILE=VARIANT`` that cannot be right: VARIANT not a current variant of the run, or FILE's
    name holding another variant's ID (the kit names each file by its variant: the pair would measure one variant
    as another)."""
    current, stale = run
    every = {**{i: v for i, (v, _) in stale.items()}, **current}
    out = []
    for file, variant in models.items():
        pair = f"{file}={variant}"
        if variant in stale:
            out.append(Refused("--model", f"{pair}: variant {variant} is not current", stale[variant][1],
                               "measure the current variants (liteship device kit RUN_DIR --out DIR)"))
        elif variant not in current:
            out.append(Refused("--model", f"{pair}: the run has no variant {variant}", "",
                               f"pass one of: {', '.join(sorted(current))}"))
        carried = _id_in_name(file, every)
        if carried is not None and carried != variant:
            out.append(Refused("--model", f"{pair}: the name {file} holds the ID of variant {carried}",
                               "the kit names each file by the variant it is; this pair would import a measurement of "
                               f"{carried} as one of {variant}", f"drop this --model (the file name says "
                               f"{carried}), or name the file by the variant it is"))
    return out


def _accelerator(m: Measurement) -> str:
    delegate = (m.delegate or "").casefold()
    return m.accelerator or ("gpu" if any(g in delegate for g in GPU_DELEGATES) else "cpu")


def refusal(m: Measurement, threads: int | None = None) -> Refused | None:
    """What a measurement lacks that a record needs: a median (p50) and the threads it ran on (``threads``: what
    the caller says of a source that does not say it; one that says another number is refused)."""
    if m.median_ms is None:
        fix = ("keep what the app logs to Xcode's console instead (its `count=... median=...` lines), or measure "
               "with litert-samples' iOS app and import its session folder (results.pb)"
               if m.format is DeviceFormat.IOS_APP else
               "measure with a benchmark_model that prints the median (count=... median=...)")
        return Refused(m.where, "the measurement has no median", f"{m.format.value} gave an average "
                       f"({m.avg_ms:g} ms) only, and an average is not a median: a p50 budget would judge another "
                       "number", fix)
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


def with_article(name: str) -> str:
    """"an iPhone 13", "a Pixel 9 Pro", "an M4 Max": the device's name as a sentence says it."""
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
    return f"measured on {with_article(str(d.get('device') or record.node))}{chip} ({', '.join(s for s in said if s)})" \
        f"{median}"


def import_records(run_dir: Path, files, device: str, chip: str | None, models: dict[str, str],
                   threads: int | None = None) -> tuple[list[BenchRecord], list[Refused]]:
    """The device records of every measurement in ``files``, and every one refused (all read before any is
    written): a device name that cannot name a backend, a file that cannot be read, a measurement that matches no
    current variant, a ``--model`` that is wrong or names no measurement, two of one record, a backend that holds
    another device's records. ``chip`` (``--chip``), else a model identifier the sources give, else the device's
    name, says the chip the records keep (:func:`liteship.bench.device_chips.chip_of`). A name equal but for case
    and spaces to one the run's device records hold ("iphone 13" after "iPhone 13") is that device: the records
    keep the name held, so every record of the device says it alike."""
    why = name_problem(device)
    if why is not None:
        return [], [Refused("--device", repr(device), why, 'pass the device\'s name, e.g. --device "iPhone 13"')]
    run_dir = Path(run_dir)
    held = _held(run_dir)
    device = next((name for name, _ in held.values() if same_device(name, device)), device)
    matched, refused = _read_and_match(run_dir, files, device, models, threads)
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
    return records, refused + _clashes(records, held)


def _held(run_dir: Path) -> dict[str, tuple[str, str]]:
    """Each device backend of the run's results -> (the device its records name, their accelerator)."""
    from liteship.bench.results import read_results

    held: dict[str, tuple[str, str]] = {}
    for r in read_results(run_dir, missing_ok=True):
        if r.kind is Device.MEASURED:
            d = r.device or {}
            held.setdefault(r.backend, (str(d.get("device") or r.node), str(d.get("accelerator") or "cpu").casefold()))
    return held


def _clashes(records: list[BenchRecord], held: dict[str, tuple[str, str]]) -> list[Refused]:
    """A backend of the import that already holds records of another device or accelerator: the backend's name
    keeps only ASCII letters and digits of the device's ("Pixel 8 GPU" on the CPU and "Pixel 8" on the GPU are
    both device:pixel-8-gpu; "小米 14" and "华为 14" both device:14), and two devices' numbers in one backend would
    be judged, ranked and fitted as one device's."""
    out, said = [], set()
    for r in records:
        d = r.device or {}
        name, accelerator = str(d.get("device")), str(d.get("accelerator"))
        if r.backend not in held or r.backend in said:
            continue
        theirs, their_accelerator = held[r.backend]
        if not same_device(theirs, name) or their_accelerator != accelerator:
            said.add(r.backend)
            out.append(Refused("--device", f"{name!r}: its {accelerator.upper()} records would be of "
                               f"{r.backend}, which holds the {their_accelerator.upper()} records of {theirs}",
                               "a backend's name keeps only the letters A-Z and digits of the device's, so two "
                               "devices' names can make one; their numbers in one backend would be judged as one "
                               "device's", f"pass another --device name for this device (one whose backend is "
                               f"not {r.backend}), or, if it is {theirs}, --device {theirs!r}"))
    return out


def _read_and_match(run_dir: Path, files, device: str, models: dict[str, str], threads: int | None):
    """Every measurement of ``files`` matched to a current variant (with the measurement as read), and those
    refused: with each ``--model`` that is wrong, or that no measurement read (when every file was read)."""
    from liteship.bench.device_import import read_measurements
    from liteship.errors import LiteshipError

    run, matched, used, unread = run_variants(run_dir), [], set(), False
    refused = model_refusals(models, run)
    for source in map(os.fspath, files):
        try:
            found = read_measurements(source, device)
        except LiteshipError as exc:
            refused.append(Refused(exc.what, exc.why, "", exc.fix or "check the file"))
            unread = True
            continue
        for m in found:
            used.update(model_keys(m, source, models))
            made = refusal(m, threads) or match(dataclasses.replace(m, threads=m.threads or threads), source, run,
                                                models, used)
            if isinstance(made, Refused):
                refused.append(made)
            else:
                matched.append((made, m))
    if not unread:
        refused += [Refused("--model", f"{file}={variant}: no measurement imported names {file}",
                            "FILE is the model file a measurement names (as the tool printed it, or its file name) "
                            "or the name of the measurement file", "check its spelling against the files given, or "
                            "drop it") for file, variant in models.items() if file not in used]
    return matched, refused
