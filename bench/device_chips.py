"""Which chip a device has, and which ISA profile (a count backend) stands for it when its milliseconds are predicted.

A device's milliseconds are predicted from the instruction counts of an ISA profile only where the profile runs
the kernels the device runs: XNNPACK picks its kernels by the CPU's features, so a profile stands for the chips
with the same kernel-deciding features (:data:`ISA_CLASSES`):

- ``neon-dotprod`` (NEON, dot product, fp16; no int8 matrix multiply): ``arm64-a14`` (Apple A14, M1; Google
  Tensor G1 and G2, whose Cortex-X1/A78/A76 cores are Armv8.2 with dot product and without i8mm);
- ``neon-i8mm`` (adds int8 matrix multiply, no SVE or SME): ``arm64-a15`` (A15, A16, A17 Pro, M2, M3; Tensor G3
  and G4, Snapdragon 8 Gen 1-3 and 8 Elite, Exynos 2200 and 2400, Dimensity 9000-9400);
- ``sme2``: A18, A19, M4, M5, where XNNPACK runs KleidiAI's SME2 kernels, which ``arm64-a15`` (``sme=off``)
  never runs. They are predicted from ``arm64-a18`` when the registry holds that backend, and never from
  ``arm64-a14``/``arm64-a15``.

The chip comes, in order, from ``--chip`` (a chip, or an ISA class for a chip not listed), from an Apple model
identifier a source gives ("iPhone14,5", "Mac16,9"), or from the device's name ("iPhone 13", "Pixel 9 Pro",
"Galaxy S25 Ultra", a name holding a chip: "Mac Studio (M4 Max)"). :data:`CHIPS` is the one table of chip facts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable


@dataclass(frozen=True)
class IsaClass:
    """The CPU features that decide which XNNPACK kernels run, and the count backend that emulates them."""

    name: str
    profile: str  # the count backend (looked up in the registry by this name)
    words: str


ISA_CLASSES = {c.name: c for c in (
    IsaClass("neon-dotprod", "arm64-a14", "NEON with dot product and fp16 arithmetic, no int8 matrix multiply"),
    IsaClass("neon-i8mm", "arm64-a15", "NEON with dot product, fp16 and int8 matrix multiply (i8mm); no SVE or SME"),
    IsaClass("sme2", "arm64-a18", "SME2, where XNNPACK runs KleidiAI's SME2 kernels"),
)}
SME2 = "sme2"
SME2_MISS = ("fitted on arm64-a15 counts of eight architectures, an M4 Max's published medians were missed by 29 % "
             "(median) and 106 % (worst) leave-one-model-out, with the best form (tests/perf/device_validation), "
             "and its int8/float32 time ratio is 0.80 against the count's 0.39")


@dataclass(frozen=True)
class Chip:
    """A chip (its names as people write them: the first is its own), its ISA class, the devices that have it,
    the Apple model identifiers and Android codenames that name it, and its variants (chips of their own, with
    the same cores: M4 Max, Snapdragon 8+ Gen 1)."""

    names: tuple[str, ...]
    isa: str
    devices: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()  # "iPhone14," (every model of that generation) or "iPhone17,1" (that one)
    codenames: tuple[str, ...] = ()  # Android build codenames, as a device_id starts ("caiman-35")
    variants: tuple[str, ...] = ()


_APPLE = "Apple's Tech Specs pages (support.apple.com/specs) name each model's chip"
_IDS = ("Apple's model identifiers: the number before the comma is the chip's generation (iPhone14,x: A15; "
        "Mac16,x: M4), as Xcode's device list and 'About This Mac' give them")
_SYSCTL = ("macOS's sysctl hw.optional.arm.*: FEAT_I8MM and FEAT_BF16 0 on M1, 1 on M2; FEAT_SME and FEAT_SME2 "
           "0 on M3, 1 on M4")
_PIXEL = ("Google's Pixel tech specs (store.google.com, 'Tech specs') name the Tensor chip; the codenames are those "
          "of source.android.com/docs/setup/reference/build-numbers")
_ARM = "Arm's Cortex-X1/A78 TRMs: Armv8.2-A, dot product, no i8mm; Cortex-X2 and later: Armv9-A with i8mm, no SME"

# Each chip's facts, with where they come from (the sources above, and the vendor's product page named).
CHIPS: tuple[Chip, ...] = (
    # Apple A14 Bionic: no i8mm (the same cores as M1, _SYSCTL); _APPLE; _IDS
    Chip(("A14", "A14 Bionic"), "neon-dotprod", ("iPhone 12", "iPhone 12 mini", "iPhone 12 Pro", "iPhone 12 Pro Max",
                                                 "iPad Air (4th generation)", "iPad (10th generation)"), ("iPhone13,",)),
    # Apple M1 (and its Pro, Max, Ultra): _SYSCTL; Mac model identifiers from Apple's "Identify your Mac" pages
    Chip(("M1",), "neon-dotprod", (), ("MacBookAir10,", "MacBookPro17,", "MacBookPro18,", "Macmini9,", "iMac21,",
                                        "Mac13,"), variants=("M1 Pro", "M1 Max", "M1 Ultra")),
    # A15 Bionic, A16 Bionic, A17 Pro: i8mm, no SME (the M2/M3 generation of cores, _SYSCTL); _APPLE; _IDS
    Chip(("A15", "A15 Bionic"), "neon-i8mm", ("iPhone 13", "iPhone 13 mini", "iPhone 13 Pro", "iPhone 13 Pro Max",
                                              "iPhone SE (3rd generation)", "iPhone 14", "iPhone 14 Plus",
                                              "iPad mini (6th generation)"), ("iPhone14,",)),
    Chip(("A16", "A16 Bionic"), "neon-i8mm", ("iPhone 14 Pro", "iPhone 14 Pro Max", "iPhone 15", "iPhone 15 Plus"),
         ("iPhone15,",)),
    Chip(("A17 Pro", "A17"), "neon-i8mm", ("iPhone 15 Pro", "iPhone 15 Pro Max", "iPad mini (A17 Pro)"),
         ("iPhone16,",)),
    # Apple M2, M3: _SYSCTL; Apple's "Identify your Mac" pages
    Chip(("M2",), "neon-i8mm", (), ("Mac14,",), variants=("M2 Pro", "M2 Max", "M2 Ultra")),
    Chip(("M3",), "neon-i8mm", (), ("Mac15,",), variants=("M3 Pro", "M3 Max", "M3 Ultra")),
    # A18, A18 Pro, A19, A19 Pro: SME2, the M4 generation of cores (XNNPACK's KleidiAI SME2 kernels run there);
    # _APPLE; _IDS (iPhone17,1 and 17,2: iPhone 16 Pro and Pro Max)
    Chip(("A18",), SME2, ("iPhone 16", "iPhone 16 Plus", "iPhone 16e"), ("iPhone17,",)),
    Chip(("A18 Pro",), SME2, ("iPhone 16 Pro", "iPhone 16 Pro Max"), ("iPhone17,1", "iPhone17,2")),
    Chip(("A19",), SME2, ("iPhone 17",), ("iPhone18,",)),
    Chip(("A19 Pro",), SME2, ("iPhone 17 Pro", "iPhone 17 Pro Max", "iPhone Air")),
    # Apple M4, M5: SME2 (_SYSCTL for M4); Apple's "Identify your Mac" pages (Mac16,9: Mac Studio, M4 Max)
    Chip(("M4",), SME2, (), ("Mac16,",), variants=("M4 Pro", "M4 Max")),
    Chip(("M5",), SME2, (), ("Mac17,",), variants=("M5 Pro", "M5 Max")),
    # Google Tensor G1 (Cortex-X1, A76, A55) and G2 (X1, A78, A55): _ARM; _PIXEL
    Chip(("Tensor G1", "Google Tensor"), "neon-dotprod", ("Pixel 6", "Pixel 6 Pro", "Pixel 6a"),
         codenames=("oriole", "raven", "bluejay")),
    Chip(("Tensor G2",), "neon-dotprod", ("Pixel 7", "Pixel 7 Pro", "Pixel 7a", "Pixel Fold", "Pixel Tablet"),
         codenames=("panther", "cheetah", "lynx", "felix", "tangorpro")),
    # Tensor G3 (Cortex-X3, A715, A510) and G4 (X4, A720, A520): _ARM; _PIXEL
    Chip(("Tensor G3",), "neon-i8mm", ("Pixel 8", "Pixel 8 Pro", "Pixel 8a"), codenames=("shiba", "husky", "akita")),
    Chip(("Tensor G4",), "neon-i8mm", ("Pixel 9", "Pixel 9 Pro", "Pixel 9 Pro XL", "Pixel 9 Pro Fold", "Pixel 9a"),
         codenames=("tokay", "caiman", "komodo", "comet", "tegu")),
    # Qualcomm's Snapdragon 8 product pages (qualcomm.com): Gen 1 Cortex-X2/A710/A510, Gen 2 X3/A715/A710/A510, Gen 3
    # X4/A720/A520, 8 Elite Oryon (i8mm, no SVE or SME); _ARM. Samsung's Galaxy S specs (samsung.com) name the chip
    # of each region.
    Chip(("Snapdragon 8 Gen 1",), "neon-i8mm", ("Galaxy S22", "Galaxy S22+", "Galaxy S22 Ultra"),
         variants=("Snapdragon 8+ Gen 1",)),
    Chip(("Snapdragon 8 Gen 2", "Snapdragon 8 Gen 2 for Galaxy"), "neon-i8mm",
         ("Galaxy S23", "Galaxy S23+", "Galaxy S23 Ultra")),
    Chip(("Snapdragon 8 Gen 3", "Snapdragon 8 Gen 3 for Galaxy"), "neon-i8mm",
         ("Galaxy S24", "Galaxy S24+", "Galaxy S24 Ultra")),
    Chip(("Snapdragon 8 Elite", "Snapdragon 8 Elite for Galaxy"), "neon-i8mm",
         ("Galaxy S25", "Galaxy S25+", "Galaxy S25 Ultra", "Galaxy S25 Edge")),
    # Samsung Semiconductor's Exynos pages: 2200 Cortex-X2/A710/A510, 2400 X4/A720/A520; _ARM
    Chip(("Exynos 2200",), "neon-i8mm", ("Galaxy S22", "Galaxy S22+", "Galaxy S22 Ultra")),
    Chip(("Exynos 2400",), "neon-i8mm", ("Galaxy S24", "Galaxy S24+")),
    # MediaTek's Dimensity pages: 9000 Cortex-X2/A710/A510, 9200 X3/A715/A510, 9300 X4/A720, 9400 X925/X4/A720; _ARM
    Chip(("Dimensity 9000",), "neon-i8mm", variants=("Dimensity 9000+",)),
    Chip(("Dimensity 9200",), "neon-i8mm", variants=("Dimensity 9200+",)),
    Chip(("Dimensity 9300",), "neon-i8mm", variants=("Dimensity 9300+",)),
    Chip(("Dimensity 9400",), "neon-i8mm", variants=("Dimensity 9400+",)),
)
_FILLER = {"apple", "bionic", "google", "qualcomm", "samsung", "mediatek", "chip", "soc"}
_IDENTIFIER = re.compile(r"(?<![A-Za-z])(MacBookPro|MacBookAir|Macmini|iMac|iPhone|iPad|Mac)(\d+),(\d+)(?!\d)")


@dataclass(frozen=True)
class ChipFound:
    """A device's chip as resolved: its name, its ISA class, and what said it."""

    chip: str
    isa: str
    chip_from: str  # "--chip", "model identifier iPhone14,5", "device name"


