"""Where the sweep's work runs: here (``local``) or as Ray tasks (``ray``).

Executors execute the pending units of the plan (:mod:`liteship.app.plan`)
and decide nothing themselves. Both run the same code per unit (train a
model, make a variant, bench a variant); the Ray executor ships each unit's
input files from the run directory to a worker and the outputs back, so
workers need no shared disk for the run directory. Input data must be
readable at the same path on every worker (the built-in ``digits`` always
is). Latency measurements take a machine-wide lock
(:func:`liteship.bench.latency.one_at_a_time_on_this_machine`), so at most one
runs per node at a time on any Ray cluster as it is.
"""

from __future__ import annotations

import json
import platform
import tempfile
from dataclasses import asdict, replace
from pathlib import Path

from liteship.errors import LiteshipError
from liteship.files import atomic_write_bytes
from liteship.progress import Progress
from liteship.rundir import FLOAT, SPLIT, VARIANTS

LATENCY_RESOURCE = "liteship_latency"


def pack(root: Path, rels: list[str]) -> dict[str, bytes]:
    return {rel: (root / rel).read_bytes() for rel in rels if (root / rel).is_file()}


def unpack(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _tree(root: Path, sub: str) -> list[str]:
    base = root / sub
    return [p.relative_to(root).as_posix() for p in sorted(base.rglob("*")) if p.is_file()] if base.is_dir() else []


# --------------------------------------------------------------------------- the units, as plain functions

def train_unit(data: str, config: dict, files: dict[str, bytes]) -> dict[str, bytes]:
    from liteship.trainer import TrainConfig, train

    with tempfile.TemporaryDirectory(prefix="liteship-train-") as tmp:
        root = Path(tmp)
        unpack(root, files)
        result = train(data, TrainConfig(**config), root, Progress(quiet=True), deterministic=True,
                       replace_split=True)
        return pack(root, [SPLIT, *_tree(root, f"{FLOAT}/{result.model_dir.name}")])


def optimize_unit(model: str, recipe: str, config, files: dict[str, bytes]) -> dict[str, bytes]:
    """``config``: the recipe's typed config, the same object the driver planned with (pickled by Ray)."""
    from liteship.optimize import optimize_run

    with tempfile.TemporaryDirectory(prefix="liteship-optimize-") as tmp:
        root = Path(tmp)
        unpack(root, files)
        optimize_run(root, [recipe], {recipe: config}, Progress(quiet=True), models=[model], deterministic=True)
        return pack(root, _tree(root, VARIANTS))  # which variants are current is the driver's plan to record


def bench_unit(variant: str, options: dict, files: dict[str, bytes], node: str) -> list[dict]:
    from liteship.bench import BenchOptions, bench_run

    with tempfile.TemporaryDirectory(prefix="liteship-bench-") as tmp:
        root = Path(tmp)
        unpack(root, files)
        opts = BenchOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()})
        records = bench_run(root, opts, Progress(quiet=True), only={variant})
        return [replace(r, node=node).to_dict() for r in records]


# --------------------------------------------------------------------------- executors

def _by_model(units) -> dict[str, list]:
    groups: dict[str, list] = {}
    for u in units:
        groups.setdefault(u.model, []).append(u)
    return groups


class LocalExecutor:
    name = "local"

    def train(self, data: str, out: Path, units, on_done) -> None:
        from liteship.trainer import train

        for unit in units:
            result = train(data, unit.config, out, Progress(quiet=True), deterministic=True, replace_split=True)
            on_done(unit, result.test_top1)

    def optimize(self, out: Path, units, configs: dict, on_done) -> None:
        from liteship.optimize import optimize_run

        for model, group in _by_model(units).items():
            optimize_run(out, [u.recipe for u in group], configs, Progress(quiet=True), models=[model],
                         on_variant=lambda record, skipped: on_done(record), deterministic=True)

    def bench(self, out: Path, options, units, on_done) -> None:
        from liteship.bench import bench_run

        if units:
            bench_run(out, options, Progress(quiet=True), on_variant=on_done, only={u.target.variant for u in units})


