"""The phone's instruction set: aarch64 LiteRT under QEMU, instructions per invoke counted by a TCG plugin.

One backend per :data:`liteship.bench.arm64_env.EMULATIONS` entry, which says what it emulates, its words and
its rank: another phone CPU is an entry there, not an edit here."""

from __future__ import annotations

from functools import partial

from liteship.bench.arm64_env import EMULATIONS, NAME, Emulation
from liteship.bench.backends import Backend, Kind


def _count(name: str, path, inputs, score: bool, input_note: str) -> dict:
    """count_arm64's answer, with the runtime and the note a record names."""
    from liteship.bench.arm64 import count_arm64

    counted = count_arm64(path, name, inputs, score=score, input_note=input_note)
    cpu, litert = counted["emulation"]["qemu_cpu"], counted["instructions"]["tool"]["ai-edge-litert (aarch64)"]
    svl = counted["emulation"].get("streaming_vector_length_bits")
    sme = f", SME2 at a {svl}-bit streaming vector length" if svl else ""
    return {**counted, "runtime": f"ai-edge-litert {litert} Interpreter (aarch64, QEMU -cpu {cpu})",
            "note": f"{name}: aarch64 instructions per invoke under QEMU ({cpu}{sme}), an instruction count on the "
                    "phone's ISA, not a phone's time"}


def _installed(name: str) -> bool:
    from liteship.bench.arm64_env import backend_status

    return backend_status(name) is not None


INSTALL = "`liteship runtimes install arm64 --with-system-packages` (as root; about a minute)"
OWN_INSTALL = ("`liteship runtimes install {} --with-system-packages` (as root; about 5 minutes: it builds a QEMU "
               "from Debian's source, and the arm64 environment if it is missing)")
SOURCE = "the aarch64 LiteRT's XNNPACK kernels counted under QEMU with the phone's ISA features"


def _tools(name: str) -> dict:
    from liteship.bench.arm64_env import backend_status

    arm = backend_status(name) or {}
    return {"qemu": arm.get("qemu"), "plugin_sha256": arm.get("plugin_sha256"), "wheels": arm.get("wheels")}


def _backend(e: Emulation) -> Backend:
    return Backend(e.backend, Kind.COUNT, f"aarch64 LiteRT (XNNPACK) under QEMU emulating {e.cpu}: instructions "
                   f"per invoke, not timed ({e.phones})", rank=e.rank, isa="aarch64", in_default=e.in_default,
                   count=partial(_count, e.backend), available=partial(_installed, e.backend),
                   unavailable=INSTALL if e.environment == NAME else OWN_INSTALL.format(e.environment), tools=partial(_tools, e.backend),
                   measures="ARM instructions", source=SOURCE)


BACKENDS = tuple(_backend(e) for e in EMULATIONS.values())
