"""Measure one .tflite: every backend x thread count -> BenchRecords.

Accuracy and latency of a record come from the same session (API path,
kernels, threads) that the record names; nothing is copied across backends.
"""

from __future__ import annotations

import gzip
import platform
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from liteship.bench import latency as lat
from liteship.bench.accuracy import arm_subset, score, subset_data
from liteship.bench.compat import check_runtime
from liteship.bench.contract import check_contract
from liteship.bench import backends
from liteship.bench.isolate import probe
from liteship.bench.memory import PeakRss
from liteship.bench.record import BenchRecord
from liteship.config import Problem, Problems, describe, setting
from liteship.errors import LiteshipError
from liteship.files import sha256_bytes
from liteship.progress import Progress
from liteship.tflite_file import activation_bytes, io_specs, param_count, read_model, weight_sparsity
from liteship.versions import system_info


@dataclass(frozen=True)
class Target:
    """One .tflite to measure, with what is known about where it came from."""

    path: Path
    variant: str
    recipe: str | None = None
    arch: str | None = None
    alpha: float | None = None
    size: int | None = None
    group: str | None = None  # variants of the same float model share a group
    labels: tuple[str, ...] | None = None
    sha256: str | None = None  # as recorded when the variant was made


@dataclass(frozen=True)
class EvalSet:
    """The images accuracy is scored on, and what they are: every record names them."""

    pixels: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    source: str  # "digits", a folder or an archive
    split: str = "all"  # "test" for a run's test split, "all" for every image of --data
    content_hash: str | None = None
    members: str | None = None  # a hash of the scored images' names in order: records pair only when it agrees
    seed: int | None = None  # the split's seed, for a run's test split

    def describe(self) -> dict:
        return {"source": self.source, "split": self.split, "content_hash": self.content_hash,
                "members": self.members, "images": int(len(self.labels)),
                **({"seed": self.seed} if self.seed is not None else {})}


@dataclass(frozen=True)
class BenchOptions:
    """How to measure; each setting's default and range here are the only ones (flags and [bench] take them)."""

    # the registry's default backends (``in_default``) but the counts (they need their tools installed: a sweep adds
    # them where they are, by [bench] arm64); the one default of `liteship bench` and the sweep's [bench] table
    backends: tuple[str, ...] = setting(backends.sweep_defaults(lambda b: not b.kind.counts), choices=backends.names,
                                        non_empty=True)
    threads: tuple[int, ...] = setting((1,), lo=1, hi=256, non_empty=True)
    runs: int = setting(50, lo=1, hi=100_000)
    warmup: int = setting(5, lo=0, hi=10_000)
    rounds: int = setting(10, lo=1, hi=1_000)
    min_round_ms: float = setting(20.0, lo=0.0, hi=60_000.0)  # a round's least time: invokes repeat to fill it
    batch: int | None = setting(None, lo=1, hi=4096)  # None: as many images as fit in about 8 MB of input
    target_runtime: str | None = None
    task_api: str | None = setting(None, choices=("mediapipe",))  # also classify in that Task API (MediaPipe)
    instructions: bool = False  # count instructions per invoke under valgrind (xnnpack records)
    instructions_note: str | None = None  # why they were not counted, for the records (valgrind missing)


def options_record(options: BenchOptions) -> dict:
    """The options that decide a record's numbers (the backend and threads are the record's own key)."""
    return {"runs": options.runs, "warmup": options.warmup, "rounds": options.rounds,
            "min_round_ms": options.min_round_ms, "batch": options.batch, "target_runtime": options.target_runtime,
            "instructions": options.instructions, "task_api": options.task_api}