class RayExecutor:
    """Each unit is a Ray task (retried if its worker dies)."""

    name = "ray"

    def __init__(self, address: str | None = None, crash_once: Path | None = None):
        """``crash_once``: a marker path; the first bench task to find it missing creates it and kills its
        own worker process (fault injection for tests of Ray's retry)."""
        self.crash_once = str(crash_once) if crash_once else None
        try:
            import ray
        except ImportError as exc:
            raise LiteshipError("--executor ray needs Ray, which is not installed", "Ray is an optional extra",
                                "pip install 'liteship[ray]'") from exc
        self.ray = ray
        if not ray.is_initialized():
            kwargs = {"log_to_driver": False, "include_dashboard": False}
            host = (address or "127.0.0.1").rsplit(":", 1)[0]
            if host in ("127.0.0.1", "localhost"):
                # A Ray on this machine talks over loopback only, never the machine's network interface.
                kwargs["_node_ip_address"] = "127.0.0.1"
            ray.init(address=address, **kwargs) if address else ray.init(**kwargs)
        # Bench tasks serialize their timing per machine with a file lock; a cluster that also
        # offers the liteship_latency resource (one per node) gets it asked for as well.
        resources = {LATENCY_RESOURCE: 1} if ray.cluster_resources().get(LATENCY_RESOURCE) else {}
        self._train = ray.remote(max_retries=3)(train_unit)
        self._optimize = ray.remote(max_retries=3)(optimize_unit)
        self._bench = ray.remote(max_retries=3, resources=resources)(_bench_on_node)

    def _gather(self, refs: dict, on_result) -> None:
        pending = list(refs)
        while pending:
            ready, pending = self.ray.wait(pending, num_returns=1)
            on_result(refs[ready[0]], self.ray.get(ready[0]))

    def train(self, data: str, out: Path, units, on_done) -> None:
        split = pack(out, [SPLIT])
        refs = {self._train.remote(data, asdict(u.config), split): u for u in units}

        def done(unit, files):
            _write_all(out, files)
            card = files.get(f"{FLOAT}/{unit.config.model_dir_name}/card.json")
            on_done(unit, json.loads(card)["test_top1"] if card else None)

        self._gather(refs, done)

    def optimize(self, out: Path, units, configs: dict, on_done) -> None:
        refs = {}
        for model, group in _by_model(units).items():
            files_ref = self.ray.put(pack(out, [SPLIT, *_tree(out, f"{FLOAT}/{model}")]))
            for unit in group:
                refs[self._optimize.remote(model, unit.recipe, configs[unit.recipe], files_ref)] = unit

        def done(unit, files):
            _write_all(out, files)
            for rel, data in files.items():
                if rel.endswith(".json"):
                    on_done(json.loads(data))

        self._gather(refs, done)

    def bench(self, out: Path, options, units, on_done) -> None:
        from liteship.bench import BenchRecord, write_results
        from liteship.bench import run_targets

        targets = run_targets(out)
        refs = {}
        for unit in units:
            target = unit.target
            f32 = next((t for t in targets if t.group == target.group and t.recipe == "float32"), None)
            rels = [SPLIT, *_tree(out, f"{FLOAT}/{target.group}")]
            for t in {target, f32} - {None}:
                rels += [f"{VARIANTS}/{t.variant}.json", f"{VARIANTS}/{t.variant}.tflite"]
            refs[self._bench.remote(target.variant, _options_dict(options), pack(out, rels), self.crash_once)] = target

        def finished(target, dicts):
            recs = [replace(BenchRecord.from_dict(d), model_path=str(out / VARIANTS / f"{target.variant}.tflite"))
                    for d in dicts]
            write_results(out, recs)
            on_done(target, recs)

        self._gather(refs, finished)


def _bench_on_node(variant: str, options: dict, files: dict[str, bytes], crash_once: str | None = None) -> list[dict]:
    import os

    import ray

    if crash_once and not Path(crash_once).exists():
        Path(crash_once).write_text(variant)
        os._exit(1)  # the worker dies mid-task; Ray must retry the task elsewhere

    node = f"{platform.node()} (ray node {ray.get_runtime_context().get_node_id()[:12]})"
    return bench_unit(variant, options, files, node)


def _options_dict(options) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(options).items()}


def _write_all(out: Path, files: dict[str, bytes]) -> None:
    """Write a unit's outputs atomically; JSON records last, so a record never points at a missing file."""
    for rel in sorted(files, key=lambda rel: (rel.endswith(".json"), rel)):
        atomic_write_bytes(out / rel, files[rel])


def make_executor(name: str, address: str | None = None):
    if name == "local":
        if address:
            raise LiteshipError("--address goes with --executor ray", "", "add --executor ray, or drop --address")
        return LocalExecutor()
    if name == "ray":
        return RayExecutor(address)
    raise LiteshipError(f"Unknown executor {name!r}", "valid executors are: local, ray", "pass --executor local or ray")
