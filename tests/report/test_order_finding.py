"""Where x86 milliseconds, a phone's milliseconds (measured or predicted) and aarch64 counts order variants
differently, the report says it once: one finding naming the order the decision used (its budgets' backend) and
each pair another order ranks the other way. Hand-made scenarios; every ratio below is worked out by hand from the
numbers in tests/report/phone_run.py."""

from dataclasses import replace
from types import SimpleNamespace

from liteship.judge import Budgets, findings
from liteship.report import build
from tests.judge.test_findings import FLOAT, rec
from tests.report.phone_run import arm, decision, phone_run, predicted, x86

X86 = "x86 ms (xnnpack, 1 thread(s))"
A15 = "counts (arm64-a15, aarch64 instructions)"


def _disagree():
    """x86 times int8 1.50x float32 (0.60 / 0.40 ms) and dynamic 1.25x (0.50 / 0.40); arm64-a15 counts them 0.40x
    (2.0 M / 5.0 M) and 0.60x (3.0 M / 5.0 M): the two orders disagree on both pairs."""
    return [*map(x86, ("float32", "int8", "dynamic")), *map(arm, ("float32", "int8", "dynamic"))]


def _order(records, budgets, prefer="accuracy", made=None):
    d = made or decision(records, budgets, prefer)
    found = findings(records, budgets, "runs/x", d)
    orders = [f for f in found if f.kind == "order"]
    assert len(orders) <= 1
    # no other warning speaks of the orders any more
    assert not any("aarch64" in f.message or "instruction set" in f.message for f in found if f.kind != "order")
    return orders[0] if orders else None


def test_judged_and_ranked_on_x86_it_says_so_and_names_where_the_counts_disagree():
    f = _order(_disagree(), Budgets(max_latency_ms=1.0, require_contract=False), "latency")
    assert f.message == (
        f"The decision used {X86}: it judged max_latency_ms (p50) by it, and ranked by it (--prefer latency). "
        f"Another order ranks 2 pair(s) of variants the other way: mnv2 int8 against float32: 1.50× by {X86}, but "
        f"0.40× by {A15}; mnv2 dynamic against float32: 1.25× by {X86}, but 0.60× by {A15}. An aarch64 count is "
        "the phone's instructions, not its time.")
    assert f.variants == ("mnv2-int8", "mnv2-float32", "mnv2-dynamic")
    assert f.explain == "liteship explain runs/x mnv2-int8 --vs mnv2-float32"


def test_ranked_by_the_counts_it_names_the_counts_and_x86_as_the_other_order():
    f = _order(_disagree(), Budgets(backend="arm64-a15", require_contract=False), "instructions")
    assert f.message.startswith(f"The decision used {A15}: it ranked by it (--prefer instructions). Another order "
                                f"ranks 2 pair(s) of variants the other way: mnv2 int8 against float32: 0.40× by "
                                f"{A15}, but 1.50× by {X86};")


def test_a_tie_broken_by_the_counts_is_the_counts_order_and_no_cost_used_is_said_as_such():
    f = _order(_disagree(), Budgets(require_contract=False), "accuracy")  # the same top-1: tied, ranked by counts
    assert f.message.startswith(f"The decision used {A15}: it ranked the variants it could not tell apart by "
                                "accuracy by it.")
    f = _order(_disagree(), Budgets(require_contract=False), "size")
    assert f.message.startswith("The decision used no cost order: it ranked by size and judged no latency or "
                                f"instruction budget. Its budgets' backend (xnnpack) orders by {X86}")


def test_no_finding_where_the_orders_agree_or_x86_cannot_tell():
    agree = [*_disagree()[:5], arm("dynamic", per_invoke=6_000_000)]  # dynamic 1.2x on ARM too; int8 still 0.40x
    assert "dynamic" not in _order(agree, Budgets(require_contract=False), "size").message
    both = [x86("float32"), x86("int8"), arm("float32"), arm("int8", per_invoke=6_000_000)]
    assert _order(both, Budgets(require_contract=False), "size") is None
    overlap = [x86("float32"), replace(x86("int8"), latency_ms=replace(x86("int8").latency_ms, ci_low=0.39)),
               arm("float32"), arm("int8")]  # x86's intervals touch: x86 orders nothing
    assert _order(overlap, Budgets(require_contract=False), "size") is None


