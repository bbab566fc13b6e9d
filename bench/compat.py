"""Runtime compatibility: which ops a given TFLite / LiteRT release cannot run.

The converter writes the model's minimum runtime into its ``min_runtime_version``
metadata; that number is authoritative for the whole model. To name the ops
responsible, liteship reads the first release that runs each (op, version)
from ``op_runtime_versions.json``: the whole map of LiteRT's
``runtime_version.cc``, with the source revision it was taken from. An
(op, version) missing from the map is reported as unknown, and fails a target
unless the model's own minimum-runtime metadata says the target is enough.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from liteship.tflite_file import ops

MAP_FILE = Path(__file__).with_name("op_runtime_versions.json")


@functools.lru_cache(maxsize=1)
def op_runtime_map() -> dict:
    """{"source": {...}, "ops": {OP: {version: release}}} as stored."""
    return json.loads(MAP_FILE.read_text(encoding="utf-8"))


def first_release(op: str, version: int) -> str | None:
    return op_runtime_map()["ops"].get(op, {}).get(str(version))


def version_key(version: str) -> tuple[int, ...]:
    out = []
    for part in version.replace("-", ".").split("."):
        digits = "".join(ch for ch in part if ch in "0123456789")  # isdigit() takes "²", which int() refuses
        if not digits:
            break
        out.append(int(digits))
    return tuple(out)


def model_min_runtime(model) -> str | None:
    for md in model.metadata or []:
        if md.name == b"min_runtime_version":
            return bytes(model.buffers[md.buffer].data).split(b"\0")[0].decode() or None
    return None


def check_runtime(model, target: str | None) -> dict:
    """Per-op minimum releases, the model's own minimum, and (with ``target``) the verdict for it. A file that carries
    no minimum (LiteRT Quantizer's: liteship drops the float model's, which it copies) gets the latest first release
    of its ops, the converter's own rule for the minimum it writes, where every op is in the map."""
    seen = sorted(set(ops(model)))
    releases = {f"{name} v{ver}": first_release(name, ver) for name, ver in seen}
    known = releases and None not in releases.values()
    facts = {"min_runtime": model_min_runtime(model) or (max(releases.values(), key=version_key) if known else None),
             "ops": releases, "map_commit": op_runtime_map()["source"]["commit"]}
    return runtime_verdict(facts, target)


def _newer(release: str, target: tuple[int, ...]) -> bool:
    return version_key(release)[: len(target)] > target


def runtime_verdict(facts: dict, target: str | None, min_agreement: float = 0.99) -> dict:
    """``facts`` (as recorded by bench) judged for ``target``: no model file needed.

    The op-version table is the fast pre-check (``table_ok``). When the record holds a real load in that
    runtime (``real``), the real load decides: it must load, and agree with LiteRT on top-1 at least
    ``min_agreement`` (the budget's ``min_runtime_agreement``, 0.99 by default: a fact of its own, not the
    variant-vs-float32 ``min_agreement``). A table whose verdict differs from the real load's is
    reported (``table_bug``): the table is then wrong, not the runtime.
    """
    per_op, minimum = facts.get("ops") or {}, facts.get("min_runtime")
    out = {"min_runtime": minimum, "ops": per_op, "target": target, "too_new": [], "unknown": [],
           "map_commit": facts.get("map_commit")}
    if not target:
        return out
    t = version_key(target)
    out["too_new"] = [op for op, first in per_op.items() if first and _newer(first, t)]
    out["unknown"] = [op for op, first in per_op.items() if first is None]
    metadata_ok = minimum is not None and not _newer(minimum, t)
    out["table_ok"] = out["ok"] = not out["too_new"] and not (minimum and _newer(minimum, t)) and \
        (not out["unknown"] or metadata_ok)
    real = facts.get("real")
    if real and version_key(real["runtime"].split()[-1])[: len(t)] == t:
        need = min_agreement
        out["real"] = real
        out["ok"] = real["loaded"] and (real["agreement"] is not None and real["agreement"] >= need)
        if out["table_ok"] != real["loaded"]:
            out["table_bug"] = (f"the op-version table predicted {'a load' if out['table_ok'] else 'a refusal'}, "
                                f"{real['runtime']} {'loaded it' if real['loaded'] else 'refused it'}")
    return out


def known_releases() -> list[str]:
    """The TFLite/LiteRT releases the op-version map knows, oldest first (major.minor)."""
    found = {".".join(r.split(".")[:2]) for by_version in op_runtime_map()["ops"].values() for r in by_version.values()}
    return sorted(found, key=version_key)


def runtime_problem(version: str) -> str | None:
    """Why ``version`` is not a target runtime liteship can judge, or None."""
    import re

    known = known_releases()
    if not isinstance(version, str) or not re.fullmatch(r"\d+\.\d+(\.\d+)?", version):
        return f"it takes a TFLite/LiteRT release number, {known[0]} to {known[-1]}"
    if not version_key(known[0]) <= version_key(version)[:2] <= version_key(known[-1]):
        return (f"liteship's op-version map knows releases {known[0]} to {known[-1]}, so it cannot say what "
                f"{version} runs")
    return None
