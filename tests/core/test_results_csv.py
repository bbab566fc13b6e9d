"""results.csv is the records flat: every field of every record of results.jsonl, read back with the csv
module, equals the JSON record's value (structured values as JSON text, the latency statistics one column
each)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import fields

from liteship.bench.record import BenchRecord, LatencyStats
from liteship.bench.results import write_results


def full_record(variant: str, backend: str) -> BenchRecord:
    """A record with every field set, names that need quoting in CSV among them."""
    lat = LatencyStats(init=1.5, first=0.9, p50=0.5, p90=0.6, p99=0.7, mean=0.55, std=0.01, cv=0.02, min=0.4,
                       runs=50, rounds=5, ci_low=0.49, ci_high=0.51, p90_ci=(0.58, 0.62), p99_ci=(0.66, 0.75))
    return BenchRecord(
        variant=variant, model="small_cnn-32", recipe="int8", arch="small_cnn", alpha=0.35, size=32,
        backend=backend, threads=1, runtime="ai-edge-litert 2.0", kind="run", status="ok", size_bytes=12345,
        gzip_bytes=9876, params=4321, sparsity=0.5, latency_ms=lat, top1=0.75, top5=1.0, agreement=0.75,
        images=4, per_class_top1={'cat, "tabby"': 0.5, "dog\nnewline": 1.0},
        confusion=[[1, 1], [0, 2]], peak_rss_mb=120.5, arena_mb=0.25, ops={"CONV_2D": 3, "FULLY_CONNECTED": 1},
        delegated=1.0, contract={"ok": True, "problems": []}, compat={"ok": True, "min_runtime": "2.14"},
        task_api={"loaded": True, "top1": 0.75}, notes=("first, note", 'a "quoted" one'),
        system={"cpu": "x86", "versions": {"numpy": "2.0"}}, model_path="variants/a.tflite", node="host-1",
        sha256="ab" * 32, data={"source": "digits", "split": "test", "images": 4}, options={"runs": 50},
        top1_ci=(0.3, 0.95), correct="1101", instructions={"per_invoke": 1000, "isa": "x86-64"},
        emulation={"cpu": "a15"}, reference_backend="xnnpack", reference_agreement=1.0, reference_max_diff=0.01)


def test_every_field_of_every_record_is_in_the_csv(tmp_path):
    recs = [full_record("aaaa", "xnnpack"), full_record("bbbb", "fp16")]
    write_results(tmp_path, recs)
    jsonl = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = list(csv.DictReader(io.StringIO((tmp_path / "results.csv").read_text(encoding="utf-8"), newline="")))
    assert len(rows) == len(jsonl) == 2
    for record, row in zip(jsonl, rows):
        flat = {}
        for key, value in record.items():  # the rule, written out: latency's statistics one column each
            if key == "latency_ms":
                flat.update({f"latency_ms.{k}": v for k, v in value.items()})
            else:
                flat[key] = value
        assert set(row) == set(flat), set(row) ^ set(flat)
        for key, value in flat.items():
            cell = row[key]
            if value is None:
                assert cell == "", key
            elif isinstance(value, str):
                assert cell == value, key
            else:
                assert json.loads(cell) == value, key
    assert {f.name for f in fields(BenchRecord)} - {"latency_ms"} <= set(rows[0])
    for name in ("kind", "instructions", "top1_ci", "sha256", "reference_backend", "reference_agreement",
                 "reference_max_diff"):
        assert rows[0][name] != "", name


def test_a_record_without_latency_leaves_its_columns_empty(tmp_path):
    from dataclasses import replace

    write_results(tmp_path, [replace(full_record("cccc", "gpu"), latency_ms=None, kind="coverage", top1=None)])
    row = next(csv.DictReader(io.StringIO((tmp_path / "results.csv").read_text(encoding="utf-8"), newline="")))
    assert row["kind"] == "coverage" and row["top1"] == "" and row["latency_ms.p50"] == ""
