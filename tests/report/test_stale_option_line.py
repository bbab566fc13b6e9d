"""The decision's option line never shows a stale prediction's milliseconds as a prediction (the Option says it is
stale: its count or its measurements changed since it was made)."""

from liteship.judge.decision import Option
from liteship.report.sections import _latency_text


def _option(stale: bool) -> Option:
    return Option(verdict=None, top1=0.9, top1_ci=None, drop=None, drop_ci=None, size_bytes=1000, latency_ms=3.1,
                  latency_ci=(2.6, 3.7), delegated={}, stale=stale)


def test_a_stale_prediction_reads_stale_with_what_to_run():
    assert _latency_text(_option(True), "p50") == "p50 stale: run liteship device predict RUN_DIR"


def test_a_fresh_number_keeps_its_milliseconds():
    assert _latency_text(_option(False), "p50") == "3.100 ms p50"
