"""Drawing a plot leaves the caller's matplotlib alone: a notebook's backend and its open pyplot figures are the
same after liteship drew the report's plot or a model's training curves (they are drawn on Figure objects)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[2]

# The caller's state: a non-Agg backend that works without a display, and one pyplot figure of its own open.
SETUP = """
import json, sys
import matplotlib
matplotlib.use("svg")
import matplotlib.pyplot as plt
mine = plt.figure()
before = (matplotlib.get_backend(), plt.get_fignums(), dict(matplotlib.rcParams))
"""
CHECK = """
after = (matplotlib.get_backend(), plt.get_fignums(), dict(matplotlib.rcParams))
changed = [k for k in before[2] if str(before[2][k]) != str(after[2][k])]
print(json.dumps({"backend": [before[0], after[0]], "figures": [before[1], after[1]], "rc": changed,
                  "current": plt.gcf() is mine}))
"""
PARETO = """
from tests.judge.test_findings import FLOAT, rec
from liteship.report.plots import plot_png
png = plot_png([rec("float32", FLOAT, size=400_000), rec("int8", "1" * 140 + "0" * 60, p50=0.5, size=100_000)])
open(sys.argv[1], "wb").write(png)
"""
CURVES = """
from pathlib import Path
from liteship.trainer.card import plot_curves
history = [{"epoch": e, "phase": "head" if e < 3 else "fine-tune", "accuracy": 0.5 + e / 20, "loss": 1.5 - e / 10,
            "val_accuracy": 0.45 + e / 20, "val_loss": 1.6 - e / 10} for e in range(1, 6)]
plot_curves(history, Path(sys.argv[1]))
"""


def _draw_in_a_fresh_process(body: str, png: Path) -> dict:
    import json

    code = textwrap.dedent(SETUP + body + CHECK)
    done = subprocess.run([sys.executable, "-c", code, str(png)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(png.parent),
                                            "MPLCONFIGDIR": str(png.parent / "mpl")})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("body", [PARETO, CURVES], ids=["pareto", "curves"])
def test_drawing_keeps_the_callers_backend_and_figures(body, tmp_path):
    from PIL import Image

    png = tmp_path / "plot.png"
    state = _draw_in_a_fresh_process(body, png)
    assert state["backend"] == ["svg", "svg"]
    assert state["figures"] == [[1], [1]]  # the caller's figure still open, no figure of ours left behind
    assert state["current"] and state["rc"] == []
    with Image.open(png) as image:  # and the plot was drawn: a PNG of a plot's size
        assert image.format == "PNG" and image.width > 500 and image.height > 250
