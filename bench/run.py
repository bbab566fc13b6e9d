"""Bench: measure .tflite files on every backend and thread count -> BenchRecords.

Accuracy and latency of a record come from the same session (API path,
kernels, threads) that the record names; nothing is copied across backends.
"""

from __future__ import annotations

import gzip
import json
import platform
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from liteship.tflite_file import activation_bytes, read_model, weight_sparsity
from liteship.errors import LiteshipError
from liteship.files import atomic_write_text
from liteship.progress import Progress

from liteship.bench import latency as lat
from liteship.bench.accuracy import score
from liteship.runtime import BACKENDS, DEFAULT_BACKENDS, open_session
from liteship.bench.compat import check_runtime
from liteship.bench.contract import check_contract, input_size
from liteship.bench.coverage import coreml_coverage, gpu_coverage
from liteship.bench.isolate import probe
from liteship.bench.memory import PeakRss
from liteship.bench.record import BenchRecord, to_csv
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
    params: int | None = None
    group: str | None = None  # variants of the same float model share a group
    labels: tuple[str, ...] | None = None


@dataclass(frozen=True)
class EvalSet:
    pixels: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    source: str


@dataclass(frozen=True)
class BenchOptions:
    backends: tuple[str, ...] = DEFAULT_BACKENDS
    threads: tuple[int, ...] = (1,)
    runs: int = 50
    warmup: int = 5
    rounds: int = 10
    min_round_ms: float = 20.0
    batch: int | None = None  # None: as many images as fit in about 8 MB of input
    target_runtime: str | None = None


def parse_backends(text: str | None) -> tuple[str, ...]:
    if not text or text == "all":
        return DEFAULT_BACKENDS
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in BACKENDS]
    if unknown:
        raise LiteshipError(f"Unknown backend {', '.join(unknown)}", "valid backends are: " + ", ".join(BACKENDS),
                            "pass names from that list to --backends")
    return names


