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
