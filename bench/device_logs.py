"""Device measurements read from what LiteRT's benchmark tools print: stdout, Android's logcat, the iOS app.

The lines, as LiteRT writes them (google-ai-edge/LiteRT f67457790c9c unless said):
- ``tflite/tools/benchmark/benchmark_model.cc``: ``Initialized session in X ms.``, one ``count=...`` line per
  phase (warm-up, then inference; ``Stat::OutputToStream`` in ``xla/tsl/util/stats_calculator.h``, with
  `` p5= median= p95=`` from ``StatWithPercentiles``; older releases without them), ``Inference timings in us:
  Init: X, First inference: X, Warmup (avg): X, Inference (avg): X``, ``Memory footprint delta from the start of
  the tool (MB): init=X overall=Y``, ``Overall peak memory footprint (MB) via periodic monitoring: X``; older
  releases ``Peak memory footprint (MB): init=X overall=Y`` and, first, ``Average inference timings in us: Warmup:
  X, Init: Y, Inference: Z`` (the Android app's listener; the binary said ``no stats: Z``).
- parameters as ``Graph: [path]``, ``Num threads: [N]``, ``Use gpu: [1]`` (``tflite/tools/tool_params.h``
  ``LOG_TOOL_PARAM``); ``Loaded model PATH``; ``Explicitly applied GPU delegate, ...``.
- ``litert/tools/benchmark_litert_model.h``: the ``BENCHMARK RESULTS`` block (``Model initialization: X ms``,
  ``Inference (avg): X ms (N runs)``, ...), logged as ``INFO: [file:line] message``; the Python tool
  (``litert/python/tools/benchmark_litert_model.py``) prints the same block with median, p5 and p95.
- ``tflite/tools/benchmark/ios/.../BenchmarkViewController.mm``: the iOS app's ``Startup latency: X ms`` and
  ``Inference:`` / ``Warmup:`` with `` - Num runs: N``, `` - Average: X ms``.
Each line is TFLITE_LOG's ``INFO: message`` on stdout, or logcat's ``MM-DD HH:MM:SS.mmm PID TID I tflite :
message``: logcat lines are read per process, so two benchmark runs interleaved in one capture stay apart.
"""

from __future__ import annotations

import re

from liteship.bench.device_measurement import DeviceFormat, Measurement, refuse

NUM = r"[-+]?(?:nan|inf(?:inity)?|(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?)"
LOGCAT = re.compile(r"^(?:\d{4}-)?\d\d-\d\d \d\d:\d\d:\d\d\.\d+\s+(?P<pid>\d+)\s+\d+\s+[VDIWEF]\s+(?P<tag>\S*?)\s*: ?"
                    r"(?P<msg>.*)$")
LOGCAT_BRIEF = re.compile(r"^[VDIWEF]/(?P<tag>[^(]*?)\s*\(\s*(?P<pid>\d+)\): ?(?P<msg>.*)$")
TAGS = ("tflite", "litert")  # the tags LiteRT's tools log under (tflite/tools/logging.h, litert/c/internal/litert_logging.cc)
PREFIX = re.compile(r"^(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[,.]\d+)? \w+ \S+: )?"  # Python logging
                    r"(?:(?:INFO|WARN|WARNING|ERROR|VERBOSE|DEBUG): )?(?:\[[\w.]+:\d+\] )?")
US = {"Init": "init_ms", "First inference": "first_inference_ms", "Warmup (avg)": "warmup_avg_ms",
      "Inference (avg)": "avg_ms"}
BLOCK = {"Model initialization": "init_ms", "Warmup (first)": "first_inference_ms", "Warmup (avg)": "warmup_avg_ms",
         "Inference (avg)": "avg_ms", "Inference (min)": "min_ms", "Inference (max)": "max_ms",
         "Inference (median)": "median_ms", "Inference (std)": "std_ms", "Inference (p5)": "p5_ms",
         "Inference (p95)": "p95_ms", "Init footprint": "memory_init_mb", "Overall footprint": "memory_overall_mb",
         "Peak memory": "memory_peak_mb"}
