"""The bodies of the ``liteship`` commands: check the arguments, call the package API, print the outcome.

Parsing is :mod:`liteship.app.cli`'s job; judging is :mod:`liteship.judge`'s and rendering :mod:`liteship.report`'s.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from liteship.errors import LiteshipError
from liteship.logs import console
from liteship.progress import Progress
from liteship.rundir import REPORT_HTML, VARIANTS


def cmd_train(args) -> int:
    from liteship.trainer import list_archs

    if args.list:
        for spec in list_archs():
            sizes = f"{spec.min_size}..{spec.max_size or 'any'} px, default {spec.default_size}"
            alphas = f"; alpha {', '.join(map(str, spec.alphas))}" if spec.alphas else ""
            print(f"{spec.name:14s} {spec.summary} ({sizes}{alphas})")
        return 0
    from liteship.workflow.checks import train_config
    from liteship.trainer import train

    result = train(args.data, train_config(args), args.out, Progress(quiet=args.quiet), deterministic=not args.nondeterministic)
    val = "n/a" if result.val_top1 is None else f"{result.val_top1:.4f}"
    print(f"trained {result.card['arch']} -> {result.model_dir}")
    print(f"val_top1 {val}  test_top1 {result.test_top1:.4f}  params {result.card['params']}  "
          f"multiply-adds {result.card['multiply_adds']}  time {result.seconds:.1f} s")
    if result.card["skipped_count"]:
        print(f"skipped {result.card['skipped_count']} files (listed in card.json)")
    return 0


def cmd_optimize(args) -> int:
    from liteship.optimize import list_recipes, optimize_run
    from liteship.optimize import parse_recipes, resolve_configs

    if args.list:
        for spec in list_recipes():
            fields = ", ".join(f"{f.name}={f.default!r}" for f in dataclasses.fields(spec.config_cls))
            print(f"{spec.name:15s} {spec.summary}" + (f"\n{'':15s} [{spec.name}] {fields}" if fields else ""))
        return 0
    names = parse_recipes(args.recipes)
    records = optimize_run(args.run_dir, names, resolve_configs(names, args.config), Progress(quiet=args.quiet),
                           deterministic=not args.nondeterministic)
    print(f"{'variant':13s} {'model':22s} {'recipe':15s} {'size':>10s} {'gzip':>10s} {'sparsity':>8s}  status")
    for r in records:
        ok = r.get("status") == "ok"
        size = f"{r['size_bytes']:>10d} {r['gzip_bytes']:>10d} {r['sparsity']:>8.3f}" if ok else f"{'':>10s} {'':>10s} {'':>8s}"
        print(f"{r['id']:13s} {r['model']:22s} {r['recipe']:15s} {size}  {'ok' if ok else 'FAILED: ' + r['error'][:200]}")
    failed = [r for r in records if r.get("status") != "ok"]
    if failed:
        print(f"{len(failed)} of {len(records)} variants failed; their reasons are in variants/ID.json", file=console())
        return 1
    return 0


def _bench_options(args):
    from liteship.bench import BenchOptions, parse_backends

    return BenchOptions(backends=parse_backends(args.backends), threads=tuple(args.threads),
                        runs=args.runs, warmup=args.warmup, rounds=args.rounds, target_runtime=args.target_runtime,
                        instructions=args.instructions, task_api=args.task_api)


def cmd_bench(args) -> int:
    from liteship.bench import bench_file, bench_run
    from liteship.bench import to_json
    from liteship.files import write_output
    from liteship.judge import runtime_failures, runtime_notes
    from liteship.report import bench_table
    from liteship.bench import backends

    if args.list:
        for b in backends.registry().values():
            print(f"{b.name:11s} {b.kind:8s} {b.summary}")
        return 0
    options = _bench_options(args)
    progress = Progress(quiet=args.quiet)
    target = Path(args.target)
    if target.is_dir():
        records = bench_run(target, options, progress)  # also merged into RUN_DIR/results.jsonl
    else:
        records = bench_file(target, options, args.data, args.labels, progress)
    if args.json:
        write_output(args.json, to_json(records))
    print(bench_table(records))
    for line in sorted({f"{r.variant}: {p}" for r in records for p in (r.contract or {}).get("problems", [])}):
        print(f"contract: {line}")
    if target.is_dir():
        _print_stale(target, "benched")
    for line in runtime_notes(records) if args.target_runtime else []:
        print(line)
    failures = runtime_failures(records, args.target_runtime) if args.target_runtime else []
    for line in failures:
        print(line)
    return 1 if any(" cannot ship to " in line for line in failures) else 0


def _done_units(args, recipes: list[str], options) -> set[str]:
    """The progress labels of the units the run directory already holds, found by the sweep's own plan
    (:mod:`liteship.workflow.plan`): trainings done, variants made, and the benches (with their counts) of variants
    measured with these options. Nothing when the run directory is new."""
    from liteship.workflow.plan import plan_benches, plan_optimize, plan_train
    from liteship.workflow.sweep_config import train_config
    from liteship.bench import count_kinds
    from liteship.errors import LiteshipError
    from liteship.optimize import with_defaults
    from liteship.rundir import FLOAT, is_marked

    out, config = Path(args.out), args.sweep_config
    if not is_marked(out) or not (out / FLOAT).is_dir():
        return set()
    trains = plan_train(out, args.data, [train_config(config, m) for m in config.models])
    done = {u.label for u in trains if u.done}
    trained = [u.config.model_dir_name for u in trains if u.done]
    if trained:
        done |= {u.label for u in plan_optimize(out, trained, recipes, with_defaults(recipes, config.recipe_configs))
                 if u.done}
    try:
        benches = [u for u in plan_benches(out, options) if u.done and u.target.group in trained]
    except LiteshipError:  # no variant made yet
        benches = []
    kinds = count_kinds(options)
    return done | {f"{lead} {u.target.group} {u.target.recipe}{tail}" for u in benches
                   for lead, tail in (("bench", ""), *(("count", f" {k}") for k in kinds))}


def _sweep_plan(args) -> tuple[dict, float]:
    """Each unit's estimated seconds on this machine, and the sweep's on ``args.workers`` workers, counting only
    the units that will run (those the run directory holds are skipped)."""
    from liteship.workflow.pipeline import simulate_sweep
    from liteship.workflow.resources import fixed_seconds, pending_seconds
    from liteship.workflow.sweep_config import bench_options, train_config
    from liteship.optimize import parse_recipes

    config = args.sweep_config
    costs = {k: v for _, _, e in args.sweep_estimates for k, v in (e.units or {}).items()}
    models = [train_config(config, m).model_dir_name for m in config.models]
    recipes = parse_recipes(list(config.optimize.recipes))
    options = bench_options(config.bench, Progress(quiet=True))
    todo = pending_seconds(costs, _done_units(args, recipes, options))
    simulated, _ = simulate_sweep(models, recipes, options, todo, args.workers)
    return costs, simulated.seconds + fixed_seconds(todo)


def _print_estimate(args, seconds: float) -> None:
    from liteship.workflow.resources import duration, peak_memory

    peak = peak_memory([e for _, _, e in args.sweep_estimates], args.workers)
    workers = f"{args.workers} worker processes" if args.workers > 1 else "one worker"
    print(f"estimated: about {duration(seconds)} with {workers} (from costs measured on a 2-core x86, scaled by a "
          f"probe of this machine; only the work still to do is counted), peak memory about {peak / 1e9:.1f} GB",
          file=console())


def cmd_sweep(args) -> int:
    from liteship.workflow.executors import make_executor
    from liteship.workflow.sweep import sweep
    from liteship.report import sweep_summary

    started = time.perf_counter()
    costs, seconds = _sweep_plan(args)
    if not args.quiet:
        _print_estimate(args, seconds)
    records = sweep(args.data, args.out, args.sweep_config, Progress(quiet=args.quiet),
                    make_executor(args.executor, args.address, args.workers), costs)
    print(sweep_summary(records))
    print(f"sweep done in {time.perf_counter() - started:.0f} s: {args.out}/report.md, {args.out}/report.html, "
          f"{args.out}/pareto.png, {args.out}/results.jsonl")
    if args.tracking is not None:
        _log_to_tracker(Path(args.out), args.tracking)  # a tracker that is down is said; the sweep still exits 0
    return 0


def _log_to_tracker(run_dir: Path, tracking) -> bool:
    """Log the run directory to MLflow; print what was logged, or what was not and how to fill the gap."""
    from liteship.workflow.mlflow_log import track_run_dir

    started = time.perf_counter()
    logged = track_run_dir(run_dir, tracking)
    if logged.missed:
        print(*logged.lines(run_dir), sep="\n", file=console())
        return False
    lines = logged.lines(run_dir)
    print(f"{lines[0]} in {time.perf_counter() - started:.1f} s", *lines[1:], sep="\n")
    return True


def cmd_track(args) -> int:
    return 0 if _log_to_tracker(Path(args.run_dir), args.tracking) else 1


def _print_stale(run_dir, what: str) -> None:
    from liteship.bench import variant_status

    if (Path(run_dir) / VARIANTS).is_dir():
        for rec, why in variant_status(Path(run_dir))[1]:
            print(f"stale: {rec['id']} ({rec.get('model')} {rec.get('recipe')}) kept on disk, not {what}: {why}")


def cmd_gate(args) -> int:
    from liteship.files import write_output
    from liteship.judge import gate, load_budgets
    from liteship.report.verdicts import junit_xml, markdown_summary, render

    results = gate(args.run_dir, load_budgets(args.budgets), args.variant)
    print(render(results))
    if args.junit:
        write_output(args.junit, junit_xml(results))
    if args.markdown:
        write_output(args.markdown, markdown_summary(results))
    _print_stale(args.run_dir, "judged")
    passed = [vv for vv in results if vv.passed]
    ok = len(passed) == len(results) if (args.all or args.variant) else bool(passed)
    print(f"{len(passed)} of {len(results)} variants pass every budget: gate {'passed' if ok else 'FAILED'}")
    return 0 if ok else 1


def _mediapipe_line(release: Path) -> str:
    """What the release's check in MediaPipe Tasks found, in one line."""
    from liteship.rundir import MANIFEST, read_json

    manifest = read_json(release / MANIFEST, "liteship pick")
    found, kernels = manifest.get("task_api") or {}, manifest.get("resize_kernels") or {}
    warning = f"\nwarning: {kernels['warning']}" if kernels.get("warning") else ""
    change = found.get("change_vs_contract") or {}
    if change.get("beyond_interval"):
        warning += (f"\nwarning: MediaPipe's top-1 differs from liteship's LiteRT path by {change['value'] * 100:+.2f} pt "
                    f"(95 % paired interval [{change['interval'][0] * 100:+.2f}, {change['interval'][1] * 100:+.2f}] "
                    "pt): its own resize is not the contract's; see MODEL.md")
    if found.get("loaded"):
        whole = found.get("stretched") or {}
        return (f"MediaPipe: model.tflite carries TFLite metadata and loads in {found['runtime']}: top-1 "
                f"{found['top1']:.4f} on the {found['images']} test photos with the centre square as region of "
                f"interest (stretched whole: {whole.get('top1', float('nan')):.4f}), the same class as liteship's "
                f"LiteRT path on {found['agreement'] * 100:.1f} %" + warning)
    return f"MediaPipe: not checked ({found.get('error') or 'no check'})" + warning


