"""The CLI's lenient flag types: a value that cannot be taken is kept as an :class:`Invalid` instead of stopping
argparse at the first, and becomes one of the request's ``flag_problems`` (:func:`problem_of`), said with every other
problem. Each range comes from the typed setting's own (:func:`liteship.config.setting`, ``WORKERS_LIMITS``)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from liteship.config import Problem, describe


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


def workers_flag(text: str):
    """``--workers``: auto (None) or a whole number of processes in :data:`~liteship.workflow.requests.WORKERS_LIMITS`,
    written in ASCII digits ("²" is not one)."""
    from liteship.workflow.requests import WORKERS_LIMITS

    lo, hi = WORKERS_LIMITS
    if text == "auto":
        return None
    value = int(text) if re.fullmatch(r"[0-9]{1,4}", str(text).strip()) else None
    if value is None or not lo <= value <= hi:
        return Invalid(text, f"it is auto or a whole number of processes from {lo} to {hi}",
                       "pass --workers 2, say, or leave it out (auto: one per core)")
    return value


workers_flag.__name__ = "auto or a whole number"


def flag_name(dest: str) -> str:
    return dest.upper() if dest in ("run_dir", "target", "base", "new", "variant") else "--" + dest.replace("_", "-")


def problem_of(dest: str, value: Invalid) -> Problem:
    """The problem a flag's value that could not be parsed makes (``dest``: argparse's name of the flag)."""
    return Problem(flag_name(dest), None, describe(value.text), value.allowed, value.fix)


def request_flag(command: str, name: str, example):
    """An argparse type for the field ``name`` of ``command``'s request, with that field's range."""
    from liteship.workflow.requests import REQUESTS

    return flag_of(REQUESTS[command], name, example)
