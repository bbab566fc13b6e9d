"""At most one latency measurement per machine at a time, across processes (Ray workers, parallel benches)."""

import json
import subprocess
import sys

WORKER = """
import json, sys, time
from liteship.bench.latency import one_at_a_time_on_this_machine
use_lock = sys.argv[2] == "lock"
if use_lock:
    with one_at_a_time_on_this_machine(sys.argv[1]):
        t0 = time.monotonic(); time.sleep(0.4); t1 = time.monotonic()
else:
    t0 = time.monotonic(); time.sleep(0.4); t1 = time.monotonic()
print(json.dumps([t0, t1]))
"""


def _intervals(tmp_path, mode: str) -> list[list[float]]:
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), mode], stdout=subprocess.PIPE, text=True)
             for _ in range(3)]
    return sorted(json.loads(p.communicate(timeout=120)[0]) for p in procs)


def _overlap(spans) -> bool:
    return any(b[0] < a[1] for a, b in zip(spans, spans[1:]))


def test_measurements_take_turns(tmp_path):
    assert not _overlap(_intervals(tmp_path, "lock"))


def test_without_the_lock_they_would_overlap(tmp_path):
    assert _overlap(_intervals(tmp_path, "none"))  # the check above can fail
