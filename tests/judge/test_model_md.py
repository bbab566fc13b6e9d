"""MODEL.md shows class names as text: a Markdown renderer (markdown-it, CommonMark with GFM tables) turns the
file into HTML, and the HTML is read back with Python's own parser: no tag a class name holds is rendered, and
the per-class table's first column and the output line give back each name exactly."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from liteship.bench.accuracy import wilson
from liteship.bench.record import BenchRecord
from liteship.judge import Budgets, decide, judge
from liteship.judge.gate import VariantVerdict
from liteship.judge.release_docs import model_md

NAMES = ["<img src=x onerror=alert(1)>", "a|b", "**bold** _it_ `code`", "back\\slash & [link](y) ~~s~~", "plain"]


def rec(recipe: str, correct: str, names: list[str]) -> BenchRecord:
    right = correct.count("1")
    per = len(correct) // len(names)
    confusion = [[per if i == j else 0 for j in range(len(names))] for i in range(len(names))]
    return BenchRecord.from_dict({
        "variant": f"m-{recipe}", "model": "m", "recipe": recipe, "arch": None, "alpha": None, "size": 32,
        "backend": "xnnpack", "threads": 1, "runtime": "", "kind": "run", "status": "ok", "size_bytes": 1000,
        "gzip_bytes": 900, "params": None, "sparsity": None, "top1": right / len(correct), "images": len(correct),
        "correct": correct, "data": {"content_hash": "h", "members": "m"}, "top1_ci": list(wilson(right, len(correct))),
        "per_class_top1": {n: 1.0 for n in names}, "confusion": confusion,
        "contract": {"ok": True, "problems": [], "input": {"dtype": "float32"}},
        "latency_ms": {"init": 1, "first": 1, "p50": 1.0, "p90": 1.0, "p99": 1.0, "mean": 1.0, "std": 0, "cv": 0,
                       "min": 1.0, "runs": 10, "rounds": 2, "ci_low": 0.9, "ci_high": 1.1}})


class Reader(HTMLParser):
    """Every start tag, and each table's rows of cell texts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.tables, self.text = [], [], []
        self._cell = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell += data


def render(names: list[str]):
    """MODEL.md for a run whose classes are ``names``, rendered to HTML and read back."""
    markdown_it = pytest.importorskip("markdown_it")
    records = [rec("float32", "1" * 100, names), rec("int8", "1" * 100, names)]
    budgets = Budgets(max_accuracy_drop=0.02)
    verdicts = [VariantVerdict(r.variant, r.recipe, r.model, tuple(judge(budgets, r.variant, [r], records)))
                for r in records]
    decision = decide(records, budgets, "accuracy", verdicts)
    chosen = [r for r in records if r.variant == decision.chosen.variant]
    contract = {"input": {"shape": [1, 32, 32, 3], "dtype": "float32"},
                "output": {"shape": [1, len(names)], "dtype": "float32"}}
    reader = Reader()
    reader.feed(markdown_it.MarkdownIt("commonmark").enable("table").render(
        model_md(decision, chosen, contract, names, "here", None)))
    return reader


def test_class_names_are_text_in_model_md():
    hostile, plain = render(NAMES), render([f"c{i}" for i in range(len(NAMES))])
    assert hostile.tags == plain.tags  # the names add no element: no <img>, no <strong>, no extra cell
    (table,) = [t for t in hostile.tables if t and t[0] and t[0][0] == "class"]
    assert [row[0] for row in table[1:]] == NAMES
    assert all(len(row) == 4 for row in table)  # no "|" split a row into more cells
    assert f"{len(NAMES)} classes: {', '.join(NAMES)})" in "".join(hostile.text)
