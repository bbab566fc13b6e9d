"""What a number was made or measured with: package versions, CPU model and flags, cores.

The one place versions are collected: cards, variant records, bench records
and release manifests all call :func:`versions`, by distribution name.
"""

from __future__ import annotations

import functools
import os
import platform
from importlib import metadata

FLAGS_OF_INTEREST = ("avx", "avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx_vnni", "avx512_fp16", "amx_int8",
                     "amx_fp16", "neon", "asimd", "fphp", "asimdhp",
                     "asimddp")
# What decides the bytes of a trained model or a variant.
TRAIN_DISTS = ("tensorflow", "tf-keras", "tensorflow-model-optimization", "ai-edge-litert", "numpy", "liteship")
# What decides the bytes of a variant: the training stack, and LiteRT Quantizer, which makes the post-training ones.
VARIANT_DISTS = TRAIN_DISTS + ("litert-quantizer",)
# What decides a measurement.
BENCH_DISTS = ("ai-edge-litert", "numpy", "liteship")


def versions(dists: tuple[str, ...]) -> dict:
    """Python's version and each installed distribution's (None when it is not installed)."""
    out = {"python": platform.python_version()}
    for dist in dists:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def _cpu() -> tuple[str, list[str]]:
    cpu, flags = platform.processor() or platform.machine(), []
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "Model", "Hardware") and cpu in ("", platform.machine(), "x86_64"):
                    cpu = value.strip()
                if key in ("flags", "Features") and not flags:
                    have = set(value.split())
                    flags = [f for f in FLAGS_OF_INTEREST if f in have]
    except OSError:
        pass
    return cpu, flags


@functools.lru_cache(maxsize=1)
def system_info() -> dict:
    cpu, flags = _cpu()
    return {"cpu": cpu, "cpu_flags": flags, "cores": os.cpu_count(), "machine": platform.machine(),
            "os": f"{platform.system()} {platform.release()}", "versions": versions(BENCH_DISTS)}


def litert_version() -> str:
    return system_info()["versions"].get("ai-edge-litert") or "unknown"


def measured_where(system: dict, runtime: str | None) -> str:
    """Where a number was measured, in words that cannot be read as a phone."""
    flags = ", ".join(system.get("cpu_flags", []))
    if runtime and "aarch64" in runtime:
        return (f"Counted on this x86 machine ({system.get('cpu')}) by running the aarch64 LiteRT under QEMU user "
                f"mode ({runtime}): the phone's instruction set, emulated, not a phone; an instruction count is not "
                "a time.")
    return (f"Measured on this machine's CPU, {system.get('cpu')} ({system.get('machine')}, {system.get('cores')} "
            f"cores; {flags}), through {runtime or 'LiteRT'}: not on a phone. Phones run ARM CPUs, where the "
            "speed-up of int8 over float differs from this CPU's.")
