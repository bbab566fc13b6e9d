"""A new kind of backend is its own module: nothing else in liteship changes for it.

The kind below, a phone's own measurements brought in from the device (timed, but not something this machine can
measure again), and its backend are declared in this file alone, as a backend's module would declare them; the
registry is patched to hold the backend. The report, the judge, the release notes and the tracker then read a
record of it. What each should show is written here by hand, from what the kind is, not from their output.
"""

import json

import pytest

from liteship.bench import backends
from liteship.bench.backends import EACH, Backend, Kind, KindBase
from liteship.bench.measure import BenchOptions, count_kinds
from liteship.bench.record import BenchRecord
from liteship.bench.run import result_keys
from tests.judge.test_findings import FLOAT, rec


class Phone(KindBase):
    """name, times, counts, analyses, here (measured on this machine), threads of its records"""

    DEVICE = "device", True, False, False, False, EACH


PIXEL = Backend("pixel-8", Phone.DEVICE, "LiteRT on a Pixel 8's CPU, timed on the phone and brought in", rank=50,
                isa="aarch64", measures="phone latency", source="timed on a Pixel 8 (Tensor G3), on the phone")
INT8 = "1" * 149 + "0" * 51  # 74.5 % of 200: within the paired test's noise of float's 75 %


@pytest.fixture
def phone(monkeypatch):
    every = {**backends.registry(), PIXEL.name: PIXEL}
    monkeypatch.setattr(backends, "registry", lambda: every)
    return PIXEL


def _on_phone(record: BenchRecord, p50: float) -> BenchRecord:
    """The same variant as the phone measured it, read from its JSON form as results.jsonl holds it."""
    d = json.loads(json.dumps(record.to_dict()))
    d["latency_ms"] = {**d["latency_ms"], **{k: p50 for k in ("p50", "p90", "p99", "mean", "min")},
                       "ci_low": p50 * 0.98, "ci_high": p50 * 1.02}
    d.update(backend="pixel-8", kind="device", runtime="LiteRT 1.4 on Android 14", node="pixel-8",
             system={"cpu": "Tensor G3", "cores": 9, "versions": {}})
    return BenchRecord.from_dict(d)


def _records():
    here = [rec("float32", FLOAT, p50=0.40, size=400_000), rec("int8", INT8, p50=0.20, size=100_000)]
    for r in here:
        r.system.update({"cpu": "Test x86 CPU", "cores": 2})
    return here + [_on_phone(here[0], 31.0), _on_phone(here[1], 12.0)]


def test_a_stored_kind_is_read_into_its_kind_and_written_back_as_it_was(phone):
    records = _records()
    assert [r.kind for r in records] == [Kind.RUN, Kind.RUN, Phone.DEVICE, Phone.DEVICE]
    assert json.loads(json.dumps(records[2].to_dict()))["kind"] == "device"
    with pytest.raises(ValueError, match="'teleport' is not a kind of backend"):
        BenchRecord.from_dict({**json.loads(json.dumps(records[2].to_dict())), "kind": "teleport"})


def test_bench_leaves_a_phone_measurement_alone(phone):
    # Named, but not measured again here: no record to make, none planned, not in what bench measures unless told.
    options = BenchOptions(backends=("xnnpack", "pixel-8"), threads=(1, 2))
    assert result_keys("v", options) == [("v", "xnnpack", 1), ("v", "xnnpack", 2)]
    assert "pixel-8" in backends.names() and "pixel-8" not in backends.default_backends()
    assert count_kinds(options) == []


def test_the_judge_ranks_on_the_phone_s_time(phone):
    from liteship.judge.budgets import Budgets
    from liteship.judge.decision import decide
    from tests.report.test_report import _gate

    records = _records()
    budgets = Budgets(backend="pixel-8", max_latency_ms=20.0, require_contract=False)  # a budget may name it
    decision = decide(records, budgets, "latency", _gate(records, budgets))
    # float32 takes 31 ms on the phone (over 20), int8 12 ms: int8 ships, judged on the phone's 12 ms, not 0.20.
    assert decision.chosen.variant == "mnv2-int8" and decision.chosen.latency_ms == pytest.approx(12.0)
    # [budgets] backend takes it as it takes every timed backend, and lists it when refusing a name it does not know
    from liteship.config import Problems, from_mapping

    assert from_mapping(Budgets, {"backend": "pixel-8"}, "[budgets]").backend == "pixel-8"
    with pytest.raises(Problems, match="pixel-9") as refused:
        from_mapping(Budgets, {"backend": "pixel-9"}, "[budgets]")
    assert "pixel-8" in str(refused.value) and "gpu" not in str(refused.value).split("not one of")[-1]


