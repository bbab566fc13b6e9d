"""Compare a run with its baseline (a pull request's run with main's): per variant and metric, base, new,
change and a verdict, judged only where the two runs' numbers can be compared.

Variants are matched by (model, recipe, backend, threads). Size, gzip size and instruction counts are
exact, so any change beyond the threshold is real; top-1 is compared on the same images when both runs
scored the same ones (paired), else unpaired; wall-clock latency is judged as the variant's p50 relative
to its float32 timed beside it in the same interleaved rounds, so the machine's drift between the two runs
cancels; two runs' absolute wall times are shown, not judged. A device's imported median (``device:<slug>``) is
measured on the phone, not here: its change between two runs moves with the phone session, and its ratio to float32
is to float32 measured on the same device; a prediction's (``predicted:<slug>``) moves with the measurements it is
calibrated on, and is never judged. Numbers from different tools (another valgrind or LiteRT for instruction
counts) are listed as not comparable and not judged.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from liteship.baseline import BASELINE_RECIPE, is_baseline
from liteship.bench import BenchRecord, one_variant_each, parse_results, results_path, same_records
from liteship.config import from_mapping, liteship_table
from liteship.errors import LiteshipError
from liteship.judge.baseline import paired_drop, same_images
from liteship.judge.budgets import predicted
from liteship.judge.costs import device_name, on_device
from liteship.number_formats import percent_change
from liteship.rundir import RESULTS, refuse_if_written


@dataclass(frozen=True)
class Thresholds:
    """[compare] in liteship.toml (or [tool.liteship.compare] in pyproject.toml); fractions, 0.01 = 1 %."""

    max_size_increase: float = 0.0
    max_gzip_increase: float = 0.0
    max_instructions_increase: float = 0.01
    max_accuracy_drop: float = 0.005  # in top-1, 0.005 = half a point
    # the p50 relative to the same run's float32, timed beside it; 0.30, not 0.10: the A/A benchmark
    # (tests/perf/test_false_alarms.py, docs/how-to/compare.md) measured up to 16 % false alarms at 0.10 and 5 % at 0.25
    # on a shared 2-core VM
    max_latency_increase: float = 0.30


def load_thresholds(path: str | Path | None, required: bool = False) -> Thresholds:
    """``required`` (compare's --thresholds, like --budgets): a file without the table is refused; else (one file of
    budgets and thresholds, the plugin's) no [compare] table means the defaults."""
    if path is None:
        return Thresholds()
    table, where = liteship_table(path, "compare")
    if table is None and required:
        raise LiteshipError(f"{path} has no {where.split(' ', 1)[1]} table", "compare's thresholds live in that table",
                            "add it, for example [compare] / max_size_increase = 0.05, or drop --thresholds for the "
                            "default thresholds")
    return from_mapping(Thresholds, table or {}, where)  # no [compare] table: the defaults


@dataclass(frozen=True)
class Change:
    key: tuple  # (model, recipe, backend, threads)
    metric: str
    base: float | None
    new: float | None
    change: float | None  # relative for size, instructions, latency; the drop in top-1 for accuracy
    verdict: str  # "ok", "FAILED", "not judged: ..."
    note: str = ""

    @property
    def failed(self) -> bool:
        return self.verdict == "FAILED"


def read_side(where: str | Path, role: str) -> list[BenchRecord]:
    """A run directory or a results file; missing, unreadable or empty is exit 2 with what to do."""
    refuse_half_written(where)
    path = Path(where)
    run_dir = path if path.is_dir() else None
    path = results_path(path) if run_dir is not None else path
    if not path.is_file():
        raise LiteshipError(f"The {role} results {path} do not exist",
                            "compare reads a run directory's results.jsonl, or such a file",
                            f"pass a run directory or results.jsonl as {role.upper()}; in CI, keep main's "
                            "results.jsonl as an artifact and pass it as BASE")
    if run_dir is not None:  # a run directory: its current variants only, through the one staleness filter
        from liteship.bench import current_results

        every = current_results(run_dir)[0]
    else:
        every = one_variant_each(parse_results(path), path)
    refuse_half_written(where)  # began while compare read: what it read may be half-made
    records = [r for r in every if r.kind.times or r.instructions]
    if not records:
        raise LiteshipError(f"The {role} results {path} hold no measured variant", "there is nothing to compare",
                            f"bench the run first: `liteship bench {path.parent}`")
    return records


SAME_RUN_FIX = "pass main's run directory (or results.jsonl) as BASE and this change's as NEW"


def _results_file(where: str | Path) -> Path:
    return results_path(Path(where)) if Path(where).is_dir() else Path(where)


def _records(where: str | Path) -> list[BenchRecord] | None:
    """Every record of a side's results file, read by bench's one reader; None when it cannot be read (read_side says
    what is wrong with it)."""
    try:
        return parse_results(_results_file(where))
    except (LiteshipError, OSError, ValueError):
        return None


def same_run(base: str | Path, new: str | Path) -> str | None:
    """Why BASE and NEW are one run, so comparing them proves nothing (the very results file: the same path, a link
    or a hard link to it); None when they are two files."""
    try:
        a, b = (os.stat(_results_file(p)) for p in (base, new))
    except (OSError, ValueError):
        return None
    if (a.st_dev, a.st_ino) != (b.st_dev, b.st_ino):
        return None
    return (f"its results are the very file BASE ({base}) reads: comparing a run with itself proves nothing, every "
            "change would be zero")


SAME_MEASUREMENTS = ("BASE and NEW hold the same measurements, record for record (a copy of one run, or a re-run that "
                     "reused every record because no variant's file changed): every change is zero, and no number "
                     "was measured twice")


def same_measurements(base: str | Path, new: str | Path) -> bool:
    """BASE and NEW hold the same records to the digit, a wall-clock timing among them: a copy of one run, or a
    re-run that measured nothing again because no variant's bytes changed (a record is reused only for the same
    file, options, machine and tools). Compared all the same, since "nothing changed" is then true; said, so that
    nobody reads it as two measurements agreeing."""
    base_records = _records(base)
    if not base_records or not any(r.latency_ms for r in base_records):
        return False
    new_records = _records(new)
    return new_records is not None and same_records(base_records, new_records)


def refuse_half_written(*sides: str | Path) -> None:
    """Exit 2 when a liteship command is writing a run directory compare reads (or the one a results.jsonl is in)."""
    for where in sides:
        path = Path(where)
        run_dir = path if path.is_dir() else path.parent if path.name == RESULTS else None
        if run_dir is not None:
            refuse_if_written(run_dir, "compare")


def _key(r: BenchRecord) -> tuple:
    return (r.model, r.recipe, r.backend, r.threads)


def _relative(metric: str, key, base: float, new: float, limit: float, note: str = "") -> Change:
    change = (new - base) / base if base else 0.0
    return Change(key, metric, base, new, round(change, 6), "FAILED" if change > limit else "ok", note)


def _instructions(key, b: BenchRecord, n: BenchRecord, t: Thresholds) -> Change | None:
    if not (b.instructions and n.instructions):
        return None
    base, new = b.instructions, n.instructions
    if b.emulation != n.emulation:  # an ARM count is exact for the same emulated CPU only
        return Change(key, "instructions", base.per_invoke, new.per_invoke, None,
                      "not judged: another emulated CPU", f"base {b.emulation}, new {n.emulation}")
    if base.tool != new.tool:  # exact for the same liteship, LiteRT and valgrind (or QEMU and plugin) only
        return Change(key, "instructions", base.per_invoke, new.per_invoke, None,
                      "not judged: counted with other tools", f"base {base.tool}, new {new.tool}")
    return _relative("instructions", key, base.per_invoke, new.per_invoke, t.max_instructions_increase)


def _accuracy(key, b: BenchRecord, n: BenchRecord, t: Thresholds) -> Change | None:
    drop = paired_drop(n, b)
    if drop is None:
        return None
    verdict = "FAILED" if drop.value > t.max_accuracy_drop else "ok"
    bd, nd = b.data or {}, n.data or {}
    other = "" if same_images(b, n) else (
        f"; scored on different test images (base {b.images} of data {str(bd.get('content_hash'))[:12]}, new "
        f"{n.images} of {str(nd.get('content_hash'))[:12]}, or another split of it): unpaired, and not the same test")
    return Change(key, "top1", b.top1, n.top1, drop.value, verdict, drop.describe() + other)


def _float32(records: dict, key: tuple) -> BenchRecord | None:
    """The float32 variant of the same model, backend and threads, timed in the same rounds as ``key``'s."""
    return records.get((key[0], BASELINE_RECIPE, *key[2:]))


def _latency(key, b: BenchRecord, n: BenchRecord, t: Thresholds, b_f32: BenchRecord | None = None,
             n_f32: BenchRecord | None = None) -> Change | None:
    """A variant's p50 relative to its float32 timed beside it (interleaved rounds), base against new: the
    machine's drift between two runs cancels. Two runs' absolute wall times are shown, never judged."""
    if not (b.latency_ms and n.latency_ms):
        return None
    base, new = b.latency_ms, n.latency_ms
    wall = round((new.p50 - base.p50) / base.p50, 6) if base.p50 else 0.0
    if predicted(b) or predicted(n):  # moves with its calibration; its count is compared on its profile's records
        return Change(key, "p50_ms", base.p50, new.p50, wall, "not judged: predicted from counts, not measured",
                      "a prediction moves with the device measurements it is calibrated on; the instructions it is "
                      "predicted from are compared, exactly, on the count backend's own records")
    if b.system.get("cpu") != n.system.get("cpu"):
        return Change(key, "p50_ms", base.p50, new.p50, wall, "not judged: measured on other CPUs",
                      f"base {b.system.get('cpu')}, new {n.system.get('cpu')}")
    refs, phone = (b_f32, n_f32), on_device(b) or on_device(n)
    if is_baseline(key[1]) or not all(r is not None and r.latency_ms and r.latency_ms.p50 for r in refs):
        why = "the reference itself" if is_baseline(key[1]) else "no float32 timed beside it in both runs"
        if phone:
            return Change(key, "p50_ms", base.p50, new.p50, wall, "not judged: a device's time in two runs",
                          f"{why}; {_device_words(n if on_device(n) else b)}")
        return Change(key, "p50_ms", base.p50, new.p50, wall, "not judged: two runs' wall time",
                      f"{why}; wall time between two runs moves with the machine (the A/A sessions in docs/how-to/compare.md)")
    b_ratio, n_ratio = base.p50 / b_f32.latency_ms.p50, new.p50 / n_f32.latency_ms.p50
    change = round(n_ratio / b_ratio - 1, 6)
    said = (f"p50 {base.p50:.3f} -> {new.p50:.3f} ms on the {device_name(n)} ({percent_change(wall, '.1f')}, not "
            "judged: measured on the device and imported, it moves with the phone session), each against float32 "
            "measured on the same device") if phone else \
        f"p50 {base.p50:.3f} -> {new.p50:.3f} ms ({percent_change(wall, '.1f')} wall time, not judged)"
    return Change(key, "p50_vs_float32", round(b_ratio, 6), round(n_ratio, 6), change,
                  "FAILED" if change > t.max_latency_increase else "ok", said)


def _device_words(record: BenchRecord) -> str:
    """What a device's number is, and what its change between two runs moves with."""
    return (f"measured on the {device_name(record)} by its own benchmark tool and imported (liteship device import), "
            "not on this machine: its change between two runs moves with the phone session (the phone's "
            "temperature, power state and background load), which liteship neither controls nor measures")


def compare(base: list[BenchRecord], new: list[BenchRecord], t: Thresholds) -> tuple[list[Change], list, list]:
    """Every change of a matched variant, and the keys only in the base run (removed) or the new one (added)."""
    b_by, n_by = {_key(r): r for r in base}, {_key(r): r for r in new}
    changes = []
    for key in [k for k in n_by if k in b_by]:
        b, n = b_by[key], n_by[key]
        changes.append(_relative("size_bytes", key, b.size_bytes, n.size_bytes, t.max_size_increase))
        changes.append(_relative("gzip_bytes", key, b.gzip_bytes, n.gzip_bytes, t.max_gzip_increase))
        found = [_instructions(key, b, n, t), _accuracy(key, b, n, t),
                 _latency(key, b, n, t, _float32(b_by, key), _float32(n_by, key))]
        changes.extend(c for c in found if c is not None)
    removed = [k for k in b_by if k not in n_by]
    added = [k for k in n_by if k not in b_by]
    if not any(k in b_by for k in n_by):
        models = sorted({k[0] for k in b_by}), sorted({k[0] for k in n_by})
        raise LiteshipError("The two runs share no variant: 0 matched by (model, recipe, backend, threads)",
                            f"BASE holds {', '.join(map(str, models[0]))}; NEW holds {', '.join(map(str, models[1]))}; "
                            "a comparison of nothing would pass and prove nothing",
                            "compare a run with a baseline of the same models, recipes and backends")
    return changes, added, removed


def to_json(changes: list[Change], added: list, removed: list, t: Thresholds) -> dict:
    return {"thresholds": asdict(t), "failed": sum(c.failed for c in changes),
            "changes": [{**asdict(c), "key": list(c.key)} for c in changes],
            "added": [list(k) for k in added], "removed": [list(k) for k in removed]}