def parse_backends(text: str | None) -> tuple[str, ...]:
    """--backends: names separated by commas; unset, BenchOptions' default; "all": every backend measured here
    that is available (the ARM counts where installed)."""
    if text is None:
        return BenchOptions().backends
    if text == "all":
        return backends.default_backends()
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in backends.registry()]
    elsewhere = [n for n in unknown if backends.find(n) is not None]  # device:iphone-13: imported, never run here
    if unknown or not names:
        raise Problems([Problem("--backends", None, describe(text), (f"{', '.join(unknown)}: no such backend; "
                                if unknown and not elsewhere else f"{', '.join(elsewhere)}: a device's own "
                                "measurements, brought in by liteship device import: nothing here can run them; "
                                if elsewhere else "no backend named; ") + "backends: " + ", ".join(backends.names()),
                                "pass names from that list, separated by commas (or all)")])
    return names


def load_model_file(path: Path):
    """The file's bytes and parsed model, or exit 2 with what is wrong with it."""
    from liteship.files import read_regular, unreadable_reason

    path = Path(path)
    if unreadable_reason(path) == "there is no such file":
        raise LiteshipError(f"Model file {path} does not exist", "", "check the path")
    data = read_regular(path, "Model file")  # a link to /proc/kmsg or a FIFO is refused, never waited on
    if not data:
        raise LiteshipError(f"Model file {path} is empty", "a .tflite file holds a TFLite flatbuffer",
                            "re-export the model")
    return data, read_model(data, str(path))


def _record(target: Target, backend: str, threads, runtime: str, status: str, facts: dict, **fields) -> BenchRecord:
    """A record of ``backend``, of its kind."""
    return BenchRecord(variant=target.variant, model=target.group, recipe=target.recipe, arch=target.arch, alpha=target.alpha,
                       size=target.size, backend=backend, threads=threads, runtime=runtime, kind=backends.get(backend).kind,
                       status=status, system=system_info(), model_path=str(target.path), node=platform.node(),
                       **facts, **fields)


def _coverage_record(target: Target, backend: str, model, facts: dict) -> BenchRecord:
    runtime, status, fields = backends.get(backend).analyse(target.path, model, facts)
    return _record(target, backend, None, runtime, status, facts, **fields)


def _static_facts(target: Target, data: bytes, model, labels, options: BenchOptions,
                  evalset: EvalSet | None) -> dict:
    """What the file itself says and what it was measured with, the same for every backend."""
    sparsity = weight_sparsity(model)
    return {
        "sha256": sha256_bytes(data), "options": options_record(options),
        "data": evalset.describe() if evalset is not None else None,
        "size_bytes": len(data), "gzip_bytes": len(gzip.compress(data, 9, mtime=0)),
        "params": param_count(model), "sparsity": sparsity["sparsity"],
        "contract": check_contract(model, len(labels) if labels else None),
        "compat": check_runtime(model, options.target_runtime),
        "arena_mb": round(activation_bytes(model) / 2**20, 4),  # upper bound: activations without reuse
    }


def _open_sessions(target: Target, options: BenchOptions, evalset: EvalSet | None, facts: dict, timer):
    """A session per run backend x threads, with its load time and memory, and its probabilities on the images.

    A backend that cannot run the model gets an ``n/a`` record saying why, in ``failed``.
    """
    sessions, probs, failed = {}, {}, []
    for backend in [b for b in options.backends if backends.get(b).open is not None]:
        for threads in options.threads:
            try:
                with PeakRss() as rss:
                    t0 = timer()
                    session = backends.get(backend).open(str(target.path), threads)
                    init_ns = timer() - t0
                    session.set_input(session.feed(_probe_pixels(session, evalset)))
                    session.invoke()
            except Exception as exc:  # a backend that cannot run this model says why
                failed.append(_record(target, backend, threads, backends.get(backend).summary, "n/a", facts,
                                      notes=(f"n/a: {type(exc).__name__}: {exc}"[:500],)))
                continue
            sessions[(backend, threads)] = (session, init_ns, rss.growth_mb)
            if evalset is not None and len(evalset.labels):
                probs[(backend, threads)] = session.predict(evalset.pixels, options.batch)
    return sessions, probs, failed


