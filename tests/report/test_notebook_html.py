"""The report in a notebook: the fragment a run or a decision shows in Jupyter says what report.html says (the
decision's text, the variants table's rows, the warnings, the plot), read back from both with html.parser; and it is
a fragment that restyles nothing around it: no <html>, <head>, <body> or ids, every CSS selector under its wrapper
class, a script that touches its own tables only (checked in headless Chromium too, where installed)."""

import base64
import io
import re
import shutil
from html.parser import HTMLParser

import numpy as np
import pytest

from liteship.judge.budgets import Budgets
from liteship.judge.decision import decide
from liteship.judge.findings import findings
from liteship.report import build, notebook_html
from tests.judge.test_findings import FLOAT, rec
from tests.report.test_report import _gate


class Sections(HTMLParser):
    """Each section's text and table rows, keyed by its name: the page's id, the fragment's first class."""

    def __init__(self):
        super().__init__()
        self.text: dict[str, list[str]] = {}
        self.rows: dict[str, list[list[str]]] = {}
        self.tags: list[str] = []
        self.ids: list[str] = []
        self.styles: list[str] = []
        self.images: list[str] = []
        self._section = None
        self._cell = None
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if "id" in a:
            self.ids.append(a["id"])
        if tag in ("section", "details"):
            self._section = a.get("id") or a["class"].split()[0]
            self.text[self._section], self.rows[self._section] = [], []
        elif tag == "tr" and self._section:
            self.rows[self._section].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "style":
            self._in_style = True
        elif tag == "img":
            self.images.append(a["src"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._section:
            self.rows[self._section][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag in ("section", "details"):
            self._section = None
        elif tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)
            return
        if self._cell is not None:
            self._cell.append(data)
        if self._section:
            self.text[self._section].append(data)


def _parse(page: str) -> Sections:
    p = Sections()
    p.feed(page)
    return p


def _words(parts: list[str]) -> str:
    return " ".join(" ".join(parts).split())


def _run():
    """Two models, four variants, one slower than plain int8 (a warning), budgets one variant misses."""
    records = [rec("float32", FLOAT, size=400_000, p50=0.4, ci=(0.39, 0.41)),
               rec("int8", "1" * 148 + "0" * 52, size=100_000, p50=0.2, ci=(0.195, 0.205)),
               rec("qat_int8", "1" * 149 + "0" * 51, size=100_000, p50=0.38, ci=(0.37, 0.39)),
               rec("float32", "1" * 120 + "0" * 80, model="tiny", size=40_000, p50=0.1),
               rec("int8", "1" * 60 + "0" * 140, model="tiny", size=12_000, p50=0.05)]
    budgets = Budgets(max_accuracy_drop=0.02, require_contract=False)
    decision = decide(records, budgets, "accuracy", _gate(records, budgets))
    return records, decision, findings(records, budgets, "runs/nb", decision)


@pytest.mark.parametrize("nothing_passes", [False, True], ids=["ships", "nothing-passes"])
def test_the_fragment_says_what_report_html_says(nothing_passes):
    records, decision, found = _run()
    if nothing_passes:
        budgets = Budgets(max_size_kb=1, require_contract=False)
        decision = decide(records, budgets, "accuracy", _gate(records, budgets))
    assert found, "the scenario should carry a warning"
    page = _parse(build(records, decision, found, "runs/nb").html)
    frag = _parse(notebook_html(records, decision, found, "runs/nb"))
    assert set(frag.text) == set(page.text)
    for name in page.text:  # every section: the same words, the same table cells, row by row
        assert _words(frag.text[name]) == _words(page.text[name]), name
        assert frag.rows[name] == page.rows[name], name
    # The scenario's own facts, so the comparison above is not of two empty things:
    said = _words(frag.text["decision"])
    if nothing_passes:
        assert "No variant passes every budget (5 judged)" in said
    else:
        assert f"Ship {decision.chosen.variant}" in said and "Why: every budget" in said
    variant_rows = [r for r in frag.rows["variants"] if r[1] != "recipe"]  # the header rows left out
    assert len(variant_rows) == 5 and {r[-1] for r in variant_rows} == {r.variant for r in records}
    assert "slower than plain int8" in _words(frag.text["warnings"])


def test_the_plot_is_the_reports_png_inline():
    """Each variant timed at 1 and 2 threads, three times slower at 2, and the budgets judge 2 threads: both plots
    draw the records judged, so the fragment's is the report's, and not the plot of the 1-thread records."""
    from dataclasses import replace

    from PIL import Image

    from liteship.report.plots import plot_png

    one, _, found = _run()
    two = [replace(r, threads=2, latency_ms=replace(r.latency_ms, p50=3 * r.latency_ms.p50)) for r in one]
    records, budgets = one + two, Budgets(max_accuracy_drop=0.02, threads=2, require_contract=False)
    decision = decide(records, budgets, "accuracy", _gate(two, budgets))
    report = build(records, decision, found, "runs/nb")
    (src,) = _parse(notebook_html(records, decision, found, "runs/nb")).images
    assert src.startswith("data:image/png;base64,")

    def pixels(png: bytes):
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))

    drawn = pixels(base64.b64decode(src.split(",", 1)[1]))
    assert np.array_equal(drawn, pixels(report.png))
    assert not np.array_equal(drawn, pixels(plot_png(records))), "the plot should be of the 2-thread records judged"


