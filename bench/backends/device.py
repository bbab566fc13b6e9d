"""A phone's (or a Mac's) own measurements, brought into a run with ``liteship device import``: never measured here.

Nothing is declared statically: a device backend exists for each device and accelerator a run's results name,
``device:iphone-13`` (the CPU) or ``device:iphone-13-gpu``. The registry asks :func:`resolve` for a name it does
not hold, so budgets, the report and MODEL.md take such a name as they take any backend's; ``--backends`` never
lists one (bench cannot run a phone), and gate says a device's number is not re-measured instead of trying.
"""

from __future__ import annotations

import re
import unicodedata

from liteship.bench.backends import EACH, Backend, KindBase

PREFIX = "device:"
_SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


class Device(KindBase):
    """name, times, counts, analyses, here (measured on this machine), threads of its records"""

    MEASURED = "device", True, False, False, False, EACH


KINDS = (Device.MEASURED,)
BACKENDS: tuple[Backend, ...] = ()  # made from their names: resolve()


def slug(text: str) -> str:
    """"iPhone 13" -> "iphone-13": lower case, letters and digits, one dash between words."""
    return "-".join(re.findall(r"[a-z0-9]+", text.casefold()))


def name_problem(device: str) -> str | None:
    """Why ``device`` cannot name a device backend, or None: a control character (a NUL, a newline, a bidi
    override) in it, or no letter or digit A-Z/0-9 to make the backend's name of ("📱" would be ``device:``)."""
    bad = next((ch for ch in device if unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp")),
               None)
    if bad is not None:
        return (f"it holds the control character U+{ord(bad):04X}, which no device's name has (a name pasted with "
                "a newline, or damaged)")
    if not slug(device):
        return ("it has no letter A-Z or digit 0-9, of which its backend's name is made (device: and the name in "
                "lower case with dashes): its records would be of a backend with no name")
    return None


def same_device(a: str, b: str) -> bool:
    """Whether two names are of one device: equal but for case and spaces ("iphone 13" is "iPhone 13"); names
    that differ otherwise ("Pixel 8 GPU", "Galaxy S25+") are other devices, even where their backends' names
    agree."""
    def key(name: str) -> str:
        return "".join(unicodedata.normalize("NFKC", name).casefold().split())
    return key(a) == key(b)


def backend_name(device: str, accelerator: str | None = None) -> str:
    """The backend of a device's measurements: ``device:iphone-13``, ``device:iphone-13-gpu`` off the CPU."""
    accel = slug(accelerator or "cpu")
    return PREFIX + slug(device) + ("" if accel in ("", "cpu") else f"-{accel}")


def named(name, prefix: str = PREFIX) -> str | None:
    """The device slug a backend name of this family (``prefix``: ``device:``, ``predicted:``) carries, or None
    for any other name: ``named("device:iphone-13") == "iphone-13"``."""
    if not isinstance(name, str) or not name.startswith(prefix) or not _SLUG.fullmatch(name[len(prefix):]):
        return None
    return name[len(prefix):]


def resolve(name: str) -> Backend | None:
    """The device backend ``name`` names (``device:<slug>``), or None for any other name."""
    what = named(name)
    if what is None:
        return None
    return Backend(name, Device.MEASURED, f"LiteRT on {what}, timed on the device and imported (liteship device "
                   "import); not measured here", rank=60, isa="aarch64", measures="device latency",
                   source=f"timed on the device ({what}) by LiteRT's benchmark tool, imported")
