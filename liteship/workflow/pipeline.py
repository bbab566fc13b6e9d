"""The sweep's jobs, what each one unlocks, and what the driver writes when one finishes.

Training a model unlocks making its variants: one job per chain of recipes
that reuse each other's work (:func:`liteship.optimize.recipe_chains`), since
a variant's ID hashes the trained weights. Making a chain unlocks counting each
new variant's instructions: one job per count (valgrind's x86, each ISA under
QEMU), which need no quiet machine. Jobs of different models, chains and
counts are independent, so an executor may run them side by side
(:mod:`liteship.workflow.executors`). Each model's jobs are planned from the run
directory when its training is there, with the stages' own skip checks
(:mod:`liteship.workflow.plan`), so a resumed sweep only does what is missing.
Scoring and timing come after every job here (:func:`liteship.workflow.sweep.sweep`).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from liteship.workflow.executors import count_unit, files_under, optimize_unit, pack, train_unit, write_outputs
from liteship.workflow.plan import (BenchKey, ChainKey, CountKey, TrainKey, TrainUnit, UnitKey, plan_benches,
                                    plan_optimize)
from liteship.workflow.schedule import Job, Node, ranks, simulate
from liteship.rundir import FLOAT, SPLIT, VARIANTS, update_current


def plan_nodes(models: list[str], chains: list[tuple[str, ...]], kinds: list[str],
               costs: dict[UnitKey, float]) -> tuple[list[Node], list[Node]]:
    """The whole sweep as estimated nodes: train, chains and counts (side by side, each keeping
    :func:`~liteship.workflow.resources.job_cpus` cores busy), then bench (alone)."""
    from liteship.workflow.resources import job_cpus

    nodes, alone = [], []
    for m in models:
        train = TrainKey(m)
        nodes.append(Node(train, costs.get(train, 0.0), cpus=job_cpus(train)))
        for chain in chains:
            key = ChainKey(m, tuple(chain))
            steps = key.steps()
            nodes.append(Node(key, sum(costs.get(step, 0.0) for step in steps), (train,), steps,
                              tuple(costs.get(step, 0.0) for step in steps), job_cpus(key)))
            counts = [CountKey(m, r, k) for r in chain for k in kinds]
            nodes += [Node(count, costs.get(count, 0.0), (key,), cpus=job_cpus(count)) for count in counts]
        alone += [Node(BenchKey(m, r), costs.get(BenchKey(m, r), 0.0)) for chain in chains for r in chain]
    return nodes, alone


def simulate_sweep(models: list[str], recipes: list[str], options, costs: dict[UnitKey, float], workers: int,
                   cores: int | None = None):
    """The sweep's estimated time on ``workers`` workers and ``cores`` cores (default: this machine's), each unit's
    share of it (by its key), and each job's rank."""
    import os

    from liteship.bench import count_kinds
    from liteship.optimize import recipe_chains

    nodes, alone = plan_nodes(models, recipe_chains(recipes), count_kinds(options), costs)
    return simulate(nodes, workers, alone, cores or os.cpu_count() or 1), ranks(nodes)