def test_a_fragment_restyles_nothing_around_it():
    records, decision, found = _run()
    frag = notebook_html(records, decision, found, "runs/nb")
    p = _parse(frag)
    assert not {"html", "head", "body", "link", "meta", "title"} & set(p.tags)
    assert p.ids == []  # a notebook shows several: no id may repeat on its page
    assert frag.startswith("<div class='liteship-report'>") and frag.endswith("</div>")
    # The one script binds only the fragment's own tables, each once.
    (script,) = re.findall(r"<script>(.*?)</script>", frag, flags=re.S)
    assert re.findall(r"querySelectorAll\('([^']*)'\)", script)[0] == \
        ".liteship-report table.sortable:not([data-sorted])"
    css = re.sub(r"/\*.*?\*/", "", "".join(p.styles), flags=re.S)
    rules = re.findall(r"([^{}]+)\{[^{}]*\}", css)
    assert len(rules) > 10 and "{" not in re.sub(r"[^{}]+\{[^{}]*\}", "", css)  # every rule read, none nested
    for selector in (s.strip() for rule in rules for s in rule.split(",")):
        assert selector == ".liteship-report" or selector.startswith(".liteship-report "), selector


def test_parts_choose_sections_and_an_unknown_part_is_named():
    records, decision, found = _run()
    p = _parse(notebook_html(records, decision, found, "runs/nb", parts=("decision", "variants")))
    assert list(p.text) == ["decision", "variants"] and p.images == []
    with pytest.raises(ValueError, match="'decisoin'.*the sections: decision, warnings, plots"):
        notebook_html(records, decision, found, parts=("decisoin",))


def test_the_training_part_shows_the_float_models_section(tmp_path):
    html = notebook_html([rec("float32", FLOAT, model="m")], None, [], str(tmp_path), parts=("training",))
    assert "Float models" in html and "float/m/card.json is missing" in html


BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
HOST = ("<!doctype html><html><head><meta charset='utf-8'><style>body{background:#eeeeff;margin:0}h1{color:#aa0000}"
        "</style></head><body><h1>host heading</h1><table class='sortable'><thead><tr><th>host</th></tr></thead>"
        "<tbody><tr><td>1</td></tr></tbody></table><div style='width:1200px'>FRAGMENT</div></body></html>")


@pytest.mark.skipif(BROWSER is None, reason="no Chromium on this machine (Debian: apt-get install chromium)")
def test_in_a_browser_the_fragment_draws_itself_and_leaves_the_page_alone(tmp_path):
    """The fragment inside a host page with its own style and its own sortable table, as a notebook's output."""
    from PIL import Image

    from tests.report.test_browser import _chromium

    records, decision, found = _run()
    page = tmp_path / "host.html"
    page.write_text(HOST.replace("FRAGMENT", notebook_html(records, decision, found, "runs/nb")), encoding="utf-8")
    shot = tmp_path / "host.png"
    # no scrollbar: a page taller than the window would draw one over the host's background at the right edge
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,2400", "--hide-scrollbars", page.as_uri())
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)

    def where(rgb, tol=2):
        return np.all(np.abs(pixels - rgb) <= tol, axis=2)

    assert where((0xee, 0xee, 0xff))[:, -50:].mean() > 0.9  # the host's background, right of the fragment: kept
    assert where((0xaa, 0x00, 0x00))[:60].sum() > 20  # the host's heading keeps its colour
    box = np.flatnonzero(where((0xee, 0xf7, 0xee)).any(axis=1))  # the decision box
    assert len(box) and box[0] < 400
    assert where((0x1f, 0x77, 0xb4), 40)[box[-1]:].sum() > 200  # the plot, drawn below it
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    tables = re.findall(r"<table class=\"sortable\"([^>]*)>", dom)
    assert len(tables) >= 3 and tables[0] == "" and all("data-sorted" in t for t in tables[1:])
