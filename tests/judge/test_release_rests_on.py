"""MODEL.md lists the medians a prediction rests on in ms to 3 decimals, as it writes every measured ms: a phone's
sub-millisecond median (0.096 ms) is never rounded to 0.10.

The medians are the five iPhone 13 measurements of a swept digits run (benchmark_model's medians in µs: 221, 260,
155, 399, 96), each with a leave-one-out error written here by hand.
"""

from dataclasses import replace

from liteship.judge import Budgets
from tests.judge.test_predicted_budgets import FIT, predicted, x86
from tests.judge.test_release_words import _closing

MEDIANS = {"8e21f73d31ec": (0.221, -0.01), "588864e85497": (0.260, 0.07), "533d80a2bd38": (0.155, -0.06),
           "fbbcc85db147": (0.399, -0.05), "2549561b05ff": (0.096, 0.04)}


def test_the_medians_a_prediction_rests_on_are_said_to_the_microsecond():
    p = predicted("v", 0.15, 0.12, 0.17)
    fit = {**FIT, "measurements": 5, "loo": {**FIT["loo"], "errors": {v: e for v, (_, e) in MEDIANS.items()}}}
    rests = [{"variant": v, "median_ms": ms, "instructions": 1_000_000, "source": f"{v}.txt", "source_sha256": "0" * 64}
             for v, (ms, _) in MEDIANS.items()]
    p = replace(p, device={**p.device, "fit": fit, "rests_on": rests})
    _, text = _closing([x86("v"), p], Budgets(backend="predicted:iphone-13", require_contract=False), "latency")
    (line,) = [s for s in text.splitlines() if s.startswith("  - the measurements it rests on")]
    assert line == ("  - the measurements it rests on (median on the device, leave-one-out error): `8e21f73d31ec` "
                    "0.221 ms (-1 %), `588864e85497` 0.260 ms (+7 %), `533d80a2bd38` 0.155 ms (-6 %), "
                    "`fbbcc85db147` 0.399 ms (-5 %), `2549561b05ff` 0.096 ms (+4 %)")