def time_sessions(sessions: dict, options: BenchOptions, evalset, timer) -> dict:
    """Latency last, interleaved across every session given, one image at a time as the app runs.

    ``sessions`` maps any key to (session, init_ns, rss_mb); a run directory passes every session of every
    variant of one model, so a slow spell of the machine hits all the variants being compared alike.
    """
    for session, _, _ in sessions.values():
        session.resize(1)
        session.set_input(session.feed(_probe_pixels(session, evalset)))
    if not sessions:
        return {}
    with lat.one_at_a_time_on_this_machine():
        return lat.measure({k: s.invoke for k, (s, _, _) in sessions.items()}, options.runs, options.rounds,
                           options.warmup, timer, int(options.min_round_ms * 1e6))


@dataclass
class Prepared:
    """One .tflite loaded on every run backend, its accuracy scored, waiting to be timed."""

    target: Target
    model: object
    facts: dict
    labels: tuple | None
    evalset: EvalSet | None
    sessions: dict  # (backend, threads) -> (session, init_ns, rss_mb)
    probs: dict  # (backend, threads) -> probabilities on the evalset
    failed: list  # n/a records of backends that cannot run it
    instructions: dict | str | None = None  # the count that goes on the reference backend's records, or why not
    counts: dict = field(default_factory=dict)  # count backend with records of its own -> its answer, or why not


def _grey(model) -> np.ndarray:
    """One mid-grey image of the model's input size: what runs a model when there is no data."""
    shape = [max(int(d), 1) for d in io_specs(model)[0][0].shape]
    return np.full((1, *shape[1:]), 128, np.uint8)



# What a count that fails raises: its tool's exit or time limit (RuntimeError), a tool gone or broken since the checks
# (LiteshipError, OSError, a hung --version), unreadable output (ValueError): each is kept as the count's reason.
COUNT_FAILURES = (RuntimeError, LiteshipError, OSError, ValueError, subprocess.SubprocessError)


def count_kinds(options: BenchOptions) -> list[str]:
    """The count backends ``options`` ask of each variant (a sweep's ``counts/<ID>.<name>.json``): those whose
    count goes on the reference backend's records (valgrind's ``x86``, asked by ``instructions``), then those
    named in ``backends`` (an ISA under QEMU). Each is independent of the others and of timing."""
    on_reference = [n for n, b in backends.registry().items() if b.on_reference and b.asked(options)]
    return on_reference + [n for n in options.backends if backends.get(n).asked(options)]


def count_target(path: Path, kinds: list[str], pixels: np.ndarray | None, scored: bool,
                 progress: Progress | None = None) -> dict:
    """Each asked count of the file, by count backend (valgrind's ``x86`` feeds its own image; the others run
    ``pixels``, the first scored images, or a mid-grey image); a failure is kept as its reason (a string), which
    the record says as why it has no count."""
    from liteship.contract import feed

    model = read_model(Path(path).read_bytes())
    out: dict = {}
    for kind in kinds:
        (progress or Progress(quiet=True)).log(f"{Path(path).stem}: counting on {kind}")
        counter = backends.get(kind)
        x = None
        if counter.inputs:
            spec = io_specs(model)[0][0]
            x = feed(pixels if scored and pixels is not None else _grey(model), spec.dtype,
                     *(spec.scale[:1] or (0.0,)), *(spec.zero_point[:1] or (0,)))
        try:
            out[kind] = counter.count(path, x, bool(scored), "the first scored image" if scored else "a mid-grey image")
        except COUNT_FAILURES as exc:
            out[kind] = f"{counter.not_counted}: {exc}"[:500]
    return out


def arm_pixels(evalset: EvalSet | None) -> tuple[np.ndarray | None, bool]:
    """What an ARM backend runs: the images of :func:`~.accuracy.arm_subset`, and whether they are scored."""
    scored = evalset is not None and len(evalset.labels) > 0
    return (evalset.pixels[arm_subset(evalset.labels)] if scored else None), scored


