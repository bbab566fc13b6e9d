"""The ``liteship`` command line: the parsers and :func:`main`, a thin shell over :mod:`liteship.workflow`.

``main`` parses the flags, builds the command's typed request from them
(:func:`build_request`; the namespace is never written to), runs it with
:func:`liteship.workflow.execute.execute` (the checks, the run directory's
lock, the frameworks' logs to ``RUN_DIR/logs/frameworks.log``, the work), and
prints the result (:mod:`.commands`). It turns
:class:`~liteship.errors.LiteshipError` and the machine's own errors (disk
full, read-only, permission) into a message and exit 2, and Ctrl-C or SIGTERM
into 130 or 143.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path

from liteship.app.flags import flag_of, real, request_flag, whole, workers_flag
from liteship.bench import BenchOptions
from liteship.trainer import AUGMENTATIONS, TrainConfig
from liteship.trainer.models import ALPHA_LIMITS, SIZE_LIMITS
from liteship.errors import LiteshipError
from liteship.logs import replace_unencodable
from liteship.rundir import LOG
from liteship.signals import SIGTERM_EXIT, sigterm_as_interrupt, stopped_by_sigterm


def _framework_args(p, determinism: bool = True) -> None:
    p.add_argument("--verbose", action="store_true",
                   help=f"show TensorFlow's, absl's and the converter's logs here instead of in RUN_DIR/{LOG}")
    if determinism:
        p.add_argument("--nondeterministic", action="store_true",
                       help="leave TensorFlow's op determinism off (faster on some machines; "
                            "the same seed may then give slightly different weights)")


def _augment_args(p, sweep: bool = False) -> None:
    p.add_argument("--augment", type=_augment_steps, metavar="STEPS",
                   help="augmentation while training: steps separated by commas, from " + ", ".join(AUGMENTATIONS)
                   + ", or none (default: " + ("the config's [train] augment, else " if sweep else "")
                   + "crop,flip for photos, none for digits; the card says which)")


def _augment_steps(text: str) -> tuple[str, ...]:
    """``--augment crop,flip``: the steps named, in the order given (the checks say an unknown one); none: ()."""
    steps = tuple(s.strip() for s in text.split(",") if s.strip())
    return () if steps in ((), ("none",)) else steps


_augment_steps.__name__ = "steps"


def _train_parser(sub) -> None:
    p = sub.add_parser("train", help="train a float model from labelled images",
                       description="Train a float Keras model (and its float .tflite) from labelled images.")
    p.add_argument("--list", action="store_true", help="list the architectures and exit")
    t = TrainConfig()  # the one home of the training defaults and ranges (the sweep's [train] takes them too)
    p.add_argument("--data", help="a folder of class folders, an archive of one (.tar/.tar.gz/.tgz/.zip), or 'digits'")
    p.add_argument("--arch", default=t.arch, help="architecture (see --list); default small_cnn")
    p.add_argument("--alpha", type=real(*ALPHA_LIMITS, 0.35), help="width multiplier (mobilenet_v2: 0.35, 0.5, 0.75, 1.0, ...)")
    p.add_argument("--size", type=whole(*SIZE_LIMITS, 96), help="input size in px (default: the architecture's)")
    p.add_argument("--weights", help="transfer base weights: imagenet (the default; downloaded by Keras), none, or "
                                     "a .h5 PATH (transfer architectures only)")
    p.add_argument("--epochs", type=flag_of(TrainConfig, "epochs", 5),
                   help="epochs (frozen-base epochs for transfer models)")
    p.add_argument("--fine-tune-epochs", type=flag_of(TrainConfig, "fine_tune_epochs", 5),
                   help="fine-tuning epochs for transfer models")
    p.add_argument("--fine-tune-at", help="first base layer (index or name) to fine-tune; default 100 (transfer "
                                          "architectures only)")
    p.add_argument("--batch-size", type=flag_of(TrainConfig, "batch_size", 32), default=t.batch_size)
    p.add_argument("--seed", type=flag_of(TrainConfig, "seed", 0), default=t.seed)
    _augment_args(p)
    p.add_argument("--out", help="run directory to write")
    p.add_argument("--quiet", action="store_true", help="print only the result")
    _framework_args(p)


def _optimize_parser(sub) -> None:
    p = sub.add_parser("optimize", help="make .tflite variants of a run's float models",
                       description="Turn every float model of a run directory into .tflite variants.")
    p.add_argument("run_dir", nargs="?", help="run directory written by `liteship train`")
    p.add_argument("--list", action="store_true", help="list the recipes and their settings, and exit")
    p.add_argument("--recipes", default="all", help="all, or names separated by commas")
    p.add_argument("--config", help="TOML file with one table per recipe, overriding its settings")
    p.add_argument("--quiet", action="store_true")
    _framework_args(p)


def _bench_parser(sub) -> None:
    p = sub.add_parser("bench", help="measure .tflite variants: size, latency, accuracy, delegates",
                       description="Measure a .tflite, or every variant of a run directory, on each backend.")
    p.add_argument("target", nargs="?", help="MODEL.tflite or RUN_DIR")
    p.add_argument("--list", action="store_true", help="list the backends and exit")
    p.add_argument("--data", help="class-folder path or 'digits' (for a .tflite); a run uses its test split")
    p.add_argument("--labels", help="labels file (default: labels.txt beside the model)")
    p.add_argument("--backends", help="comma-separated, or all (every backend available here); default: "
                   + ",".join(BenchOptions().backends) + " (see --list)")
    d = BenchOptions()  # the one home of the bench defaults (the sweep's [bench] takes them too)
    p.add_argument("--threads", type=flag_of(BenchOptions, "threads", "1,2"), default=d.threads,
                   help="comma-separated thread counts, e.g. 1,2 (default 1)")
    p.add_argument("--runs", type=flag_of(BenchOptions, "runs", 50), default=d.runs,
                   help=f"timed invokes per round (default {d.runs})")
    p.add_argument("--warmup", type=flag_of(BenchOptions, "warmup", 5), default=d.warmup, help=f"default {d.warmup}")
    p.add_argument("--rounds", type=flag_of(BenchOptions, "rounds", 10), default=d.rounds,
                   help=f"interleaved timing rounds (default {d.rounds})")
    p.add_argument("--target-runtime", help="TFLite/LiteRT release the app ships, e.g. 2.14: too-new ops exit 1")
    p.add_argument("--instructions", action="store_true",
                   help="also count instructions per invoke under valgrind (xnnpack records; needs valgrind)")
    p.add_argument("--task-api", choices=("mediapipe",),
                   help="also classify the scored images in MediaPipe Tasks' ImageClassifier (needs `liteship "
                        "runtimes install mediapipe`)")
    p.add_argument("--json", help="write the records as a JSON list to this file")
    p.add_argument("--quiet", action="store_true")
    _framework_args(p, determinism=False)


def _sweep_parser(sub) -> None:
    p = sub.add_parser("sweep", help="train, optimize, bench and report in one resumable run",
                       description="Train each model, make every variant, bench them and write the reports.")
    p.add_argument("--data", required=True, help="class-folder path, archive, or 'digits'")
    p.add_argument("--config", help="sweep TOML ([train], [[models]], [optimize], [bench]); default: the built-in sweep")
    p.add_argument("--out", required=True, help="run directory (re-running resumes and skips finished work)")
    p.add_argument("--executor", default="local", help="local (default) or ray")
    p.add_argument("--address", help="Ray cluster address (default with --executor ray: start a local Ray)")
    p.add_argument("--workers", type=workers_flag, default="auto", help="worker processes of the local executor: training, making "
                   "variants and counting instructions run side by side; scoring and timing run after them, alone "
                   "(default auto: one per core, as many as memory allows, at most 4)")
    p.add_argument("--track", metavar="mlflow", help="log the sweep to MLflow: a parent run and a run per variant "
                                                       "(default store: RUN_DIR/mlflow.db; [track] in the config)")
    _augment_args(p, sweep=True)
    p.add_argument("--quiet", action="store_true")
    _framework_args(p, determinism=False)


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


def _pick_parser(sub) -> None:
    p = sub.add_parser("pick", help="choose the variant to ship and write RUN_DIR/release/",
                       description="Choose the best variant that passes every budget and bundle it for the app.")
    _budget_args(p)
    p.add_argument("--prefer", default="accuracy",
                   help="accuracy (default; ties to the smaller file), size, latency, or instructions (the budget "
                        "backend's count, fewest first)")


def _compare_parser(sub) -> None:
    p = sub.add_parser("compare", help="compare a run with its baseline; exit 1 when a threshold is broken",
                       description="Compare NEW with BASE (run directories or results.jsonl files), variant by variant.")
    p.add_argument("base", help="the baseline: main's run directory or results.jsonl")
    p.add_argument("new", help="the run to judge: a run directory or results.jsonl")
    p.add_argument("--thresholds", help="liteship.toml ([compare]) or pyproject.toml ([tool.liteship.compare])")
    p.add_argument("--markdown", help="write a Markdown table here (a pull-request comment)")
    p.add_argument("--json", help="write the comparison as JSON here")


def _explain_parser(sub) -> None:
    p = sub.add_parser("explain", help="a variant's ops, dtypes, multiply-adds and instructions; --vs: what differs",
                       description="Explain what a variant computes, and what makes it differ from another.")
    p.add_argument("run_dir", help="run directory with results.jsonl and variants/")
    p.add_argument("variant", help="variant ID (or a recipe name, when one model has it)")
    p.add_argument("--vs", help="another variant ID or recipe to compare with")
    p.add_argument("--model-explorer", metavar="FILE", help="write each op's quantization error (SNR in dB against "
                   "the float model) as node data for Google's Model Explorer (pip install 'liteship[explorer]')")


def _runtimes_parser(sub) -> None:
    p = sub.add_parser("runtimes", help="other runtimes: tflite-runtime releases (real loads), arm64 (the phone's "
                                        "ISA under QEMU) and mediapipe (metadata, Tasks): list, install, remove",
                       description="Isolated environments in liteship's cache: tflite-runtime releases for "
                                   "--target-runtime, arm64 for the arm64-a14 and arm64-a15 backends, arm64-a18 (an "
                                   "SME2 QEMU built from Debian's source, about 5 minutes) for the arm64-a18 backend, "
                                   "and mediapipe for TFLite metadata and MediaPipe's ImageClassifier.")
    p.add_argument("action", choices=("list", "install", "remove"))
    p.add_argument("version", nargs="?", help="a tflite-runtime release, e.g. 2.14, arm64, arm64-a18 or mediapipe "
                                               "(install, remove)")
    p.add_argument("--with-system-packages", action="store_true",
                   help="arm64, arm64-a18: install the Debian packages they need (qemu-user debootstrap gcc) with "
                        "apt-get, as root")


def _track_parser(sub) -> None:
    p = sub.add_parser("track", help="log a run directory to MLflow (again): the same runs a sweep with --track logs",
                       description="Log a run directory to MLflow: a parent run, a nested run per current variant, "
                                   "stale ones tagged. Logging again updates the same runs.")
    p.add_argument("run_dir", help="run directory with results.jsonl")
    p.add_argument("--uri", help="tracking URI; default: where the sweep logged (RUN_DIR/track.json), else "
                                 "MLFLOW_TRACKING_URI, else sqlite:///RUN_DIR/mlflow.db")
    p.add_argument("--experiment", help="experiment name; default: the sweep's, else the run directory's name")


def _device_parser(sub) -> None:
    p = sub.add_parser("device", help="a phone's milliseconds: a kit of the variants out, the phone's numbers back "
                       "in, the rest predicted",
                       description="A device kit of a run's current variants, the phone's measurements of them "
                                   "imported as records of a device backend (device:iphone-13) that budgets judge, "
                                   "and the variants not measured predicted from their counts (predicted:iphone-13).")
    actions = p.add_subparsers(dest="device_action", metavar="ACTION", required=True)
    kit = actions.add_parser("kit", help="write each current variant's .tflite and how to measure it on a phone",
                             description="Write the .tflite files (the variant ID in each name), benchmark_params.json "
                                         "for the iOS benchmark app, an adb script and a README into --out.")
    kit.add_argument("run_dir", help="run directory with current variants")
    kit.add_argument("--out", help="folder to write the kit into (new, empty, or a kit liteship wrote)")
    imp = actions.add_parser("import", help="bring a device's measurements into the run as records",
                             description="Read benchmark_model's stdout or logcat, results.pb, the LiteRT Python tool's "
                                         "JSON or stdout, leaderboard rows or a session folder; match each to a current "
                                         "variant; merge them into results.jsonl.")
    imp.add_argument("run_dir", help="run directory whose variants were measured")
    imp.add_argument("files", nargs="+", metavar="FILE", help="a measurement file or a litert-samples session folder")
    imp.add_argument("--device", help='the device measured on, e.g. "iPhone 13" (its backend: device:iphone-13)')
    imp.add_argument("--model", action="append", metavar="FILE=VARIANT",
                     help="the variant a measured model file is (when its name holds no variant ID); repeatable")
    imp.add_argument("--chip", help="the device's chip, e.g. A15 (default: read from a model identifier the source "
                     "gives, else from the device's name), kept with the records; it says which counts predict it")
    imp.add_argument("--threads", type=request_flag("device import", "threads", 1), help="the threads the measurements ran on, for a source "
                     "that does not say (a leaderboard row; benchmark_model's default is one)")
    pre = actions.add_parser("predict", help="predict a device's ms for the variants not measured on it, from counts",
                             description="Calibrate each device's milliseconds on its measured variants' counts on the "
                                         "ISA profile that stands for its chip (arm64-a15 for A15-A17, M2, M3, ...), "
                                         "and write predicted:<device> records, with a prediction interval, for the "
                                         "variants not measured. device import does this after each import; run it "
                                         "after new counts (liteship bench RUN_DIR --backends arm64-a15).")
    pre.add_argument("run_dir", help="run directory with imported device measurements")
    pre.add_argument("--device", help='only this device\'s, e.g. "iPhone 13" (default: every device\'s)')
    pre.add_argument("--chip", help="the device's chip, e.g. A15, M4 Max, Tensor G4, or its ISA class (neon-dotprod, "
                     "neon-i8mm, sme2), over what its records keep")


class _Version(argparse.Action):
    """``--version``: liteship's, Python's and the tools' it trains, quantizes and measures with, read from the
    installed packages' metadata (nothing is imported: no TensorFlow start-up), then exit 0."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print liteship's version and those of the tools it uses, and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        from liteship.versions import VARIANT_DISTS, versions

        found = versions(VARIANT_DISTS + ("mlflow", "ray"))
        tools = ", ".join(f"{k} {v or 'not installed'}" for k, v in found.items() if k != "liteship")
        print(f"liteship {found['liteship']} ({tools})")
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liteship", description="Ship image classifiers to phones.")
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (_train_parser, _optimize_parser, _bench_parser, _sweep_parser, _gate_parser, _pick_parser,
                _compare_parser, _explain_parser, _runtimes_parser, _track_parser, _device_parser):
        add(sub)
    return parser