def load_model_file(path: Path):
    """The file's bytes and parsed model, or exit 2 with what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise LiteshipError(f"Model file {path} does not exist", "", "check the path")
    data = path.read_bytes()
    if not data:
        raise LiteshipError(f"Model file {path} is empty", "a .tflite file holds a TFLite flatbuffer",
                            "re-export the model")
    return data, read_model(data, str(path))


def param_count(model) -> int:
    """Elements of every constant tensor (weights, biases, scales)."""
    sg = model.subgraphs[0]
    total = 0
    for t in sg.tensors:
        buf = model.buffers[t.buffer].data if t.buffer < len(model.buffers) else None
        if buf is not None and len(buf) and t.shape is not None and len(t.shape):
            total += int(np.prod(t.shape))
    return total


def _record(target: Target, backend: str, threads, runtime: str, kind: str, status: str, facts: dict,
            **fields) -> BenchRecord:
    return BenchRecord(variant=target.variant, model=target.group, recipe=target.recipe, arch=target.arch, alpha=target.alpha,
                       size=target.size, backend=backend, threads=threads, runtime=runtime, kind=kind,
                       status=status, system=system_info(), model_path=str(target.path), node=platform.node(),
                       **facts, **fields)


def _coverage_record(target: Target, backend: str, model, facts: dict) -> BenchRecord:
    if backend == "gpu":
        cov = gpu_coverage(target.path)
        return _record(target, backend, None, "LiteRT model analyzer (GPU compatibility)", "coverage", "ok", facts,
                       ops=cov, delegated=cov["delegated"],
                       notes=("op coverage only: no GPU here; the WebGPU accelerator finds no adapter",))
    cov = coreml_coverage(model)
    inputs = facts["contract"]["input"] or {}
    if inputs.get("dtype") != "float32":
        return _record(target, backend, None, "Core ML delegate op list", "coverage", "n/a", facts,
                       ops=cov, delegated=0.0,
                       notes=("n/a: the Core ML delegate takes float (FP32/FP16) models only; this one is "
                              f"{inputs.get('dtype')}",))
    return _record(target, backend, None, "Core ML delegate op list", "coverage", "ok", facts, ops=cov,
                   delegated=cov["delegated"], notes=("op coverage only: no Apple device here",))


def bench_target(target: Target, options: BenchOptions, evalset: EvalSet | None = None,
                 reference_top1: np.ndarray | None = None, timer: Callable[[], int] = time.perf_counter_ns,
                 progress: Progress | None = None) -> tuple[list[BenchRecord], dict]:
    """Every backend x threads record for one .tflite, and the probabilities per (backend, threads)."""
    progress = progress or Progress(quiet=True)
    data, model = load_model_file(target.path)
    probe(target.path, options.backends)
    labels = target.labels or (tuple(evalset.class_names) if evalset else None)
    sparsity = weight_sparsity(model)
    facts = {
        "size_bytes": len(data), "gzip_bytes": len(gzip.compress(data, 9, mtime=0)),
        "params": target.params or param_count(model), "sparsity": sparsity["sparsity"],
        "contract": check_contract(model, len(labels) if labels else None),
        "compat": check_runtime(model, options.target_runtime),
        "arena_mb": round(activation_bytes(model) / 2**20, 4),  # upper bound: activations without reuse
    }
    records: list[BenchRecord] = []
    sessions, probs = {}, {}
    run_backends = [b for b in options.backends if BACKENDS[b].kind == "run"]
    for backend in run_backends:
        for threads in options.threads:
            key = (backend, threads)
            try:
                with PeakRss() as rss:
                    t0 = timer()
                    session = open_session(backend, str(target.path), threads)
                    init_ns = timer() - t0
                    session.set_input(session.feed(_probe_pixels(session, evalset)))
                    session.invoke()
            except Exception as exc:  # a backend that cannot run this model says why
                records.append(_record(target, backend, threads, BACKENDS[backend].summary, "run", "n/a", facts,
                                       notes=(f"n/a: {type(exc).__name__}: {exc}"[:500],)))
                continue
            sessions[key] = (session, init_ns, rss.growth_mb)
            if evalset is not None and len(evalset.labels):
                probs[key] = session.predict(evalset.pixels, options.batch)
    # Latency last, interleaved across this variant's sessions, one image at a time as the app runs.
    for session, _, _ in sessions.values():
        session.resize(1)
        session.set_input(session.feed(_probe_pixels(session, evalset)))
    progress.log(f"{target.variant}: timing {len(sessions)} session(s), {options.runs}+ runs in {options.rounds} rounds")
    timings = lat.measure({k: s.invoke for k, (s, _, _) in sessions.items()}, options.runs, options.rounds,
                          options.warmup, timer, int(options.min_round_ms * 1e6)) if sessions else {}
    for key, (session, init_ns, rss_mb) in sessions.items():
        backend, threads = key
        samples, first_ns = timings[key]
        fields = {"latency_ms": lat.summarize(samples, init_ns, first_ns), "peak_rss_mb": rss_mb}
        notes = []
        if key in probs:
            fields.update(score(probs[key], evalset.labels, list(labels or evalset.class_names), reference_top1))
            base = probs.get(("xnnpack", threads))
            if backend != "xnnpack" and base is not None:
                notes.append(f"max |probability difference| vs xnnpack: {float(np.max(np.abs(probs[key] - base))):.3g}")
        records.append(_record(target, backend, threads, session.runtime, "run", "ok", facts,
                               notes=tuple(notes), **fields))
    for backend in options.backends:
        if BACKENDS[backend].kind == "coverage":
            records.append(_coverage_record(target, backend, model, facts))
    return records, probs


def _probe_pixels(session, evalset: EvalSet | None) -> np.ndarray:
    """One image to feed while timing: a real one when there is data, mid-grey otherwise."""
    if evalset is not None and len(evalset.labels):
        return evalset.pixels[:1]
    shape = session.input_detail["shape"]
    return np.full((1, *shape[1:]), 128, np.uint8)


# --------------------------------------------------------------------------- run directories

def run_targets(run_dir: Path) -> list[Target]:
    run_dir = Path(run_dir)
    targets = []
    for rec_path in sorted((run_dir / "variants").glob("*.json")):
        rec = json.loads(rec_path.read_text())
        if rec.get("status") != "ok":
            continue
        card_path = run_dir / "float" / rec["model"] / "card.json"
        card = json.loads(card_path.read_text()) if card_path.is_file() else {}
        targets.append(Target(path=run_dir / rec["file"], variant=rec["id"], recipe=rec["recipe"], arch=rec.get("arch"),
                              alpha=rec.get("alpha"), size=rec.get("size"), params=card.get("params"),
                              group=rec["model"], labels=tuple(card.get("classes", ())) or None))
    if not targets:
        raise LiteshipError(f"No variants in {run_dir / 'variants'}", "bench measures the variants optimize made",
                            f"run `liteship optimize {run_dir}` first, or pass a .tflite file")
    # float32 first in each group: its predictions are the reference for agreement.
    return sorted(targets, key=lambda t: (t.group or "", t.recipe != "float32", t.recipe or "", t.variant))


def bench_run(run_dir: Path, options: BenchOptions, progress: Progress | None = None,
              timer: Callable[[], int] = time.perf_counter_ns, skip_done: bool = False,
              on_variant: Callable[[Target, list[BenchRecord], bool], None] | None = None,
              only: set[str] | None = None) -> list[BenchRecord]:
    """Every variant of a run directory, with accuracy on its test split.

    ``skip_done`` keeps the records already in results.jsonl for variants
    that have all their (backend, threads) keys (the sweep's resume);
    results.jsonl is updated after every variant, so a killed run keeps what
    it measured. ``on_variant(target, records, skipped)`` reports progress;
    ``only`` limits the run to those variant IDs.
    """
    from liteship.trainer.data import load_run_split

    progress = progress or Progress()
    run_dir = Path(run_dir)
    done = read_results(run_dir) if skip_done else {}
    run_backends = [b for b in options.backends if BACKENDS[b].kind == "run"]

    def keys(target: Target) -> list[tuple]:
        return result_keys(target.variant, options)

    splits: dict[int, tuple] = {}
    reference: dict[str, np.ndarray] = {}
    records = []
    targets = run_targets(run_dir)
    for target in targets:  # float32 first in each group
        if only is not None and target.variant not in only:
            continue
        if all(k in done for k in keys(target)):
            recs = [done[k] for k in keys(target)]
            records.extend(recs)
            if on_variant:
                on_variant(target, recs, True)
            continue
        if target.size not in splits:
            splits[target.size] = load_run_split(run_dir, target.size)["test"]
        x, y = splits[target.size]
        if target.group not in reference and target.recipe != "float32" and run_backends:
            f32 = next((t for t in targets if t.group == target.group and t.recipe == "float32"), None)
            if f32 is not None:  # benched before this run: its top-1 is still the reference for agreement
                session = open_session(run_backends[0], str(f32.path), options.threads[0])
                reference[target.group] = np.argmax(session.predict(x), axis=1)
        progress.log(f"bench {target.group} {target.recipe} ({target.variant})")
        recs, probs = bench_target(target, options, EvalSet(x, y, list(target.labels or ()), "test split"),
                                   reference.get(target.group), timer, progress)
        if target.recipe == "float32" and probs:
            # The float32 variant's top-1 on the first run backend is what agreement compares with.
            reference[target.group] = ref = np.argmax(next(iter(probs.values())), axis=1)
            recs = [replace(r, agreement=round(float(np.mean(np.argmax(probs[(r.backend, r.threads)], 1) == ref)), 6))
                    if (r.backend, r.threads) in probs else r for r in recs]
        write_results(run_dir, recs)
        records.extend(recs)
        if on_variant:
            on_variant(target, recs, False)
    return records


def result_keys(variant: str, options: BenchOptions) -> list[tuple]:
    """The (variant, backend, threads) records a bench of ``variant`` with ``options`` makes."""
    return [(variant, b, t) for b in options.backends if BACKENDS[b].kind == "run" for t in options.threads] + \
           [(variant, b, None) for b in options.backends if BACKENDS[b].kind == "coverage"]


def read_results(run_dir: Path) -> dict[tuple, BenchRecord]:
    """results.jsonl by (variant, backend, threads); lines that are not records are skipped."""
    path = Path(run_dir) / "results.jsonl"
    out = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                rec = BenchRecord.from_dict(json.loads(line))
            except (json.JSONDecodeError, TypeError, AttributeError):
                continue
            out[rec.key] = rec
    return out


def write_results(run_dir: Path, records: list[BenchRecord]) -> None:
    """Merge into results.jsonl / results.csv, one line per (variant, backend, threads), atomically."""
    kept = read_results(run_dir)
    for rec in records:
        kept[rec.key] = rec
    ordered = list(kept.values())
    path = Path(run_dir) / "results.jsonl"
    atomic_write_text(path, "".join(json.dumps(r.to_dict(), sort_keys=True) + "\n" for r in ordered))
    atomic_write_text(path.with_suffix(".csv"), to_csv(ordered))


# --------------------------------------------------------------------------- single files

def read_labels(path: Path) -> list[str]:
    labels = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not labels:
        raise LiteshipError(f"Labels file {path} is empty", "it must hold one class name a line", "fix the file")
    return labels


def file_evalset(model, data: str, labels: list[str]) -> EvalSet:
    """Images from ``data`` (class folders or digits), labelled by their index in ``labels``."""
    from liteship.tflite_file import io_specs
    from liteship.trainer.data import load_dataset

    size = input_size(model)
    if size is None:
        raise LiteshipError(f"The model's input shape {list(io_specs(model)[0][0].shape)} is not [1, S, S, 3]",
                            "accuracy needs a square RGB image input", "bench it without --data, or re-export it")
    ds = load_dataset(data, size)
    missing = [c for c in ds.class_names if c not in labels]
    if missing:
        raise LiteshipError(f"Data classes {', '.join(missing)} are not in the labels",
                            f"the labels are: {', '.join(labels)}",
                            "pass the matching --labels file, or remove those class folders")
    index = np.asarray([labels.index(c) for c in ds.class_names])
    return EvalSet(ds.pixels, index[ds.labels], labels, ds.source)


def bench_file(path: Path, options: BenchOptions, data: str | None = None, labels_path: Path | None = None,
               progress: Progress | None = None, timer: Callable[[], int] = time.perf_counter_ns) -> list[BenchRecord]:
    """One .tflite: size, latency and compatibility; accuracy too when ``data`` is given."""
    path = Path(path)
    _, model = load_model_file(path)
    labels_path = Path(labels_path) if labels_path else path.with_name("labels.txt")
    labels = None
    if labels_path.is_file():
        labels = read_labels(labels_path)
    elif data is not None:
        raise LiteshipError(f"Labels file {labels_path} does not exist",
                            "accuracy needs the class names in the model's output order",
                            "pass --labels FILE (one class a line)")
    if labels is not None:
        out_classes = check_contract(model, None)["output"]["shape"][-1]
        if out_classes != len(labels):
            raise LiteshipError(f"{labels_path} has {len(labels)} labels but the model outputs {out_classes} classes",
                                "each output must have exactly one label, in order",
                                "pass the labels.txt written with this model")
    evalset = file_evalset(model, data, labels) if data is not None else None
    target = Target(path=path, variant=path.stem, labels=tuple(labels) if labels else None, size=input_size(model))
    records, _ = bench_target(target, options, evalset, None, timer, progress)
    return records
