"""A device's milliseconds predicted from instruction counts, for the variants nobody measured on it: never measured.

``liteship device import`` (and ``liteship device predict``) fits, per device backend with measurements of at least
three variants, a count-to-milliseconds calibration on the counts of the ISA profile that matches the device's chip
(:mod:`liteship.bench.device_predict`), and writes a record of ``predicted:<device>`` for every other counted
variant: its p50 is the prediction, ``ci_low``/``ci_high`` the prediction interval from the fit's leave-one-out
errors, and ``BenchRecord.device`` says the fit, its error and the measurements it rests on. Like a device backend,
nothing here can measure it again; a budget on it is judged on the interval's upper end.
"""

from __future__ import annotations

from liteship.bench.backends import EACH, Backend, KindBase
from liteship.bench.backends.device import named

PREFIX = "predicted:"


class Predicted(KindBase):
    """name, times, counts, analyses, here (measured on this machine), threads of its records"""

    FROM_COUNTS = "predicted", True, False, False, False, EACH


KINDS = (Predicted.FROM_COUNTS,)
BACKENDS: tuple[Backend, ...] = ()  # made from their names: resolve()


def backend_name(device_backend: str) -> str:
    """``device:iphone-13`` -> ``predicted:iphone-13`` (``device:iphone-13-gpu`` -> ``predicted:iphone-13-gpu``)."""
    return PREFIX + device_backend.split(":", 1)[1]


def measured_backend(name: str) -> str:
    """``predicted:iphone-13`` -> ``device:iphone-13``: the measurements a prediction rests on."""
    return "device:" + name[len(PREFIX):]


def resolve(name: str) -> Backend | None:
    """The predicted backend ``name`` names (``predicted:<slug>``), or None for any other name."""
    what = named(name, PREFIX)
    if what is None:
        return None
    return Backend(name, Predicted.FROM_COUNTS, f"milliseconds on {what} predicted from aarch64 instruction counts "
                   "by a calibration fitted on its own imported measurements; not measured", rank=61,
                   isa="aarch64", measures="predicted device latency",
                   source=f"predicted for {what} from the variant's aarch64 count (QEMU), calibrated on the "
                   "device's imported measurements")