def _run(args) -> int:
    from liteship.app.commands import print_estimate, print_framework_log, show
    from liteship.app.requests import build_request
    from liteship.progress import Progress
    from liteship.workflow.execute import execute

    quiet = getattr(args, "quiet", False)
    result = execute(build_request(args), Progress(quiet=quiet), on_estimate=None if quiet else print_estimate,
                     on_result=show)
    if not quiet:
        print_framework_log(result)
    return result.exit_code


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        with sigterm_as_interrupt():  # SIGTERM from here on takes Ctrl-C's path (liteship.signals)
            return _run(args)
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
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Terminated): the same path, workers ended
        what, code = ("stopped by SIGTERM", SIGTERM_EXIT) if stopped_by_sigterm(exc) else ("interrupted", 130)
        print(f"liteship {args.command}: {what}" + ("; finished outputs are kept, re-run the same command to "
                                                   "continue" if _resumable(args) else ""), file=sys.stderr)
        return code


def _resumable(args) -> bool:
    """Whether the command writes a run directory a second run continues (bench of one .tflite writes none)."""
    if args.command == "bench":
        return bool(args.target) and Path(args.target).is_dir()
    return args.command in ("train", "optimize", "sweep", "pick", "device", "runtimes")


# Errors of the machine, not of liteship: said plainly, exit 2, never a traceback.
_ENVIRONMENT_ERRNOS = {
    errno.ENOSPC: "The disk is full: free space, or write to another disk.",
    errno.EDQUOT: "The disk quota is used up: free space, or write elsewhere.",
    errno.EROFS: "The file system is read-only: write to a writable folder.",
    errno.EACCES: "Permission denied: use paths you can read and write.",
    errno.EPERM: "Operation not permitted: use paths you can read and write.",
    errno.ENAMETOOLONG: "A file name is longer than the file system allows: use shorter paths or names.",
    errno.ELOOP: "A symbolic link points back at itself: fix or remove the link.",
    errno.ENOTDIR: "A file stands where a folder is needed: move it or pick another path.",
    errno.EISDIR: "A folder stands where a file is needed: move it or pick another path.",
}


