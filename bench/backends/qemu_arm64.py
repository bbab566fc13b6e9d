"""The phone's instruction set: aarch64 LiteRT under QEMU, instructions per invoke counted by a TCG plugin."""

from __future__ import annotations

from functools import partial

from liteship.bench.backends import Backend, Kind


def _count(name: str, path, inputs, score: bool, input_note: str) -> dict:
    """count_arm64's answer, with the runtime and the note a record names."""
    from liteship.bench.arm64 import count_arm64

    counted = count_arm64(path, name, inputs, score=score, input_note=input_note)
    cpu, litert = counted["emulation"]["qemu_cpu"], counted["instructions"]["tool"]["ai-edge-litert (aarch64)"]
    return {**counted, "runtime": f"ai-edge-litert {litert} Interpreter (aarch64, QEMU -cpu {cpu})",
            "note": f"{name}: aarch64 instructions per invoke under QEMU ({cpu}), an instruction count on the "
                    "phone's ISA, not a phone's time"}


def _installed() -> bool:
    from liteship.bench.arm64_env import installed

    return installed()


INSTALL = "`liteship runtimes install arm64 --with-system-packages` (as root; about a minute)"
SOURCE = "the aarch64 LiteRT's XNNPACK kernels counted under QEMU with the phone's ISA features"


def _tools() -> dict:
    from liteship.bench.arm64_env import status

    arm = status() or {}
    return {"qemu": arm.get("qemu"), "plugin_sha256": arm.get("plugin_sha256"), "wheels": arm.get("wheels")}

BACKENDS = (
    Backend("arm64-a14", Kind.COUNT, "aarch64 LiteRT (XNNPACK) under QEMU as a Cortex-A76: instructions per invoke on "
                                  "Apple A14's ISA features (NEON, dot product, fp16); not timed", rank=31,
            isa="aarch64", count=partial(_count, "arm64-a14"), available=_installed, unavailable=INSTALL,
            tools=_tools, measures="ARM instructions", source=SOURCE),
    Backend("arm64-a15", Kind.COUNT, "aarch64 LiteRT (XNNPACK) under QEMU, max CPU without SVE/SME: instructions per "
                                  "invoke on A15-A17's ISA features (adds i8mm); not timed", rank=30,
            isa="aarch64", in_default=True, count=partial(_count, "arm64-a15"), available=_installed,
            unavailable=INSTALL, tools=_tools, measures="ARM instructions", source=SOURCE),
)
