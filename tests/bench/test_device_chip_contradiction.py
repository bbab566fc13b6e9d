"""A `--chip` that contradicts what is known of a device's chip, checked against the vendors' own facts written here
(Apple's Tech Specs: iPhone 13 A15, iPhone 16 A18; the model identifier iPhone17,3 is an iPhone 16; Samsung's: the
Galaxy S24 ships with an Exynos 2400 or a Snapdragon 8 Gen 3; a Mac Studio with an M4 Max has M4 cores)."""

import pytest

from liteship.bench.device_chips import contradiction


@pytest.mark.parametrize("chip, device, said, kept, contradicts", [
    ("A15", "iPhone 16", (), (), True),
    ("A18", "iPhone 16", (), (), False),
    ("sme2", "iPhone 16", (), (), False),  # the ISA class of its chip
    ("neon-i8mm", "iPhone 16", (), (), True),
    ("A16", "iPhone 13", (), (), True),  # the same ISA class, another chip
    ("Exynos 2400", "Galaxy S24", (), (), False),
    ("Snapdragon 8 Gen 3", "Galaxy S24", (), (), False),
    ("Tensor G4", "Galaxy S24", (), (), True),  # neon-i8mm too, but not a chip the S24 ships with
    ("M4", "Mac Studio (M4 Max)", (), (), False),
    ("A15", "my phone", ("iPhone17,3",), (), True),  # the identifier the source gave: an iPhone 16
    ("A15", "Nokia 3310", (), (), False),  # nothing known: --chip is how it is said
    ("A14", "Nokia 3310", (), (("A15", "--chip"),), True),  # its records hold another chip
    ("A15", "Nokia 3310", (), (("neon-i8mm", "--chip"),), False),  # a chip of the class they hold
])
def test_a_chip_contradicts_what_the_name_the_identifier_or_the_records_say(chip, device, said, kept, contradicts):
    got = contradiction(chip, device, said, kept)
    assert (got is not None) == contradicts, got
    if got is not None:
        why, fix = got
        assert why.startswith(f"--chip {chip} says ") and "drop --chip" in fix


def test_the_words_say_what_each_source_says():
    why, fix = contradiction("A15", "iPhone 16")
    assert why == ("--chip A15 says A15 (neon-i8mm), and the device name says iPhone 16 has A18 (sme2): its "
                   "milliseconds would be predicted from the counts of another chip's kernels")
    assert fix == ("drop --chip (the device name says the chip), or correct --device if the measurements were made on "
                   "another device")
    why, _ = contradiction("A15", "my phone", ["iPhone17,3"])
    assert "the model identifier iPhone17,3 says my phone has A18 (sme2)" in why
    assert contradiction(None, "iPhone 16") is None and contradiction("A18", "iPhone 16") is None