def prepare_target(target: Target, options: BenchOptions, evalset: EvalSet | None = None,
                   timer: Callable[[], int] = time.perf_counter_ns, progress: Progress | None = None,
                   counted: dict | None = None) -> Prepared:
    """``counted``: counts made beforehand (a sweep counts beside its other work), by kind; the rest are made here."""
    data, model = load_model_file(target.path)
    probe(target.path, options.backends)
    labels = target.labels or (tuple(evalset.class_names) if evalset else None)
    facts = _static_facts(target, data, model, labels, options, evalset)
    if options.target_runtime:
        facts["compat"] = {**facts["compat"], "real": _real_load(target, model, options, evalset, progress)}
    sessions, probs, failed = _open_sessions(target, options, evalset, facts, timer)
    if options.task_api and evalset is not None and probs:
        facts["task_api"] = _task_api(target, evalset, next(iter(probs.values())), progress)
    kinds = count_kinds(options)
    counted = {k: v for k, v in (counted or {}).items() if k in kinds}
    missing = [k for k in kinds if k not in counted]
    if missing:
        counted.update(count_target(target.path, missing, *arm_pixels(evalset), progress))
    on_reference = next((counted.pop(k) for k in kinds if backends.get(k).on_reference and k in counted), None)
    return Prepared(target, model, facts, labels, evalset, sessions, probs, failed, on_reference, counted)


def _task_api(target: Target, evalset: EvalSet, probs: np.ndarray, progress) -> dict:
    """The variant in MediaPipe's ImageClassifier on the images liteship scored, against liteship's scores."""
    from liteship import task_api

    with task_api.Worker() as worker:
        found = task_api.check(worker, target.path, evalset.pixels, evalset.labels, probs)
    (progress or Progress(quiet=True)).log(
        f"{target.variant} in {found['runtime']}: " + (f"top-1 {found['top1']:.4f}, agreement {found['agreement']:.4f}"
                                                     if found["loaded"] else f"refused: {found['error']}"))
    return found


def _real_load(target: Target, model, options: BenchOptions, evalset: EvalSet | None, progress) -> dict:
    """Load and run the variant in the runtime the app ships (an isolated tflite-runtime environment)."""
    from liteship.bench.legacy import real_load

    pixels = evalset.pixels if evalset is not None and len(evalset.labels) else _grey(model)
    progress = progress or Progress(quiet=True)
    real = real_load(options.target_runtime, target.path, pixels, log=progress.log)
    progress.log(f"{target.variant} in {real['runtime']}: {'loaded' if real['loaded'] else 'refused: ' + real['error']}")
    return real


def finish_target(prep: Prepared, timings: dict, options: BenchOptions,
                  reference_top1: np.ndarray | None = None) -> list[BenchRecord]:
    """The records of a prepared target from its sessions' timings (keyed by (backend, threads))."""
    records, evalset, ref = list(prep.failed), prep.evalset, backends.reference()
    for key, (session, init_ns, rss_mb) in prep.sessions.items():
        backend, threads = key
        samples, first_ns = timings[key]
        fields = {"latency_ms": lat.summarize(samples, init_ns, first_ns), "peak_rss_mb": rss_mb}
        notes = []
        if key in prep.probs:
            fields.update(score(prep.probs[key], evalset.labels, list(prep.labels or evalset.class_names),
                                reference_top1))
            base = prep.probs.get((ref.name, threads))
            if backend != ref.name and base is not None:
                fields.update(_versus(prep.probs[key], base, ref.name))
                notes.append(f"max |probability difference| vs {ref.name}: {fields['reference_max_diff']:.3g}")
        if backends.get(backend).emulated_time and not {"avx512_fp16", "asimdhp"} & set(system_info()["cpu_flags"]):
            notes.append(f"latency: {backends.get(backend).emulated_time}")
        if backend == ref.name and isinstance(prep.instructions, dict) and threads == 1:  # counted at one thread
            fields["instructions"] = prep.instructions
        elif backend == ref.name and isinstance(prep.instructions, str) and threads == 1:
            notes.append(prep.instructions)
            fields["count_failed"] = prep.instructions
        elif backend == ref.name and options.instructions_note:
            notes.append(options.instructions_note)
        records.append(_record(prep.target, backend, threads, session.runtime, "ok", prep.facts,
                               notes=tuple(notes), **fields))
    for backend in options.backends:
        if backends.get(backend).analyse is not None:
            records.append(_coverage_record(prep.target, backend, prep.model, prep.facts))
    records += [_count_record(prep, backend, counted, reference_top1) for backend, counted in prep.counts.items()]
    return records


