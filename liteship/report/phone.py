"""The phone column, in words: per variant, a device's measured milliseconds, else its predicted ones with their
95 % interval, else the variant's aarch64 count (:func:`liteship.judge.phone_columns` chooses which). Every cell
says which of the three it is, so a prediction never reads as a measurement and a count never as a time. A
prediction beyond the counts measured on the device says "extrapolated"; one the judge finds stale
(:func:`liteship.judge.stale_prediction`: its count or its measurements changed since it was made) shows no
number, only that it is stale and what predicts it again."""

from __future__ import annotations

from liteship.judge import PhoneColumn, PhoneCost, stale_prediction
from liteship.report.format import interval


def _threads(n: int | None) -> str:
    return f"{n} thread{'s' if n != 1 else ''}"


def header(column: PhoneColumn) -> str:
    """"iPhone 13 (1 thread)": the device it is of; "phone: none measured" for a column of counts alone."""
    if column.device is None:
        return "phone: none measured (aarch64 count)"
    threads = column.threads
    return column.device + (f" ({_threads(threads[0])})" if len(threads) == 1 else "")


STALE = "stale: run liteship device predict RUN_DIR"


def stale(cost: PhoneCost | None, every=()) -> bool:
    """A prediction the judge would not judge, for its count or its measurements changed since it was made (the
    run's records ``every``)."""
    return cost is not None and cost.is_predicted and stale_prediction(cost.record, list(every)) is not None


def text(cost: PhoneCost, threads: bool = False, every=()) -> str:
    """"3.100 ms measured (50 runs)", "3.100 ms predicted [2.600, 3.700] from 4 measurements" (", extrapolated"
    beyond the counts measured), "stale: run liteship device predict RUN_DIR" (judged stale against the run's
    records ``every``), "12.345 M instr, count (arm64-a15)"; ``threads``: say the thread count (a column that
    holds several)."""
    at = [_threads(cost.threads)] if threads and cost.threads is not None else []
    if cost.is_measured:
        said = [f"{cost.runs} runs"] * bool(cost.runs) + at
        return f"{cost.value:.3f} ms measured" + (f" ({', '.join(said)})" if said else "")
    if stale(cost, every):
        return STALE + (f" ({at[0]})" if at else "")
    if cost.is_predicted:
        span = f" {interval(*cost.interval)}" if cost.interval else " (no interval)"
        rests = f" from {cost.rests_on} measurements" if cost.rests_on else ""
        far = ", extrapolated" if (cost.record.device or {}).get("extrapolated") else ""
        return f"{cost.value:.3f} ms predicted{span}{rests}{far}" + (f" ({at[0]})" if at else "")
    return f"{cost.value:.3f} M instr, count ({cost.profile})"


def cell(column: PhoneColumn, variant: str, every=()) -> tuple:
    """The table cell of ``variant``: its text and its sort key (times sort by ms; in a device's column a count,
    which is no time, and a stale prediction sort last; in a column of counts alone, by the count)."""
    cost = column.cells.get(variant)
    if cost is None:
        return ("–", None)
    key = None if (cost.is_count and column.device is not None) or stale(cost, every) else cost.value
    return (text(cost, len(column.threads) > 1, every), key)


def described(column: PhoneColumn) -> str:
    """What the column holds, for the paragraph above the table."""
    if column.device is None:
        profiles = ", ".join(dict.fromkeys(c.profile for c in column.cells.values()))
        return (f"{header(column)}: no phone measured any variant (none was imported with `liteship device "
                f"import`), so the column holds each variant's count of millions of aarch64 instructions per invoke "
                f"under QEMU ({profiles}): a count on the phone's instruction set, not a phone's time")
    return (f"{header(column)}: the variant's time on the {column.device}'s CPU: measured on it (its benchmark "
            "tool's median, imported with `liteship device import`), else predicted from the variant's aarch64 "
            "count by a calibration fitted on the device's own measurements (with its 95 % prediction interval and "
            "how many measurements it rests on; not measured; \"extrapolated\" where its count lies outside the "
            "counts measured, its interval widened; stale, with no number, where its count or those measurements "
            "changed since it was made), else the count itself (millions of aarch64 instructions per invoke under "
            "QEMU: a count, not a time)")


def terminal(columns: list[PhoneColumn], variant: str, every=()) -> str:
    """The phone's part of a terminal line: ", iPhone 13: 3.100 ms measured (50 runs)" (``every``: the run's
    records, which tell a stale prediction)."""
    out = []
    for column in columns:
        cost = column.cells.get(variant)
        if column.device is None:  # no phone in the run: the line already gives the count, said once
            out.append(", no phone measured it" if cost is not None else "")
        elif cost is not None:
            out.append(f", {column.device}: {text(cost, len(column.threads) > 1, every)}")
    return "".join(out)
