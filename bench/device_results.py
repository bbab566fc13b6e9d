"""Device results written as data: ``--result_file_path``'s binary BenchmarkResult, the LiteRT Python tool's
``--result_json`` and the litert-samples leaderboard's rows.

The BenchmarkResult is read by a small proto2 wire-format reader over the message LiteRT declares in
``tflite/tools/benchmark/proto/benchmark_result.proto`` (google-ai-edge/LiteRT f67457790c9c): no generated code, no
protoc. Fields it does not know are skipped, as protobuf does, so a newer writer still reads.
"""

from __future__ import annotations

import struct

from liteship.bench.device_measurement import DeviceFormat, Measurement, refuse

# field number -> (name, wire type, kind) per message; wire type 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32
LATENCY = {1: "avg_ms", 2: "min_ms", 3: "max_ms", 4: "stddev_ms", 5: "median_ms", 6: "p5_ms", 7: "p95_ms",
           8: "init_ms", 9: "first_inference_ms", 10: "average_warm_up_ms"}
MESSAGES = {
    "BenchmarkResult": {1: ("name", 2, "string"), 2: ("latency_metrics", 2, "LatencyMetrics"),
                        3: ("memory_metrics", 2, "MemoryMetrics"), 4: ("misc_metrics", 2, "MiscMetrics")},
    "LatencyMetrics": {n: (name, 5, "float") for n, name in LATENCY.items()},
    "MemoryMetrics": {1: ("init_footprint_kb", 0, "int64"), 2: ("overall_footprint_kb", 0, "int64"),
                      3: ("peak_mem_mb", 5, "float")},
    "MiscMetrics": {1: ("model_size_mb", 5, "float"), 2: ("num_runs", 0, "int32"), 3: ("num_warmup_runs", 0, "int32"),
                    4: ("model_throughput_in_mb_per_sec", 5, "float")},
}
MAX_DEPTH = 4


class NotProto(ValueError):
    """The bytes are not a BenchmarkResult (what went wrong, at which byte)."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data):
            raise NotProto(f"a number is cut off at byte {pos}")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise NotProto(f"a number at byte {pos} is longer than ten bytes")


def _field(data: bytes, pos: int, wire: int) -> tuple[object, int]:
    """The raw value of one field (int, bytes) and the position after it."""
    if wire == 0:
        return _varint(data, pos)
    if wire in (1, 5):
        size = 8 if wire == 1 else 4
        if pos + size > len(data):
            raise NotProto(f"a {size * 8}-bit value is cut off at byte {pos}")
        return data[pos:pos + size], pos + size
    if wire == 2:
        length, pos = _varint(data, pos)
        if pos + length > len(data):
            raise NotProto(f"a field of {length} bytes at byte {pos} runs past the end ({len(data)} bytes)")
        return data[pos:pos + length], pos + length
    raise NotProto(f"wire type {wire} at byte {pos} is not one BenchmarkResult uses")


def decode(data: bytes, message: str = "BenchmarkResult", depth: int = 0) -> dict:
    """The message's known fields as a dict (nested messages as dicts); NotProto when the bytes are not one."""
    if depth > MAX_DEPTH:
        raise NotProto("messages nest deeper than BenchmarkResult's")
    out: dict = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise NotProto(f"field number 0 at byte {pos}")
        raw, pos = _field(data, pos, wire)
        spec = MESSAGES[message].get(number)
        if spec is None:
            continue  # a field a newer proto added: skipped, as protobuf does
        name, expected, kind = spec
        if wire != expected:
            raise NotProto(f"{message}.{name} has wire type {wire}, not {expected}")
        out[name] = _value(raw, kind, depth)
    return out


def _value(raw, kind: str, depth: int):
    if kind == "float":
        return float(struct.unpack("<f", raw)[0])
    if kind in ("int64", "int32"):
        return raw - (1 << 64) if raw >= 1 << 63 else raw
    if kind == "string":
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotProto("its name is not UTF-8") from exc
    return decode(raw, kind, depth + 1)


def from_results_pb(data: bytes, source: str, sha: str, **context) -> Measurement:
    """A Measurement from a BenchmarkResult's bytes; NotProto when they are not one (or hold no latency)."""
    result = decode(data)
    lat = result.get("latency_metrics")
    if not lat:
        raise NotProto("it has no latency_metrics")
    mem, misc = result.get("memory_metrics", {}), result.get("misc_metrics", {})
    kb = {k: mem[k] / 1024 for k in ("init_footprint_kb", "overall_footprint_kb") if k in mem}
    return Measurement(
        source=source, source_sha256=sha, line=None, format=DeviceFormat.RESULTS_PB,
        median_ms=lat.get("median_ms"), p5_ms=lat.get("p5_ms"), p95_ms=lat.get("p95_ms"), avg_ms=lat.get("avg_ms"),
        std_ms=lat.get("stddev_ms"), min_ms=lat.get("min_ms"), max_ms=lat.get("max_ms"), init_ms=lat.get("init_ms"),
        first_inference_ms=lat.get("first_inference_ms"), warmup_avg_ms=lat.get("average_warm_up_ms"),
        memory_init_mb=kb.get("init_footprint_kb"), memory_overall_mb=kb.get("overall_footprint_kb"),
        memory_peak_mb=mem.get("peak_mem_mb"), runs=misc.get("num_runs"), warmup_runs=misc.get("num_warmup_runs"),
        model_size_mb=misc.get("model_size_mb"), **context)


