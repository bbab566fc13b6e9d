"""report.html in a real browser: headless Chromium, offline, loads with the decision, the table and the plots
in view. Skipped, with the reason, where no Chromium is installed (Debian: apt-get install chromium)."""

import shutil
import subprocess

import numpy as np
import pytest

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
# No network: every host name fails to resolve, so anything fetched from outside would not load.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND"]


def _chromium(tmp_path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([BROWSER, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(BROWSER is None, reason="no Chromium on this machine (Debian: apt-get install chromium)")
def test_report_renders_offline_with_decision_table_and_plots(swept, tmp_path):
    from PIL import Image

    from liteship.workflow.reports import write_reports
    from liteship.bench.run import current_results

    out, _, _ = swept
    write_reports(out, current_results(out)[0])
    page = (out / "report.html").resolve()
    shot = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,2400", page.as_uri())
    assert shot.is_file(), "Chromium wrote no screenshot"
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    # The decision box (#eef7ee) is in the first screenful, above everything else.
    decision = np.all(np.abs(pixels.astype(int) - (0xee, 0xf7, 0xee)) <= 2, axis=2)
    rows = np.flatnonzero(decision.any(axis=1))
    assert len(rows) and rows[0] < 300, "the decision is not at the top of the page"
    # The plot was decoded and drawn: the first model's colour (#1f77b4) appears below the decision.
    blue = np.all(np.abs(pixels.astype(int) - (0x1f, 0x77, 0xb4)) <= 40, axis=2)
    assert blue[rows[-1]:].sum() > 200, "no plot drawn in the page"
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert "id=\"decision\"" in dom and "Ship" in dom
    assert dom.count("<table class=\"sortable\"") >= 1 and "float32" in dom
    assert "data:image/png;base64," in dom