IOS = {"Num runs": "runs", "Average": "avg_ms", "Min": "min_ms", "Max": "max_ms", "Std deviation": "std_ms"}
DELEGATES = {"gpu": "gpu", "nnapi": "npu", "coreml": "npu", "hexagon": "npu"}


def _re(pattern: str) -> re.Pattern:
    return re.compile(pattern.replace("NUM", NUM), re.IGNORECASE)


TIMINGS = _re(r"^Inference timings in us: Init: (NUM), First inference: (NUM), Warmup \(avg\): (NUM), "
              r"Inference \(avg\): (NUM)$")
TIMINGS_OLD = _re(r"^Average inference timings in us: Warmup: (NUM), Init: (NUM), (?:Inference|no stats): (NUM)")
BLOCK_LINE = _re(r"^(" + "|".join(re.escape(k) for k in BLOCK) + r"):\s+(NUM)(?: ms| MB)?(?: \((\d+) runs\))?$")
IOS_LINE = _re(r"^- (Num runs|Average|Min|Max|Std deviation): (NUM)(?: ms)?$")
MEMORY = _re(r"^(?:Memory footprint delta from the start of the tool|Peak memory footprint) \(MB\): "
             r"init=(NUM) overall=(NUM)$")
CONTEXT = [  # (pattern, field): what the run measured, not a result
    (_re(r"^Graph: \[(.+)\]$"), "model"), (_re(r"^Loaded model (.+)$"), "model"),
    (_re(r"^Loading model from: (.+)$"), "model"), (_re(r"^Model:\s+(.+\.tflite)$"), "model"),
    (_re(r"^Num threads:\s+\[?(-?\d+)\]?$"), "threads"),
    (_re(r"^Explicitly applied (\S+) delegate"), "delegate"),
    (_re(r"^Created TensorFlow Lite (XNNPACK) delegate for CPU"), "delegate"),
    (_re(r"^The input model file size \(MB\): (NUM)$"), "model_size_mb"),
    (_re(r"^Accelerators:\s+(\w+)"), "accelerator"),
]
USE = _re(r"^Use (gpu|NNAPI|CoreML|Hexagon): \[(\d)\]$")
# The start of a result line: a line that starts so but does not match in full was cut short or altered.
STARTS = ("Inference timings in us", "Average inference timings in us", "count=", "Memory footprint delta",
          "Peak memory footprint (MB)", "Initialized session in")


def messages(text: str) -> tuple[bool, list[list[tuple[int, str]]]]:
    """(is logcat, the messages of each process with their 1-based line numbers), prefixes taken off."""
    lines = text.splitlines()
    logged = [(n, m) for n, m in ((n, LOGCAT.match(line) or LOGCAT_BRIEF.match(line)) for n, line in enumerate(lines, 1))
              if m]
    plain = len([line for line in lines if line.strip()]) - len(logged)
    ours = [(n, m) for n, m in logged if m["tag"] in TAGS] or logged  # other apps' lines left out
    by_pid: dict[str, list[tuple[int, str]]] = {}
    for number, m in ours:
        by_pid.setdefault(m["pid"], []).append((number, m["msg"]))
    if logged and len(logged) >= plain:
        return True, [[(n, PREFIX.sub("", s, count=1).strip()) for n, s in stream] for stream in by_pid.values()]
    return False, [[(n, PREFIX.sub("", s, count=1).strip()) for n, s in enumerate(lines, 1)]]


class _Run:
    """What one benchmark run printed so far."""

    def __init__(self, carry: dict | None = None):
        self.context: dict = dict(carry or {})
        self.counts: list[tuple[int, dict]] = []
        self.timings: dict = {}
        self.block: dict = {}
        self.ios: dict = {}
        self.memory: dict = {}
        self.anchor: int | None = None
        self.kinds: set[str] = set()
        self.started_at: int | None = None
        self.old = False

    def result(self, kind: str, line: int) -> None:
        self.kinds.add(kind)
        self.anchor = self.anchor or line
        self.started_at = self.started_at or line

    def busy(self) -> bool:
        return self.started_at is not None


