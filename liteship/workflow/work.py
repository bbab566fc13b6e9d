"""Each command's work, once its request is checked and its run directory held: call the stages, return a typed
result (:mod:`liteship.workflow.results`). Nothing here prints; :mod:`liteship.app.commands` does, from the result.
The entry is :func:`liteship.workflow.execute.execute`."""

from __future__ import annotations

import time
from pathlib import Path

from liteship.errors import LiteshipError
from liteship.rundir import VARIANTS
from liteship.workflow.results import (BenchResult, CompareResult, ExplainResult, GateResult, MediaPipeCheck,
                                       OptimizeResult, PickResult, RuntimeEnv, RuntimesResult, StaleVariant,
                                       TrainResult)
from liteship.workflow.session import require_held
from liteship.workflow.validate import text


def train(request, checked, progress) -> TrainResult:
    require_held(request)  # its session holds the run directory it writes: the checks ran
    from liteship.trainer import list_archs, train as train_model

    if request.list_only:
        return TrainResult(archs=tuple(list_archs()))
    trained = train_model(text(request.data), request.config, text(request.out), progress,
                          deterministic=request.deterministic)
    return TrainResult(trained=trained)


def optimize(request, checked, progress) -> OptimizeResult:
    require_held(request)  # its session holds the run directory it writes: the checks ran
    from liteship.optimize import list_recipes, optimize_run, parse_recipes
    from liteship.workflow.settings_checks import recipe_settings

    if request.list_only:
        return OptimizeResult(recipes=tuple(list_recipes()))
    names = parse_recipes(request.recipes if isinstance(request.recipes, str) else list(request.recipes))
    records = optimize_run(text(request.run_dir), names, recipe_settings(names, text(request.config)), progress,
                           deterministic=request.deterministic)
    return OptimizeResult(records=tuple(records))


def stale_variants(run_dir: Path) -> tuple[StaleVariant, ...]:
    """The variants kept on disk that are no longer current, and why."""
    from liteship.bench import variant_status

    if not (Path(run_dir) / VARIANTS).is_dir():
        return ()
    return tuple(StaleVariant(rec["id"], rec.get("model"), rec.get("recipe"), why)
                 for rec, why in variant_status(Path(run_dir))[1])


def bench(request, checked, progress) -> BenchResult:
    require_held(request)  # its session holds the run directory it writes: the checks ran
    from liteship.bench import backends, bench_file, bench_run
    from liteship.judge import runtime_blocked, runtime_failures, runtime_notes

    if request.list_only:
        return BenchResult(backends=tuple(backends.registry().values()))
    options, target = request.options, Path(text(request.target))
    if target.is_dir():
        records = bench_run(target, options, progress)  # also merged into RUN_DIR/results.jsonl
    else:
        records = bench_file(target, options, text(request.data), text(request.labels), progress)
    runtime = options.target_runtime
    return BenchResult(records=tuple(records), run_dir=target if target.is_dir() else None,
                       stale=stale_variants(target) if target.is_dir() else (), target_runtime=runtime,
                       runtime_notes=tuple(runtime_notes(records)) if runtime else (),
                       runtime_failures=tuple(runtime_failures(records, runtime)) if runtime else (),
                       blocked=tuple(runtime_blocked(records, runtime)) if runtime else ())


def gate(request, checked, progress) -> GateResult:
    from liteship.judge import gate as judge_gate

    run_dir = Path(text(request.run_dir))
    verdicts = judge_gate(run_dir, checked.budgets, request.variant)
    return GateResult(run_dir=run_dir, verdicts=tuple(verdicts), every=bool(request.all or request.variant),
                      stale=stale_variants(run_dir))


