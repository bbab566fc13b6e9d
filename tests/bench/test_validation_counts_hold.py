"""The committed validation counts still hold: one model of tests/perf/device_validation recounted by its protocol.

counts_arm64-a15.json is a fixture (the 224-px and larger models take minutes each under QEMU), made by
make_counts.py. Here the cheapest 224-px model of it is built again from scratch (seeded random weights, the same
conversion) into a temporary folder, its bytes compared with the fixture's sha256, and counted again on
arm64-a15 through liteship's ARM counting path.

Tolerance: none, the count must be equal to the instruction. Under QEMU user mode the plugin counts the guest
instructions the single-threaded invokes execute; with the same binaries (QEMU, plugin, the aarch64 LiteRT and
numpy), the same model bytes, the same input and the same emulated CPU, that number is the same in every fresh
process (tests/perf/test_arm64_perf.py repeats a count ten times and asserts one value). Any difference means that
something the fixture rests on changed, and the fixture is to be made again (``python -m
tests.perf.device_validation.make_counts --backend arm64-a15 --force``). A changed tool is said as such, naming it,
before anything is counted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from liteship.bench import arm64_env

FIXTURE = Path(__file__).parents[1] / "perf" / "device_validation" / "counts_arm64-a15.json"
# What the count rests on, as the fixture records it: a different value means a different count is expected.
TOOLS = ("qemu", "plugin_sha256", "ai-edge-litert (aarch64)", "numpy (aarch64)", "tensorflow (converter)", "tf_keras")

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not arm64_env.installed(), reason="the arm64 environment is not installed: "
                                 "`liteship runtimes install arm64 --with-system-packages` (as root)")]


def _cheapest_224(models: dict) -> dict:
    at_224 = [m for m in models.values() if m["input_shape"][1:3] == [224, 224]]
    return min(at_224, key=lambda m: m["per_invoke"])


def test_the_cheapest_224_px_model_counts_what_the_fixture_says(tf_available, tmp_path):
    from tests.perf.device_validation import make_counts

    committed = _cheapest_224(json.loads(FIXTURE.read_text())["models"])
    equivalent = make_counts.BY_FILE[committed["file"]]
    path, info = make_counts.made_model(equivalent, cache=tmp_path)
    recounted = make_counts.count(equivalent, "arm64-a15", cache=tmp_path)
    changed = {k: (committed["tools"].get(k), recounted["tools"].get(k)) for k in TOOLS
               if committed["tools"].get(k) != recounted["tools"].get(k)}
    assert not changed, (f"the fixture was counted with other tools ({changed}: fixture, here): make it again with "
                         "make_counts.py --force")
    assert path.parent == tmp_path and info["sha256"] == committed["sha256"], "the model was built otherwise"
    assert recounted["per_invoke"] == committed["per_invoke"], (committed["file"], committed["per_invoke"],
                                                                recounted["per_invoke"])
