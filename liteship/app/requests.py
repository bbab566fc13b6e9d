"""The flags of a parsed command line as the command's typed request (:mod:`liteship.workflow.requests`).

The namespace is only read. A flag's value that could not be parsed (an
:class:`~liteship.app.flags.Invalid`) leaves its setting at the default and
becomes one of the request's ``flag_problems``, said with every other problem
by the checks.
"""

from __future__ import annotations

from liteship.app.flags import Invalid, problem_of
from liteship.config import Problem, Problems


def _values(args) -> tuple[dict, list[Problem]]:
    """The namespace's values, each that could not be parsed as None, and the problems they make."""
    values, found = {}, []
    for name, value in vars(args).items():
        if isinstance(value, Invalid):
            found.append(problem_of(name, value))
            value = None
        values[name] = value
    return values, found


def _or(value, default):
    return default if value is None else value


def _train(v: dict, found: list):
    from liteship.trainer import TrainConfig
    from liteship.workflow.requests import TrainRequest

    d = TrainConfig()
    config = TrainConfig(arch=v["arch"], size=v["size"], alpha=v["alpha"], weights=_or(v["weights"], d.weights),
                         epochs=v["epochs"], fine_tune_epochs=v["fine_tune_epochs"],
                         fine_tune_at=_or(v["fine_tune_at"], str(d.fine_tune_at)),
                         batch_size=_or(v["batch_size"], d.batch_size), seed=_or(v["seed"], d.seed), augment=v["augment"])
    given = frozenset(name for name in ("weights", "fine_tune_at") if v[name] is not None)
    return TrainRequest(data=v["data"], out=v["out"], config=config, given=given,
                        deterministic=not v["nondeterministic"], list_only=v["list"], verbose=v["verbose"])


def _bench(v: dict, found: list):
    from liteship.bench import BenchOptions, parse_backends
    from liteship.workflow.requests import BenchRequest

    d = BenchOptions()
    backends = d.backends
    if not v["list"]:
        try:
            backends = parse_backends(v["backends"])
        except Problems as exc:
            found += exc.problems
    options = BenchOptions(backends=backends, threads=tuple(_or(v["threads"], d.threads)), runs=_or(v["runs"], d.runs),
                           warmup=_or(v["warmup"], d.warmup), rounds=_or(v["rounds"], d.rounds),
                           target_runtime=v["target_runtime"], instructions=v["instructions"], task_api=v["task_api"])
    return BenchRequest(target=v["target"], options=options, data=v["data"], labels=v["labels"], json=v["json"],
                        list_only=v["list"], verbose=v["verbose"])


def _plain(cls_name: str, *names: str):
    """A request whose fields are the flags of the same names."""
    def build(v: dict, found: list):
        from liteship.workflow import requests

        return getattr(requests, cls_name)(**{n: v[n] for n in names if n in v})
    return build


BUILDERS = {
    "train": _train,
    "bench": _bench,
    "optimize": lambda v, found: _optimize(v),
    "sweep": _plain("SweepRequest", "data", "out", "config", "executor", "address", "workers", "track", "verbose",
                    "augment"),
    "gate": _plain("GateRequest", "run_dir", "budgets", "variant", "all", "junit", "markdown"),
    "pick": _plain("PickRequest", "run_dir", "budgets", "prefer"),
    "compare": _plain("CompareRequest", "base", "new", "thresholds", "markdown", "json"),
    "explain": _plain("ExplainRequest", "run_dir", "variant", "vs", "model_explorer"),
    "track": _plain("TrackRequest", "run_dir", "uri", "experiment"),
    "runtimes": _plain("RuntimesRequest", "action", "version", "with_system_packages"),
    "device": lambda v, found: {"kit": _plain("DeviceKitRequest", "run_dir", "out"),
                                "predict": _plain("DevicePredictRequest", "run_dir", "device", "chip"),
                                "import": lambda v, found: _device_import(v)}[v["device_action"]](v, found),
}


def _device_import(v: dict):
    from liteship.workflow.requests import DeviceImportRequest

    return DeviceImportRequest(run_dir=v["run_dir"], files=tuple(v["files"]), device=v["device"],
                               model=tuple(v["model"] or ()), chip=v["chip"], threads=v["threads"])


def _optimize(v: dict):
    from liteship.workflow.requests import OptimizeRequest

    return OptimizeRequest(run_dir=v["run_dir"], recipes=v["recipes"], config=v["config"],
                           deterministic=not v["nondeterministic"], list_only=v["list"], verbose=v["verbose"])


def build_request(args):
    """The typed request of the parsed command line ``args`` (read, never written)."""
    from liteship.workflow.requests import with_problems

    values, found = _values(args)
    request = BUILDERS[args.command](values, found)
    return with_problems(request, found) if found else request