def mediapipe_check(release: Path) -> MediaPipeCheck:
    """What the release's check in MediaPipe Tasks found, read from its manifest."""
    from liteship.rundir import read_manifest

    manifest = read_manifest(release)
    found, kernels = manifest.get("task_api") or {}, manifest.get("resize_kernels") or {}
    change = found.get("change_vs_contract") or {}
    beyond = bool(change.get("beyond_interval"))
    return MediaPipeCheck(loaded=bool(found.get("loaded")), runtime=found.get("runtime"), top1=found.get("top1"),
                          images=found.get("images"), stretched_top1=(found.get("stretched") or {}).get("top1"),
                          agreement=found.get("agreement"), error=found.get("error"),
                          kernels_warning=kernels.get("warning") or None,
                          change=change.get("value") if beyond else None,
                          interval=tuple(change["interval"]) if beyond else None)


def pick(request, checked, progress, log_to_tracker) -> PickResult:
    require_held(request)  # its session holds the run directory it writes: the checks ran
    from liteship.bench import current_results
    from liteship.judge import NothingPasses, pick as judge_pick
    from liteship.workflow.reports import write_reports
    from liteship.workflow.run import record_pick

    run_dir = Path(text(request.run_dir))
    records = current_results(run_dir)[0]
    try:
        decision, release = judge_pick(run_dir, checked.budgets, request.prefer, records)
    except NothingPasses as exc:
        write_reports(run_dir, records, exc.decision)
        record_pick(run_dir, exc.decision, records)  # no release: this says what the report judged with
        return PickResult(run_dir=run_dir, decision=exc.decision, misses=tuple(exc.misses))
    write_reports(run_dir, records, decision)
    record_pick(run_dir, decision, records)
    check = mediapipe_check(release)
    tracked = log_to_tracker(run_dir, checked.tracking) if checked.tracking is not None else None
    return PickResult(run_dir=run_dir, decision=decision, release=release, mediapipe=check, tracked=tracked)


def compare(request, checked, progress) -> CompareResult:
    from liteship.judge import compare as judge_compare, read_side, same_measurements

    base, new, thresholds = text(request.base), text(request.new), checked.thresholds
    changes, added, removed = judge_compare(read_side(base, "base"), read_side(new, "new"), thresholds)
    return CompareResult(changes=tuple(changes), added=tuple(added), removed=tuple(removed), thresholds=thresholds,
                         same_measurements=same_measurements(base, new))


def outputs(request, result) -> list[tuple[str, str]]:
    """(path, text) of each file the request names for a report (--json, --junit, --markdown), rendered from the
    result; written after the result is shown, so standard output ("-") holds the summary first."""
    import json

    if request.command == "bench" and request.json:
        from liteship.bench import to_json

        return [(text(request.json), to_json(list(result.records)))]
    found = []
    if request.command == "gate":
        from liteship.report.verdicts import junit_xml, markdown_summary

        verdicts = list(result.verdicts)
        found += [(text(request.junit), junit_xml(verdicts))] if request.junit else []
        found += [(text(request.markdown), markdown_summary(verdicts))] if request.markdown else []
    if request.command == "explain" and request.model_explorer:
        found.append((text(request.model_explorer), result.node_data))
    if request.command == "compare":
        from liteship.judge import to_json
        from liteship.report.compare import markdown

        parts = (list(result.changes), list(result.added), list(result.removed))
        found += [(text(request.markdown), markdown(*parts))] if request.markdown else []
        found += [(text(request.json), json.dumps(to_json(*parts, result.thresholds), indent=2) + "\n")] \
            if request.json else []
    return found


def variant_records(records, run_dir: Path, wanted: str, flag: str):
    """The one variant ``wanted`` names (an ID, or a recipe only one model has), as gate's --variant finds it."""
    from liteship.judge import select

    try:
        chosen = select(records, wanted)
    except LiteshipError:
        chosen = []
    if len(chosen) != 1:
        listing = "; ".join(f"{r.variant} ({r.model} {r.recipe})" for r in {r.variant: r for r in records}.values())
        why = (f"the recipe {wanted} has {len(chosen)} variants (one per model): name one by its ID" if chosen else
               f"{run_dir} has no current variant {wanted!r}" if records else f"{run_dir} has no current variant yet")
        raise LiteshipError(f"{flag} {wanted!r}: no such variant", why, f"pass one of: {listing}" if records else
                            "nothing is benched, or a sweep or bench is writing the run: run explain once it is done")
    path = run_dir / VARIANTS / f"{chosen[0]}.tflite"
    if not path.is_file():
        raise LiteshipError(f"{path} is missing", "explain reads the variant's file",
                            f"re-run `liteship optimize {run_dir}` to make it again")
    return path, [r for r in records if r.variant == chosen[0]]


