"""How numbers are written for people, once: every report and terminal table uses these."""

from __future__ import annotations


def num(value, spec: str) -> str:
    """``value`` formatted with ``spec``; an en dash when it was not measured."""
    return "–" if value is None else format(value, spec)


def change_pt(drop: float | None) -> str:
    """A drop vs float (0.0074 = 0.74 points worse) as the change people read: "-0.74 pt"; never "-0.00"."""
    if drop is None:
        return "–"
    return f"{-drop * 100 + 0.0:+.2f} pt"


def interval(low: float | None, high: float | None, spec: str = ".3f") -> str:
    return "–" if low is None or high is None else f"[{low:{spec}}, {high:{spec}}]"


def with_interval(value: float | None, ci, spec: str = ".4f") -> str:
    """"0.9777 [0.9519, 0.9898]"; the value alone without an interval."""
    if value is None:
        return "–"
    return format(value, spec) + ("" if not ci else f" [{ci[0]:{spec}}, {ci[1]:{spec}}]")


def change_with_interval(drop: float | None, ci) -> str:
    """A change vs float with the interval of the change: "-0.74 pt [-2.23, +0.37]"."""
    if drop is None:
        return "–"
    if not ci:
        return change_pt(drop)
    low, high = -ci[1] * 100 + 0.0, -ci[0] * 100 + 0.0  # a drop's interval, turned into the change's
    return f"{change_pt(drop)} [{low:+.2f}, {high:+.2f}]"