def _versus(probs: np.ndarray, base: np.ndarray, reference: str) -> dict:
    """How a backend's outputs differ from the reference backend's on the same images."""
    return {"reference_backend": reference,
            "reference_agreement": round(float(np.mean(np.argmax(probs, 1) == np.argmax(base, 1))), 6),
            "reference_max_diff": round(float(np.max(np.abs(probs - base))), 6)}


def _count_record(prep: Prepared, backend: str, counted, reference_top1) -> BenchRecord:
    """An ARM backend's record: its instruction count, what it emulated, and its answers on the subset."""
    if isinstance(counted, str):
        return _record(prep.target, backend, 1, backends.get(backend).summary, "n/a", prep.facts,
                       notes=(counted,), count_failed=counted)
    fields, notes = {"instructions": counted["instructions"], "emulation": counted["emulation"]}, [counted["note"]]
    outputs, evalset = counted["outputs"], prep.evalset
    subset = arm_subset(evalset.labels) if outputs is not None and len(outputs) else None
    if subset is not None and len(outputs) != len(subset):
        notes.append(f"top-1 not scored: {len(outputs)} outputs, for a subset of {len(subset)} images")
    elif subset is not None:
        n, names = len(outputs), list(prep.labels or evalset.class_names)
        reference = reference_top1[subset] if reference_top1 is not None else None
        scored = score(outputs, evalset.labels[subset], names, reference)
        fields.update({k: scored[k] for k in ("top1", "images", "top1_ci", "correct", "agreement") if k in scored})
        fields["data"] = subset_data(evalset.describe(), evalset.labels, subset, names)
        ref = backends.reference().name
        x86 = next((p[subset] for (b, _), p in sorted(prep.probs.items(), key=lambda kv: kv[0][1]) if b == ref),
                   None)
        if x86 is not None:
            fields.update(_versus(outputs, x86, ref))
            notes.append(f"top-1 agreement with x86 {ref} on the same {n} images: {fields['reference_agreement']:.4f}")
    return _record(prep.target, backend, 1, counted["runtime"], "ok",
                   {**prep.facts, "data": fields.pop("data", prep.facts.get("data"))}, notes=tuple(notes), **fields)


def bench_target(target: Target, options: BenchOptions, evalset: EvalSet | None = None,
                 reference_top1: np.ndarray | None = None, timer: Callable[[], int] = time.perf_counter_ns,
                 progress: Progress | None = None) -> tuple[list[BenchRecord], dict]:
    """Every backend x threads record for one .tflite, and the probabilities per (backend, threads)."""
    progress = progress or Progress(quiet=True)
    prep = prepare_target(target, options, evalset, timer, progress)
    progress.log(f"{target.variant}: timing {len(prep.sessions)} session(s), {options.runs}+ runs in "
                 f"{options.rounds} rounds")
    timings = time_sessions(prep.sessions, options, evalset, timer)
    return finish_target(prep, timings, options, reference_top1), prep.probs


def _probe_pixels(session, evalset: EvalSet | None) -> np.ndarray:
    """One image to feed while timing: a real one when there is data, mid-grey otherwise."""
    if evalset is not None and len(evalset.labels):
        return evalset.pixels[:1]
    shape = session.input_detail["shape"]
    return np.full((1, *shape[1:]), 128, np.uint8)
