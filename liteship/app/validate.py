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


def flag_of(cls, name: str, example):
    """An argparse type for ``cls``'s field ``name``, with that field's range (:func:`liteship.config.setting`)."""
    from liteship.config import limits

    lo, hi = limits(cls, name)
    if isinstance(example, str):
        return whole_list(lo, hi, example)
    return (real if isinstance(example, float) else whole)(lo, hi, example)


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
    from liteship.archive import ARCHIVE_SUFFIXES

    if data is None or data == "digits":
        return []
    path = Path(data)
    if path.is_dir():
        from liteship.dataset import class_name_problems

        classes = [p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")]
        if len(classes) < 2:
            return [Problem(flag, None, describe(data), f"a data folder holds one sub-folder per class, and this one "
                            f"has {len(classes)}", "point it at the folder whose sub-folders are the classes")]
        return [Problem(flag, None, describe(data), f"its class folder {describe(name)} cannot be a class name: {why}",
                        "rename the folder to plain text (labels.txt holds one class name a line)")
                for name, why in class_name_problems(path)]
    if path.is_file() and data.lower().endswith(ARCHIVE_SUFFIXES):
        return []
    why = "it is not a folder" if path.exists() else "nothing is there"
    return [Problem(flag, None, describe(data), f"it takes a folder of class folders, an archive of one (.tar, "
                    f".tar.gz, .tgz, .zip) or digits; {why}", "check the path")]


def out_problems(out: str | None, flag: str = "--out", data: str | None = None) -> list[Problem]:
    """A run directory to make: new, empty, or liteship's own (marked); writable; apart from the data."""
    from liteship.rundir import out_refusal

    if out is None:
        return []
    path = Path(out)
    if data not in (None, "digits") and Path(data).exists():
        d, o = Path(data).resolve(), path.resolve()
        if d == o or d in o.parents or o in d.parents:
            where = "is the data" if d == o else ("is inside the data" if d in o.parents else "holds the data")
            return [Problem(flag, None, describe(out), f"it {where} ({data}): the run would write among the images "
                            "it reads, and every later run would read its files as images",
                            "pass a run directory outside the data folder, e.g. --out runs/demo")]
    refusal = out_refusal(out)
    if refusal is not None:
        return [Problem(flag, None, describe(out), *refusal)]
    probe = existing_ancestor(path)
    if not probe.is_dir():
        return [Problem(flag, None, describe(out), f"{probe} is a file, so no folder can be made inside it",
                        "pass a folder path")]
    if not os.access(probe, os.W_OK | os.X_OK):
        return [Problem(flag, None, describe(out), f"{probe} cannot be written to (permission denied)",
                        "pass a folder you can write to")]
    return []


def output_problems(path: str | None, flag: str) -> list[Problem]:
    """A file the user names for a report (--json, --junit, --markdown)."""
    from liteship.files import output_problem

    if path is None:
        return []
    why = output_problem(path)
    return [] if why is None else [Problem(flag, None, describe(path), why,
                                           "pass a file path you can write (or - for standard output)")]


def file_problems(value: str | None, flag: str) -> list[Problem]:
    """A file to read: there, and a file."""
    if value is None:
        return []
    path = Path(value)
    if path.is_file():
        return []
    why = "it is a folder, not a file" if path.is_dir() else ("it is not a regular file" if path.exists()
                                                             else "there is no such file")
    return [Problem(flag, None, describe(value), why, "check the path")]


def run_dir_problems(run_dir: str | None, flag: str = "RUN_DIR", needs: str = "results.jsonl",
                     writes: bool = False) -> list[Problem]:
    """An existing run directory; ``writes``: one this command writes into, so it must be liteship's (marked)."""
    from liteship.rundir import MARKER, is_marked

    if run_dir is None:
        return []
    path = Path(run_dir)
    if not path.is_dir():
        why = "it is a file, not a run directory" if path.exists() else "there is no such run directory"
        return [Problem(flag, None, describe(run_dir), why, "pass the folder a sweep or train wrote (--out)")]
    if writes and not is_marked(path):
        return [Problem(flag, None, describe(run_dir), f"it has no {MARKER}, so liteship did not make it, and this "
                        "command writes into it", "pass a run directory a sweep or train made; if an older liteship "
                        f"made this one, mark it with `touch {path / MARKER}`")]
    if needs and not (path / needs).is_file():
        return [Problem(flag, None, describe(run_dir), f"it has no {needs}",
                        "run `liteship sweep` (or train, optimize and bench) into it first")]
    return []
