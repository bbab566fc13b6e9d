"""The phone column of the report (report.html, report.md, the notebook fragment and the terminal lines), checked
against the numbers written by hand into the hand-made records of tests/report/phone_run.py: the device's measured
milliseconds where it measured the variant, else the predicted ones with their 95 % interval and how many
measurements they rest on, else the aarch64 count; each cell says which, and a prediction never reads as measured.
"""

import re
from dataclasses import replace
from html.parser import HTMLParser

from liteship.judge import Budgets, findings
from liteship.report import bench_table, build, notebook_html, sweep_summary
from tests.report.phone_run import arm, decision, device, phone_run, x86

BUDGETS = Budgets(max_latency_ms=1.0, require_contract=False)


class Tables(HTMLParser):
    """Every <table> of a page: its caption, header and rows, each cell as (text, data-v or None)."""

    def __init__(self, page: str):
        super().__init__()
        self.tables, self._cell, self._where = [], None, None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"caption": "", "header": [], "rows": []})
        elif tag == "caption":
            self._where = "caption"
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._cell = ["", dict(attrs).get("data-v"), tag]

    def handle_endtag(self, tag):
        if tag == "caption":
            self._where = None
        elif tag in ("td", "th") and self._cell is not None:
            text, key, kind = self._cell
            if kind == "th":
                self.tables[-1]["header"].append(text)
            else:
                self.tables[-1]["rows"][-1].append((text, key))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[0] += data
        elif self._where == "caption":
            self.tables[-1]["caption"] += data

    def table(self, caption: str) -> list[dict]:
        """The rows of the table of that caption, each {header: (text, key)}."""
        found = next(t for t in self.tables if t["caption"] == caption)
        return [dict(zip(found["header"], row)) for row in found["rows"] if row]


def _variants(page: str) -> dict[str, dict]:
    """The variants table of model mnv2, by recipe."""
    return {row["recipe"][0]: row for row in Tables(page).table("mnv2")}


def _report(records, budgets=BUDGETS, prefer="accuracy"):
    d = decision(records, budgets, prefer)
    return build(records, d, findings(records, budgets, "runs/x", d), "runs/x")


def test_measured_predicted_and_counted_variants_each_say_which_with_the_hand_written_numbers():
    rows = _variants(_report(phone_run()).html)
    column = "iPhone 13 (1 thread)"  # the header names the device, and the one thread count of its times
    assert rows["float32"][column] == ("3.100 ms measured (50 runs)", "3.1")
    assert rows["int8"][column] == ("1.850 ms measured (50 runs)", "1.85")
    assert rows["float16"][column] == ("3.300 ms measured (40 runs)", "3.3")
    assert rows["dynamic"][column] == ("2.400 ms predicted [2.050, 2.810] from 3 measurements", "2.4")
    assert rows["qat_int8"][column] == ("2.100 M instr, count (arm64-a15)", None)  # no time: sorts last, not as ms
    assert not re.search(r"\bmeasured\b", rows["dynamic"][column][0])  # a prediction never reads as measured
    # beside it, the x86 times the default budgets judge, as before
    assert rows["int8"]["p50 ms"] == ("0.600", "0.6") and rows["int8"]["measured on"][0] == "xnnpack@1"


def test_without_a_phone_the_column_holds_counts_and_says_no_phone_measured_them():
    records = [r for r in phone_run() if r.kind.here]  # x86 times and arm64-a15 counts only
    page = _report(records).html
    rows = _variants(page)
    column = "phone: none measured (aarch64 count)"
    assert rows["float32"][column] == ("5.000 M instr, count (arm64-a15)", "5.0")
    assert rows["int8"][column] == ("2.000 M instr, count (arm64-a15)", "2.0")
    assert "no phone measured any variant" in page
    assert "ms measured" not in page and "predicted" not in page