def _num(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise refuse(where, f"{text!r} is not a number", "the line does not read as the tool prints it") from None


def _time(text: str, where: str) -> float:
    """A time of the `Inference timings in us` line: never negative (a count= line's number may stand for it, so
    a negative one would be lost, never refused, without this)."""
    value = _num(text, where)
    if value < 0:
        raise refuse(where, f"the line gives a time of {value:g} us", "a time is never negative: the file is "
                     "damaged or edited")
    return value


def _count_line(msg: str, where: str) -> dict:
    """``count=N first=X curr=X min=X max=X avg=X std=X [p5=X median=X p95=X]``, or, when every run took the same
    time, ``count=N curr=X(all same)`` (``count=1 curr=X`` for one run) with the same percentiles after it: then
    every statistic is that time and the deviation 0 (``Stat::OutputToStream``, xla/tsl/util/stats_calculator.h)."""
    same = re.search(r"(?:^|\s)curr=[^\s(]+\(all same\)(?=\s|$)", msg) is not None
    pairs = dict(re.findall(r"(\w+)=(\S+)", msg.replace("(all same)", "", 1) if same else msg))
    same = same or pairs.get("count") == "1"
    if "count" not in pairs or not pairs["count"].isdigit() or ("curr" not in pairs and pairs["count"] != "0"):
        raise refuse(where, "the count= line is cut short or altered", "it reads count=N curr=X ... as LiteRT prints it")
    needed = ("curr",) if same else ("first", "curr", "min", "max", "avg", "std")
    if pairs["count"] != "0" and any(not pairs.get(k) for k in needed):
        raise refuse(where, "the count= line is cut short or altered", f"it must hold {', '.join(needed)}")
    out = {"count": int(pairs["count"])}
    for key in ("first", "curr", "min", "max", "avg", "std", "p5", "median", "p95"):
        if pairs.get(key):
            out[key] = _num(pairs[key], where) / 1000.0
    if same and out["count"]:
        every = {k: out["curr"] for k in ("first", "min", "max", "avg", "p5", "median", "p95")}
        out = {**every, **out, "std": 0.0}  # percentiles printed after it are kept as printed (the order check)
    return out


def _context(run: _Run, msg: str) -> bool:
    m = USE.match(msg)
    if m:
        if m.group(2) == "1":
            run.context["accelerator"] = DELEGATES[m.group(1).lower()]
        return True
    for pattern, field in CONTEXT:
        m = pattern.match(msg)
        if m:
            value = m.group(1).strip()
            if field == "threads":
                value = int(value) if int(value) > 0 else None  # -1: the tool's default, which it does not say
            elif field == "model_size_mb":
                value = float(value)
            elif field == "accelerator":
                value = value.lower()
            run.context[field] = value
            return True
    return False


def _result(run: _Run, msg: str, number: int, where: str) -> bool:
    """Reads one result line into ``run``; False when ``msg`` is none."""
    m = TIMINGS.match(msg)
    if m:
        run.timings = {f: _time(v, where) / 1000.0 for f, v in zip(US.values(), m.groups())}
        run.result("timings", number)
        return True
    m = TIMINGS_OLD.match(msg)
    if m:
        warm, init, inference = (_time(v, where) / 1000.0 for v in m.groups())
        run.timings = {"warmup_avg_ms": warm, "init_ms": init, "avg_ms": inference}
        run.old = True
        run.result("timings", number)
        return True
    m = BLOCK_LINE.match(msg)
    if m:
        label, value, runs = m.groups()
        field = BLOCK[next(k for k in BLOCK if k.lower() == label.lower())]
        run.block[field] = _num(value, where)
        if runs and field in ("avg_ms", "warmup_avg_ms"):
            run.block["runs" if field == "avg_ms" else "warmup_runs"] = int(runs)
        if field == "avg_ms":
            run.result("block", number)
        return True
    return _ios_or_memory(run, msg, number, where)


def _ios_or_memory(run: _Run, msg: str, number: int, where: str) -> bool:
    m = MEMORY.match(msg)
    if m:
        run.memory.update(memory_init_mb=_num(m.group(1), where), memory_overall_mb=_num(m.group(2), where))
        return True
    m = _re(r"^Overall peak memory footprint \(MB\) via periodic monitoring: (NUM)$").match(msg)
    if m:
        run.memory["memory_peak_mb"] = _num(m.group(1), where)
        return True
    m = _re(r"^Startup latency: (NUM) ms$").match(msg)
    if m:
        run.ios = {"init_ms": _num(m.group(1), where), "phase": None}
        run.started_at = run.started_at or number
        return True
    if run.ios and msg in ("Inference:", "Warmup:"):
        run.ios["phase"] = msg[:-1]
        return True
    m = IOS_LINE.match(msg)
    if m and run.ios.get("phase"):
        field = IOS[m.group(1)]
        key = field if run.ios["phase"] == "Inference" else "warmup_" + field
        run.ios[key] = int(_num(m.group(2), where)) if field == "runs" else _num(m.group(2), where)
        if key == "avg_ms":
            run.result("ios", number)
        return True
    return False


class _Again(Exception):
    """A result line of a kind the run already has: the next run (of the same model) began without STARTING!."""


def parse_log(text: str, source: str, sha: str) -> list[Measurement]:
    """Every run's measurement in the text, in the order of their result lines; [] when it holds none."""
    logcat, streams = messages(text)
    found = [m for stream in streams for m in _stream(stream, source, sha, logcat)]
    if not found:
        _refuse_failed(text, source)
    return sorted(found, key=lambda m: m.line or 0)


FAILED = "Benchmarking failed."  # benchmark_main.cc's ERROR line when the run did not finish
ERROR_LINE = re.compile(r"(?:^|\s)(?:(?:ERROR|FATAL): |[EF]\s+(?:tflite|litert)\s*: ?|[EF]/(?:tflite|litert)\s*"
                        r"\(\s*\d+\): ?)(?:\[[\w.]+:\d+\] )?(?P<msg>.*)$")


def _refuse_failed(text: str, source: str) -> None:
    """A log with no result whose tool said the run failed: refused naming its first error line (the cause;
    ``Benchmarking failed.`` itself only when no other error was logged)."""
    errors = [(n, m["msg"].strip()) for n, m in ((n, ERROR_LINE.search(line)) for n, line in
                                                 enumerate(text.splitlines(), 1)) if m]
    if FAILED not in text and not (errors and "STARTING!" in text):
        return  # no sign that a benchmark tool ran and failed: the caller says the file holds no measurement
    line, said = next(((n, msg) for n, msg in errors if msg != FAILED), errors[0] if errors else
                      next((n, FAILED) for n, x in enumerate(text.splitlines(), 1) if FAILED in x))
    raise refuse(f"{source}, line {line}", f"the benchmark run failed: {said[:200]}",
                 "the tool stopped before it timed the model, so the file holds no measurement",
                 "fix what the error says (the model, the delegate, the flags) and measure again")


def log_context(text: str) -> dict:
    """What the log says of the run it measured (model, threads, delegate, accelerator, model size), results or not:
    the facts a results.pb beside it has not got."""
    run = _Run()
    for stream in messages(text)[1]:
        for _, msg in stream:
            _context(run, msg)
    return run.context


def _stream(stream: list[tuple[int, str]], source: str, sha: str, logcat: bool) -> list[Measurement]:
    runs, run, last = [], _Run(), 0
    for number, msg in stream:
        last = number
        if msg == "STARTING!":
            runs.append(run)
            run = _Run()
            continue
        if run.kinds and any(p.match(msg) for p, f in CONTEXT if f == "model"):
            runs.append(run)  # a new model after a result: the next run, its STARTING! line lost
            run = _Run()
        try:
            _line(run, msg, number, f"{source}, line {number}")
        except _Again:
            runs.append(run)
            run = _Run(carry=run.context)
            _line(run, msg, number, f"{source}, line {number}")
    runs.append(run)
    out = []
    for r in runs:
        if r.kinds:
            out.append(_finish(r, source, sha, logcat))
        elif r.started_at is not None:
            raise refuse(f"{source}, line {last}", f"the log ends before the run begun at line {r.started_at} printed"
                         " its results", "it is cut short (a copy stopped early, or the tool was stopped)",
                         "pass the whole output, down to the `Inference timings` or `Inference (avg)` line")
    return out


def _line(run: _Run, msg: str, number: int, where: str) -> None:
    if msg.startswith("Running benchmark for at least"):
        run.started_at = run.started_at or number
        return
    m = _re(r"^Initialized session in (NUM) ?ms\.?$").match(msg)
    if m:
        run.block["init_ms"] = _num(m.group(1), where)
        run.started_at = run.started_at or number
        return
    if msg.startswith("count="):
        run.counts.append((number, _count_line(msg, where)))
        run.started_at = run.started_at or number
        return
    kind = ("timings" if msg.startswith(("Inference timings", "Average inference timings")) else
            "block" if msg.lower().startswith("inference (avg)") else None)
    if kind in run.kinds:
        raise _Again
    if _result(run, msg, number, where) or _context(run, msg):
        return
    if msg.startswith(STARTS):
        raise refuse(where, f"the line {msg[:80]!r} is cut short or altered",
                     "it starts as a result line of LiteRT's benchmark tool but does not read as one")


def _phases(run: _Run) -> tuple[dict | None, dict | None]:
    """(inference, warm-up) count= lines: the last two of the run; one alone only if its average is the run's."""
    counts = [c for _, c in run.counts]
    if len(counts) >= 2:
        return counts[-1], counts[-2]
    avg = run.timings.get("avg_ms", run.block.get("avg_ms"))
    if counts and avg is not None and abs(counts[0].get("avg", -1) - avg) <= 0.01 * avg + 0.005:
        return counts[0], None
    return None, None


def _finish(run: _Run, source: str, sha: str, logcat: bool) -> Measurement:
    stats = {k: v for k, v in run.block.items()}
    stats.update(run.timings)
    stats.update({k: v for k, v in run.ios.items() if k in ("init_ms", "runs", "avg_ms", "min_ms", "max_ms", "std_ms",
                                                            "warmup_runs", "warmup_avg_ms")})
    inference, warmup = _phases(run)
    if inference:
        stats.update({f: inference[k] for k, f in (("median", "median_ms"), ("p5", "p5_ms"), ("p95", "p95_ms"),
                                                    ("min", "min_ms"), ("max", "max_ms"), ("avg", "avg_ms"),
                                                    ("std", "std_ms")) if k in inference})
        stats["runs"] = inference["count"]
    if warmup:
        stats["warmup_runs"] = warmup["count"]
        if "first" in warmup or "curr" in warmup:
            stats.setdefault("first_inference_ms", warmup.get("first", warmup.get("curr")))
    stats.update(run.memory)
    ctx = dict(run.context)
    if ctx.get("delegate") and "accelerator" not in ctx and ctx["delegate"].upper() == "XNNPACK":
        ctx["accelerator"] = "cpu"
    if run.kinds == {"ios"}:
        fmt = DeviceFormat.IOS_APP
    elif logcat:
        fmt = DeviceFormat.LOGCAT_OLD if run.old else DeviceFormat.LOGCAT
    elif run.kinds == {"block"} and "median_ms" in run.block and not run.counts:
        fmt = DeviceFormat.PYTHON_STDOUT
    else:
        fmt = DeviceFormat.STDOUT_OLD if run.old else DeviceFormat.STDOUT
    return Measurement(source=source, source_sha256=sha, line=run.anchor, format=fmt, **ctx, **stats)
