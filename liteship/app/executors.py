"""Where the sweep's work runs: here (``local``) or as Ray tasks (``ray``).

Both run the same units (train a model, make a variant, bench a variant)
with the same code; the Ray executor ships each unit's input files from the
run directory to a worker and the outputs back, so workers need no shared
disk for the run directory. Input data must be readable at the same path on
every worker (the built-in ``digits`` always is).
"""

from __future__ import annotations

import platform
import tempfile
from dataclasses import asdict, replace
from pathlib import Path

from liteship.errors import LiteshipError
from liteship.files import atomic_write_bytes
from liteship.progress import Progress

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
        result = train(data, TrainConfig(**config), root, Progress(quiet=True))
        return pack(root, ["data/split.json", *_tree(root, f"float/{result.model_dir.name}")])


def optimize_unit(model: str, recipe: str, recipe_toml: str | None, files: dict[str, bytes]) -> dict[str, bytes]:
    from liteship.optimize import optimize_run

    with tempfile.TemporaryDirectory(prefix="liteship-optimize-") as tmp:
        root = Path(tmp)
        unpack(root, files)
        config = None
        if recipe_toml:
            config = root / "recipes.toml"
            config.write_text(recipe_toml)
        optimize_run(root, [recipe], config, Progress(quiet=True), models=[model])
        return pack(root, _tree(root, "variants"))


def bench_unit(variant: str, options: dict, files: dict[str, bytes], node: str) -> list[dict]:
    from liteship.bench.run import BenchOptions, bench_run

    with tempfile.TemporaryDirectory(prefix="liteship-bench-") as tmp:
        root = Path(tmp)
        unpack(root, files)
        opts = BenchOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()})
        records = bench_run(root, opts, Progress(quiet=True), only={variant})
        return [replace(r, node=node).to_dict() for r in records]


# --------------------------------------------------------------------------- executors

class LocalExecutor:
    name = "local"

    def train(self, data, configs, out: Path, on_done) -> None:
        from liteship.trainer import train

        for config in configs:
            result = train(data, config, out, Progress(quiet=True))
            on_done(config, result.test_top1)

    def optimize(self, out: Path, models: list[str], recipes: list[str], recipe_file, on_variant) -> None:
        from liteship.optimize import optimize_run

        for model in models:
            optimize_run(out, recipes, recipe_file, Progress(quiet=True), models=[model], on_variant=on_variant)

    def bench(self, out: Path, options, on_variant):
        from liteship.bench.run import bench_run

        return bench_run(out, options, Progress(quiet=True), skip_done=True, on_variant=on_variant)


class RayExecutor:
    """Each unit is a Ray task (retried if its worker dies); one latency measurement per node at a time."""

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
            if address:
                ray.init(address=address, **kwargs)
            else:
                ray.init(resources={LATENCY_RESOURCE: 1}, **kwargs)
        if not ray.cluster_resources().get(LATENCY_RESOURCE):
            raise LiteshipError(
                f"The Ray cluster at {address} has no {LATENCY_RESOURCE!r} resource",
                "liteship runs at most one latency measurement per node at a time through that resource",
                f"start every node with: ray start ... --resources='{{\"{LATENCY_RESOURCE}\": 1}}'")
        self._train = ray.remote(max_retries=3)(train_unit)
        self._optimize = ray.remote(max_retries=3)(optimize_unit)
        self._bench = ray.remote(max_retries=3, resources={LATENCY_RESOURCE: 1})(_bench_on_node)

    def _gather(self, refs: dict, on_result) -> None:
        pending = list(refs)
        while pending:
            ready, pending = self.ray.wait(pending, num_returns=1)
            on_result(refs[ready[0]], self.ray.get(ready[0]))

    def train(self, data, configs, out: Path, on_done) -> None:
        split = pack(out, ["data/split.json"])
        refs = {self._train.remote(data, asdict(c), split): c for c in configs}

        def done(config, files):
            _write_all(out, files, records_last=True)
            card = files.get(f"float/{config.model_dir_name}/card.json")
            import json

            on_done(config, json.loads(card)["test_top1"] if card else None)

        self._gather(refs, done)

    def optimize(self, out: Path, models: list[str], recipes: list[str], recipe_file, on_variant) -> None:
        import json

        from liteship.optimize.run import made_variant, resolve_configs, source_hash, variant_id
        from liteship.versions import TRAIN_DISTS, versions

        configs = resolve_configs(recipes, recipe_file)
        tool_versions = versions(TRAIN_DISTS)
        toml = Path(recipe_file).read_text() if recipe_file else None
        refs = {}
        for model in models:
            card = json.loads((out / "float" / model / "card.json").read_text())
            source = source_hash(out / "float" / model, card)
            files = pack(out, ["data/split.json", *_tree(out, f"float/{model}")])
            files_ref = self.ray.put(files)
            for recipe in recipes:
                made = made_variant(out / "variants", variant_id(source, recipe, configs[recipe], tool_versions))
                if made:
                    on_variant(made, True)
                    continue
                refs[self._optimize.remote(model, recipe, toml, files_ref)] = (model, recipe)

        def done(key, files):
            _write_all(out, files, records_last=True)
            for rel, data in files.items():
                if rel.endswith(".json"):
                    on_variant(json.loads(data), False)

        self._gather(refs, done)

    def bench(self, out: Path, options, on_variant):
        from liteship.bench.record import BenchRecord
        from liteship.bench.run import read_results, result_keys, run_targets, write_results

        done = read_results(out)
        refs = {}
        targets = run_targets(out)
        for target in targets:
            keys = result_keys(target.variant, options)
            if all(k in done for k in keys):
                on_variant(target, [done[k] for k in keys], True)
                continue
            f32 = next((t for t in targets if t.group == target.group and t.recipe == "float32"), None)
            rels = ["data/split.json", *_tree(out, f"float/{target.group}")]
            for t in {target, f32} - {None}:
                rels += [f"variants/{t.variant}.json", f"variants/{t.variant}.tflite"]
            refs[self._bench.remote(target.variant, _options_dict(options), pack(out, rels), self.crash_once)] = target

        def finished(target, dicts):
            recs = [replace(BenchRecord.from_dict(d), model_path=str(out / "variants" / f"{target.variant}.tflite"))
                    for d in dicts]
            write_results(out, recs)
            on_variant(target, recs, False)

        self._gather(refs, finished)
        return list(read_results(out).values())


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


def _write_all(out: Path, files: dict[str, bytes], records_last: bool = False) -> None:
    """Write a unit's outputs atomically; JSON records last, so a record never points at a missing file."""
    order = sorted(files, key=lambda rel: (records_last and rel.endswith(".json"), rel))
    for rel in order:
        atomic_write_bytes(out / rel, files[rel])


def make_executor(name: str, address: str | None = None):
    if name == "local":
        if address:
            raise LiteshipError("--address goes with --executor ray", "", "add --executor ray, or drop --address")
        return LocalExecutor()
    if name == "ray":
        return RayExecutor(address)
    raise LiteshipError(f"Unknown executor {name!r}", "valid executors are: local, ray", "pass --executor local or ray")
