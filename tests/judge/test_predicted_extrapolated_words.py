"""MODEL.md's and the manifest's words of a prediction (``predicted_for``) say "extrapolated" beside its interval
when the record says its count lies outside the counts measured on the device, and never otherwise.

The record is made by hand as the prediction contract writes one: 3.10 ms, 95 % interval 2.60-3.70 ms, from 4
measurements; the extrapolated one's count is 1.50x above the largest count measured (written here by hand)."""

import dataclasses

from liteship.judge.release_docs import predicted_for
from tests.judge.test_predicted_budgets import predicted

FAR = {"side": "above", "ratio": 1.5, "instructions": 103_050_000, "measured_instructions": [21_200_000, 68_700_000],
       "nearest": ["m3"], "proportional_ms": 9.0, "factor": 1.01, "fitted_interval_ms": [2.6, 3.7]}


def _extrapolated(record):
    return dataclasses.replace(record, device={**record.device, "extrapolated": FAR})


def test_an_extrapolated_prediction_says_so_beside_its_interval():
    words = predicted_for(_extrapolated(predicted("v1", 3.1, 2.6, 3.7)))
    assert ": 3.10 ms (95 % interval 2.60-3.70 ms, extrapolated: its count is 1.50x above the counts measured on " \
           "the device) from 4 measurements on the device" in words, words
    assert words.endswith("; not measured")


def test_a_prediction_inside_the_counts_measured_says_no_extrapolation():
    words = predicted_for(predicted("v1", 3.1, 2.6, 3.7))
    assert "(95 % interval 2.60-3.70 ms) from 4 measurements" in words and "extrapolat" not in words


def test_an_extrapolated_record_without_its_ratio_still_says_extrapolated():
    record = dataclasses.replace(predicted("v1", 3.1, 2.6, 3.7),
                                 device={**predicted("v1", 3.1, 2.6, 3.7).device, "extrapolated": True})
    assert "(95 % interval 2.60-3.70 ms, extrapolated) from 4" in predicted_for(record)