@dataclass(frozen=True)
class Profile:
    """The count backend that stands for a chip, or why none does and what to do."""

    found: ChipFound
    backend: str | None
    why: str = ""
    fix: str = ""


def _tokens(text: str) -> list[str]:
    return [t for t in re.findall(r"[a-z0-9+]+", str(text).casefold()) if t not in _FILLER]


def _key(text: str) -> str:
    return "".join(_tokens(text))


def _written(chip: Chip) -> list[tuple[str, str]]:
    """Each way of writing ``chip`` -> the chip's name it stands for: "A15 Bionic" -> A15, "M4 Max" -> M4 Max."""
    return [(n, chip.names[0]) for n in chip.names] + [(v, v) for v in chip.variants]


def _chip_names() -> dict[str, tuple[str, Chip]]:
    """Each way of writing a chip, as a key -> (the chip's name it stands for, the chip)."""
    return {_key(n): (name, c) for c in CHIPS for n, name in _written(c)}


def from_flag(text: str | None) -> ChipFound | None:
    """``--chip``: a chip ("A15", "a15 bionic", "M4 Max", "Tensor G4") or an ISA class ("neon-i8mm"); None when it
    is neither."""
    if not isinstance(text, str) or not _key(text):
        return None
    classes = {_key(name): name for name in ISA_CLASSES}
    if _key(text) in classes:
        return ChipFound(classes[_key(text)], classes[_key(text)], "--chip")
    named = _chip_names().get(_key(text))
    return None if named is None else ChipFound(named[0], named[1].isa, "--chip")


