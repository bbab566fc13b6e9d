"""The report's per-backend table, machine section and phone column on a run holding a phone's numbers, against
sentences and cells written here by hand from the records of tests/report/phone_run.py (an iPhone 13, A15, iOS 17.4,
LiteRT 2.2.0: float32 3.100 ms, int8 1.850 ms, float16 3.300 ms measured; dynamic predicted at 2.400 ms from those
three; every variant counted on arm64-a15) and a Mac Studio (M4 Max, an SME2 chip whose profile is arm64-a18) that
measured float32 (1.200 ms over 30 runs) and int8 (0.900 ms) while arm64-a18 counted nothing.
"""

from dataclasses import replace

from tests.report.phone_run import device, phone_run
from tests.report.test_phone_column import Tables, _report, _variants

SYSTEM = {"cpu": "Test CPU 9000", "machine": "x86_64", "cores": 2, "cpu_flags": ["avx2", "fma"], "os": "Linux 6"}
RUNTIME = "ai-edge-litert 2.3.0 Interpreter (AUTO)"
THIS_MACHINE = ("measured on this machine's CPU, Test CPU 9000 (x86_64, 2 cores; avx2, fma), through ai-edge-litert "
                "2.3.0 Interpreter (AUTO): not on a phone. Phones run ARM CPUs, where the speed-up of int8 over float "
                "differs from this CPU's.")


def _on_this_machine(records):
    return [replace(r, system=SYSTEM, runtime=RUNTIME) if r.kind.here else r for r in records]


def _machine_words(md: str) -> str:
    return md.split("<summary>Machine and versions</summary>")[1].strip().split("\n\n")[0]


def test_the_machine_section_says_where_each_kind_of_number_was_measured():
    said = _machine_words(_report(_on_this_machine(phone_run())).markdown)
    assert said == (
        "Where: the device:iphone-13 numbers were measured on the iPhone 13 (A15, iOS 17.4, LiteRT 2.2.0) by the "
        "device's own benchmark tool and imported (`liteship device import`), not on this machine; the "
        "predicted:iphone-13 numbers were measured on no phone: each is predicted from the variant's arm64-a15 "
        "instruction count by a calibration fitted on 3 measurements of other variants on the iPhone 13 (each "
        "measured on the device by its own benchmark tool and imported). Every other number, and the table below: "
        + THIS_MACHINE)
    # with this machine's numbers alone, the one sentence stays whole
    alone = _machine_words(_report(_on_this_machine([r for r in phone_run() if r.kind.here])).markdown)
    assert alone == "M" + THIS_MACHINE[1:]


def test_the_per_backend_table_leaves_out_the_columns_a_phone_never_fills():
    records = phone_run()
    page = _report(records).html
    table = next(t for t in Tables(page).tables if t["caption"] == "Run backends and delegate coverage")
    # x86's p50 and top-1 (the reference has no agreement with itself); a p50 alone for the phone's two backends
    assert table["header"] == ["model", "recipe", "xnnpack p50 ms", "xnnpack top-1", "device:iphone-13 p50 ms",
                               "predicted:iphone-13 p50 ms"]
    rows = {row["recipe"][0]: row for row in Tables(page).table("Run backends and delegate coverage")}
    assert rows["float32"]["device:iphone-13 p50 ms"] == ("3.100 measured", "3.1")
    assert rows["float32"]["predicted:iphone-13 p50 ms"] == ("–", None)
    assert rows["dynamic"]["predicted:iphone-13 p50 ms"] == ("2.400 predicted", "2.4")
    assert rows["qat_int8"]["device:iphone-13 p50 ms"] == ("–", None)  # neither measured nor predicted
    said = " ".join(page.split())
    assert "device:iphone-13 and predicted:iphone-13: a p50 column only, marked measured (the device's benchmark " \
           "tool's median, imported) or predicted (from counts, not measured)" in said


def test_a_device_whose_profile_counted_nothing_says_why_its_cells_are_empty(monkeypatch):
    import liteship.bench.device_chips as chips

    monkeypatch.setattr(chips, "_registered", lambda name: name in ("arm64-a14", "arm64-a15", "arm64-a18"))
    mac = [replace(r, device={**r.device, "chip": "M4 Max"}) for r in (
        device("float32", "Mac Studio (M4 Max)", "device:mac-studio-m4-max", ms=1.2, runs=30),
        device("int8", "Mac Studio (M4 Max)", "device:mac-studio-m4-max", ms=0.9, runs=30))]
    page = _report([*phone_run(), *mac]).html
    rows = _variants(page)
    column = "Mac Studio (M4 Max) (1 thread)"
    assert rows["float32"][column] == ("1.200 ms measured (30 runs)", "1.2")
    for recipe in ("dynamic", "float16", "qat_int8"):  # arm64-a15 counted them; arm64-a18, the M4's, did not
        assert rows[recipe][column] == ("no count: arm64-a18 has not counted it", None)
    assert all(row[column][0] != "–" for row in rows.values())  # no cell left empty without a reason
    said = " ".join(_report([*phone_run(), *mac]).markdown.split())
    assert "in the Mac Studio (M4 Max) column 3 of the 5 variants have no count: arm64-a18, the ISA profile that " \
           "stands for its chip, M4 Max, has not counted them, so no count and no prediction stands for them " \
           "(`liteship bench RUN_DIR --backends arm64-a18` counts them; `liteship device predict RUN_DIR` then " \
           "predicts them from the device's measurements)" in said
