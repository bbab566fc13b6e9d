"""Read a file (or a folder) of device measurements into :class:`Measurement` objects, whatever tool wrote it.

:func:`read_measurements` is the one entry point. It tells the format by the content, never by the name:
- text whose lines LiteRT's ``benchmark_model`` prints, on stdout or in Android's logcat, of either generation,
  the LiteRT Python tool's results block, the iOS benchmark app's screen (:mod:`liteship.bench.device_logs`);
- JSON: the LiteRT Python tool's ``--result_json``, litert-samples' leaderboard rows (``measurements.jsonl``, one
  object a line, or ``board.json``'s ``rows``) (:mod:`liteship.bench.device_results`);
- the binary BenchmarkResult ``--result_file_path`` writes (``results.pb``);
- a folder: a litert-samples session (``session.json`` beside ``<accelerator>-<device id>/`` job folders holding
  ``results.pb`` and ``stdout.txt``, as ``benchmark/ios/run_ios.sh`` writes them) or one job folder of one.

Anything that cannot be read is a LiteshipError naming the file and, for text, the line: not a regular file,
over 50 MB (refused from its size, before it is read), not UTF-8 and not a BenchmarkResult, cut short, a run the
tool says failed (with its error line), NaN, negative, zero or absurd numbers, percentiles out of order, a session
job whose stdout.txt and results.pb are not of one run, liteship's own results.jsonl, and measurements of two
devices in one file (unless ``device`` says which one to read).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

from liteship.bench.device_chips import from_identifier, from_name
from liteship.bench.device_logs import log_context, parse_log
from liteship.bench.device_measurement import checked, DeviceFormat, Measurement, refuse
from liteship.bench.device_results import (from_leaderboard, from_python_json, from_results_pb, NotProto, text)
from liteship.errors import LiteshipError
from liteship.files import read_regular, sha256_bytes, unreadable_reason

MAX_BYTES = 50 * 1024**2
WHAT = "Device measurements"
FORMATS = ("benchmark_model's stdout or logcat, results.pb, the LiteRT Python tool's --result_json or stdout, "
           "litert-samples' leaderboard rows, or a litert-samples session folder")
ACCELERATORS = ("cpu", "gpu", "npu")
IDENTIFIER = re.compile(r"(?:iPhone|iPad|iPod|Mac|MacBookPro|MacBookAir|Macmini|iMac)\d+,\d+")  # Apple's model identifiers

__all__ = ["DeviceFormat", "Measurement", "read_measurements"]


def read_measurements(path: str | os.PathLike, device: str | None = None) -> list[Measurement]:
    """Every measurement in ``path`` (a file, or a litert-samples session or job folder), checked.

    ``device`` (a name such as "Pixel 9 Pro" or an id such as "caiman-35", any case) keeps only that device's
    measurements of a file that names several (a leaderboard); without it such a file is refused, since one
    import is one device's. Measurements whose source names no device (stdout, logcat) are kept either way.
    """
    source = os.fspath(path)
    if os.path.isdir(source) and (unreadable_reason(source) or "").startswith("it is a folder"):
        found = _folder(Path(source))
    else:
        data = _read(source)
        found = _parse(data, source, sha256_bytes(data))
    return [checked(m) for m in _one_device(found, source, device)]


def _read(source: str) -> bytes:
    why = unreadable_reason(source)
    if why is not None:
        raise LiteshipError(f"{WHAT} {source} cannot be read", why, "pass a file a benchmark tool wrote")
    size = os.stat(source).st_size
    if size > MAX_BYTES:
        raise LiteshipError(f"{WHAT} {source} is {size:,} bytes", f"over {MAX_BYTES // 1024**2} MB is not "
                            "one benchmark's output (a whole device log, or the wrong file)",
                            "pass the benchmark's own output (adb logcat -s tflite litert, or its stdout)")
    return read_regular(source, WHAT, limit=MAX_BYTES)


def _parse(data: bytes, source: str, sha: str) -> list[Measurement]:
    try:
        content = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        content, bad = None, exc
    if content is not None:
        found = _parse_text(content, source, sha)
        if found:
            return found
    try:
        return [from_results_pb(data, source, sha)]
    except NotProto as exc:
        if content is None:
            line = data[:bad.start].count(b"\n") + 1
            raise refuse(f"{source}, line {line}", "it is not UTF-8 text, nor a BenchmarkResult",
                         f"byte 0x{data[bad.start]:02x} at offset {bad.start} is not UTF-8, and as a results.pb {exc}",
                         f"pass one of: {FORMATS}") from None
        empty = not content.strip()
        raise refuse(source, "it is empty" if empty else "it holds no measurement liteship can read",
                     "" if empty else f"no line reads as a LiteRT benchmark result, and as a results.pb {exc}",
                     f"pass one of: {FORMATS}") from None


def _parse_text(content: str, source: str, sha: str) -> list[Measurement]:
    if content.lstrip().startswith("{") or (content.lstrip().startswith("[") and _is_json(content)):
        return _parse_json(content, source, sha)
    return parse_log(content, source, sha)


def _is_json(doc: str) -> bool:
    """Whether ``doc`` is JSON (or nests too deep to tell): a log line may start with "[" too."""
    try:
        json.loads(doc)
    except RecursionError:
        return True
    except ValueError:
        return False
    return True


def _loads(doc: str, where: str, line_offset: int = 0):
    try:
        return json.loads(doc)
    except json.JSONDecodeError as exc:
        cut = exc.pos >= len(doc.rstrip())
        raise refuse(f"{where}, line {exc.lineno + line_offset}", "the JSON is cut short" if cut else
                     f"it is not JSON: {exc.msg.removesuffix(' at')} at column {exc.colno}",
                     "the file ends in the middle of a value" if cut else "the file was damaged or edited") from None
    except RecursionError:
        raise refuse(where, "the JSON nests too deep", "no benchmark tool writes such a file") from None


def _parse_json(content: str, source: str, sha: str) -> list[Measurement]:
    lines = content.splitlines()
    first = next(i for i, line in enumerate(lines) if line.strip())
    try:
        alone = json.loads(lines[first])
    except (json.JSONDecodeError, RecursionError):
        alone = None
    if isinstance(alone, dict) and any(line.strip() for line in lines[first + 1:]):
        return _json_lines(lines, source, sha)  # one object a line: the leaderboard's measurements.jsonl
    obj = _loads(content, source)
    if not isinstance(obj, dict):
        raise refuse(source, "the JSON is not an object", f"expected one of: {FORMATS}")
    _not_ours(obj, f"{source}, line 1")
    if "latency" in obj:
        return [from_python_json(obj, source, sha)]
    if "latency_ms" in obj:
        return [from_leaderboard(obj, source, sha, 1, f"{source}, line 1")]
    rows = obj.get("rows")
    if rows == []:
        raise refuse(source, "its rows are empty", "a leaderboard's board.json holds one row per measurement",
                     "pass a board.json with rows, or measurements.jsonl")
    if isinstance(rows, list) and all(isinstance(r, dict) for r in rows):
        return [from_leaderboard(r, source, sha, None, f"{source}, rows[{i}]") for i, r in enumerate(rows)]
    raise refuse(source, "the JSON object has none of latency, latency_ms or rows",
                 f"it is not one of: {FORMATS}")


def _json_lines(lines: list[str], source: str, sha: str) -> list[Measurement]:
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{source}, line {number}"
        row = _loads(line, source, number - 1)
        _not_ours(row, where)
        if not isinstance(row, dict) or "latency_ms" not in row:
            raise refuse(where, "the line is not a leaderboard row", "each line of a JSON-lines file must be an"
                         " object with latency_ms, as litert-samples' measurements.jsonl has")
        out.append(from_leaderboard(row, source, sha, number, where))
    return out


def _not_ours(row, where: str) -> None:
    """A record of liteship's own results.jsonl (it has a variant and a backend) is refused as what it is."""
    if isinstance(row, dict) and "variant" in row and "backend" in row:
        raise refuse(where, "it is liteship's own results file (a record of variant "
                     f"{row.get('variant')} on {row.get('backend')}), not a benchmark tool's output",
                     "device import reads what the phone's benchmark tool wrote; a run's results.jsonl is where "
                     "the import writes its records", "pass the files the benchmark tool wrote on the phone "
                     f"({FORMATS})")


