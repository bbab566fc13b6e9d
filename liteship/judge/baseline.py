"""The float baseline: which record a variant's "change vs float" is measured against.

The float32 variant of the same float model, on the same backend and thread
count, scored on the same images. Gate, pick, the plugin and the reports all
take the drop from here, so they cannot disagree about it.
"""

from __future__ import annotations

from liteship.bench.record import BenchRecord


def float_record(records: list[BenchRecord], model: str | None, backend: str, threads: int | None) -> BenchRecord | None:
    """The float32 record of ``model`` on ``backend`` with ``threads``, if it was measured with accuracy."""
    return next((r for r in records if r.model == model and r.recipe == "float32" and r.backend == backend
                 and r.threads == threads and r.status == "ok" and r.top1 is not None), None)


def drop_vs_float(record: BenchRecord | None, records: list[BenchRecord]) -> float | None:
    """float32's top-1 minus ``record``'s (positive: the variant is worse), on the record's backend and threads."""
    if record is None or record.top1 is None:
        return None
    base = float_record(records, record.model, record.backend, record.threads)
    return None if base is None else round(base.top1 - record.top1, 6)
