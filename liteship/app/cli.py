"""The ``liteship`` command: parse, call the package API, print. No logic lives here."""

from __future__ import annotations

import argparse
import errno
import os
import sys

from liteship.errors import LiteshipError


def _train_parser(sub) -> None:
    p = sub.add_parser("train", help="train a float model from labelled images",
                       description="Train a float Keras model (and its float .tflite) from labelled images.")
    p.add_argument("--list", action="store_true", help="list the architectures and exit")
    p.add_argument("--data", help="a folder of class folders, an archive of one (.tar/.tar.gz/.tgz/.zip), or 'digits'")
    p.add_argument("--arch", default="small_cnn", help="architecture (see --list); default small_cnn")
    p.add_argument("--alpha", type=float, help="width multiplier (mobilenet_v2: 0.35, 0.5, 0.75, 1.0, ...)")
    p.add_argument("--size", type=int, help="input size in px (default: the architecture's)")
    p.add_argument("--weights", default="imagenet",
                   help="transfer base weights: imagenet (downloaded by Keras), none, or a .h5 PATH")
    p.add_argument("--epochs", type=int, help="epochs (frozen-base epochs for transfer models)")
    p.add_argument("--fine-tune-epochs", type=int, help="fine-tuning epochs for transfer models")
    p.add_argument("--fine-tune-at", default="100", help="first base layer (index or name) to fine-tune")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="run directory to write")
    p.add_argument("--quiet", action="store_true", help="print only the result")


def cmd_train(args) -> int:
    from liteship.trainer.models import list_archs

    if args.list:
        for spec in list_archs():
            sizes = f"{spec.min_size}..{spec.max_size or 'any'} px, default {spec.default_size}"
            alphas = f"; alpha {', '.join(map(str, spec.alphas))}" if spec.alphas else ""
            print(f"{spec.name:14s} {spec.summary} ({sizes}{alphas})")
        return 0
    if not args.data or not args.out:
        raise LiteshipError("liteship train needs --data and --out", "",
                            "for example: liteship train --data digits --arch small_cnn --size 32 --out runs/demo")
    from liteship.trainer import TrainConfig, train
    from liteship.progress import Progress

    config = TrainConfig(arch=args.arch, size=args.size, alpha=args.alpha, weights=args.weights,
                         epochs=args.epochs, fine_tune_epochs=args.fine_tune_epochs, fine_tune_at=args.fine_tune_at,
                         batch_size=args.batch_size, seed=args.seed)
    result = train(args.data, config, args.out, Progress(quiet=args.quiet))
    val = "n/a" if result.val_top1 is None else f"{result.val_top1:.4f}"
    print(f"trained {result.card['arch']} -> {result.model_dir}")
    print(f"val_top1 {val}  test_top1 {result.test_top1:.4f}  params {result.card['params']}  "
          f"multiply-adds {result.card['multiply_adds']}  time {result.seconds:.1f} s")
    if result.card["skipped_count"]:
        print(f"skipped {result.card['skipped_count']} files (listed in card.json)")
    return 0


def _optimize_parser(sub) -> None:
    p = sub.add_parser("optimize", help="make .tflite variants of a run's float models",
                       description="Turn every float model of a run directory into .tflite variants.")
    p.add_argument("run_dir", nargs="?", help="run directory written by `liteship train`")
    p.add_argument("--list", action="store_true", help="list the recipes and their settings, and exit")
    p.add_argument("--recipes", default="all", help="all, or names separated by commas")
    p.add_argument("--config", help="TOML file with one table per recipe, overriding its settings")
    p.add_argument("--quiet", action="store_true")