# ------------------------------------------------------------------------------------- litert-samples session folders

def _folder(folder: Path) -> list[Measurement]:
    """A session folder (session.json and job folders) or one job folder of one."""
    if _is_job(folder):
        session, jobs = folder.parent, [folder]
    else:
        session, jobs = folder, sorted(p for p in folder.iterdir() if p.is_dir() and _is_job(p))
    meta = _session_json(session / "session.json") if (session / "session.json").exists() else {}
    if not jobs:
        raise refuse(str(folder), "the folder holds no benchmark job", "a litert-samples session folder holds "
                     "<accelerator>-<device id>/ folders with results.pb or stdout.txt, beside session.json",
                     "pass the session folder run_ios.sh wrote, or the files themselves")
    return [m for job in jobs for m in _job(job, meta, str(session))]


def _is_job(folder: Path) -> bool:
    return (folder / "results.pb").exists() or (folder / "stdout.txt").exists()


def _session_json(path: Path) -> dict:
    where = str(path)
    obj = _loads(_read(where).decode("utf-8", "replace"), where)
    if not isinstance(obj, dict):
        raise refuse(where, "session.json is not an object", "run_ios.sh writes one object")
    version = text(obj, "runtime_version", where)
    created = text(obj, "created", where)
    return {"platform": text(obj, "platform", where), "device": text(obj, "device", where),
            "device_id": text(obj, "device_id", where), "os": text(obj, "os", where),
            "runtime_version": None if version in (None, "unknown") else version,
            "date": created[:10] if created else None}


