"""How numbers are written for people, once: every layer's messages, reports and terminal tables use these.

A change in accuracy is written in percentage points with its sign ("+0.74 pt", "-1.20 pt"), never "-0.00"; a
count of instructions in millions ("12.345 M"); a value not measured as an en dash.
"""

from __future__ import annotations

DASH = "–"  # a value that was not measured


def num(value, spec: str) -> str:
    """``value`` formatted with ``spec``; an en dash when it was not measured."""
    return DASH if value is None else format(value, spec)


def signed(value: float | None, spec: str = ".2f") -> str:
    """A number with its sign: "+0.74", "-1.20"; one that rounds to zero reads "+0.00", never "-0.00"."""
    if value is None:
        return DASH
    text = format(value, "+" + spec)
    return "+" + text[1:] if text.startswith("-") and float(text.replace(",", "")) == 0 else text


def points(change: float | None) -> str:
    """A change in a fraction (0.0074 = 0.74 points better) in signed points without the unit: "+0.74"; never
    "-0.00"."""
    return DASH if change is None else signed(change * 100)  # -0.001 pt reads +0.00


def pt(change: float | None) -> str:
    """A change in signed points: "+0.74 pt"."""
    return DASH if change is None else f"{points(change)} pt"


def pt_interval(low: float | None, high: float | None) -> str:
    """The interval of a change, in signed points: "[-2.23, +0.37]"."""
    return DASH if low is None or high is None else f"[{points(low)}, {points(high)}]"


def pt_with_interval(change: float | None, low: float | None, high: float | None) -> str:
    """A change and its interval: "-0.74 pt [-2.23, +0.37]"; the change alone without one."""
    if change is None:
        return DASH
    return pt(change) if low is None or high is None else f"{pt(change)} {pt_interval(low, high)}"


def change_pt(drop: float | None) -> str:
    """A drop vs float (0.0074 = 0.74 points worse) as the change people read: "-0.74 pt"."""
    return DASH if drop is None else pt(-drop)


def change_with_interval(drop: float | None, ci) -> str:
    """A change vs float with the interval of the change: "-0.74 pt [-2.23, +0.37]" (``ci``: the drop's)."""
    if drop is None:
        return DASH
    return change_pt(drop) if not ci else pt_with_interval(-drop, -ci[1], -ci[0])


def interval(low: float | None, high: float | None, spec: str = ".3f") -> str:
    return DASH if low is None or high is None else f"[{low:{spec}}, {high:{spec}}]"


def with_interval(value: float | None, ci, spec: str = ".4f") -> str:
    """"0.9777 [0.9519, 0.9898]"; the value alone without an interval."""
    if value is None:
        return DASH
    return format(value, spec) + ("" if not ci else f" [{ci[0]:{spec}}, {ci[1]:{spec}}]")


def percent(fraction: float | None, spec: str = ".1f") -> str:
    """A fraction as a percentage: 0.1234 is "12.3 %"."""
    return DASH if fraction is None else f"{fraction * 100:{spec}} %"


def percent_change(change: float | None, spec: str = ".2f") -> str:
    """A relative change in signed percent: 0.1234 is "+12.34 %"; never "-0.00 %"."""
    return DASH if change is None else f"{signed(change * 100, spec)} %"


def millions(n: float | None, spec: str = ".3f") -> str:
    """A count in millions: "12.345 M"."""
    return DASH if n is None else f"{n / 1e6:{spec}} M"

