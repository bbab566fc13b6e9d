"""Bench a run directory: every current variant on its test split, float32 first as the agreement reference.

:func:`plan_bench` is the one skip check (which variants already have every
record the options ask for, measured on the same bytes, options and images);
:func:`bench_run` measures the variants it is given, a model's variants timed
together, and merges their records into ``results.jsonl`` after each model,
so a killed run keeps what it measured. :func:`current_results` is what gate,
pick and the reports read: the current variants' records, checked against
their files.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from liteship.bench.accuracy import ARM_SUBSET_RULE
from liteship.bench.measure import (BenchOptions, EvalSet, Target, finish_target, options_record, prepare_target,
                                    time_sessions)
from liteship.bench.record import BenchRecord
from liteship.baseline import is_baseline
from liteship.bench.results import one_variant_each, read_results, records_by_key, results_path, write_results
from liteship.errors import LiteshipError
from liteship.files import sha256_file
from liteship.progress import Progress
from liteship.rundir import (FLOAT, SPLIT, VARIANTS, current_ids, has_split, read_card, read_split,
                             read_variant_record, split_path, writing)
from liteship.bench import backends
from liteship.versions import system_info


def _variant_records(run_dir: Path) -> list[dict]:
    return [read_variant_record(p) for p in sorted((run_dir / VARIANTS).glob("*.json"))]


def _cards(run_dir: Path) -> dict[str, dict]:
    cards = {}
    for path in sorted((run_dir / FLOAT).glob("*/card.json")):
        cards[path.parent.name] = read_card(path.parent)
    return cards


def variant_status(run_dir: Path) -> tuple[list[dict], list[tuple[dict, str]]]:
    """The run's current variants, and the stale ones with why: made from another float model or config, or from
    a model trained on data that has changed since.

    Current: listed in ``current_variants.json`` by the latest optimize or sweep (every made variant for
    runs older than that index), made from the float model that is in ``float/`` now, and that model trained
    on the data of the run's latest training (a sweep on changed photos retrains the models it names; one it
    does not name keeps a split of files that are gone, and cannot be scored on its own test images).
    """
    run_dir = Path(run_dir)
    ids = current_ids(run_dir)
    cards = _cards(run_dir)
    latest = read_split(run_dir).content_hash if (run_dir / SPLIT).is_file() else None
    data_of = {m: read_split(run_dir, m).content_hash for m in cards if split_path(run_dir, m) != run_dir / SPLIT}
    current, stale = [], []
    for rec in _variant_records(run_dir):
        if rec.get("status") != "ok":
            continue
        card = cards.get(rec.get("model"), {})
        source = card.get("weights_sha256") or card.get("model_sha256")
        if rec.get("source_sha256") and source and rec["source_sha256"] != source:
            stale.append((rec, f"made from an earlier {rec.get('model')} (the float model was trained again since)"))
        elif latest is not None and data_of.get(rec.get("model"), latest) != latest:
            stale.append((rec, f"{rec.get('model')} was trained on data that changed since (train it again)"))
        elif ids is not None and rec["id"] not in ids:
            stale.append((rec, "replaced by a variant of another recipe config or tool version"))
        else:
            current.append(rec)
    return current, stale


def run_targets(run_dir: Path) -> list[Target]:
    """The run's current variants as bench targets, float32 first in each model."""
    run_dir = Path(run_dir)
    cards = _cards(run_dir)
    targets = []
    for rec in variant_status(run_dir)[0]:
        card = cards.get(rec["model"], {})
        targets.append(Target(path=run_dir / rec["file"], variant=rec["id"], recipe=rec["recipe"], arch=rec.get("arch"),
                              alpha=rec.get("alpha"), size=rec.get("size"),
                              group=rec["model"], labels=tuple(card.get("classes", ())) or None,
                              sha256=rec.get("sha256")))
    if not targets:
        raise LiteshipError(f"No current variants in {run_dir / VARIANTS}", "bench measures the variants optimize made",
                            f"run `liteship optimize {run_dir}` first, or pass a .tflite file")
    # float32 first in each group: its predictions are the reference for agreement.
    return sorted(targets, key=lambda t: (t.group or "", not is_baseline(t.recipe), t.recipe or "", t.variant))


def result_keys(variant: str, options: BenchOptions) -> list[tuple]:
    """The (variant, backend, threads) records a bench of ``variant`` with ``options`` makes."""
    return [(variant, b, t) for b in sorted(options.backends, key=lambda b: not backends.get(b).kind.per_thread)
            for t in backends.get(b).record_threads(options.threads)]


@dataclass(frozen=True)
class PlannedBench:
    """One variant to bench, and its records if results.jsonl already has every one the options ask for."""

    target: Target
    done: tuple[BenchRecord, ...] | None