def _job(job: Path, meta: dict, session: str) -> list[Measurement]:
    """The job's results.pb with what its stdout.txt says of the run; its stdout alone without a results.pb.

    results.pb wins every field it holds: it is the tool's own record of the run (the model size a float32 of the
    double stdout prints to six significant digits). stdout.txt adds what results.pb has not got (the model file,
    threads, delegate), and session.json and the job folder's name what neither says (device, OS, accelerator). A
    field two of them hold must agree to their rounding, else the files are not of one run and the job is refused.
    """
    accelerator, _, device_id = job.name.partition("-")
    context = {**meta, "session": session}
    if accelerator in ACCELERATORS and device_id:
        context["accelerator"] = accelerator
        if context.get("device_id") not in (None, device_id):
            raise refuse(str(job), f"the job is of device {device_id}, session.json of {context['device_id']}",
                         "one session is one device's", "collect each device's session on its own")
        context["device_id"] = device_id
    context = {k: v for k, v in context.items() if v is not None}
    log = job / "stdout.txt"
    if not (job / "results.pb").exists():
        data = _read(str(log))
        found = parse_log(data.decode("utf-8", "replace"), str(log), sha256_bytes(data))
        return [_merged(m, context, str(log), f"the job folder's name or session.json ({job.name})") for m in found]
    source = str(job / "results.pb")
    data = _read(source)
    try:
        m = from_results_pb(data, source, sha256_bytes(data), **context)
    except NotProto as exc:
        raise refuse(source, "it is not a BenchmarkResult", str(exc), "pull results.pb from the phone again") from None
    if not log.exists():
        return [m]
    said = log_context(_read(str(log)).decode("utf-8", "replace"))
    return [_merged(m, said, str(log), "results.pb", more_is_log=True)]


SAID = {"model_size_mb": "the model file size (MB)", "accelerator": "the accelerator", "threads": "the threads",
        "model": "the model file", "delegate": "the delegate"}


def _merged(m: Measurement, more: dict, log: str, holder: str, more_is_log: bool = False) -> Measurement:
    """``m`` with the fields of ``more`` it has not got; a field both hold must agree (numbers to 1e-5, the
    rounding of six printed digits), else a LiteshipError naming the stdout.txt ``log``: the sources (the log and
    ``holder``) are not of one run."""
    add = {}
    for key, value in more.items():
        held = getattr(m, key)
        if held is None:
            add[key] = value
        elif not _agree(held, value):
            raise _disagree(log, key, value if more_is_log else held, held if more_is_log else value, holder)
    return dataclasses.replace(m, **add) if add else m


def _agree(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= 1e-5 * max(abs(a), abs(b)) + 1e-9
    return str(a).casefold() == str(b).casefold()


def _disagree(where: str, key: str, log_value, other_value, holder: str):
    def said(v) -> str:
        return f"{v:g}" if isinstance(v, float) else str(v)

    return refuse(where, f"{Path(where).name} says {SAID.get(key, key)} is {said(log_value)}, {holder} "
                  f"{said(other_value)}", "the two are not of one run (a results.pb or stdout.txt left from "
                  "another run in this job folder?), so which model the numbers are of cannot be said",
                  "measure again into a new session folder, or import the file of the run you mean on its own")


def _one_device(found: list[Measurement], source: str, device: str | None) -> list[Measurement]:
    named = [m for m in found if m.device or m.device_id]
    if device is not None:
        keep = [m for m in found if not (m.device or m.device_id) or _is(device, m)]
        if named and not any(_is(device, m) for m in named):
            if _named_by_identifier(named, source, device):
                return found
            raise refuse(source, f"it holds no measurement of {device}",
                         f"it has measurements of {_devices(named)}", "pass one of those devices, or another file")
        return keep
    names = {(m.device or m.device_id) for m in named}
    if len(names) > 1:
        raise refuse(source, f"it holds measurements of {len(names)} devices: {_devices(named)}",
                     "one import is one device's measurements", "say which device to import (--device NAME)")
    return found


def _named_by_identifier(named: list[Measurement], source: str, device: str) -> bool:
    """Whether ``device`` names the one device of ``named``, which its source names only by Apple's model
    identifier (a session.json's "iPhone17,3"): a person calls it by its name ("iPhone 16"), and the identifier
    stays in the records (it says the chip). Refused when the name's chip is not the identifier's."""
    ids = {m.device for m in named}
    ident = next(iter(ids)) if len(ids) == 1 and len({m.device_id for m in named}) == 1 else None
    if not ident or not IDENTIFIER.fullmatch(ident):
        return False
    theirs, yours = from_identifier(ident), from_name(device)
    if theirs is not None and yours is not None and theirs.chip != yours.chip:
        a = "an" if ident[0] == "i" else "a"
        raise refuse(source, f"it is of {a} {ident} (chip {theirs.chip}), and {device}'s chip is {yours.chip}",
                     "the measurements are of another device than --device names",
                     f"pass the name of the device that ran them ({a} {ident}'s chip is {theirs.chip}), or "
                     f'--device "{ident}"')
    return True


def _key(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def _is(device: str, m: Measurement) -> bool:
    return _key(device) in {_key(n) for n in (m.device, m.device_id) if n}


def _devices(named: list[Measurement]) -> str:
    first: dict[str, str] = {}
    for m in named:
        first.setdefault(m.device or m.device_id, m.where)
    return "; ".join(f"{name} ({where})" for name, where in first.items())
