"""docs/tutorial.ipynb runs in a real Jupyter kernel, shows the decision, writes the release, and leaves the
kernel's matplotlib backend and pyplot figures as they were.

The notebook is executed as stored (without outputs) by nbclient in a temp working directory, so its
``runs/tutorial`` is written there. The test adds two cells around the sweep: one that notes matplotlib's
backend and opens a pyplot figure, one after the sweep that prints both again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"
BEFORE = """%matplotlib inline
%config InlineBackend.close_figures = False
import matplotlib, matplotlib.pyplot as plt
_figure = plt.figure()  # a figure of the user's, left open across the sweep (the inline backend closes none)
print("LITESHIP-STATE", matplotlib.get_backend(), plt.get_fignums())"""
AFTER = """print("LITESHIP-STATE", matplotlib.get_backend(), plt.get_fignums())"""


def _tagged(nb, tag: str) -> int:
    return next(i for i, cell in enumerate(nb.cells) if tag in cell.get("metadata", {}).get("tags", []))


def test_the_notebook_is_stored_without_outputs():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    assert {"train", "sweep", "show-run", "pick", "release-files"} <= {t for c in code for t in c.metadata.get("tags", [])}


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    import nbformat
    from nbclient import NotebookClient

    work = tmp_path_factory.mktemp("tutorial")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    sweep = _tagged(nb, "sweep")
    nb.cells.insert(sweep + 1, nbformat.v4.new_code_cell(AFTER))
    nb.cells.insert(sweep, nbformat.v4.new_code_cell(BEFORE))
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    return nb, work


def _outputs(nb, tag: str) -> list:
    return nb.cells[_tagged(nb, tag)].outputs


@pytest.mark.slow
def test_the_notebook_shows_the_decision_and_writes_the_release(executed):
    nb, work = executed
    release = work / "runs" / "tutorial" / "release"
    shipped = json.loads((release / "manifest.json").read_text())["variant"]  # read here, not from the notebook
    for name in ("model.tflite", "labels.txt", "manifest.json", "MODEL.md", "Classifier.swift"):
        assert (release / name).is_file() and (release / name).stat().st_size > 0, name
    shown = [o["data"]["text/html"] for o in _outputs(nb, "show-run") if "text/html" in o.get("data", {})]
    assert shown and "Decision" in shown[0] and shipped in shown[0] and "data:image/png;base64," in shown[0]
    picked = [o["data"]["text/html"] for o in _outputs(nb, "pick") if "text/html" in o.get("data", {})]
    assert picked and shipped in picked[0]
    listed = "".join(o.get("text", "") for o in _outputs(nb, "release-files"))
    assert all(name in listed for name in ("model.tflite", "labels.txt", "Classifier.swift"))


@pytest.mark.slow
def test_the_sweep_leaves_the_kernels_matplotlib_alone(executed):
    nb, _ = executed
    states = [line for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
              for line in o.get("text", "").splitlines() if line.startswith("LITESHIP-STATE")]
    assert len(states) == 2 and states[0] == states[1], states
    assert "inline" in states[0] and "[1]" in states[0]  # Jupyter's inline backend, the user's figure still open
