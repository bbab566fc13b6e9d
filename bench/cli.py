"""The ``liteship`` command: parse, call the package API, print. No logic lives here."""

from __future__ import annotations

import argparse
import os
import sys

from trainer.errors import LiteshipError


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
    from trainer.models import list_archs

    if args.list:
        for spec in list_archs():
            sizes = f"{spec.min_size}..{spec.max_size or 'any'} px, default {spec.default_size}"
            alphas = f"; alpha {', '.join(map(str, spec.alphas))}" if spec.alphas else ""
            print(f"{spec.name:14s} {spec.summary} ({sizes}{alphas})")
        return 0
    if not args.data or not args.out:
        raise LiteshipError("liteship train needs --data and --out", "",
                            "for example: liteship train --data digits --arch small_cnn --size 32 --out runs/demo")
    from trainer import TrainConfig, train
    from trainer.progress import Progress

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

    from optimize import list_recipes, optimize_run
    from trainer.progress import Progress

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


COMMANDS = {"train": cmd_train, "optimize": cmd_optimize}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liteship", description="Ship image classifiers to phones.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _train_parser(sub)
    _optimize_parser(sub)
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
    except KeyboardInterrupt:
        print("liteship: interrupted; finished outputs are kept, re-run to continue", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