def test_one_column_per_cpu_device_and_a_gpu_measurement_is_not_a_cpu_time():
    pixel = device("float32", "Pixel 8", "device:pixel-8", ms=20.0, runs=30)
    pixel_gpu = device("int8", "Pixel 8", "device:pixel-8-gpu", ms=4.5, runs=30, accelerator="gpu")
    rows = _variants(_report([*phone_run(), pixel, pixel_gpu]).html)
    assert rows["float32"]["Pixel 8 (1 thread)"] == ("20.000 ms measured (30 runs)", "20.0")
    assert rows["int8"]["Pixel 8 (1 thread)"] == ("2.000 M instr, count (arm64-a15)", None)  # not the GPU's 4.5
    assert rows["int8"]["iPhone 13 (1 thread)"] == ("1.850 ms measured (50 runs)", "1.85")
    assert not any("gpu" in h.casefold() for h in rows["int8"])


def test_a_device_measured_at_two_thread_counts_shows_the_budgets_threads_and_says_them():
    two = device("int8", ms=1.1, runs=20, threads=2)
    rows = _variants(_report([*phone_run(), two], replace(BUDGETS, threads=2)).html)
    # int8 at the budgets' 2 threads, the others at the only thread count they have: each cell says its threads
    assert rows["int8"]["iPhone 13"] == ("1.100 ms measured (20 runs, 2 threads)", "1.1")
    assert rows["float32"]["iPhone 13"] == ("3.100 ms measured (50 runs, 1 thread)", "3.1")
    assert rows["dynamic"]["iPhone 13"] == ("2.400 ms predicted [2.050, 2.810] from 3 measurements (1 thread)", "2.4")
    one = _variants(_report([*phone_run(), two], BUDGETS).html)  # at one thread: every time at one, said once
    assert one["int8"]["iPhone 13 (1 thread)"] == ("1.850 ms measured (50 runs)", "1.85")


def test_judged_on_the_predicted_backend_the_chosen_prediction_says_so_everywhere():
    records = [replace(r, size_bytes=50_000) if r.recipe == "dynamic" else r for r in phone_run()]
    budgets = Budgets(backend="predicted:iphone-13", max_latency_ms=2.9, require_contract=False)
    report = _report(records, budgets, "size")
    md = report.markdown
    decision_para = md.split("### Decision")[1].split("\n\n")[1]
    assert decision_para.startswith("**Ship `mnv2-dynamic`")
    assert "p50 2.400 ms predicted [2.050, 2.810] from 3 measurements on predicted:iphone-13" in decision_para
    rows = _variants(report.html)
    assert rows["dynamic"]["p50 ms"] == ("2.400 predicted", "2.4") and rows["dynamic"]["95 % CI"][0] == \
        "[2.050, 2.810]"
    # the device's own measurement stands in for a variant measured on it, as the budget judges it
    assert rows["int8"]["measured on"][0].startswith("device:iphone-13@1") and rows["int8"]["p50 ms"][1] == "1.85"
    assert "Latency predicted for iPhone 13 from arm64-a15 instructions, not measured; measured on iPhone 13; " \
           "on this x86 CPU." in md  # qat_int8 has no time on the phone: its x86 one, said as such
    assert "p50: median of round medians [95 % bootstrap CI over the rounds] on this x86 CPU" in md


def test_the_notebook_fragment_shows_the_same_cells():
    records = phone_run()
    d = decision(records, BUDGETS)
    rows = _variants(notebook_html(records, d, findings(records, BUDGETS, "runs/x", d), "runs/x", ("variants",)))
    assert rows["dynamic"]["iPhone 13 (1 thread)"][0] == "2.400 ms predicted [2.050, 2.810] from 3 measurements"
    assert rows["float32"]["iPhone 13 (1 thread)"][0] == "3.100 ms measured (50 runs)"


def test_the_terminal_says_which_each_phone_number_is():
    lines = {line.split()[2]: line for line in sweep_summary(phone_run()).splitlines()}
    assert lines["float32"].endswith("p50 0.400 ms (x86), 5.000 M instr on arm64-a15, iPhone 13: 3.100 ms measured "
                                     "(50 runs)")
    assert lines["dynamic"].endswith("iPhone 13: 2.400 ms predicted [2.050, 2.810] from 3 measurements")
    assert lines["qat_int8"].endswith("iPhone 13: 2.100 M instr, count (arm64-a15)")
    bare = sweep_summary([x86("int8"), arm("int8")])
    assert bare.endswith("2.000 M instr on arm64-a15, no phone measured it")  # the count said once, not twice
    predicted_line = next(line for line in bench_table(phone_run()).splitlines() if "predicted:iphone" in line)
    assert "pred [2.05, 2.81]" in predicted_line  # a prediction's interval, not a measured CI


