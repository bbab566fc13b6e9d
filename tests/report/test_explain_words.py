"""``liteship explain``'s first line says where its p50 was timed, true of the backend that timed it: this x86 CPU,
a device (by its own tool, imported), or a prediction from counts (not measured); and it never divides one place's
milliseconds by another's. The variants are made by hand (one 1,000,000-multiply-add convolution, 100 KB); the
expected lines are written out here."""

from liteship.bench import Explained
from liteship.bench.explain import OpGroup
from liteship.report.explain import describe, render

CONV = (OpGroup("CONV_2D", "int8", "int8", "int8", 1, 1_000_000),)


def _variant(vid, backend, p50):
    return Explained(vid, "mnv2", "int8", 102_400, CONV, None, p50, backend)


def test_the_p50_says_where_it_was_timed():
    assert describe(_variant("a", "xnnpack", 0.6))[0] == (
        "a: mnv2 int8, 100.0 KB, 1.00 M multiply-adds per invoke, p50 0.600 ms on xnnpack (x86 CPU)")
    assert describe(_variant("a", "device:iphone-13", 1.85))[0] == (
        "a: mnv2 int8, 100.0 KB, 1.00 M multiply-adds per invoke, p50 1.850 ms on device:iphone-13 (LiteRT on "
        "iphone-13, timed on the device and imported (liteship device import); not measured here)")
    guessed = describe(_variant("a", "predicted:iphone-13", 3.1))[0]
    assert guessed == (
        "a: mnv2 int8, 100.0 KB, 1.00 M multiply-adds per invoke, p50 3.100 ms on predicted:iphone-13 (milliseconds "
        "on iphone-13 predicted from aarch64 instruction counts by a calibration fitted on its own imported "
        "measurements; not measured)")
    assert "x86" not in guessed


def test_two_places_milliseconds_are_not_divided():
    text = render(_variant("a", "predicted:iphone-13", 3.1), _variant("b", "xnnpack", 0.5))
    assert "×)" not in text  # 3.1 / 0.5 = 6.20x would compare a prediction for a phone with an x86 time
    assert "  - p50 not compared: 3.100 ms on predicted:iphone-13, 0.500 ms on xnnpack" in text.splitlines()
    same = render(_variant("a", "xnnpack", 0.6), _variant("b", "xnnpack", 0.4))
    assert "  - p50 0.600 ms vs 0.400 ms (1.50×)" in same.splitlines()


def _with_errors(recipe: str, fine_tuned: bool):
    """Two ops measured by hand: a CONV_2D with an error (MSE 0.01 on a signal of power 1: SNR 100, 20 dB) and a
    RESHAPE whose output equals float's (MSE 0)."""
    from dataclasses import replace

    from liteship.bench.explain import OpRow
    from liteship.optimize import OpError, worst_first

    errors = worst_first([OpError(1, "RESHAPE", "model/flat", 0.0, float("inf"), 1.0),
                          OpError(0, "CONV_2D", "model/conv", 0.01, 100.0, 0.995)])
    rows = tuple(OpRow(e, 1_000_000 if e.op == "CONV_2D" else 0, None) for e in errors)
    e = replace(_variant("a", "xnnpack", 0.6), recipe=recipe)
    return replace(e, op_errors=rows, op_error_images=8, fine_tuned=fine_tuned)


def test_an_exact_op_reads_equal_to_float_last_and_no_kl_column():
    lines = describe(_with_errors("int8", False))
    table = lines[lines.index(next(line for line in lines if line.startswith("#  op"))):]
    assert table[2].split()[:4] == ["0", "CONV_2D", "model/conv", "20.0"]
    assert table[3].split()[:4] == ["1", "RESHAPE", "model/flat", "="] and "= float" in table[3]
    assert "KL" not in table[0] and not any("fine-tuning" in line for line in lines)


def test_a_fine_tuned_variants_error_says_it_includes_the_fine_tuning():
    lines = describe(_with_errors("qat_int8", True))
    said = " ".join(lines)
    assert "original" in said and "qat_int8's fine-tuning" in said and "changed" in said