class SweepWork:
    """Hands the executor the jobs that are ready, and writes each finished job's outputs into the run directory.

    ``steps``: the sweep's progress (one step per training, variant made and count); ``ranks``: each job's
    estimated longest path of work, by key (:mod:`liteship.workflow.plan`'s unit keys), which ready jobs start by. Each count is written to the run directory
    as it finishes (:mod:`liteship.bench.counts`); one written before for the same file, tools and images is not
    made again, and the bench that follows reads them (:meth:`stored_counts`).
    """

    def __init__(self, out: Path, data: str, trains: list[TrainUnit], recipes: list[str], configs: dict, options,
                 steps, ranks: dict[UnitKey, float] | None = None, datasets: dict | None = None):
        from liteship.bench import count_kinds
        from liteship.optimize import recipe_chains

        self.out, self.data, self.trains, self.recipes, self.configs = out, data, trains, recipes, configs
        self.options, self.steps, self.ranks = options, steps, ranks or {}
        self.kinds = count_kinds(options)
        self.chains = recipe_chains(recipes)
        self._count_keys: dict[str, list[dict]] = {}  # variant -> each kind's count key, as planned
        self._waiting: dict[str, int] = {}  # model -> chains still being made
        self._skips_said = False
        self._pixels: dict[tuple, tuple] = {}
        # the data the driver read once, by input size (rows of the run's image cache), which the jobs get instead of
        # reading every image again; none: each job reads the data itself (workers that may be other machines)
        self.datasets = datasets or {}
        self._sizes = {unit.config.model_dir_name: unit.config.size for unit in trains}

    def _job(self, key: UnitKey, fn, args: tuple, then) -> Job:
        return Job(key, fn, args, then, self.ranks.get(key, 0.0))

    def start(self) -> list[Job]:
        jobs = []
        for unit in self.trains:
            if unit.done:
                self.steps.step(unit.key.label(), " (done before, skipped)", key=unit.key, skipped=True)
                jobs += self._optimize(unit.config.model_dir_name)
            else:
                data = self.datasets.get(unit.config.size, self.data)
                jobs.append(self._job(unit.key, train_unit, (data, unit.config, pack(self.out, [SPLIT])),
                                      partial(self._trained, unit)))  # the TrainConfig itself, pickled
        return jobs

    def _trained(self, unit: TrainUnit, files: dict[str, bytes]) -> list[Job]:
        import json

        from liteship.trainer import skipped_lines

        write_outputs(self.out, files)
        raw = files.get(f"{FLOAT}/{unit.config.model_dir_name}/card.json")
        card = json.loads(raw) if raw else None
        top1 = card["test_top1"] if card else None
        if card and not self._skips_said:  # what train prints of skipped files, once: every model skips the same
            self._skips_said = True
            for line in skipped_lines(card.get("skipped", []), card["data"]["images"]):
                self.steps.progress.log(line)
        self.steps.step(unit.key.label() + (f": test top-1 {top1:.4f}" if top1 is not None else ""), key=unit.key)
        return self._optimize(unit.config.model_dir_name)

    def _optimize(self, model: str) -> list[Job]:
        makes = plan_optimize(self.out, [model], self.recipes, self.configs)
        update_current(self.out, [(u.model, u.recipe, u.variant) for u in makes])  # what this sweep makes is current
        for unit in makes:
            if unit.done:
                self.steps.step(f"{unit.key.label()}: {unit.made['status']}", " (done before, skipped)", key=unit.key,
                                skipped=True)
        todo = {u.recipe for u in makes if not u.done}
        chains = [tuple(r for r in chain if r in todo) for chain in self.chains]
        chains = [c for c in chains if c]
        self._waiting[model] = len(chains)
        if not chains:
            return self._counts(model)
        files = pack(self.out, [SPLIT, *files_under(self.out, f"{FLOAT}/{model}")])
        dataset = self.datasets.get(self._sizes.get(model))
        return [self._job(ChainKey(model, chain), optimize_unit,
                          (model, list(chain), {r: self.configs[r] for r in chain}, files, dataset),
                          partial(self._made, model)) for chain in chains]

    def _made(self, model: str, files: dict[str, bytes]) -> list[Job]:
        import json

        write_outputs(self.out, files)
        made = [json.loads(data) for rel, data in sorted(files.items()) if rel.endswith(".json")]
        keys = [ChainKey(r["model"], (r["recipe"],)) for r in made]
        self.steps.finished(keys)  # one job: its steps are done together
        for key, r in zip(keys, made):
            self.steps.step(f"{key.label()}: {r['status']}", key=key)
        self._waiting[model] -= 1
        return self._counts(model) if self._waiting[model] == 0 else []

    def _counts(self, model: str) -> list[Job]:
        """A count job per (variant, kind) the bench still needs; the counts of benched variants are skipped, and
        so are counts already in the run directory (a resumed sweep)."""
        from liteship.bench import read_count
        from liteship.errors import LiteshipError

        if not self.kinds:
            return []
        try:
            planned = [p for p in plan_benches(self.out, self.options) if p.target.group == model]
        except LiteshipError:  # no variant of any model was made: bench says so
            return []
        jobs = []
        for unit in planned:
            t = unit.target
            units = unit.count_keys(self.kinds)
            if unit.done:
                for done in units:
                    self.steps.step(None, key=done, skipped=True)
                continue
            pixels, scored = self._subset(model, t.size)
            files = None
            for kind, count, key in zip(self.kinds, units, self._keys(t, pixels, scored)):
                if read_count(self.out, t.variant, kind, key, failures=False) is not None:
                    self.steps.step(count.label(), " (done before, skipped)", key=count, skipped=True)
                    continue
                files = files or pack(self.out, [f"{VARIANTS}/{t.variant}.tflite"])
                jobs.append(self._job(count, count_unit, (t.variant, [kind], pixels, scored, files),
                                      partial(self._counted, t.variant, kind, count, key)))
        return jobs

    def _keys(self, target, pixels, scored: bool) -> list[dict]:
        """Each kind's count key for ``target`` (:func:`liteship.bench.counts.count_key`), in ``self.kinds``'s order;
        kept for :meth:`stored_counts`."""
        from liteship.bench import count_key
        from liteship.files import sha256_file

        sha = target.sha256 or sha256_file(target.path)
        keys = [count_key(sha, kind, pixels, scored) for kind in self.kinds]
        self._count_keys[target.variant] = keys
        return keys

    def stored_counts(self, units) -> dict[str, dict]:
        """The counts in the run directory for the bench ``units``' variants, by variant and kind, read with the keys
        they were planned with: what the bench uses instead of counting (a failed count's reason too, so the record
        says why it has none)."""
        from liteship.bench import read_count

        out: dict[str, dict] = {}
        for unit in units:
            keys = self._count_keys.get(unit.target.variant, [])
            found = {kind: read_count(self.out, unit.target.variant, kind, key) for kind, key in zip(self.kinds, keys)}
            out[unit.target.variant] = {kind: count for kind, count in found.items() if count is not None}
        return {variant: counts for variant, counts in out.items() if counts}

    def _subset(self, model: str, size: int | None) -> tuple:
        """The images an ARM count runs: a stratified subset of the model's own test split."""
        from liteship.bench import arm_pixels
        from liteship.bench import EvalSet
        from liteship.dataset import load_run_split

        if (model, size) not in self._pixels:
            x, y = load_run_split(self.out, size, model, self.steps.progress, self.datasets.get(size))["test"]
            self._pixels[model, size] = arm_pixels(EvalSet(x, y, [], self.data))
        return self._pixels[model, size]

    def _counted(self, variant: str, kind: str, unit: CountKey, key: dict, found: dict) -> list[Job]:
        from liteship.bench import write_count

        write_count(self.out, variant, kind, key, found.get(kind))  # written as it finishes: a resumed sweep keeps it
        self.steps.step(f"{unit.label()}: {_said(found.get(kind))}", key=unit)
        return []


def _said(value) -> str:
    """A count as the progress line says it: instructions per invoke, or why there is none."""
    if not isinstance(value, dict):
        return str(value)[:160]
    from liteship.bench import Instructions

    try:
        counted = Instructions.from_dict(value["instructions"] if isinstance(value.get("instructions"), dict) else value)
    except ValueError:
        return "counted"
    return f"{counted.formatted()} instructions per invoke" if counted.counted else "counted"
