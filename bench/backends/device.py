"""A phone's (or a Mac's) own measurements, brought into a run with ``liteship device import``: never measured here.

Nothing is declared statically: a device backend exists for each device and accelerator a run's results name,
``device:iphone-13`` (the CPU) or ``device:iphone-13-gpu``. The registry asks :func:`resolve` for a name it does
not hold, so budgets, the report and MODEL.md take such a name as they take any backend's; ``--backends`` never
lists one (bench cannot run a phone), and gate says a device's number is not re-measured instead of trying.
"""

from __future__ import annotations

import re

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


def backend_name(device: str, accelerator: str | None = None) -> str:
    """The backend of a device's measurements: ``device:iphone-13``, ``device:iphone-13-gpu`` off the CPU."""
    accel = slug(accelerator or "cpu")
    return PREFIX + slug(device) + ("" if accel in ("", "cpu") else f"-{accel}")


def resolve(name: str) -> Backend | None:
    """The device backend ``name`` names (``device:<slug>``), or None for any other name."""
    if not isinstance(name, str) or not name.startswith(PREFIX) or not _SLUG.fullmatch(name[len(PREFIX):]):
        return None
    what = name[len(PREFIX):]
    return Backend(name, Device.MEASURED, f"LiteRT on {what}, timed on the device and imported (liteship device "
                   "import); not measured here", rank=60, isa="aarch64", measures="device latency",
                   source=f"timed on the device ({what}) by LiteRT's benchmark tool, imported")