def from_identifier(text: str | None) -> ChipFound | None:
    """The chip an Apple model identifier in ``text`` names ("iPhone14,5" -> A15), the most exact entry first."""
    match = _IDENTIFIER.search(text or "")
    if match is None:
        return None
    ident = f"{match[1]}{match[2]},{match[3]}"
    entries = [(len(p), c) for c in CHIPS for p in c.identifiers if ident == p or (p.endswith(",") and
                                                                                  ident.startswith(p))]
    if not entries:
        return None
    chip = max(entries, key=lambda e: e[0])[1]
    return ChipFound(chip.names[0], chip.isa, f"model identifier {ident}")


def _one(chips: list[Chip], how: str) -> ChipFound | None:
    """A device sold with one of ``chips`` (a Galaxy S24: Exynos 2400 or Snapdragon 8 Gen 3): one chip when all
    share an ISA class, else none."""
    if not chips or len({c.isa for c in chips}) != 1:
        return None
    return ChipFound(" or ".join(c.names[0] for c in chips), chips[0].isa, how)


def from_name(name: str | None) -> ChipFound | None:
    """The chip of a device named ``name``: a device in the table ("iPhone 13", "Pixel 9 Pro"), a codename an
    Android device_id starts with ("caiman-35"), or a chip written in the name ("Mac Studio (M4 Max)")."""
    if not name:
        return None
    key, tokens = _key(name), _tokens(name)
    found = _one([c for c in CHIPS if key in {_key(d) for d in c.devices}], "device name")
    if found is None and tokens:
        found = _one([c for c in CHIPS if tokens[0] in c.codenames], "device name")
    if found is None:  # Apple's chip names (A15, M4 Max) only in an Apple device's name: a Galaxy A15 has no A15
        apple = bool(tokens) and tokens[0].startswith(("iphone", "ipad", "mac", "imac"))
        spelled = [(len(_tokens(n)), name, c) for c in CHIPS for n, name in _written(c)
                   if _within(_tokens(n), tokens) and (apple or not _apple_chip(c))]
        if spelled:
            _, n, c = max(spelled, key=lambda s: s[0])
            found = ChipFound(n, c.isa, "device name")
    return found