def same_machine(record: BenchRecord, here: dict) -> bool:
    """The record was measured where its numbers would be measured now: this host (a Ray worker's record names
    its own host and is kept when the CPU matches), this CPU model, its flags and core count, this LiteRT and
    liteship (valgrind's version is part of a count's own tool record, and an ARM count's emulation is part
    of the backend that made it)."""
    mine, theirs, system = here.get("versions", {}), (record.system or {}).get("versions", {}), record.system or {}
    host = (record.node or "").split(" (ray node ")[0]
    ray = " (ray node " in (record.node or "")
    return ((ray or host == platform.node())
            and all(system.get(k) == here.get(k) for k in ("cpu", "cpu_flags", "cores"))
            and all(theirs.get(k) == mine.get(k) for k in ("ai-edge-litert", "liteship")))


def counting_tools() -> dict:
    """The tools that would count instructions here now: valgrind's version, QEMU's and the plugin's; and under each
    ARM backend's name, the QEMU and plugin that count it (arm64-a18 has its own)."""
    from liteship.bench.arm64_env import EMULATIONS, status
    from liteship.bench.instructions import valgrind

    arm = status() or {}
    return {"valgrind": valgrind(), "qemu": arm.get("qemu"), "plugin_sha256": arm.get("plugin_sha256"),
            **{name: backends.get(name).tools() for name in EMULATIONS}}


def same_tools(record: BenchRecord, tools: dict) -> bool:
    """A record's instruction count was made with the valgrind, or the QEMU and plugin, that would count now."""
    used = record.instructions.tool if record.instructions else {}
    tools = tools.get(record.backend, tools)  # an ARM record: its own backend's QEMU and plugin
    return all(used[k] == tools.get(k) for k in ("valgrind", "qemu", "plugin_sha256") if k in used)


def scored_on(record: BenchRecord) -> tuple:
    """The images a record's accuracy names: the data's content hash, the ordered member list of the split it
    scored, and for a subset of it (an ARM record) the rule that picked it."""
    data = record.data or {}
    subset = data.get("subset")
    rule = subset.get("rule") if isinstance(subset, dict) else subset
    return data.get("content_hash"), data.get("split_members", data.get("members")), rule


def model_test_split(run_dir: Path, model: str | None) -> tuple[str | None, str | None]:
    """A model's own test split (the one it was trained with): its data's content hash and ordered member list."""
    if not has_split(run_dir, model):
        return None, None
    split = read_split(run_dir, model)
    return split.content_hash, split.members("test")


def _still_valid(record: BenchRecord, target: Target, options: BenchOptions, expected: tuple,
                 here: dict, tools: dict) -> bool:
    """A record may be reused only for the same bytes, bench options and images (the model's own test split, by
    its ordered member list; an ARM record's subset by today's rule), measured on this machine with the same
    counting tools."""
    content, members, rule = scored_on(record)
    images = (content, members) == expected and rule in (None, ARM_SUBSET_RULE)
    return (record.sha256 is not None and record.sha256 == target.sha256
            and record.options == options_record(options) and images
            and same_machine(record, here) and same_tools(record, tools))


def plan_bench(run_dir: Path, options: BenchOptions) -> list[PlannedBench]:
    """Every current variant of the run, done or pending: the one skip check of bench."""
    done = records_by_key(read_results(run_dir, missing_ok=True))
    planned, here, tools, expected = [], system_info(), counting_tools(), {}
    for target in run_targets(run_dir):
        if target.group not in expected:
            expected[target.group] = model_test_split(Path(run_dir), target.group)
        keys = result_keys(target.variant, options)
        have = [done.get(k) for k in keys]
        ok = all(r is not None and _still_valid(r, target, options, expected[target.group], here, tools)
                 for r in have)
        planned.append(PlannedBench(target, tuple(have) if ok else None))
    return planned


def _reference_top1(target: Target, targets: list[Target], options: BenchOptions, x: np.ndarray) -> np.ndarray | None:
    """The float32 variant's top-1 on these images, for a variant benched without its float32 in the same call."""
    run_backends = [b for b in options.backends if backends.get(b).open is not None]
    f32 = next((t for t in targets if t.group == target.group and is_baseline(t.recipe)), None)
    if f32 is None or not run_backends:
        return None
    session = backends.get(run_backends[0]).open(str(f32.path), options.threads[0])
    return np.argmax(session.predict(x), axis=1)


def _group_records(targets: list[Target], preps: list, options: BenchOptions, reference: np.ndarray | None,
                   progress: Progress, timer) -> list[list[BenchRecord]]:
    """Time every session of one model's variants together, interleaved, then build each variant's records."""
    sessions = {(p.target.variant, *key): s for p in preps for key, s in p.sessions.items()}
    progress.log(f"timing {len(sessions)} session(s) of {len(preps)} variant(s) of {targets[0].group} together, "
                 f"{options.runs}+ runs each in {options.rounds} interleaved rounds")
    timings = time_sessions(sessions, options, preps[0].evalset, timer)
    out = []
    for prep in preps:
        mine = {key[1:]: value for key, value in timings.items() if key[0] == prep.target.variant}
        # Agreement with float32's answers on the first run backend; float32's own too (1.0 there), and on an ARM
        # backend that is its answers there against those on the same images of the subset.
        out.append(finish_target(prep, mine, options, reference))
    return out


