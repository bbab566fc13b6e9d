"""results.jsonl: the one reader and the one writer of a run's bench records.

One line per (variant, backend, threads). Writes are atomic and rewrite the
whole file, so a line can only be damaged by hand or by another program: the
reader then refuses the file, naming the line and what is wrong with it,
instead of quietly judging the rest.
"""

from __future__ import annotations

import json
from pathlib import Path

from liteship.bench.record import BenchRecord, to_csv
from liteship.errors import LiteshipError
from liteship.files import atomic_write_text
from liteship.rundir import RESULTS


def results_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / RESULTS


def parse_results(path: Path) -> list[BenchRecord]:
    """Every record of a results file, in file order; a line that is not a record is an error."""
    records = []
    try:
        text = path.read_bytes().decode("utf-8")  # not read_text: its newline translation would renumber lines
    except UnicodeDecodeError as exc:
        raise LiteshipError(f"{path} is not UTF-8 text (byte {exc.start} is not)", "liteship writes results.jsonl "
                            "as UTF-8 JSON Lines", f"restore the file, or delete it and re-run `liteship bench "
                            f"{path.parent}`") from exc
    for n, line in enumerate(text.split("\n"), 1):  # JSON Lines: \n only
        if not line.strip():
            continue
        try:
            records.append(BenchRecord.from_dict(json.loads(line)))
        except (json.JSONDecodeError, ValueError, TypeError) as exc:
            why = f"it is not JSON ({exc.msg} at column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else exc
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


def write_results(run_dir: str | Path, records: list[BenchRecord]) -> None:
    """Merge into results.jsonl / results.csv, one line per (variant, backend, threads), atomically."""
    kept = records_by_key(read_results(run_dir, missing_ok=True))
    for rec in records:
        kept[rec.key] = rec
    ordered = list(kept.values())
    path = results_path(run_dir)
    atomic_write_text(path, "".join(json.dumps(r.to_dict(), sort_keys=True) + "\n" for r in ordered))
    atomic_write_text(path.with_suffix(".csv"), to_csv(ordered))
