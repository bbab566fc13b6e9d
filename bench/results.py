"""results.jsonl: the one reader and the one writer of a run's bench records.

One line per (variant, backend, threads). Writes are atomic and rewrite the
whole file, so a line can only be damaged by hand or by another program: the
reader then refuses the file, naming the line and what is wrong with it,
instead of quietly judging the rest.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import fields
from pathlib import Path

from liteship.bench.record import BenchRecord, LatencyStats
from liteship.errors import LiteshipError
from liteship.files import atomic_write_text, read_regular
from liteship.rundir import RESULTS, current_ids


def results_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / RESULTS


def parse_results(path: Path) -> list[BenchRecord]:
    """Every record of a results file, in file order; a line that is not a record is an error."""
    records = []
    try:
        # not read_text: its newline translation would renumber lines; read_regular: never a FIFO or /proc/kmsg
        text = read_regular(path, "Results file").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LiteshipError(f"{path} is not UTF-8 text (byte {exc.start} is not)", "liteship writes results.jsonl "
                            "as UTF-8 JSON Lines", f"restore the file, or delete it and re-run `liteship bench "
                            f"{path.parent}`") from exc
    for n, line in enumerate(text.split("\n"), 1):  # JSON Lines: \n only
        if not line.strip():
            continue
        try:
            records.append(BenchRecord.from_dict(json.loads(line)))
        except (json.JSONDecodeError, ValueError, TypeError, RecursionError) as exc:  # nested too deep: RecursionError
            why = f"it is not JSON ({exc.msg.removesuffix(' at')} at column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else exc
            raise LiteshipError(f"{path} line {n} is not a liteship bench record: {why}",
                                "liteship writes that file whole, so the line was changed by hand or another program",
                                f"restore the file, or delete it and re-run `liteship bench {path.parent}`") from exc
    return records


def read_results(run_dir: str | Path, missing_ok: bool = False) -> list[BenchRecord]:
    """The run's records; a missing file is an error unless ``missing_ok`` (then: none)."""
    path = results_path(run_dir)
    if not path.is_file():
        if missing_ok:
            return []
        raise LiteshipError(f"{run_dir} has no {RESULTS}", "gate, pick and reports judge measured variants",
                            f"run `liteship sweep` or `liteship bench {run_dir}` first")
    return parse_results(path)


def records_by_key(records: list[BenchRecord]) -> dict[tuple, BenchRecord]:
    return {r.key: r for r in records}


def one_variant_each(records: list[BenchRecord], path: Path) -> list[BenchRecord]:
    """``records``, unless a (model, recipe) has records of two variants: a results file read without its run
    directory cannot tell which is current, so judging it would judge a stale variant (exit 2)."""
    seen: dict[tuple, set] = {}
    for r in records:
        seen.setdefault((r.model, r.recipe), set()).add(r.variant)
    mixed = {k: v for k, v in seen.items() if len(v) > 1}
    if mixed:
        (model, recipe), ids = next(iter(mixed.items()))
        raise LiteshipError(f"{path} holds records of {len(ids)} variants of {model} {recipe} ({', '.join(sorted(ids))})"
                            + (f" and of {len(mixed) - 1} more recipe(s)" if len(mixed) > 1 else ""),
                            "without its run directory nothing says which variant is current, and judging a stale "
                            "one would judge numbers that do not ship",
                            "pass the run directory instead, or re-run `liteship bench RUN_DIR` there: it keeps only "
                            "the current variants' records")
    return records


def record_line(record: BenchRecord) -> str:
    """A record as results.jsonl holds it: one line of JSON, keys sorted (without its newline)."""
    return json.dumps(record.to_dict(), sort_keys=True)


def same_records(a: list[BenchRecord], b: list[BenchRecord]) -> bool:
    """``a`` and ``b`` hold the same records to the digit, as many times each, in any order."""
    return Counter(map(record_line, a)) == Counter(map(record_line, b))


def csv_columns() -> list[str]:
    """results.csv's header: every field of a record in its order, the latency statistics one column each
    (``latency_ms.p50``, ...)."""
    return [f"latency_ms.{s.name}" if f.name == "latency_ms" else f.name
            for f in fields(BenchRecord) for s in (fields(LatencyStats) if f.name == "latency_ms" else [f])]


def _cell(value) -> str:
    """A value as a CSV cell: text as it is, nothing as an empty cell, anything else as JSON (numbers, true and
    false, and the record's lists and tables, whole)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def to_csv(records: list[BenchRecord]) -> str:
    """The records flat: one row per record, one column per field (:func:`csv_columns`), nothing left out."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    columns = csv_columns()
    writer.writerow(columns)
    for r in records:
        d = r.to_dict()
        lat = d.pop("latency_ms") or {}
        row = {**d, **{f"latency_ms.{k}": v for k, v in lat.items()}}
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buf.getvalue()


def merged_results(run_dir: str | Path, records: list[BenchRecord], replace_backends: tuple[str, ...] = (),
                   existing: list[BenchRecord] | None = None) -> list[BenchRecord]:
    """What :func:`write_results` would write, without writing: the run's records (``existing``, when the caller
    has read them) with ``records`` merged in, one per (variant, backend, threads), ``replace_backends`` replaced
    whole, and only current variants'. A command that derives records from others (a device's predictions from
    its measurements) derives them from this, in memory, and writes both at once."""
    existing = read_results(run_dir, missing_ok=True) if existing is None else existing
    kept = records_by_key([r for r in existing if r.backend not in replace_backends])
    for rec in records:
        kept[rec.key] = rec
    ids = current_ids(Path(run_dir))
    return [r for r in kept.values() if ids is None or r.variant in ids]


def write_results(run_dir: str | Path, records: list[BenchRecord], replace_backends: tuple[str, ...] = ()) -> None:
    """Merge into results.jsonl / results.csv, one line per (variant, backend, threads), atomically; records of
    variants that are no longer current (current_variants.json) are dropped, so the file alone says what ships.
    ``replace_backends``: backends whose records ``records`` replace whole (a device's predictions: a variant
    now measured on the device loses its predicted record)."""
    ordered = merged_results(run_dir, records, replace_backends)
    path = results_path(run_dir)
    atomic_write_text(path, "".join(record_line(r) + "\n" for r in ordered))
    atomic_write_text(path.with_suffix(".csv"), to_csv(ordered))