# --------------------------------------------------------------------------------------------------- JSON sources

def number(obj: dict, key: str, where: str):
    """``obj[key]`` when it is a number or null/missing (None); else a LiteshipError naming the key."""
    value = obj.get(key)
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    raise refuse(where, f"{key} is {value!r}", "it must be a number (or null)")


def text(obj: dict, key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value or None
    raise refuse(where, f"{key} is {value!r}", "it must be text (or null)")


def integer(obj: dict, key: str, where: str) -> int | None:
    value = number(obj, key, where)
    if value is None or float(value).is_integer():
        return None if value is None else int(value)
    raise refuse(where, f"{key} is {value!r}", "it must be a whole number")


def section(obj: dict, key: str, where: str) -> dict:
    value = obj.get(key)
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise refuse(where, f"{key} is {value!r}", "it must be an object")


def from_python_json(obj: dict, source: str, sha: str) -> Measurement:
    """ai_edge_litert.tools.benchmark_litert_model's --result_json (keys of the tool in ai-edge-litert 2.3.0)."""
    where = source
    lat = section(obj, "latency", where)
    accelerators = obj.get("accelerators") or []
    if not isinstance(accelerators, list) or not all(isinstance(a, str) for a in accelerators):
        raise refuse(where, f"accelerators is {accelerators!r}", "it must be a list of names (CPU, GPU, NPU)")
    names = [a.lower() for a in accelerators]
    primary = next((a for a in ("npu", "gpu", "cpu") if a in names), None)  # the tool's order; CPU is the fallback
    return Measurement(
        source=source, source_sha256=sha, line=1, format=DeviceFormat.PYTHON_JSON, model=text(obj, "model", where),
        model_size_mb=number(obj, "model_size_mb", where), threads=integer(obj, "num_threads", where),
        accelerator=primary, runs=integer(lat, "num_runs", where), warmup_runs=integer(lat, "num_warmup_runs", where),
        median_ms=number(lat, "median_ms", where), p5_ms=number(lat, "p5_ms", where),
        p95_ms=number(lat, "p95_ms", where), avg_ms=number(lat, "avg_ms", where), std_ms=number(lat, "std_ms", where),
        min_ms=number(lat, "min_ms", where), max_ms=number(lat, "max_ms", where),
        init_ms=number(lat, "init_ms", where), first_inference_ms=number(lat, "warmup_first_ms", where),
        warmup_avg_ms=number(lat, "warmup_avg_ms", where))


def from_leaderboard(row: dict, source: str, sha: str, line: int | None, where: str) -> Measurement:
    """One row of litert-samples' benchmark/leaderboard/data/measurements.jsonl (or board.json's rows)."""
    lat = section(row, "latency_ms", where)
    mem = section(row, "memory_mb", where)
    return Measurement(
        source=source, source_sha256=sha, line=line, format=DeviceFormat.LEADERBOARD,
        model=text(row, "file", where), model_repo=text(row, "model", where),
        model_sha256=text(row, "sha256", where), model_size_mb=number(row, "model_size_mb", where),
        platform=text(row, "platform", where), device=text(row, "device", where),
        device_id=text(row, "device_id", where), os=text(row, "os", where),
        runtime_version=text(row, "runtime_version", where), threads=integer(row, "num_threads", where),
        accelerator=text(row, "accelerator", where), delegate=text(row, "delegate", where),
        runs=integer(row, "runs", where), warmup_runs=integer(row, "warmup_runs", where),
        date=text(row, "date", where), session=text(row, "session", where),
        median_ms=number(lat, "median", where), p5_ms=number(lat, "p5", where), p95_ms=number(lat, "p95", where),
        avg_ms=number(lat, "avg", where), std_ms=number(lat, "stddev", where), min_ms=number(lat, "min", where),
        max_ms=number(lat, "max", where), init_ms=number(lat, "init", where),
        first_inference_ms=number(lat, "first_inference", where), warmup_avg_ms=number(lat, "warm_up_avg", where),
        memory_init_mb=number(mem, "init_footprint", where), memory_overall_mb=number(mem, "overall_footprint", where),
        memory_peak_mb=number(mem, "peak", where))
