"""The per-variant lines ``device import`` and ``device predict`` print mark an extrapolated prediction (its count
outside the counts measured on the device, its interval widened), and only it. The records are the hand-made ones
of tests/report/phone_run.py: dynamic predicted at 2.400 ms, 95 % interval 2.050-2.810 ms; made extrapolated here
by hand (1.80x below the counts measured)."""

from dataclasses import replace
from types import SimpleNamespace

import pytest

from liteship.app.commands import show
from tests.report.phone_run import device, predicted

FAR = {"side": "below", "ratio": 1.8, "instructions": 3_000_000, "measured_instructions": [5_400_000, 5_200_000]}
LINE = "  mnv2-dynamic (mnv2 dynamic): predicted 2.400 ms, 95 % interval 2.050-2.810 ms"


def _result(command, records):
    outcome = SimpleNamespace(said=lambda: "predicted:iphone-13: 1 variant(s) predicted", records=tuple(records))
    if command == "device predict":
        return SimpleNamespace(command=command, outcomes=(outcome,))
    return SimpleNamespace(command=command, records=(device("float32"),), run_dir="runs/x", predictions=(outcome,))


@pytest.mark.parametrize("command", ["device predict", "device import"])
def test_an_extrapolated_prediction_s_line_says_so_and_an_inside_one_does_not(command, capsys):
    far = replace(predicted("dynamic"), device={**predicted("dynamic").device, "extrapolated": FAR})
    show(_result(command, [far]))
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == LINE + ", extrapolated (1.80x below the counts measured; interval widened)", lines
    show(_result(command, [predicted("dynamic")]))
    assert capsys.readouterr().out.splitlines()[-1] == LINE