def cmd_pick(args) -> int:
    from liteship.workflow.reports import write_reports
    from liteship.bench import current_results
    from liteship.judge import NothingPasses, load_budgets, pick

    budgets = load_budgets(args.budgets)
    records = current_results(Path(args.run_dir))[0]
    try:
        decision, release = pick(args.run_dir, budgets, args.prefer, records)
    except NothingPasses as exc:
        write_reports(Path(args.run_dir), records, exc.decision)
        print("no variant passes every budget; the closest misses:", file=console())
        for vv in exc.misses:
            print(f"  {vv.variant} ({vv.model} {vv.recipe}):", file=console())
            for v in vv.verdicts:
                if not v.passed:
                    print(f"      {v.message}", file=console())
        print(f"report: {Path(args.run_dir) / REPORT_HTML} (its decision section says the same)", file=console())
        return 1
    chosen = decision.chosen.verdict
    write_reports(Path(args.run_dir), records, decision)
    print(f"picked {chosen.variant} ({chosen.model} {chosen.recipe}): every budget passed")
    for v in chosen.verdicts:
        print(f"    {v.message}")
    if decision.tie is not None:  # --prefer accuracy could not tell the most accurate apart: say how it chose
        print(f"    {decision.tie.describe()}".replace("`", ""))
    print(f"release: {release}/ (model.tflite, labels.txt, manifest.json, MODEL.md, Classifier.swift)")
    print(_mediapipe_line(release))
    print(f"report: {Path(args.run_dir) / REPORT_HTML} opens with this decision")
    if args.tracking is not None:  # the sweep logged to a tracker: tag the picked variant's run there too
        _log_to_tracker(Path(args.run_dir), args.tracking)
    return 0


