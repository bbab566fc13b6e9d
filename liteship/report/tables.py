"""Renderers of a list of BenchRecords: table rows, Markdown, HTML, the Pareto plot. No new numbers:
the change vs float comes from :mod:`liteship.judge.baseline`."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass

from liteship.bench.record import BenchRecord
from liteship.judge.baseline import drop_vs_float, drop_with_interval
from liteship.report.format import change_with_interval, interval, num, with_interval
from liteship.versions import measured_where


@dataclass(frozen=True)
class Row:
    model: str
    recipe: str
    variant: str
    top1: float | None
    drop: float | None  # float32's top-1 minus this one's, same model
    agreement: float | None
    size_kb: float
    gzip_kb: float
    p50_ms: float | None
    ci: tuple[float, float] | None
    sparsity: float | None
    front: bool
    top1_ci: tuple[float, float] | None = None
    drop_ci: tuple[float, float] | None = None  # 95 % interval of the drop (paired when the images are the same)
    instructions_m: float | None = None  # millions of instructions per invoke (xnnpack, under valgrind)


def primary(records: list[BenchRecord]) -> list[BenchRecord]:
    """One run record per variant: the first run backend, the fewest threads."""
    runs = [r for r in records if r.kind == "run" and r.status == "ok"]
    order = {b: i for i, b in enumerate(dict.fromkeys(r.backend for r in runs))}
    best = {}
    for r in sorted(runs, key=lambda r: (order[r.backend], r.threads or 0)):
        best.setdefault(r.variant, r)
    return list(best.values())


def pareto(points: list[tuple[float, float]]) -> list[bool]:
    """True where no other point is at least as small and at least as accurate, and better in one."""
    out = []
    for i, (size, acc) in enumerate(points):
        dominated = any((s <= size and a >= acc) and (s < size or a > acc) for j, (s, a) in enumerate(points) if j != i)
        out.append(not dominated)
    return out


def rows(records: list[BenchRecord]) -> list[Row]:
    prim = primary(records)
    pts = [(r.size_bytes, r.top1 if r.top1 is not None else -1.0) for r in prim]
    front = pareto(pts)
    out = []
    for r, f in zip(prim, front):
        drop = drop_with_interval(r, records)
        out.append(Row(r.model or "-", r.recipe or "-", r.variant, r.top1, drop_vs_float(r, records), r.agreement,
                       round(r.size_bytes / 1024, 1), round(r.gzip_bytes / 1024, 1),
                       r.latency_ms.p50 if r.latency_ms else None,
                       (r.latency_ms.ci_low, r.latency_ms.ci_high) if r.latency_ms else None, r.sparsity, f,
                       r.top1_ci, (drop.low, drop.high) if drop else None, _instructions_m(r, records)))
    return sorted(out, key=lambda row: (-(row.top1 or -1), row.size_kb))


def _instructions_m(record: BenchRecord, records: list[BenchRecord]) -> float | None:
    counted = next((r.instructions for r in records if r.variant == record.variant and r.instructions), None)
    return round(counted["per_invoke"] / 1e6, 3) if counted else None


def markdown(records: list[BenchRecord], title: str = "liteship sweep") -> str:
    rs = rows(records)
    prim = primary(records)
    backend = f"{prim[0].backend}, {prim[0].threads} thread(s)" if prim else "-"
    lines = [f"## {title}", "",
             f"Sorted by top-1 on the test split, with 95 % intervals (Wilson for top-1; for the change vs "
             "float, a paired bootstrap on the same images). Latency: p50 on "
             f"{backend}, median of round medians [95 % CI]. M instr: millions of instructions per invoke, counted "
             "under valgrind (exact, the same on every run; – where not counted). ★ marks the size-vs-accuracy "
             "Pareto front.", "",
             "| | model | recipe | top-1 | Δ vs float | agreement | size KB | gzip KB | p50 ms | 95 % CI | M instr | sparsity "
             "| variant |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|"]
    for r in rs:
        ci = interval(*(r.ci or (None, None)))
        drop = change_with_interval(r.drop, r.drop_ci)
        lines.append(f"| {'★' if r.front else ''} | {r.model} | {r.recipe} | {with_interval(r.top1, r.top1_ci)} | {drop} | "
                     f"{num(r.agreement, '.4f')} | {r.size_kb:.1f} | {r.gzip_kb:.1f} | {num(r.p50_ms, '.3f')} | "
                     f"{ci} | {num(r.instructions_m, '.3f')} | {num(r.sparsity, '.3f')} | `{r.variant}` |")
    if prim:
        lines += ["", measured_where(prim[0].system, prim[0].runtime)]
    others = [r for r in records if r.kind == "coverage" or r.status != "ok" or r not in prim]
    if others:
        lines += ["", "<details><summary>Other backends</summary>", "",
                  "| variant | recipe | backend | threads | p50 ms | top-1 | delegated | notes |",
                  "|---|---|---|---:|---:|---:|---:|---|"]
        for r in others:
            lines.append(f"| `{r.variant}` | {r.recipe} | {r.backend} | {r.threads or ''} | "
                         f"{num(r.latency_ms.p50 if r.latency_ms else None, '.3f')} | {num(r.top1, '.4f')} | "
                         f"{num(r.delegated, '.2f')} | {'; '.join(r.notes)[:120]} |")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def pareto_png(records: list[BenchRecord]) -> bytes | None:
    """Size vs accuracy and latency vs accuracy, the front highlighted, labelled by recipe."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    rs = [r for r in rows(records) if r.top1 is not None]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, xkey, xlabel in ((axes[0], "size_kb", "size (KB)"), (axes[1], "p50_ms", "p50 latency (ms)")):
        pts = [(getattr(r, xkey), r.top1, r) for r in rs if getattr(r, xkey) is not None]
        if not pts:
            continue
        front = pareto([(x, y) for x, y, _ in pts])
        for (x, y, r), f in zip(pts, front):
            ax.scatter([x], [y], s=60 if f else 30, c="tab:red" if f else "tab:blue", zorder=3)
            ax.annotate(f"{r.recipe} ({r.model})" if len({q.model for q in rs}) > 1 else r.recipe, (x, y),
                        fontsize=7, xytext=(3, 3), textcoords="offset points")
        fx = sorted((x, y) for (x, y, _), f in zip(pts, front) if f)
        ax.plot([p[0] for p in fx], [p[1] for p in fx], color="tab:red", linewidth=1, label="Pareto front")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("top-1 (test split)")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def html_report(records: list[BenchRecord], png: bytes | None, title: str = "liteship sweep") -> str:
    rs = rows(records)
    prim = primary(records)
    where = measured_where(prim[0].system, prim[0].runtime) if prim else ""
    head = ("<tr><th></th><th>model</th><th>recipe</th><th>top-1</th><th>Δ vs float</th><th>agreement</th>"
            "<th>size KB</th><th>gzip KB</th><th>p50 ms</th><th>95% CI</th><th>M instr</th><th>sparsity</th>"
            "<th>variant</th></tr>")
    body = []
    for r in rs:
        ci = interval(*(r.ci or (None, None)))
        drop = change_with_interval(r.drop, r.drop_ci)
        cells = ["★" if r.front else "", r.model, r.recipe, with_interval(r.top1, r.top1_ci), drop, num(r.agreement, ".4f"),
                 f"{r.size_kb:.1f}", f"{r.gzip_kb:.1f}", num(r.p50_ms, ".3f"), ci, num(r.instructions_m, ".3f"),
                 num(r.sparsity, ".3f"), r.variant]
        body.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    img = f'<img alt="Pareto plots" src="data:image/png;base64,{base64.b64encode(png).decode()}">' if png else \
        "<p>(plots skipped: matplotlib is not installed)</p>"
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>"
            "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}img{max-width:100%}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>{img}<table>{head}{''.join(body)}</table>"
            "<p>★ size-vs-accuracy Pareto front. Intervals are 95 %. Every number comes from results.jsonl.</p>"
            f"<p>{html.escape(where)}</p></body></html>\n")