def test_the_report_shows_it_where_a_time_is_shown_and_says_where_it_came_from(phone):
    from liteship.judge.budgets import Budgets
    from liteship.judge.decision import decide
    from liteship.judge.findings import findings
    from liteship.report import build
    from tests.report.test_report import _gate

    records = _records()
    budgets = Budgets(require_contract=False)
    decision = decide(records, budgets, "accuracy", _gate(records, budgets))
    md = build(records, decision, findings(records, budgets, "runs/x", decision), "runs/x").markdown
    per_backend = _section(md, "Per backend")
    assert "pixel-8 p50 ms" in per_backend and "31.000" in per_backend  # timed: a column of the backends table
    assert "phone latency (pixel-8): timed on a Pixel 8 (Tensor G3), on the phone" in md  # where it came from
    assert "None is a phone's milliseconds" not in md  # one of them is
    machine = _section(md, "Machine and versions")
    assert "Test x86 CPU" in machine and "Tensor G3" not in machine  # the machine is this one, not the phone


def _section(md: str, title: str) -> str:
    """A folded section of report.md: ``<details><summary>title</summary> ... </details>``."""
    return md.split(f"<summary>{title}</summary>")[1].split("</details>")[0]


def test_the_release_notes_and_the_tracker_name_it(phone):
    from liteship.judge.budgets import Budgets
    from liteship.judge.decision import decide
    from liteship.judge.release_docs import model_md
    from liteship.workflow.track import metric_prefix, variant_metrics
    from tests.report.test_report import _gate

    records = _records()
    budgets = Budgets(require_contract=False)
    decision = decide(records, budgets, "accuracy", _gate(records, budgets))
    chosen = [r for r in records if r.variant == decision.chosen.variant]
    contract = {"input": {"shape": [1, 32, 32, 3], "dtype": "float32"}, "output": {"shape": [1, 2], "dtype": "float32"}}
    text = model_md(decision, chosen, contract, ["a", "b"], "here", None)
    p50 = 31.0 if decision.chosen.variant == "mnv2-float32" else 12.0
    assert f"- pixel-8, 1 thread(s): p50 {p50:.3f} ms" in text
    assert "No number here was measured on a phone" not in text
    assert metric_prefix(records[2]) == "pixel-8_t1"  # a timed kind: its records told apart by threads
    assert variant_metrics(chosen, records)["pixel-8_t1.p50_ms"] == pytest.approx(p50)


def test_valgrind_is_a_count_backend_of_the_registry():
    x86 = backends.get("x86")
    assert x86.kind is Kind.COUNT and x86.on_reference and not x86.inputs
    assert "x86" not in backends.names() and "x86" not in backends.default_backends()  # never named in --backends
    # --instructions asks for it, on the reference backend's records only
    assert count_kinds(BenchOptions(backends=("xnnpack", "gpu"), instructions=True)) == ["x86"]
    assert count_kinds(BenchOptions(backends=("builtin",), instructions=True)) == []
    assert count_kinds(BenchOptions(backends=("xnnpack",))) == []


def test_a_count_file_written_before_valgrind_was_a_backend_is_still_read(tmp_path):
    """counts/<ID>.x86.json as liteship wrote it: its key spelt out here, field by field."""
    from liteship.bench.counts import count_key, read_count
    from liteship.bench.instructions import valgrind
    from liteship.versions import system_info

    versions = system_info()["versions"]
    old_key = {"sha256": "a" * 64, "kind": "x86",
               "tools": {"ai-edge-litert": versions.get("ai-edge-litert"), "liteship": versions.get("liteship"),
                         "valgrind": valgrind()}}
    (tmp_path / "counts").mkdir()
    (tmp_path / "counts" / "v1.x86.json").write_text(json.dumps({"key": old_key, "count": {"per_invoke": 7}}))
    assert count_key("a" * 64, "x86", None, False) == old_key
    found = read_count(tmp_path, "v1", "x86", old_key)
    assert found is not None and (found["per_invoke"] if isinstance(found, dict) else found.per_invoke) == 7