def _variant_records(records, run_dir: Path, wanted: str, flag: str):
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


def cmd_explain(args) -> int:
    from liteship.bench import current_results, explain
    from liteship.report.explain import render

    run_dir = Path(args.run_dir)
    records = current_results(run_dir)[0]
    a = explain(*_variant_records(records, run_dir, args.variant, "VARIANT"))
    b = explain(*_variant_records(records, run_dir, args.vs, "--vs")) if args.vs else None
    print(render(a, b), end="")
    return 0


def cmd_compare(args) -> int:
    from liteship.files import write_output
    from liteship.judge import SAME_MEASUREMENTS, compare, load_thresholds, read_side, same_measurements, to_json
    from liteship.report.compare import markdown, render

    thresholds = load_thresholds(args.thresholds, required=True)
    changes, added, removed = compare(read_side(args.base, "base"), read_side(args.new, "new"), thresholds)
    note = f"\nnote: {SAME_MEASUREMENTS}" if same_measurements(args.base, args.new) else ""
    print(render(changes, added, removed) + note)
    if args.markdown:
        write_output(args.markdown, markdown(changes, added, removed))
    if args.json:
        write_output(args.json, json.dumps(to_json(changes, added, removed, thresholds), indent=2) + "\n")
    return 1 if any(c.failed for c in changes) else 0


