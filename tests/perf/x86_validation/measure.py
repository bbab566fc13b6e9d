"""Each variant counted and timed in one run on this machine.

- The count: liteship's ``x86`` backend (valgrind's callgrind; instructions of one steady invoke on one thread).
- The peer's time: ``python -m ai_edge_litert.tools.benchmark_litert_model --num_threads 1`` (LiteRT's own tool:
  CompiledModel on CPU, 5 warm-up runs, the median of 50 wall-clock runs, written to 0.01 ms).
- Thread CPU time: this thread's ``time.thread_time_ns`` around ``invoke`` of the session liteship's reference
  backend opens (the LiteRT Interpreter with its op resolver: XNNPACK), one thread, fed mid-grey as the count is.
  Time taken from this thread by other processes is not in it, so it holds where wall time swings.

All counts come first, then all timings, under liteship's machine-wide latency lock: no count of this run, and
no other liteship timing, runs beside a timed invoke.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

WARMUP = 5
MIN_RUNS = 50
MIN_SECONDS = 0.3  # thread-CPU timing: at least this much CPU time of invokes per variant, past MIN_RUNS
PEER = "ai_edge_litert.tools.benchmark_litert_model"
PEER_TIMEOUT_S = 600


@dataclass
class Measured:
    """One variant: its x86 count, the peer tool's median wall time, and thread CPU (and wall) time of invokes."""

    variant: str
    count: dict  # the x86 backend's count, as a counts file keeps it (Instructions' JSON form)
    peer_ms: float = float("nan")
    peer: dict = field(default_factory=dict)  # the peer tool's latency block
    cpu_ms: float = float("nan")  # median thread CPU time of one invoke
    wall_ms: float = float("nan")  # median wall time of the same invokes
    runs: int = 0

    @property
    def per_invoke(self) -> int:
        return int(self.count["per_invoke"])


def count(path: Path) -> dict:
    """The x86 backend's count of ``path`` (valgrind feeds its own mid-grey image)."""
    from liteship.bench.backends import get

    return get("x86").count(str(path), None, False, "mid-grey")


def peer_median(path: Path) -> dict:
    """The peer tool's latency block for ``path`` on one thread (its ``median_ms`` among them)."""
    with tempfile.TemporaryDirectory(prefix="liteship-peer-") as tmp:
        out = Path(tmp) / "out.json"
        proc = subprocess.run([sys.executable, "-m", PEER, "--model", str(path), "--num_threads", "1",
                               "--result_json", str(out)], capture_output=True, text=True, timeout=PEER_TIMEOUT_S)
        if proc.returncode != 0 or not out.is_file():
            raise RuntimeError(f"{PEER} on {path.name} exited with {proc.returncode}: {proc.stderr[-2000:]}")
        return json.loads(out.read_text())["latency"]


def thread_cpu(path: Path) -> tuple[float, float, int]:
    """(median thread CPU ms, median wall ms, runs) of ``invoke`` on the reference backend's session, one thread."""
    import gc

    import numpy as np

    from liteship.bench.backends import reference
    from liteship.bench.instructions_child import mid_grey

    session = reference().open(str(path), 1)
    detail = session.input_detail
    session.set_input(np.full(detail["shape"], mid_grey(detail), dtype=detail["dtype"]))
    invoke = session.invoke
    for _ in range(WARMUP):
        invoke()
    cpu, wall = [], []
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        while len(cpu) < MIN_RUNS or sum(cpu) < MIN_SECONDS * 1e9:
            c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
            invoke()
            w1, c1 = time.perf_counter_ns(), time.thread_time_ns()
            cpu.append(c1 - c0)
            wall.append(w1 - w0)
    finally:
        if was_enabled:
            gc.enable()
    return statistics.median(cpu) / 1e6, statistics.median(wall) / 1e6, len(cpu)


def measure_all(paths: dict[str, Path], progress=print) -> list[Measured]:
    """Every variant counted, then every variant timed (peer tool, then thread CPU), in ``paths``' order."""
    from liteship.bench.latency import one_at_a_time_on_this_machine

    rows = []
    for name, path in paths.items():
        started = time.perf_counter()
        rows.append(Measured(name, count(path)))
        progress(f"{name}: {rows[-1].per_invoke / 1e6:.2f} M x86 instructions per invoke "
                 f"(counted in {time.perf_counter() - started:.1f} s)")
    with one_at_a_time_on_this_machine():
        for row in rows:
            row.peer = peer_median(paths[row.variant])
            row.peer_ms = float(row.peer["median_ms"])
            row.cpu_ms, row.wall_ms, row.runs = thread_cpu(paths[row.variant])
            progress(f"{row.variant}: peer {row.peer_ms:.2f} ms wall, {row.cpu_ms:.3f} ms thread CPU "
                     f"({row.wall_ms:.3f} ms wall, {row.runs} runs)")
    return rows
