"""Terminal tables: what `liteship bench` and `liteship sweep` print. Numbers from the records and the judge."""

from __future__ import annotations

from liteship.bench import BenchRecord
from liteship.judge import is_predicted, phone_columns
from liteship.report import phone
from liteship.report.format import change_pt, num
from liteship.report.tables import rows


def _blank(value, spec: str) -> str:
    """A terminal table leaves what was not measured blank."""
    return "" if value is None else format(value, spec)


def bench_table(records: list[BenchRecord]) -> str:
    head = f"{'variant':14s} {'recipe':14s} {'backend':10s} {'thr':>3s} {'p50 ms':>9s} {'95% CI':>17s} " \
           f"{'instr M':>12s} {'top1':>7s} {'agree':>7s} {'size':>9s} {'deleg':>6s}  notes"
    lines = [head]
    for r in records:
        lat = r.latency_ms
        ci = f"[{lat.ci_low:.3f}, {lat.ci_high:.3f}]" if lat and lat.ci_low is not None else ""
        if is_predicted(r) and ci:  # a prediction's interval, not a measured CI
            ci = f"pred [{lat.ci_low:.2f}, {lat.ci_high:.2f}]"
        counted = r.instructions
        instr = f"{counted.millions:.3f} {'x86' if counted.on_x86 else 'arm'}" if counted and counted.counted else ""
        lines.append(f"{r.variant[:14]:14s} {(r.recipe or '-')[:14]:14s} {r.backend:10s} {r.threads or '':>3} "
                     f"{_blank(lat.p50 if lat else None, '.3f'):>9s} {ci:>17s} {instr:>12s} {_blank(r.top1, '.4f'):>7s} "
                     f"{_blank(r.agreement, '.4f'):>7s} {r.size_bytes:9d} {_blank(r.delegated, '.2f'):>6s}  "
                     f"{'; '.join(r.notes)[:80]}")
    return "\n".join(lines)


def sweep_summary(records: list[BenchRecord]) -> str:
    """One line per variant: ★ on the Pareto front, top-1 with its change vs float, size, p50 and where it was
    timed, the aarch64 counts, and the phone's cost (measured, else predicted with its interval, else the count)."""
    lines = []
    columns = phone_columns(records)
    for r in rows(records):
        change = "" if r.drop is None else f" ({change_pt(r.drop)} vs float)"
        where = "x86" if r.latency_how == "here" else r.latency_from
        p50 = "" if r.p50_ms is None else f" p50 {r.p50_ms:.3f} ms{' predicted' * r.predicted} ({where})"
        arm = "".join(f", {m:.3f} M instr on {b}" for b, m in r.arm_m)
        lines.append(f"{'*' if r.front else ' '} {r.model:22s} {r.recipe:15s} top-1 {num(r.top1, '.4f')}{change} "
                     f"{r.size_kb:9.1f} KB{p50}{arm}{phone.terminal(columns, r.variant, records)}")
    return "\n".join(lines)