def _apple_chip(chip: Chip) -> bool:
    return chip.names[0][0] in "AM" and chip.names[0][1].isdigit()


def _within(part: list[str], whole: list[str]) -> bool:
    return bool(part) and any(whole[i:i + len(part)] == part for i in range(len(whole) - len(part) + 1))


def chip_of(device: str | None, said: Iterable[str | None] = (), flag: str | None = None) -> ChipFound | None:
    """The chip of ``device``: ``flag`` (``--chip``), else a model identifier in what the sources ``said`` (their
    device, device_id, session), else the device's name, else a name the sources give; None when none says it."""
    if flag:
        return from_flag(flag)
    said = [s for s in said if s]
    for found in [from_identifier(s) for s in said] + [from_name(device)] + [from_name(s) for s in said]:
        if found is not None:
            return found
    return None


def chips_taken() -> str:
    """What ``--chip`` takes, as a message says it."""
    chips = ", ".join(c.names[0] for c in CHIPS)
    classes = "; ".join(f"{c.name} ({c.words})" for c in ISA_CLASSES.values())
    return f"a chip liteship knows: {chips}; or, for a chip not listed, its ISA class: {classes}"


def _registered(name: str) -> bool:
    from liteship.bench.backends import registry

    backend = registry().get(name)
    return backend is not None and backend.kind.counts