def explain(request, checked, progress) -> ExplainResult:
    from liteship.bench import current_results, explain as explain_variant, explorer_node_data, with_op_errors

    run_dir = Path(text(request.run_dir))
    records = current_results(run_dir)[0]

    def explained(wanted: str, flag: str):
        path, chosen = variant_records(records, run_dir, wanted, flag)
        return path, with_op_errors(explain_variant(path, chosen), run_dir, path)

    path, a = explained(request.variant, "VARIANT")
    b = explained(request.vs, "--vs")[1] if request.vs else None
    nodes = explorer_node_data(a, path) if request.model_explorer else None
    return ExplainResult(explained=a, vs=b, node_data=nodes)


def _runtimes_list() -> RuntimesResult:
    from liteship import task_api
    from liteship.bench import arm64_env, arm64_sme2, legacy

    arm, sme2 = arm64_env.status(), arm64_sme2.status()
    envs = [RuntimeEnv("arm64", None, arm64_env.env_dir() if arm is not None else None,
                       {**(arm or {}), "backends": tuple(e.backend for e in arm64_env.own_emulations())},
                       "liteship runtimes install arm64 --with-system-packages"),
            RuntimeEnv(arm64_sme2.NAME, None, arm64_sme2.env_dir() if sme2 is not None else None,
                       {**(sme2 or {}), "backends": tuple(e.backend for e in arm64_sme2.emulations())},
                       f"{arm64_sme2.INSTALL} --with-system-packages"),
            RuntimeEnv("mediapipe", task_api.VERSION, task_api.env_dir() if task_api.installed() else None, {},
                       task_api.INSTALL)]
    envs += [RuntimeEnv(legacy.DIST, version, path, {}) for version, path in legacy.cached().items()]
    return RuntimesResult(action="list", envs=tuple(envs), cache=legacy.runtimes_dir())


def runtimes(request, checked, progress) -> RuntimesResult:
    from liteship import task_api
    from liteship.bench import arm64_env, arm64_sme2, legacy

    action, version = request.action, request.version
    if action == "list":
        return _runtimes_list()
    name = version if version in ("arm64", "arm64-a18", "mediapipe") else legacy.DIST
    started = time.perf_counter()
    if action == "install":
        if version == "arm64":
            env = RuntimeEnv(name, None, arm64_env.install(request.with_system_packages, log=progress.log),
                             {"backends": tuple(e.backend for e in arm64_env.own_emulations())})
        elif version == "arm64-a18":
            env = RuntimeEnv(name, None, arm64_sme2.install(request.with_system_packages, log=progress.log),
                             {"backends": tuple(e.backend for e in arm64_sme2.emulations())})
        elif version == "mediapipe":
            env = RuntimeEnv(name, task_api.VERSION, task_api.install(log=progress.log), {})
        else:
            path = legacy.install(version, log=progress.log)
            env = RuntimeEnv(name, legacy.resolve(version), path, {})
        return RuntimesResult(action=action, version=version, name=name, installed=env,
                              seconds=time.perf_counter() - started)
    remove = {"arm64": arm64_env.remove, "arm64-a18": arm64_sme2.remove, "mediapipe": task_api.remove}
    gone, left = remove[version]() if version in remove else legacy.remove(version)
    return RuntimesResult(action=action, version=version, name=name, removed=tuple(gone),
                          left=tuple(tuple(x) for x in left))
