"""The plots: top-1 against size (log axis), latency and instructions; colour per model, marker per recipe,
95 % intervals as error bars, the size-vs-top-1 Pareto front as a step line. No text is drawn over the
points: colour and marker name each one, so nothing overprints however close the points are."""

from __future__ import annotations

import io

from liteship.bench.record import BenchRecord
from liteship.report.tables import Row, rows

MARKERS = "osD^vP*Xh<>p8d"
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def _errors(values, cis):
    """Asymmetric error bars (below, above) from intervals; zero where there is none."""
    low = [v - ci[0] if ci else 0.0 for v, ci in zip(values, cis)]
    high = [ci[1] - v if ci else 0.0 for v, ci in zip(values, cis)]
    return [[max(0.0, x) for x in low], [max(0.0, x) for x in high]]


def _panel(ax, rs: list[Row], xkey: str, xci, style, xlabel: str, log: bool) -> bool:
    pts = [r for r in rs if getattr(r, xkey) is not None and r.top1 is not None]
    if not pts:
        ax.set_visible(False)
        return False
    for r in pts:
        colour, marker = style(r)
        x, y = getattr(r, xkey), r.top1
        xerr = _errors([x], [xci(r)]) if xci(r) else None
        ax.errorbar([x], [y], yerr=_errors([y], [r.top1_ci]), xerr=xerr, fmt=marker, color=colour, ms=8,
                    mec="black", mew=0.6, elinewidth=1, capsize=2, alpha=0.9, zorder=3)
    if xkey == "size_kb":
        front = sorted((r.size_kb, r.top1) for r in pts if r.front)
        if front:
            ax.step([p[0] for p in front], [p[1] for p in front], where="post", color="black", lw=1.2, ls="--",
                    zorder=2, label="Pareto front")
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("top-1 on the test split")
    ax.grid(alpha=0.3, which="both")
    return True


def plot_png(records: list[BenchRecord]) -> bytes | None:
    """Two or three panels in one PNG; None without matplotlib or without a scored variant."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D
    except ImportError:
        return None
    rs = [r for r in rows(records) if r.top1 is not None]
    if not rs:
        return None
    models = list(dict.fromkeys(r.model for r in rs))
    recipes = list(dict.fromkeys(r.recipe for r in sorted(rs, key=lambda r: r.recipe)))
    style = (lambda r: (COLOURS[models.index(r.model) % len(COLOURS)], MARKERS[recipes.index(r.recipe) % len(MARKERS)]))
    counted = any(r.instructions_m is not None for r in rs)
    fig, axes = plt.subplots(1, 3 if counted else 2, figsize=(17 if counted else 12.5, 5.2))
    _panel(axes[0], rs, "size_kb", lambda r: None, style, "size (KB, log scale)", True)
    axes[0].set_title("top-1 vs size")
    _panel(axes[1], rs, "p50_ms", lambda r: r.ci, style, "p50 latency, ms (log scale; bars: 95 % CI)", True)
    axes[1].set_title("top-1 vs latency (x86 CPU, not a phone)")
    if counted:
        _panel(axes[2], rs, "instructions_m", lambda r: None, style, "M instructions per invoke (valgrind)", True)
        axes[2].set_title("top-1 vs instructions")
    handles = [Line2D([], [], ls="", marker="s", ms=9, color=COLOURS[i % len(COLOURS)], label=m)
               for i, m in enumerate(models)]
    handles += [Line2D([], [], ls="", marker=MARKERS[i % len(MARKERS)], ms=8, color="grey", mec="black", label=r)
                for i, r in enumerate(recipes)]
    handles.append(Line2D([], [], color="black", ls="--", label="Pareto front (size)"))
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=9,
               title="model (colour) · recipe (marker)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