def test_a_device_measured_p50_cell_says_measured_as_a_predicted_one_says_predicted():
    budgets = Budgets(backend="predicted:iphone-13", max_latency_ms=5.0, require_contract=False)
    rows = _variants(_report(phone_run(), budgets, "latency").html)
    # float32, int8, float16: the iPhone 13's medians stand in; dynamic: predicted; qat_int8: x86's, unmarked
    assert rows["float32"]["p50 ms"] == ("3.100 measured", "3.1") and rows["float32"]["measured on"][0].startswith(
        "device:iphone-13@1")
    assert rows["int8"]["p50 ms"] == ("1.850 measured", "1.85")
    assert rows["dynamic"]["p50 ms"] == ("2.400 predicted", "2.4")
    assert rows["qat_int8"]["p50 ms"] == ("0.620", "0.62") and rows["qat_int8"]["measured on"][0] == "xnnpack@1"
    on_x86 = _variants(_report(phone_run()).html)  # judged on x86: nothing measured elsewhere, nothing marked
    assert on_x86["float32"]["p50 ms"] == ("0.400", "0.4")


def _a18(recipe="float32", ms=1.2, name="iPhone 16", chip="A18"):
    """A device of an SME2 chip (A18): float32 measured on it, 1.200 ms over 30 runs."""
    r = device(recipe, name, "device:" + "-".join(name.lower().split()), ms=ms, runs=30)
    return replace(r, device={**r.device, "chip": chip})


def test_an_sme2_device_s_column_never_shows_another_profile_s_count(monkeypatch):
    import liteship.bench.device_chips as chips

    monkeypatch.setattr(chips, "_registered", lambda name: name in ("arm64-a14", "arm64-a15"))  # no arm64-a18
    records = [*phone_run(), _a18()]
    page = _report(records).html
    rows = _variants(page)
    column = "iPhone 16 (1 thread)"
    assert rows["float32"][column] == ("1.200 ms measured (30 runs)", "1.2")
    for recipe in ("int8", "dynamic", "float16", "qat_int8"):  # arm64-a15 counted each: never shown as the A18's
        assert rows[recipe][column] == ("no count: no counted profile stands for its chip", None)
    assert rows["qat_int8"]["iPhone 13 (1 thread)"] == ("2.100 M instr, count (arm64-a15)", None)  # the A15's own
    said = " ".join(page.split())
    assert "in the iPhone 16 column no variant falls back to a count: no counted ISA profile stands for its chip " \
           "(A18 has SME2: XNNPACK runs KleidiAI's SME2 kernels there, which arm64-a14 and arm64-a15 (sme=off) never " \
           "run" in said


def test_a_device_s_column_shows_the_count_of_its_own_profile(monkeypatch):
    import liteship.bench.device_chips as chips

    monkeypatch.setattr(chips, "_registered", lambda name: name in ("arm64-a14", "arm64-a15", "arm64-a18"))
    records = [*phone_run(), _a18(), arm("int8", backend="arm64-a18", per_invoke=1_500_000),
               _a18(name="iPhone 12", chip="A14"), arm("dynamic", backend="arm64-a14", per_invoke=3_300_000)]
    rows = _variants(_report(records).html)
    assert rows["int8"]["iPhone 16 (1 thread)"] == ("1.500 M instr, count (arm64-a18)", None)
    # counted on arm64-a15 and a14 only: no count of its own profile, and the cell says so
    assert rows["dynamic"]["iPhone 16 (1 thread)"] == ("no count: arm64-a18 has not counted it", None)
    assert rows["dynamic"]["iPhone 12 (1 thread)"] == ("3.300 M instr, count (arm64-a14)", None)
    assert rows["int8"]["iPhone 12 (1 thread)"] == ("no count: arm64-a14 has not counted it", None)
    unknown = _variants(_report([*phone_run(), _a18(name="Frobnicator X1", chip=None)]).html)
    assert unknown["int8"]["Frobnicator X1 (1 thread)"] == ("no count: no counted profile stands for its chip", None)