def test_judged_on_the_phone_it_names_the_devices_order_and_x86_where_it_disagrees():
    f = _order(phone_run(), Budgets(backend="device:iphone-13", max_latency_ms=5.0, require_contract=False), "latency")
    phone = "device ms (iPhone 13, device:iphone-13, 1 thread(s))"
    assert f.message.startswith(f"The decision used {phone}: it judged max_latency_ms (p50) by it, and ranked by it "
                                "(--prefer latency). Another order ranks 1 pair(s) of variants the other way: mnv2 "
                                f"int8 against float32: 0.60× by {phone}, but 1.50× by {X86}.")  # 1.850 / 3.100
    assert "aarch64" not in f.message  # the counts order them as the phone does


def test_judged_on_predictions_it_says_the_upper_end_and_which_values_were_predicted():
    made = SimpleNamespace(prefer="latency", tie=None)  # what the finding asks of a decision
    f = _order(phone_run(), Budgets(backend="predicted:iphone-13", max_latency_ms=2.9, require_contract=False),
               made=made)
    assert f.message.startswith(
        "The decision used predicted ms (iPhone 13, predicted:iphone-13, 1 thread(s); a variant measured on the device "
        "by its measurement): it judged max_latency_ms (p50) by it, and ranked by it (--prefer latency), each "
        "prediction on its 95 % interval's upper end.")
    # dynamic (predicted 2.400) against float32 (measured 3.100): 0.77x; on x86 0.50 / 0.40 = 1.25x
    assert "mnv2 dynamic against float32: 0.77× by predicted ms against measured ms (iPhone 13), but 1.25× by " \
           f"{X86}" in f.message
    assert f.message.endswith("A predicted time is an aarch64 count scaled by the device's own measurements, not "
                              "measured.")


def test_a_measured_time_inside_a_predictions_interval_is_no_order():
    wide = [r if r.recipe != "dynamic" or r.kind.here else predicted("dynamic") for r in phone_run()]
    wide = [replace(r, latency_ms=replace(r.latency_ms, ci_high=3.2)) if r.backend == "predicted:iphone-13" else r
            for r in wide]  # float32's measured 3.100 lies inside dynamic's [2.050, 3.200]
    f = _order(wide, Budgets(max_latency_ms=1.0, require_contract=False), "latency")
    dynamic = next(part for part in f.message.split("; mnv2 ") if part.startswith("dynamic against float32"))
    assert "iPhone 13" not in dynamic and f"0.60× by {A15}" in dynamic  # the count still orders it (3.0 / 5.0 M)


def test_the_report_says_it_once():
    records = phone_run()
    budgets = Budgets(max_latency_ms=1.0, require_contract=False)
    d = decision(records, budgets, "latency")
    md = build(records, d, findings(records, budgets, "runs/x", d), "runs/x").markdown
    warnings = md.split("### Warnings")[1].split("### Plots")[0]
    # two warnings: the x86 slowdowns, and the one on the orders (where there were two on x86 against the ISA)
    assert warnings.count("> ⚠") == 2 and warnings.count("The decision used") == 1
    assert "mnv2 int8 against float32: 1.50× by x86 ms (xnnpack, 1 thread(s)), but 0.60× by device ms (iPhone 13, " \
           f"measured), 0.40× by {A15}" in warnings


def test_the_phone_isa_how_to_quotes_the_finding_as_it_reads_now():
    """docs/how-to/phone-isa.md quotes the warning on its own table's counts (random-weight MobileNetV2 0.35@96 per
    invoke: arm64-a15 5.81 M float32, 3.34 M int8; x86 under valgrind 4.13 M, 6.00 M), judged on arm64-a15 with
    --prefer instructions: 3.34 / 5.81 = 0.57x by the ISA, 6.00 / 4.13 = 1.45x by x86."""
    from pathlib import Path

    from liteship.bench import Instructions

    model = "mobilenet_v2_0.35_96"
    x86s = [replace(x86_rec, instructions=Instructions(per_invoke=n, isa="x86_64"))
            for x86_rec, n in ((rec("float32", FLOAT, model=model), 4_130_000),
                               (rec("int8", FLOAT, model=model), 6_000_000))]
    records = [*x86s, arm("float32", model, per_invoke=5_810_000), arm("int8", model, per_invoke=3_340_000)]
    f = _order(records, Budgets(backend="arm64-a15", require_contract=False), "instructions")
    assert f.message == (
        "The decision used counts (arm64-a15, aarch64 instructions): it ranked by it (--prefer instructions). Another "
        f"order ranks 1 pair(s) of variants the other way: {model} int8 against float32: 0.57× by counts (arm64-a15, "
        "aarch64 instructions), but 1.45× by counts (x86 instructions, valgrind). An aarch64 count is the phone's "
        "instructions, not its time.")
    page = " ".join((Path(__file__).resolve().parents[2] / "docs" / "how-to" / "phone-isa.md").read_text().split())
    assert f'it reads: "{f.message}"' in page