def cmd_optimize(args) -> int:
    import dataclasses

    from liteship.optimize import list_recipes, optimize_run
    from liteship.progress import Progress

    if args.list:
        for spec in list_recipes():
            fields = ", ".join(f"{f.name}={f.default!r}" for f in dataclasses.fields(spec.config_cls))
            print(f"{spec.name:15s} {spec.summary}" + (f"\n{'':15s} [{spec.name}] {fields}" if fields else ""))
        return 0
    if not args.run_dir:
        raise LiteshipError("liteship optimize needs a run directory", "",
                            "for example: liteship optimize runs/demo --recipes int8,prune_int8")
    records = optimize_run(args.run_dir, args.recipes, args.config, Progress(quiet=args.quiet))
    print(f"{'variant':13s} {'model':22s} {'recipe':15s} {'size':>10s} {'gzip':>10s} {'sparsity':>8s}  status")
    for r in records:
        ok = r.get("status") == "ok"
        size = f"{r['size_bytes']:>10d} {r['gzip_bytes']:>10d} {r['sparsity']:>8.3f}" if ok else f"{'':>10s} {'':>10s} {'':>8s}"
        print(f"{r['id']:13s} {r['model']:22s} {r['recipe']:15s} {size}  {'ok' if ok else 'FAILED: ' + r['error'][:200]}")
    failed = [r for r in records if r.get("status") != "ok"]
    if failed:
        print(f"{len(failed)} of {len(records)} variants failed; their reasons are in variants/ID.json", file=sys.stderr)
        return 1
    return 0


def _bench_parser(sub) -> None:
    p = sub.add_parser("bench", help="measure .tflite variants: size, latency, accuracy, delegates",
                       description="Measure a .tflite, or every variant of a run directory, on each backend.")
    p.add_argument("target", nargs="?", help="MODEL.tflite or RUN_DIR")
    p.add_argument("--list", action="store_true", help="list the backends and exit")
    p.add_argument("--data", help="class-folder path or 'digits' (for a .tflite); a run uses its test split")
    p.add_argument("--labels", help="labels file (default: labels.txt beside the model)")
    p.add_argument("--backends", default="all", help="comma-separated; default: all (see --list)")
    p.add_argument("--threads", default="1", help="comma-separated thread counts, e.g. 1,2")
    p.add_argument("--runs", type=int, default=50, help="timed invokes per session (default 50)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds (default 5)")
    p.add_argument("--target-runtime", help="TFLite/LiteRT release the app ships, e.g. 2.14: too-new ops exit 1")
    p.add_argument("--json", help="write the records as a JSON list to this file")
    p.add_argument("--quiet", action="store_true")


