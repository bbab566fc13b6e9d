"""An instruction budget (``max_instructions_m``) on a backend of times, a device's or a prediction's, says which
count backend holds the counts of the device's instruction set: the profile its predictions used, else the ISA
profile that stands for its chip, or why none does (an SME2 chip while no SME2 profile is installed); never
another profile's. The messages expected are written here by hand; the records are those of
tests/judge/test_predicted_budgets.py (a prediction for an iPhone 13, A15, from arm64-a15 counts; a median measured
on it) and the devices below."""

import dataclasses

import pytest

from liteship.bench import Instructions
from liteship.judge import Budgets, judge
from tests.judge.test_predicted_budgets import measured, predicted, x86


def arm(variant="v", per_invoke=2_000_000):
    """The variant's arm64-a15 count, as a count backend writes it."""
    return dataclasses.replace(x86(variant), backend="arm64-a15", kind="count", latency_ms=None, top1=None,
                               instructions=Instructions(per_invoke=per_invoke, isa="aarch64"))


def on(device, chip, variant="v", median=1.2, recipe="int8"):
    """A device backend's measurement of another device than the iPhone 13."""
    m = measured(variant, median, recipe)
    slug = "-".join(device.lower().split())
    return dataclasses.replace(m, backend=f"device:{slug}", node=device, device={**m.device, "device": device,
                                                                               "chip": chip})


def _instructions(records, backend, variant="v"):
    budgets = Budgets(backend=backend, max_instructions_m=10.0, require_contract=False)
    (v,) = [v for v in judge(budgets, variant, [r for r in records if r.variant == variant], records)
            if v.id == "max_instructions_m"]
    return v


def test_an_instruction_budget_on_a_prediction_names_the_profile_it_used():
    v = _instructions([x86("v"), arm("v"), predicted("v", 3.1, 2.6, 3.7)], "predicted:iphone-13")
    assert not v.passed and v.measured is None
    assert v.message == ("max_instructions_m (predicted:iphone-13, aarch64): not measured (limit 10.000 M): "
                         "predicted:iphone-13 holds milliseconds predicted from counts, not counts: counts of the "
                         "iPhone 13's instruction set are on arm64-a15 (the profile its predictions used); judge them "
                         'there with [budgets] backend = "arm64-a15"')


def test_an_instruction_budget_on_a_device_names_the_profile_of_its_chip_or_why_none():
    v = _instructions([x86("v"), arm("v"), measured("v", 1.85, "int8")], "device:iphone-13")
    assert v.message == ("max_instructions_m (device:iphone-13, aarch64): not measured (limit 10.000 M): "
                         "device:iphone-13 holds milliseconds measured on the device, not counts: counts of the "
                         "iPhone 13's instruction set are on arm64-a15 (the ISA profile that stands for its chip, "
                         'A15); judge them there with [budgets] backend = "arm64-a15"')
    a14 = _instructions([x86("v"), on("iPhone 12", "A14")], "device:iphone-12")
    assert a14.message.endswith('are on arm64-a14 (the ISA profile that stands for its chip, A14); judge them there '
                                'with [budgets] backend = "arm64-a14"')


@pytest.mark.parametrize("sme2_profile", [False, True])
def test_an_instruction_budget_on_an_sme2_device_never_names_arm64_a15(monkeypatch, sme2_profile):
    import liteship.bench.device_chips as chips

    have = {"arm64-a14", "arm64-a15"} | ({"arm64-a18"} if sme2_profile else set())
    monkeypatch.setattr(chips, "_registered", lambda name: name in have)
    v = _instructions([x86("v"), arm("v"), on("iPhone 16", "A18")], "device:iphone-16")
    head = ("max_instructions_m (device:iphone-16, aarch64): not measured (limit 10.000 M): device:iphone-16 holds "
            "milliseconds measured on the device, not counts")
    if sme2_profile:
        assert v.message == (head + ": counts of the iPhone 16's instruction set are on arm64-a18 (the ISA profile "
                             'that stands for its chip, A18); judge them there with [budgets] backend = "arm64-a18"')
    else:
        assert v.message.startswith(head + ", and no count backend stands for the iPhone 16's chip: A18 has SME2: "
                                    "XNNPACK runs KleidiAI's SME2 kernels there, which arm64-a14 and arm64-a15 "
                                    "(sme=off) never run")
        assert v.message.endswith("this liteship has no arm64-a18 profile")
