"""A report as sections of blocks, and its two renderings: Markdown (a pull-request comment) and one
self-contained HTML page (no script or style from the network; tables sort when a header is clicked)."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from importlib.util import find_spec


@dataclass(frozen=True)
class Para:
    text: str  # `code` spans and **bold** are kept in both renderings
    kind: str = ""  # "" or "warning"


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple, ...]  # cells: str, or (text, sort key) for a sortable number
    caption: str = ""
    sortable: bool = False


@dataclass(frozen=True)
class Image:
    file: str  # beside the report
    alt: str
    png: bytes | None = None  # embedded in the HTML


@dataclass(frozen=True)
class Section:
    title: str
    anchor: str
    blocks: tuple = ()
    folded: bool = False  # inside <details> in Markdown, to keep a pull-request comment short


def _text(cell) -> str:
    return cell[0] if isinstance(cell, tuple) else str(cell)


def _md_text(text: str) -> str:
    """Text for Markdown: raw HTML (a class folder named ``<img src=x>``) is shown as text, never rendered."""
    return html.escape(text, quote=False)


def _md_cell(cell) -> str:
    return _md_text(_text(cell)).replace("|", "\\|").replace("\n", " ")


def _md_block(block) -> list[str]:
    if isinstance(block, Para):
        return [("> ⚠ " if block.kind == "warning" else "") + _md_text(block.text), ""]
    if isinstance(block, Image):
        return [f"![{block.alt}]({block.file})", ""]
    right = ["---:" if any(isinstance(r[i], tuple) for r in block.rows) else "---" for i in range(len(block.header))]
    lines = [f"*{_md_text(block.caption)}*", ""] if block.caption else []
    lines += ["| " + " | ".join(_md_cell(h) for h in block.header) + " |", "|" + "|".join(right) + "|"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
    return lines + [""]


def markdown(title: str, sections: list[Section]) -> str:
    lines = [f"## {title}", ""]
    for s in sections:
        body = [line for block in s.blocks for line in _md_block(block)]
        if s.folded:
            lines += [f"<details><summary>{s.title}</summary>", "", *body, "</details>", ""]
        else:
            lines += [f"### {s.title}", "", *body]
    return "\n".join(lines).rstrip() + "\n"


def _inline(text: str) -> str:
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)


def _html_block(block) -> str:
    if isinstance(block, Para):
        return f"<p class='{block.kind}'>{_inline(block.text)}</p>"
    if isinstance(block, Image):
        if block.png is None:
            why = "matplotlib is not installed" if find_spec("matplotlib") is None else \
                "nothing to plot yet: no variant has a measured top-1"
            return f"<p>({html.escape(block.alt)}: not drawn, {why})</p>"
        return f"<img alt='{html.escape(block.alt)}' src='data:image/png;base64,{base64.b64encode(block.png).decode()}'>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in block.header)
    body = []
    for row in block.rows:
        cells = []
        for c in row:
            if isinstance(c, tuple):
                key = "" if c[1] is None else f" data-v='{c[1]}'"
                cells.append(f"<td class='n'{key}>{html.escape(c[0])}</td>")
            else:
                cells.append(f"<td>{_inline(str(c))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{_inline(block.caption)}</caption>" if block.caption else ""
    cls = " class='sortable'" if block.sortable else ""
    return f"<table{cls}>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:1.5em auto;max-width:1400px;
padding:0 1em;color:#1d1d1f;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.88em}caption{text-align:left;font-weight:600;
padding:.3em 0}td,th{border:1px solid #d0d0d0;padding:3px 7px;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f4f6}
table.sortable th{cursor:pointer}table.sortable th:after{content:' \\2195';color:#999}
p.warning{background:#fff7e0;border-left:4px solid #e8a400;padding:.5em .8em}
#decision{background:#eef7ee;border:1px solid #9ccc9c;padding:.2em 1em 1em;border-radius:6px}
#decision.none{background:#fdeeee;border-color:#d99}
code{background:#f3f3f3;padding:0 3px;border-radius:3px}img{max-width:100%;border:1px solid #eee}
nav a{margin-right:1em}
"""

