"""A device's chip and the ISA profile that stands for it, against the vendors' published facts written out here.

The expected chips are those Apple's, Google's, Samsung's and Qualcomm's spec pages give for each device (cited in
bench/device_chips.py); the expected profiles follow from each chip's features: no i8mm (A14, M1, Tensor G1/G2),
i8mm without SME (A15-A17, M2, M3, Tensor G3/G4, Snapdragon 8 Gen 1-3 and 8 Elite), SME2 (A18, A19, M4, M5).
"""

import pytest

from liteship.bench.device_chips import (chip_of, chips_taken, from_flag, from_identifier, from_kept, from_name,
                                         phones_of, profile_for)

NO_SME2 = (lambda name: name != "arm64-a18")


@pytest.mark.parametrize("identifier, chip", [
    ("iPhone13,2", "A14"), ("iPhone14,5", "A15"), ("iPhone14,6", "A15"), ("iPhone14,7", "A15"),
    ("iPhone15,4", "A16"), ("iPhone16,1", "A17 Pro"), ("iPhone17,1", "A18 Pro"), ("iPhone17,3", "A18"),
    ("iPhone18,3", "A19"), ("Mac16,9", "M4"), ("Mac14,2", "M2"), ("Mac15,3", "M3"), ("MacBookAir10,1", "M1"),
    ("Mac13,1", "M1")])
def test_a_model_identifier_names_the_chip(identifier, chip):
    found = from_identifier(f"device {identifier} (iOS 17.4)")
    assert (found.chip, found.chip_from) == (chip, f"model identifier {identifier}")


@pytest.mark.parametrize("text", ["iPhone12,8", "iPad13,4", "iPhone 13", "Mac", "Pixel 9 Pro", "", None])
def test_what_is_no_known_identifier_names_none(text):
    assert from_identifier(text) is None


@pytest.mark.parametrize("name, chip, isa", [
    ("iPhone 13", "A15", "neon-i8mm"), ("iPhone 12 mini", "A14", "neon-dotprod"), ("iPhone 15 Pro", "A17 Pro",
                                                                                    "neon-i8mm"),
    ("iPhone 16 Pro", "A18 Pro", "sme2"), ("iPhone 16e", "A18", "sme2"), ("Pixel 9 Pro", "Tensor G4", "neon-i8mm"),
    ("Pixel 6", "Tensor G1", "neon-dotprod"), ("Pixel 7a", "Tensor G2", "neon-dotprod"),
    ("Galaxy S25 Ultra", "Snapdragon 8 Elite", "neon-i8mm"), ("Galaxy S23", "Snapdragon 8 Gen 2", "neon-i8mm"),
    ("Galaxy S24", "Snapdragon 8 Gen 3 or Exynos 2400", "neon-i8mm"),  # by region: both NEON with i8mm
    ("Mac Studio (M4 Max)", "M4 Max", "sme2"), ("MacBook Air (M2)", "M2", "neon-i8mm"),
    ("caiman-35", "Tensor G4", "neon-i8mm"),  # a leaderboard device_id: Pixel 9 Pro's codename
    ("iphone17pro", "A19 Pro", "sme2"), ("Apple iPhone 13", "A15", "neon-i8mm")])
def test_a_device_name_names_the_chip(name, chip, isa):
    found = from_name(name)
    assert (found.chip, found.isa, found.chip_from) == (chip, isa, "device name")


@pytest.mark.parametrize("name", ["Galaxy A15", "Nokia 3310", "My phone", "iPhone 11"])
def test_a_name_that_holds_no_known_chip_names_none(name):
    assert from_name(name) is None  # a Galaxy A15 (a MediaTek phone) is not an Apple A15


def test_the_flag_wins_then_an_identifier_then_the_name():
    assert chip_of("iPhone 13", ["iPhone17,1"], "M2").chip_from == "--chip"
    assert chip_of("iPhone 13", [None, "iPhone17,1"]).chip == "A18 Pro"  # the identifier the source gives
    assert chip_of("iPhone 13", ["litert-samples session"]).chip == "A15"  # the name
    assert chip_of("My phone", ["Pixel 8a"]).chip == "Tensor G3"  # a name the source gives
    assert chip_of("My phone", []) is None


@pytest.mark.parametrize("flag, chip", [("A15", "A15"), ("a15 bionic", "A15"), ("Apple A17", "A17 Pro"),
                                        ("m4 max", "M4 Max"), ("Tensor G4", "Tensor G4"),
                                        ("snapdragon 8+ gen 1", "Snapdragon 8+ Gen 1"), ("NEON-I8MM", "neon-i8mm")])
def test_the_chip_flag_takes_chips_and_isa_classes_in_any_case(flag, chip):
    assert from_flag(flag).chip == chip


def test_an_unknown_chip_is_none_and_the_message_lists_chips_and_classes():
    assert from_flag("A13") is None and from_flag("") is None and from_flag("iPhone 13") is None
    said = chips_taken()
    for name in ("A14", "A15", "A17 Pro", "M4", "Tensor G4", "Snapdragon 8 Elite", "Exynos 2400", "Dimensity 9400",
                 "neon-dotprod", "neon-i8mm", "sme2"):
        assert name in said


@pytest.mark.parametrize("chip, profile", [("A14", "arm64-a14"), ("M1 Max", "arm64-a14"), ("Tensor G2", "arm64-a14"),
                                           ("A15", "arm64-a15"), ("A16", "arm64-a15"), ("A17 Pro", "arm64-a15"),
                                           ("M2", "arm64-a15"), ("M3 Max", "arm64-a15"), ("Tensor G3", "arm64-a15"),
                                           ("Snapdragon 8 Gen 1", "arm64-a15"), ("Exynos 2200", "arm64-a15"),
                                           ("Dimensity 9000", "arm64-a15"), ("neon-dotprod", "arm64-a14")])
def test_neon_chips_have_their_profile(chip, profile):
    assert profile_for(from_flag(chip), NO_SME2).backend == profile


@pytest.mark.parametrize("chip", ["A18", "A18 Pro", "A19 Pro", "M4", "M4 Max", "M5", "sme2"])
def test_sme2_chips_are_refused_without_the_sme2_profile_and_use_it_with(chip):
    refused = profile_for(from_flag(chip), NO_SME2)
    assert refused.backend is None and "SME2" in refused.why and "arm64-a15" in refused.why
    assert "measure each variant on the device" in refused.fix and "arm64-a18" in refused.fix
    assert profile_for(from_flag(chip), lambda name: True).backend == "arm64-a18"


def test_the_registry_is_asked_by_name():
    from liteship.bench import backends

    held = "arm64-a18" in backends.registry()
    assert (profile_for(from_flag("M4")).backend == "arm64-a18") == held
    assert profile_for(from_flag("A15")).backend == "arm64-a15"


def test_a_kept_chip_reads_back():
    assert from_kept("Snapdragon 8 Gen 3 or Exynos 2400", "device name").isa == "neon-i8mm"
    assert from_kept("A15", None).chip_from == "the device's records"
    assert from_kept("Z9", "--chip") is None and from_kept(None, None) is None


def test_which_phones_a_profile_stands_for():
    a15 = phones_of("arm64-a15").split(", ")
    assert {"A15", "A16", "A17 Pro", "M2", "M3", "Tensor G4"} <= set(a15)
    assert not {"A14", "A18", "M4", "Tensor G1"} & set(a15)
