"""The sweep on one worker against two, and its estimate against the time it took.

Targets (issue 25): the same small config on one worker and on two gives the same variant IDs, bytes, top-1 and
instruction counts (only timings differ), with the wall-time ratio printed; the time printed before a sweep is
within 25 % of the time it took, on three configs of different sizes and on this machine made twice as slow
(printed, then asserted; the quick profile CI runs has the smallest on one and two workers, the full profile the
rest).
"""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from liteship.bench.arm64_env import installed
from tests.conftest import CONFIG
from tests.perf.conftest import QUICK

pytestmark = [pytest.mark.perf, pytest.mark.skipif(not installed(), reason="the arm64 environment is not installed: "
                                                   "`liteship runtimes install arm64`")]

COUNTED = CONFIG.replace('backends = ["xnnpack", "gpu"]', 'backends = ["xnnpack", "gpu", "arm64-a15"]').replace(
    "instructions = false\narm64 = false", "instructions = true")
EVERY_RECIPE = COUNTED.replace('recipes = ["float32", "int8", "prune_int8"]', 'recipes = ["all"]')
TWO_MODELS = EVERY_RECIPE + '[[models]]\narch = "small_cnn"\nsize = 24\n'
SIZES = {"3 recipes, counted": COUNTED, "every recipe, counted": EVERY_RECIPE, "two models": TWO_MODELS}
TOLERANCE = 0.25


def _sweep(tmp: Path, name: str, config: str, workers: int) -> tuple[float, float, Path]:
    """Run ``liteship sweep`` as a user does; return the estimate it printed, the seconds it took, its run dir."""
    cfg = tmp / f"{name}.toml"
    cfg.write_text(config)
    out = tmp / name
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "liteship", "sweep", "--data", "digits", "--config", str(cfg),
                           "--out", str(out), "--workers", str(workers)], capture_output=True, text=True,
                          timeout=1800)
    seconds = time.perf_counter() - started
    assert proc.returncode == 0, proc.stderr[-3000:]
    said = re.search(r"estimated: about (\d+) (s|min)", proc.stderr + proc.stdout)
    assert said, proc.stderr[-2000:]
    estimate = float(said.group(1)) * (60 if said.group(2) == "min" else 1)
    return estimate, seconds, out


def _results(out: Path) -> dict:
    rows = {}
    for line in (out / "results.jsonl").read_text().splitlines():
        r = json.loads(line)
        rows[(r["variant"], r["backend"], r["threads"])] = (
            r["sha256"], r["top1"], r["top5"], r["agreement"], r["confusion"],
            (r.get("instructions") or {}).get("per_invoke"))
    return rows


def test_two_workers_give_the_results_of_one(tmp_path, tf_available):
    one_est, one_s, one = _sweep(tmp_path, "one", COUNTED, 1)
    two_est, two_s, two = _sweep(tmp_path, "two", COUNTED, 2)
    a, b = _results(one), _results(two)
    assert a == b and len(a) == 3 * 3  # IDs, bytes, top-1, confusion and counts; three variants, three backends
    assert all(v[5] for k, v in a.items() if k[1] in ("xnnpack", "arm64-a15"))  # both ISAs were counted
    print(f"\nsweep of {len(a) // 3} variants with x86 and arm64 counts: one worker {one_s:.0f} s (estimated "
          f"{one_est:.0f} s), two workers {two_s:.0f} s (estimated {two_est:.0f} s), ratio {one_s / two_s:.2f}")
    assert abs(one_est / one_s - 1) <= TOLERANCE and abs(two_est / two_s - 1) <= TOLERANCE


@pytest.mark.skipif(QUICK, reason="two more sweeps (about 7 minutes): the full profile only")
@pytest.mark.parametrize("name", ["every recipe, counted", "two models"])
def test_the_estimate_holds_on_larger_sweeps(tmp_path, tf_available, name):
    estimate, seconds, _ = _sweep(tmp_path, name.replace(" ", "_").replace(",", ""), SIZES[name], 2)
    error = estimate / seconds - 1
    print(f"\n{name}: estimated {estimate:.0f} s, took {seconds:.0f} s with two workers: error {error * 100:+.0f} %")
    assert abs(error) <= TOLERANCE


@pytest.mark.skipif(QUICK, reason="a sweep on a machine made twice as slow (about 3 minutes): the full profile only")
def test_the_estimate_holds_on_a_machine_twice_as_slow(tmp_path, tf_available):
    """Twice as slow, emulated: one busy process per core beside the sweep, so each of its threads (and the probe)
    gets half a core. A machine twice as fast cannot be emulated here."""
    import os

    hogs = [subprocess.Popen([sys.executable, "-c", f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass"])
            for cpu in sorted(os.sched_getaffinity(0))]
    try:
        estimate, seconds, _ = _sweep(tmp_path, "slow", COUNTED, 2)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    error = estimate / seconds - 1
    print(f"\ntwice as slow (a busy process on each core): estimated {estimate:.0f} s, took {seconds:.0f} s: "
          f"error {error * 100:+.0f} %")
    assert abs(error) <= TOLERANCE