def profile_for(found: ChipFound, registered: Callable[[str], bool] | None = None) -> Profile:
    """The ISA profile (count backend) whose counts stand for ``found``'s chip, or why none does and what to do.
    ``registered``: whether the registry holds a count backend of that name (default: ask the registry)."""
    isa = ISA_CLASSES[found.isa]
    if (registered or _registered)(isa.profile):
        return Profile(found, isa.profile)
    if found.isa == SME2:
        return Profile(found, None, f"{found.chip} has SME2: XNNPACK runs KleidiAI's SME2 kernels there, which "
                       "arm64-a14 and arm64-a15 (sme=off) never run, so their counts do not predict it "
                       f"({SME2_MISS}); this liteship has no {isa.profile} profile",
                       "measure each variant on the device (liteship device kit RUN_DIR --out DIR), or install a "
                       f"liteship whose backends include {isa.profile}")
    return Profile(found, None, f"this liteship has no {isa.profile} count backend, which stands for {found.chip}",
                   "measure each variant on the device (liteship device kit RUN_DIR --out DIR)")


def phones_of(profile: str) -> str:
    """The chips a profile stands for, as the docs and messages list them: "A15, A16, A17 Pro, M2, M3, ..."."""
    classes = {c.name for c in ISA_CLASSES.values() if c.profile == profile}
    return ", ".join(c.names[0] for c in CHIPS if c.isa in classes)


def from_kept(chip: str | None, chip_from: str | None) -> ChipFound | None:
    """A chip as a device record keeps it ("A15", "Snapdragon 8 Gen 3 or Exynos 2400", "neon-i8mm"), read back
    with what said it; None for a chip this liteship does not know."""
    if not chip:
        return None
    parts = [from_flag(p) for p in str(chip).split(" or ")]
    if not all(parts) or len({p.isa for p in parts}) != 1:
        return None
    return ChipFound(str(chip), parts[0].isa, chip_from or "the device's records")


def _chips_named(chip: str) -> set[str] | None:
    """The chips (their own names) a kept or given chip names: "M4 Max" -> {M4} (a variant is its chip's cores),
    "Snapdragon 8 Gen 3 or Exynos 2400" -> both; None for an ISA class, which names no chip."""
    if _key(chip) in {_key(name) for name in ISA_CLASSES}:
        return None
    named = _chip_names()
    return {named[_key(p)][1].names[0] for p in str(chip).split(" or ") if _key(p) in named}


def agrees(a: ChipFound, b: ChipFound) -> bool:
    """Two statements of one device's chip agree: the same ISA class and, where both name chips, a chip in common
    (an ISA class agrees with every chip of its class; "Galaxy S24" names two chips, and either agrees)."""
    if a.isa != b.isa:
        return False
    ca, cb = _chips_named(a.chip), _chips_named(b.chip)
    return ca is None or cb is None or bool(ca & cb)


def contradiction(flag: str | None, device: str, said: Iterable[str | None] = (),
                  kept: Iterable[tuple[str | None, str | None]] = ()) -> tuple[str, str] | None:
    """(why, fix) when ``--chip flag`` contradicts what is known of ``device``'s chip; None when it agrees, or when
    nothing is known (then ``--chip`` is how the chip is said). Known: the chip a model identifier in what the
    sources ``said`` names, else the device's name (:func:`chip_of` without the flag); and the chips the device's
    records already keep (``kept``: (chip, chip_from) pairs), so one device's records never name two chips."""
    told = from_flag(flag) if flag else None
    if told is None:
        return None
    known = chip_of(device, said)
    if known is not None and not agrees(told, known):
        other = ": its milliseconds would be predicted from the counts of another chip's kernels" \
            if told.isa != known.isa else ""
        return (f"--chip {flag} says {told.chip} ({told.isa}), and the {known.chip_from} says {device} has "
                f"{known.chip} ({known.isa}){other}",
                f"drop --chip (the {known.chip_from} says the chip), or correct --device if the measurements were "
                "made on another device")
    for chip, how in kept:
        found = from_kept(chip, how)
        if found is not None and not agrees(told, found):
            return (f"--chip {flag} says {told.chip} ({told.isa}), and {device}'s records already hold {chip} "
                    f"({found.isa}, from {how or 'an earlier import'}): one device's records would name two chips",
                    "drop --chip, or import these measurements as another device (--device NAME)")
    return None
