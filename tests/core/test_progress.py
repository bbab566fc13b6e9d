"""The progress line's remaining time: weighed by each step's expected cost, not by the count of steps."""

import io

import pytest

import liteship.progress as progress_module
from liteship.progress import Progress


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(progress_module.time, "perf_counter", c)
    return c


def _eta(line: str) -> float:
    return float(line.rsplit("ETA ", 1)[1].split(" s")[0])


def test_the_eta_scales_the_elapsed_time_by_the_cost_still_to_come(clock):
    out = io.StringIO()
    costs = {"train big": 100.0, "optimize big a": 20.0, "optimize big b": 20.0, "train small": 10.0}
    with Progress(stream=out, bar=False).steps(4, costs=costs) as steps:
        steps.step("train small (done before, skipped)", key="train small", skipped=True)  # took no time
        clock.now = 200.0  # the machine is twice as slow as the costs say
        steps.step("train big", key="train big")
        clock.now = 240.0
        steps.step("optimize big a", key="optimize big a")
        clock.now = 280.0
        steps.step("optimize big b", key="optimize big b")
    lines = out.getvalue().splitlines()
    # by hand: after the skip nothing is known (count: 0 / 1 * 3 = 0); then 200 s for 100 of 140 -> 200 / 100 * 40
    assert [_eta(line) for line in lines] == [0.0, 80.0, 40.0, 0.0]


def test_without_costs_the_eta_counts_steps(clock):
    out = io.StringIO()
    with Progress(stream=out, bar=False).steps(4) as steps:
        clock.now = 10.0
        steps.step("one")
        clock.now = 40.0
        steps.step("two")
    assert [_eta(line) for line in out.getvalue().splitlines()] == [30.0, 40.0]  # 10/1*3, 40/2*2
