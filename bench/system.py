"""What a number was measured on: CPU model and flags, cores, versions."""

from __future__ import annotations

import functools
import os
import platform
from importlib import metadata

FLAGS_OF_INTEREST = ("avx", "avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "neon", "asimd",
                     "asimddp")


@functools.lru_cache(maxsize=1)
def system_info() -> dict:
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
    versions = {"python": platform.python_version()}
    for dist in ("ai-edge-litert", "numpy", "liteship"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {"cpu": cpu, "cpu_flags": flags, "cores": os.cpu_count(), "machine": platform.machine(),
            "os": f"{platform.system()} {platform.release()}", "versions": versions}


def litert_version() -> str:
    return system_info()["versions"].get("ai-edge-litert") or "unknown"