PIPE_CLOSED_EXIT = 141  # 128 + SIGPIPE: the shell's code for a writer whose reader went away (`gate | head -1`)


def _standard_streams_open() -> None:
    """A standard stream closed by the caller (``liteship pick >&-``) is opened on the null device: its fd is
    never handed to a file liteship opens, and what the command prints is dropped; the exit code is still the
    command's own (a verdict is still a verdict)."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, mode, closefd=False))


def entry() -> None:
    """The console script: :func:`main`, then quiet at exit.

    LiteRT logs its teardown ("DestroyAccelerator ...") to fd 2 while Python
    exits, after every line of liteship's own has been printed; those lines
    are dropped. A traceback from a bug still shows: it is raised before this.

    A reader that closes the pipe early (``liteship gate RUN | head -1``) ends the command quietly with exit 141
    (128 + SIGPIPE, as a shell reports a writer killed by SIGPIPE): never 0, which would pass a CI step whose
    output was piped, and never 1, which is gate's FAILED.
    """
    _standard_streams_open()
    replace_unencodable()  # PYTHONIOENCODING=ascii: a dash is escaped, never a UnicodeEncodeError
    try:
        code = main()
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        code = PIPE_CLOSED_EXIT
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # Python's own flush at exit would raise again
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    sys.exit(code)


if __name__ == "__main__":
    entry()
