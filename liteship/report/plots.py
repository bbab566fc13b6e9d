"""The plots: top-1 against size (log axis), latency and instructions; colour per model, marker per recipe,
95 % intervals as error bars, the size-vs-top-1 Pareto front as a step line. No text is drawn over the
points: colour and marker name each one, so nothing overprints however close the points are; markers are
hollow, so points at the same place still show each shape."""

from __future__ import annotations

import io
from dataclasses import replace
from textwrap import fill

from liteship.bench import BenchRecord
from liteship.report.tables import latency_where, Row, rows

MARKERS = "osD^vP*Xh<>p8d"
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def _errors(values, cis):
    """Asymmetric error bars (below, above) from intervals; zero where there is none."""
    low = [v - ci[0] if ci else 0.0 for v, ci in zip(values, cis)]
    high = [ci[1] - v if ci else 0.0 for v, ci in zip(values, cis)]
    return [[max(0.0, x) for x in low], [max(0.0, x) for x in high]]


def _front_line(ax, pts: list[Row], colour: str) -> None:
    """One model's size-vs-top-1 Pareto front (the rows' own) as a step line, carried on to the right edge."""
    front = sorted((r.size_kb, r.top1) for r in pts if r.front)
    if not front:
        return
    xs, ys = [p[0] for p in front], [p[1] for p in front]
    right = max(r.size_kb for r in pts) * 1.6
    ax.step([*xs, right], [*ys, ys[-1]], where="post", color=colour, lw=1.3, ls="--", alpha=0.8, zorder=2)


def _panel(ax, rs: list[Row], xkey: str, xci, style, xlabel: str) -> bool:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    pts = [r for r in rs if getattr(r, xkey) is not None and r.top1 is not None]
    if not pts:
        ax.set_visible(False)
        return False
    for r in pts:
        colour, marker = style(r)
        x, y = getattr(r, xkey), r.top1
        xerr = _errors([x], [xci(r)]) if xci(r) else None
        ax.errorbar([x], [y], yerr=_errors([y], [r.top1_ci]), xerr=xerr, fmt=marker, color=colour, ms=10,
                    mfc="none", mew=1.8, elinewidth=0.9, capsize=2, alpha=0.9, zorder=3)
    if xkey == "size_kb":
        for model in dict.fromkeys(r.model for r in pts):
            _front_line(ax, [r for r in pts if r.model == model], style(next(r for r in pts if r.model == model))[0])
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 3.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(xlabel)
    ax.set_ylabel("top-1 on the test split")
    ax.grid(alpha=0.3, which="both")
    return True


def plot_png(records: list[BenchRecord], budgets=None, judged: list[BenchRecord] = ()) -> bytes | None:
    """Two or three panels in one PNG; None without matplotlib or without a scored variant. Each point is the
    variants table's row: the record the budgets judge (see :func:`liteship.report.tables.rows`)."""
    try:
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
    except ImportError:
        return None
    rs = [r for r in rows(records, budgets, judged) if r.top1 is not None]
    if not rs:
        return None
    models = list(dict.fromkeys(r.model for r in rs))
    recipes = list(dict.fromkeys(r.recipe for r in sorted(rs, key=lambda r: r.recipe)))
    style = (lambda r: (COLOURS[models.index(r.model) % len(COLOURS)], MARKERS[recipes.index(r.recipe) % len(MARKERS)]))
    counted = any(r.instructions_m is not None for r in rs)
    from liteship.bench import backends

    arm = next((b for b in backends.names(lambda b: b.kind.counts) if any(r.arm(b) is not None for r in rs)), None)
    panels = 2 + counted + (arm is not None)
    # A Figure of its own, never pyplot: the caller's backend, open figures and current figure stay as they were.
    (nrows, ncols), size = ((1, 3), (17, 5.5)) if panels == 2 else ((2, 2), (13, 10)) if panels == 3 else \
        ((2, 3), (19, 10))
    fig = Figure(figsize=size)
    axes = list(fig.subplots(nrows, ncols).ravel())
    _panel(axes[0], rs, "size_kb", lambda r: None, style, "size (KB, log scale)")
    axes[0].set_title("top-1 vs size (dashed: each model's Pareto front)")
    where = ", ".join(dict.fromkeys(r.backend for r in rs))  # the records judged: backend@threads
    _panel(axes[1], rs, "p50_ms", lambda r: r.ci, style,
           fill(f"p50 latency, ms, {where} (log scale; bars: 95 % intervals)", 70))
    axes[1].set_title("top-1 vs latency (x86 CPU, not a phone)" if all(r.latency_how == "here" for r in rs)
                      else fill(f"top-1 vs latency ({latency_where(rs)})", 60))  # a phone's, or predicted
    at = 2
    if counted:
        _panel(axes[at], rs, "instructions_m", lambda r: None, style, "M x86 instructions per invoke (valgrind, log)")
        axes[at].set_title("top-1 vs x86 instructions")
        at += 1
    if arm is not None:
        rows_arm = [replace(r, instructions_m=r.arm(arm)) for r in rs]
        _panel(axes[at], rows_arm, "instructions_m", lambda r: None, style,
               f"M aarch64 instructions per invoke ({arm}, QEMU, log)")
        axes[at].set_title(f"top-1 vs ARM instructions ({arm}: the phone's ISA, not its time)")
        at += 1
    for extra in axes[at:-1]:
        extra.axis("off")
    key = axes[-1]
    key.axis("off")
    handles = [Line2D([], [], ls="", marker="s", ms=10, color=COLOURS[i % len(COLOURS)], label=m)
               for i, m in enumerate(models)]
    handles += [Line2D([], [], ls="", marker=MARKERS[i % len(MARKERS)], ms=10, mfc="none", mew=1.8, color="dimgrey",
                       label=r) for i, r in enumerate(recipes)]
    handles.append(Line2D([], [], color="dimgrey", ls="--", label="Pareto front (size vs top-1)"))
    key.legend(handles=handles, loc="center", frameon=False, fontsize=11, ncol=2 if len(handles) > 12 else 1,
               title="model (colour) · recipe (marker)\nbars: 95 % intervals", title_fontsize=11)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")  # a Figure's savefig draws with Agg for PNG
    return buf.getvalue()
