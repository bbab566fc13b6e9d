"""A comparison of two runs for people: terminal lines and a Markdown table fit for a pull-request comment."""

from __future__ import annotations

from liteship.judge import Change
from liteship.number_formats import DASH, change_pt, millions, percent_change


def _name(key: tuple) -> str:
    model, recipe, backend, threads = key
    return f"{model} {recipe} {backend}" + (f"@{threads}" if threads else "")


def _value(metric: str, v) -> str:
    if v is None:
        return DASH
    if metric == "instructions":
        return millions(v)
    if metric == "top1":
        return f"{v:.4f}"
    if metric == "p50_ms":
        return f"{v:.3f} ms"
    if metric == "p50_vs_float32":
        return f"{v:.3f}x"
    return f"{v:,}"


def _change(c: Change) -> str:
    if c.metric == "top1":
        return change_pt(c.change)
    return percent_change(c.change)


def summary(changes: list[Change], added: list, removed: list) -> str:
    failed = [c for c in changes if c.failed]
    head = "compare FAILED" if failed else "compare passed"
    return (f"{head}: {len(failed)} of {len(changes)} checks failed, {len({c.key for c in changes})} variants "
            f"matched, {len(added)} added, {len(removed)} removed")


def render(changes: list[Change], added: list, removed: list) -> str:
    lines = []
    for c in changes:
        note = f" ({c.note})" if c.note else ""
        lines.append(f"{c.verdict:8s} {_name(c.key)} {c.metric}: {_value(c.metric, c.base)} -> "
                     f"{_value(c.metric, c.new)} ({_change(c)}){note}")
    lines += [f"added    {_name(k)}" for k in added] + [f"removed  {_name(k)}" for k in removed]
    return "\n".join(lines + [summary(changes, added, removed)])


def markdown(changes: list[Change], added: list, removed: list) -> str:
    lines = [f"**liteship {summary(changes, added, removed)}**", "",
             "| variant | metric | base | new | change | verdict |", "|---|---|---:|---:|---:|---|"]
    for c in sorted(changes, key=lambda c: (not c.failed, _name(c.key), c.metric)):
        mark = "❌" if c.failed else ("✅" if c.verdict == "ok" else "➖")
        lines.append(f"| {_name(c.key)} | {c.metric} | {_value(c.metric, c.base)} | {_value(c.metric, c.new)} | "
                     f"{_change(c)} | {mark} {c.verdict}{(' — ' + c.note) if c.note else ''} |")
    lines += [f"| {_name(k)} | added | | | | |" for k in added] + [f"| {_name(k)} | removed | | | | |" for k in removed]
    return "\n".join(lines) + "\n"