def _int_list(text: str, flag: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise LiteshipError(f"{flag} {text!r} is not a list of positive whole numbers", "", f"for example {flag} 1,2")
    return values


def cmd_bench(args) -> int:
    from pathlib import Path

    from liteship.runtime import BACKENDS
    from liteship.bench.record import to_json
    from liteship.bench.run import BenchOptions, bench_file, bench_run, parse_backends
    from liteship.files import atomic_write_text
    from liteship.progress import Progress

    if args.list:
        for b in BACKENDS.values():
            print(f"{b.name:11s} {b.kind:8s} {b.summary}")
        return 0
    if not args.target:
        raise LiteshipError("liteship bench needs a MODEL.tflite or a RUN_DIR", "",
                            "for example: liteship bench runs/demo --backends xnnpack")
    for flag, value in (("--runs", args.runs), ("--rounds", args.rounds), ("--warmup", args.warmup + 1)):
        if value < 1:
            raise LiteshipError(f"{flag} must be at least {1 if flag != '--warmup' else 0}", "", f"fix {flag}")
    options = BenchOptions(backends=parse_backends(args.backends), threads=_int_list(args.threads, "--threads"),
                           runs=args.runs, warmup=args.warmup, rounds=args.rounds, target_runtime=args.target_runtime)
    progress = Progress(quiet=args.quiet)
    target = Path(args.target)
    if target.is_dir():
        records = bench_run(target, options, progress)  # also merged into RUN_DIR/results.jsonl
    else:
        records = bench_file(target, options, args.data, args.labels, progress)
    if args.json:
        atomic_write_text(args.json, to_json(records))
    print(render_table(records))
    too_new = sorted({f"{r.variant}: {op}" for r in records for op in (r.compat or {}).get("too_new", [])})
    broken = sorted({f"{r.variant}: {p}" for r in records for p in (r.contract or {}).get("problems", [])})
    for line in broken:
        print(f"contract: {line}")
    if args.target_runtime:
        failed = sorted({r.variant for r in records if (r.compat or {}).get("ok") is False})
        for line in too_new:
            print(f"too new for {args.target_runtime}: {line}")
        for variant in failed:
            rec = next(r for r in records if r.variant == variant)
            print(f"{variant} needs TFLite {rec.compat['min_runtime']} (target {args.target_runtime})")
        if failed:
            return 1
    return 0


def render_table(records) -> str:
    head = f"{'variant':14s} {'recipe':14s} {'backend':10s} {'thr':>3s} {'p50 ms':>9s} {'95% CI':>17s} " \
           f"{'top1':>7s} {'agree':>7s} {'size':>9s} {'deleg':>6s}  notes"
    rows = [head]
    for r in records:
        p50 = f"{r.latency_ms.p50:9.3f}" if r.latency_ms else f"{'':9s}"
        ci = f"[{r.latency_ms.ci_low:.3f}, {r.latency_ms.ci_high:.3f}]" if r.latency_ms else ""
        top1 = f"{r.top1:7.4f}" if r.top1 is not None else f"{'':7s}"
        agree = f"{r.agreement:7.4f}" if r.agreement is not None else f"{'':7s}"
        deleg = f"{r.delegated:6.2f}" if r.delegated is not None else f"{'':6s}"
        notes = "; ".join(r.notes)[:80]
        rows.append(f"{r.variant[:14]:14s} {(r.recipe or '-')[:14]:14s} {r.backend:10s} {r.threads or '':>3} {p50} "
                    f"{ci:>17s} {top1} {agree} {r.size_bytes:9d} {deleg}  {notes}")
    return "\n".join(rows)


def _sweep_parser(sub) -> None:
    p = sub.add_parser("sweep", help="train, optimize, bench and report in one resumable run",
                       description="Train each model, make every variant, bench them and write the reports.")
    p.add_argument("--data", required=True, help="class-folder path, archive, or 'digits'")
    p.add_argument("--config", help="sweep TOML ([train], [[models]], [optimize], [bench]); default: the built-in sweep")
    p.add_argument("--out", required=True, help="run directory (re-running resumes and skips finished work)")
    p.add_argument("--executor", default="local", help="local (default) or ray")
    p.add_argument("--address", help="Ray cluster address (default with --executor ray: start a local Ray)")
    p.add_argument("--quiet", action="store_true")


def cmd_sweep(args) -> int:
    import time

    from liteship.report.tables import rows
    from liteship.app.sweep import load_sweep_config, sweep
    from liteship.progress import Progress

    started = time.perf_counter()
    from liteship.app.executors import make_executor

    config = load_sweep_config(args.config)
    records = sweep(args.data, args.out, config, Progress(quiet=args.quiet), make_executor(args.executor, args.address))
    for r in rows(records):
        drop = "" if r.drop is None else f" ({-r.drop * 100 + 0.0:+.2f} pt vs float)"
        p50 = "" if r.p50_ms is None else f" p50 {r.p50_ms:.3f} ms"
        top1 = "n/a" if r.top1 is None else f"{r.top1:.4f}"
        print(f"{'*' if r.front else ' '} {r.model:22s} {r.recipe:15s} top-1 {top1}{drop} {r.size_kb:9.1f} KB{p50}")
    print(f"sweep done in {time.perf_counter() - started:.0f} s: {args.out}/report.md, {args.out}/report.html, "
          f"{args.out}/pareto.png, {args.out}/results.jsonl")
    return 0


def _budget_args(p) -> None:
    p.add_argument("run_dir", help="run directory with results.jsonl")
    p.add_argument("--budgets", help="liteship.toml ([budgets]) or pyproject.toml ([tool.liteship.budgets]); "
                                     "default: accuracy drop <= 2 pt, agreement >= 0.97, contract kept")


def _gate_parser(sub) -> None:
    p = sub.add_parser("gate", help="judge variants against budgets; exit 1 when they fail",
                       description="Judge variants against every budget: measured value, limit, margin.")
    _budget_args(p)
    p.add_argument("--variant", help="judge only this variant ID or recipe")
    p.add_argument("--all", action="store_true", help="pass only when every variant passes")
    p.add_argument("--junit", help="write JUnit XML here")
    p.add_argument("--markdown", help="write a Markdown summary here (e.g. $GITHUB_STEP_SUMMARY)")


def cmd_gate(args) -> int:
    from liteship.judge.budgets import load_budgets
    from liteship.judge.gate import gate, junit_xml, markdown_summary, render
    from liteship.files import atomic_write_text

    results = gate(args.run_dir, load_budgets(args.budgets), args.variant)
    print(render(results))
    if args.junit:
        atomic_write_text(args.junit, junit_xml(results))
    if args.markdown:
        atomic_write_text(args.markdown, markdown_summary(results))
    passed = [vv for vv in results if vv.passed]
    ok = len(passed) == len(results) if (args.all or args.variant) else bool(passed)
    print(f"{len(passed)} of {len(results)} variants pass every budget: gate {'passed' if ok else 'FAILED'}")
    return 0 if ok else 1


def _pick_parser(sub) -> None:
    p = sub.add_parser("pick", help="choose the variant to ship and write RUN_DIR/release/",
                       description="Choose the best variant that passes every budget and bundle it for the app.")
    _budget_args(p)
    p.add_argument("--prefer", default="accuracy", help="accuracy (default; ties to the smaller file), size or latency")


def cmd_pick(args) -> int:
    from liteship.judge.budgets import load_budgets
    from liteship.judge.pick import NothingPasses, pick

    try:
        chosen, release = pick(args.run_dir, load_budgets(args.budgets), args.prefer)
    except NothingPasses as exc:
        print("no variant passes every budget; the closest misses:", file=sys.stderr)
        for vv in exc.misses:
            print(f"  {vv.variant} ({vv.model} {vv.recipe}):", file=sys.stderr)
            for v in vv.verdicts:
                if not v.passed:
                    print(f"      {v.message}", file=sys.stderr)
        return 1
    print(f"picked {chosen.variant} ({chosen.model} {chosen.recipe}): every budget passed")
    for v in chosen.verdicts:
        print(f"    {v.message}")
    print(f"release: {release}/model.tflite, {release}/labels.txt, {release}/manifest.json")
    return 0


COMMANDS = {"train": cmd_train, "optimize": cmd_optimize, "bench": cmd_bench, "sweep": cmd_sweep, "gate": cmd_gate,
            "pick": cmd_pick}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liteship", description="Ship image classifiers to phones.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _train_parser(sub)
    _optimize_parser(sub)
    _bench_parser(sub)
    _sweep_parser(sub)
    _gate_parser(sub)
    _pick_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # this process's own entry point: quiet TF's C++ logs
    try:
        return COMMANDS[args.command](args)
    except LiteshipError as exc:
        print(f"liteship {args.command}: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        if exc.errno not in _ENVIRONMENT_ERRNOS:
            raise
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"liteship {args.command}: error: {os.strerror(exc.errno)}{where}. "
              f"{_ENVIRONMENT_ERRNOS[exc.errno]} Files already written are complete (every write is atomic); "
              "fix this and re-run the same command to continue.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("liteship: interrupted; finished outputs are kept, re-run to continue", file=sys.stderr)
        return 130


# Errors of the machine, not of liteship: said plainly, exit 2, never a traceback.
_ENVIRONMENT_ERRNOS = {
    errno.ENOSPC: "The disk is full: free space or pass --out on another disk.",
    errno.EDQUOT: "The disk quota is used up: free space or pass --out elsewhere.",
    errno.EROFS: "The file system is read-only: pass --out a writable folder.",
    errno.EACCES: "Permission denied: pass --out a folder you can write to.",
    errno.EPERM: "Operation not permitted: pass --out a folder you can write to.",
}


if __name__ == "__main__":
    sys.exit(main())