def bench_run(run_dir: Path, options: BenchOptions, progress: Progress | None = None,
              timer: Callable[[], int] = time.perf_counter_ns,
              on_variant: Callable[[Target, list[BenchRecord]], None] | None = None,
              only: set[str] | None = None, counted: dict[str, dict] | None = None) -> list[BenchRecord]:
    """Measure the run's variants (``only``: those IDs) with accuracy on the test split; return their records.

    ``counted``: instruction counts already made, by variant ID and kind (:func:`~.measure.count_target`).

    A model's variants are loaded and scored one by one, then timed together, interleaved, so a
    comparison between variants is not a comparison between two moments of a noisy machine. Results
    are written after each model.
    """
    progress = progress or Progress()
    run_dir = Path(run_dir)
    with writing(run_dir, "bench"):  # a run liteship made, held while it is written
        targets = run_targets(run_dir)
        records, splits = [], {}
        for group in dict.fromkeys(t.group for t in targets):
            mine = [t for t in targets if t.group == group and (only is None or t.variant in only)]  # float32 first
            if mine:
                records += _bench_group(run_dir, mine, targets, options, splits, progress, timer, on_variant,
                                        counted)
                write_results(run_dir, [r for r in records if r.model == group])
        counts_on = tuple(sorted({r.backend for r in records if r.kind.counts}))
        if counts_on:  # counts on a profile a device's predictions use: those predictions again, in this hold
            from liteship.bench.device_predictions import refresh  # (it imports this module: imported here)

            refresh(run_dir, command="bench", on_counts=counts_on)
        return records


def _bench_group(run_dir: Path, mine: list[Target], targets: list[Target], options: BenchOptions, splits: dict,
                 progress: Progress, timer, on_variant, counted: dict | None) -> list[BenchRecord]:
    """One model's variants ``mine``: loaded and scored one by one, then timed together; their records.
    ``splits``: the decoded test images by (size, split), shared by models of the same input size and split."""
    from liteship.dataset import load_run_split

    group = mine[0].group
    # Each model is scored on its own test split, the one it was trained with (float/<model>/split.json).
    split = read_split(run_dir, group) if has_split(run_dir, group) else None
    key = (mine[0].size, split and split.content_hash, split and split.members("test"))
    if key not in splits:
        splits[key] = load_run_split(run_dir, mine[0].size, group, progress)["test"]
    x, y = splits[key]
    evalset = EvalSet(x, y, list(mine[0].labels or ()), split and split.source, "test",
                      split and split.content_hash, split and split.members("test"), split and split.seed)
    preps = []
    for target in mine:
        progress.log(f"bench {target.group} {target.recipe} ({target.variant}): load and score")
        preps.append(prepare_target(target, options, evalset, timer, progress, (counted or {}).get(target.variant)))
    f32 = next((p for p in preps if is_baseline(p.target.recipe) and p.probs), None)
    # The float32 variant's top-1 on the first run backend is what agreement compares with.
    reference = np.argmax(next(iter(f32.probs.values())), axis=1) if f32 else _reference_top1(mine[0], targets,
                                                                                               options, x)
    records = []
    for target, recs in zip(mine, _group_records(mine, preps, options, reference, progress, timer)):
        records.extend(recs)
        if on_variant:
            on_variant(target, recs)
    return records


def current_results(run_dir: Path) -> tuple[list[BenchRecord], list[tuple[dict, str]]]:
    """results.jsonl's records of the run's current variants, each checked against the file it names; and the stale.

    A record whose sha256 differs from its variant's file now is refused: its numbers belong to other bytes.
    Without a ``variants/`` folder (results copied alone) every record is taken as it is, provided no (model,
    recipe) has records of two variants (then nothing says which is current: exit 2).
    """
    run_dir = Path(run_dir)
    records = read_results(run_dir)
    if not (run_dir / VARIANTS).is_dir():
        return one_variant_each(records, results_path(run_dir)), []
    current, stale = variant_status(run_dir)
    files = {rec["id"]: run_dir / rec["file"] for rec in current}
    kept = [r for r in records if r.variant in files]
    for vid, path in files.items():
        mine = [r for r in kept if r.variant == vid]
        if not mine or not path.is_file():
            continue
        actual = sha256_file(path)
        if any(r.sha256 != actual for r in mine):
            raise LiteshipError(
                f"{path} is not the file its results were measured on",
                f"the results were measured on sha256 {mine[0].sha256 or 'unknown (an older liteship)'}, and the "
                f"file now has {actual}",
                f"re-run `liteship bench {run_dir}` to measure the file as it is")
    return kept, stale