def _arm64_runtime(args) -> int:
    from liteship.bench import arm64_env

    if args.action == "install":
        started = time.perf_counter()
        env = arm64_env.install(args.with_system_packages, log=Progress().log)
        print(f"arm64 ready in {env} ({time.perf_counter() - started:.0f} s): backends "
              f"{', '.join(arm64_env.EMULATIONS)}")
        return 0
    return _removed(*arm64_env.remove(), "no arm64 environment in the cache")


def _mediapipe_runtime(args) -> int:
    from liteship import task_api

    if args.action == "install":
        env = task_api.install(log=Progress().log)
        print(f"mediapipe {task_api.VERSION} ready in {env}: variants made from now on carry TFLite metadata, and "
              "pick checks the release in MediaPipe's ImageClassifier")
        return 0
    return _removed(*task_api.remove(), "no mediapipe environment in the cache")


def cmd_runtimes(args) -> int:
    from liteship import task_api
    from liteship.bench import arm64_env, legacy

    if args.version == "arm64":
        return _arm64_runtime(args)
    if args.version == "mediapipe":
        return _mediapipe_runtime(args)
    if args.action == "list":
        arm = arm64_env.status()
        if arm is not None:
            print(f"arm64  {arm64_env.env_dir()}  ({arm['qemu']}; aarch64 ai-edge-litert "
                  f"{arm['wheels'].get('ai-edge-litert')}, numpy {arm['wheels'].get('numpy')}; plugin sha256 "
                  f"{arm['plugin_sha256'][:12]}; backends {', '.join(arm64_env.EMULATIONS)})")
        else:
            print("arm64  not installed: `liteship runtimes install arm64 --with-system-packages` (as root) makes it")
        print(f"mediapipe  {task_api.env_dir()}  (metadata writers and ImageClassifier {task_api.VERSION})"
              if task_api.installed() else f"mediapipe  not installed: `{task_api.INSTALL}` makes it")
        have = legacy.cached()
        print(f"cache: {legacy.runtimes_dir()} (LITESHIP_CACHE moves it)")
        for version, path in have.items():
            print(f"{legacy.DIST} {version}  {path}")
        if not have:
            print("no runtime installed: `liteship runtimes install 2.14` makes one (needs PyPI)")
        return 0
    if args.action == "install":
        env = legacy.install(args.version, log=Progress().log)
        print(f"{legacy.DIST} {legacy.resolve(args.version)} ready in {env}")
        return 0
    return _removed(*legacy.remove(args.version), f"no {legacy.DIST} {args.version} in the cache")


def _removed(gone: list, left: list, nothing: str) -> int:
    """Say what `runtimes remove` deleted; a folder it left (not liteship's) is an error naming it and why."""
    from liteship.cache import in_the_way

    for path in gone:
        print(f"removed {path}")
    if left:
        raise in_the_way(*left[0]) if len(left) == 1 else LiteshipError(
            f"{len(left)} folders in the way of liteship's environments were left as they are: " +
            "; ".join(f"{p} ({why})" for p, why in left), "", "move them out of liteship's cache (or delete them "
            "yourself if they are yours to delete)")
    if not gone:
        print(nothing)
    return 0

