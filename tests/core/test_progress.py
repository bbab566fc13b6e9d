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
    # by hand, with a prior of 0.15 x 140 = 21 s at the expected pace: after the skip the expected 140 s;
    # then (200 + 21) / (100 + 21) x 40 = 73.06; (240 + 21) / (120 + 21) x 20 = 37.02; then nothing left
    assert [_eta(line) for line in lines] == [140.0, 73.0, 37.0, 0.0]


def test_the_eta_converges_on_a_machine_slower_than_expected_and_never_climbs(clock):
    """Twenty steps of 10 expected seconds on a machine 1.6 times slower, the first step carrying 30 s of start-up
    (today's sweep's first step): the remaining time falls step by step and ends at the true pace."""
    out = io.StringIO()
    costs = {f"s{i}": 10.0 for i in range(20)}
    with Progress(stream=out, bar=False).steps(20, costs=costs) as steps:
        for i in range(20):
            clock.now += 16.0 + (30.0 if i == 0 else 0.0)
            steps.step(f"s{i}", key=f"s{i}")
    etas = [_eta(line) for line in out.getvalue().splitlines()]
    assert all(b < a for a, b in zip(etas, etas[1:]))
    true_left = [16.0 * (19 - i) for i in range(20)]
    assert abs(etas[9] - true_left[9]) / true_left[9] < 0.25  # half-way, within a quarter of the truth
    assert abs(etas[18] - true_left[18]) / true_left[18] < 0.15


def test_without_costs_the_eta_counts_steps(clock):
    out = io.StringIO()
    with Progress(stream=out, bar=False).steps(4) as steps:
        clock.now = 10.0
        steps.step("one")
        clock.now = 40.0
        steps.step("two")
    assert [_eta(line) for line in out.getvalue().splitlines()] == [30.0, 40.0]  # 10/1*3, 40/2*2


def test_steps_that_end_together_each_show_the_remaining_time_after_all_of_them(clock):
    """A chain of recipes is one job: its steps end at once and are printed one after another. By hand, with
    costs a 10, b 30, c 60 (prior 0.15 x 100 = 15 s) and 40 s elapsed when a and b end: (40 + 15) / (40 + 15) x 60
    = 60 s left on both lines (counting only a on the first line would say (40 + 15) / (10 + 15) x 90 = 198 s)."""
    out = io.StringIO()
    with Progress(stream=out, bar=False).steps(3, costs={"a": 10.0, "b": 30.0, "c": 60.0}) as steps:
        clock.now = 40.0
        steps.finished(["a", "b"])
        steps.step("a", key="a")
        steps.step("b", key="b")
        clock.now = 100.0
        steps.step("c", key="c")
    assert [_eta(line) for line in out.getvalue().splitlines()] == [60.0, 60.0, 0.0]
