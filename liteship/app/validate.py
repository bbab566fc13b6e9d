"""Every command's whole input checked before it trains, converts or measures anything.

argparse parses the words; the numbers are parsed by lenient types that keep a
bad value (an :class:`Invalid`) instead of stopping at the first, so
:func:`check` can report every problem at once: flags, paths, config and
budgets files, recipes, backends, threads, sizes, and the memory and disk the
work would need. Nothing here writes a file.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from liteship.config import Problem, Problems, describe
from liteship.errors import LiteshipError
from liteship.files import existing_ancestor


@dataclass(frozen=True)
class Invalid:
    """A flag's value that could not be taken, kept for the report."""

    text: str
    allowed: str
    fix: str


def _ranged(convert, kind: str, lo, hi, example):
    """An argparse type: ``convert(text)`` within [lo, hi], else an :class:`Invalid` saying what is allowed."""
    def parse(text: str):
        allowed = f"it takes {kind} from {lo} to {hi}"
        try:
            value = convert(text.strip())
        except ValueError:
            return Invalid(text, allowed, f"give {kind}, e.g. {example}")
        ok = (not isinstance(value, float) or math.isfinite(value)) and lo <= value <= hi
        return value if ok else Invalid(text, allowed, f"give a value in that range, e.g. {example}")
    parse.__name__ = kind
    return parse


def whole(lo: int, hi: int, example: int):
    return _ranged(int, "a whole number", lo, hi, example)


def real(lo: float, hi: float, example: float):
    return _ranged(float, "a number", lo, hi, example)


def whole_list(lo: int, hi: int, example: str):
    def parse(text: str):
        allowed = f"it takes whole numbers from {lo} to {hi}, separated by commas"
        try:
            values = tuple(int(v) for v in text.split(","))
        except ValueError:
            return Invalid(text, allowed, f"for example {example}")
        return values if values and all(lo <= v <= hi for v in values) else Invalid(text, allowed, f"for example {example}")
    parse.__name__ = "list of whole numbers"
    return parse


def _flag(dest: str) -> str:
    return dest.upper() if dest in ("run_dir", "target", "base", "new", "variant") else "--" + dest.replace("_", "-")


def flag_problems(args) -> list[Problem]:
    return [Problem(_flag(k), None, describe(v.text), v.allowed, v.fix) for k, v in vars(args).items()
            if isinstance(v, Invalid)]


def _as_problems(exc: LiteshipError) -> list[Problem]:
    if isinstance(exc, Problems):
        return exc.problems
    return [Problem(exc.what, None, "", exc.why, exc.fix or "check it")]


def collect(found: list[Problem], fn, *args):
    """``fn(*args)``; its LiteshipError becomes problems in ``found`` and None is returned."""
    try:
        return fn(*args)
    except LiteshipError as exc:
        found.extend(_as_problems(exc))
        return None


def data_problems(data: str | None, flag: str = "--data") -> list[Problem]:
    from liteship.trainer.archive import ARCHIVE_SUFFIXES

    if data is None or data == "digits":
        return []
    path = Path(data)
    if path.is_dir():
        classes = [p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")]
        if len(classes) < 2:
            return [Problem(flag, None, describe(data), f"a data folder holds one sub-folder per class, and this one "
                            f"has {len(classes)}", "point it at the folder whose sub-folders are the classes")]
        return []
    if path.is_file() and data.lower().endswith(ARCHIVE_SUFFIXES):
        return []
    why = "it is not a folder" if path.exists() else "nothing is there"
    return [Problem(flag, None, describe(data), f"it takes a folder of class folders, an archive of one (.tar, "
                    f".tar.gz, .tgz, .zip) or digits; {why}", "check the path")]


def out_problems(out: str | None, flag: str = "--out") -> list[Problem]:
    if out is None:
        return []
    path = Path(out)
    if path.exists() and not path.is_dir():
        return [Problem(flag, None, describe(out), "it is a file; the run directory must be a folder",
                        "pass a folder path (new or a run directory)")]
    probe = existing_ancestor(path)
    if not probe.is_dir():
        return [Problem(flag, None, describe(out), f"{probe} is a file, so no folder can be made inside it",
                        "pass a folder path")]
    if not os.access(probe, os.W_OK | os.X_OK):
        return [Problem(flag, None, describe(out), f"{probe} cannot be written to (permission denied)",
                        "pass a folder you can write to")]
    return []


def run_dir_problems(run_dir: str | None, flag: str = "RUN_DIR", needs: str = "results.jsonl") -> list[Problem]:
    if run_dir is None:
        return []
    path = Path(run_dir)
    if not path.is_dir():
        return [Problem(flag, None, describe(run_dir), "there is no such run directory",
                        "pass the folder a sweep or train wrote (--out)")]
    if needs and not (path / needs).is_file():
        return [Problem(flag, None, describe(run_dir), f"it has no {needs}",
                        "run `liteship sweep` (or train, optimize and bench) into it first")]
    return []