SORT_TEMPLATE = """
document.querySelectorAll('TABLES').forEach(function(t){t.dataset.sorted='1';
  t.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){
    var b=t.tBodies[0],rows=Array.from(b.rows),asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';
    rows.sort(function(x,y){var a=x.cells[i],c=y.cells[i],p=a.dataset.v,q=c.dataset.v;
      if(p!==undefined&&q!==undefined){return (asc?1:-1)*(parseFloat(p)-parseFloat(q));}
      if(p===undefined&&q!==undefined)return 1;if(q===undefined&&p!==undefined)return -1;
      return (asc?1:-1)*a.textContent.localeCompare(c.textContent);});
    rows.forEach(function(r){b.appendChild(r);});});});});
"""


def sort_script(tables: str) -> str:
    """The script that sorts the tables ``tables`` (a CSS selector) when a header is clicked; it marks each table
    it binds (``data-sorted``), so a table is bound once however often the script runs."""
    return SORT_TEMPLATE.replace("TABLES", tables)


SORT = sort_script("table.sortable")


def html_page(title: str, sections: list[Section], decision_class: str = "") -> str:
    nav = "".join(f"<a href='#{s.anchor}'>{html.escape(s.title)}</a>" for s in sections)
    parts = []
    for s in sections:
        cls = f" class='{decision_class}'" if s.anchor == "decision" and decision_class else ""
        parts.append(f"<section id='{s.anchor}'{cls}><h2>{html.escape(s.title)}</h2>"
                     + "".join(_html_block(b) for b in s.blocks) + "</section>")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1><nav>{nav}</nav>{''.join(parts)}"
            f"<script>{SORT}</script></body></html>\n")


WRAPPER = "liteship-report"  # the class every rule of a fragment's style sits under


def scoped_style(wrapper: str = WRAPPER) -> str:
    """The page's STYLE with every selector put under ``.wrapper`` (``body`` becomes the wrapper itself, an id a
    class, as a fragment has no ids), for an HTML fragment shown inside another page (a notebook): nothing of the
    page around it is restyled. A sortable table looks clickable only once the script has bound it (a notebook
    may not run scripts); the rules of the page's links are left out, as a fragment has none."""
    out = []
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", STYLE):
        scoped = []
        for sel in (s.strip() for s in selectors.split(",")):
            if sel.split()[0] == "nav":
                continue
            sel = re.sub(r"#([\w-]+)", r".\1", sel).replace("table.sortable", "table.sortable[data-sorted]")
            scoped.append(f".{wrapper}" if sel == "body" else f".{wrapper} {sel}")
        if scoped:
            out.append(",".join(scoped) + "{" + body.strip() + "}")
    # In a notebook's cell: no page margins, and a light card of its own, readable under a dark theme too; the
    # notebook's own rules for headings, cells and tables (a colour, JupyterLab's fixed table layout) not taken in.
    out.append(f".{wrapper}{{margin:0;max-width:none;padding:.2em 1em 1em;background:#fff;color:#1d1d1f}}")
    out.append(",".join(f".{wrapper} {t}" for t in ("h1", "h2", "p", "td", "th", "caption", "summary"))
               + "{color:inherit}")
    out.append(f".{wrapper} table{{table-layout:auto;margin-left:0;margin-right:0}}")
    out.append(f".{wrapper} details>summary{{font-size:1.1em;font-weight:600;cursor:pointer;margin-top:1em}}")
    return "\n".join(out)


def html_fragment(title: str, sections: list[Section], decision_class: str = "", wrapper: str = WRAPPER) -> str:
    """The page's sections as one HTML fragment for a notebook (``_repr_html_``): a ``<div class=wrapper>`` with its
    style scoped to it, no ``<html>``, ``<head>``, ``<body>`` or ids (a notebook may show several). The blocks
    render as in :func:`html_page`, the plot inline; folded sections are closed ``<details>``. The sorting script
    binds only the wrapper's tables not bound yet; where a notebook runs no script, the tables are plain."""
    parts = []
    for s in sections:
        cls = f"{s.anchor} {decision_class}".strip() if s.anchor == "decision" else s.anchor
        body = "".join(_html_block(b) for b in s.blocks)
        if s.folded:
            parts.append(f"<details class='{cls}'><summary>{html.escape(s.title)}</summary>{body}</details>")
        else:
            parts.append(f"<section class='{cls}'><h2>{html.escape(s.title)}</h2>{body}</section>")
    return (f"<div class='{wrapper}'><style>{scoped_style(wrapper)}</style><h1>{html.escape(title)}</h1>"
            f"{''.join(parts)}<script>{sort_script(f'.{wrapper} table.sortable:not([data-sorted])')}</script></div>")
