"""The phone's instruction set on an x86 box: aarch64 instruction counts of XNNPACK's NEON kernels under QEMU.

An iPhone runs the variant's XNNPACK kernels on ARMv8 cores; an x86 count (valgrind) or an x86 latency says
little of that, and int8 against float32 often comes out the other way round. Here the aarch64 build of the
same LiteRT runs in QEMU user mode (Debian's dynamic ``qemu-aarch64``, which loads TCG plugins) with the CPU
model of a phone's ISA features, and a plugin of liteship's (``bench/qemu/count.c``, compiled at install)
counts the guest instructions of each invoke, exactly and the same in every fresh process. An instruction
count is not a phone's milliseconds: it weighs every instruction alike and knows nothing of caches, clocks
or the cores' widths; it does say which kernels run and how much work they do on the phone's ISA.

The environment (``liteship runtimes install arm64``) lives in liteship's cache: a Debian arm64 root file
system (debootstrap, then ``dpkg-deb -x``), the aarch64 wheels of LiteRT and numpy, the plugin, and one
prefix per emulated CPU whose ``/proc/cpuinfo`` and ``/sys`` CPU files carry a MIDR that matches the QEMU
CPU model (XNNPACK's cpuinfo picks kernels from both).
"""

from __future__ import annotations

import bisect
import functools
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from liteship.bench.arm64_env import EMULATIONS, GUEST_PYTHON, METHOD, counter, env_dir, require_backend
from liteship.bench.record import AARCH64, Instructions
from liteship.signals import preexec

CHILD = Path(__file__).with_name("arm64_child.py")


# --------------------------------------------------------------------------- counting


def _symbols(path: Path) -> tuple[list[int], list[tuple[int, str]]]:
    """Function symbols of an ELF file, sorted by address: (starts, (end, name)); read once per file version."""
    info = path.stat()
    return _symbols_of(str(path), info.st_size, info.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _symbols_of(path: str, size: int, mtime_ns: int) -> tuple[list[int], list[tuple[int, str]]]:
    """Parsing LiteRT's 25,000 symbols takes 2.4 s: done once a process, not once a count."""
    from elftools.elf.elffile import ELFFile

    entries = []
    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        for section_name in (".symtab", ".dynsym"):
            section = elf.get_section_by_name(section_name)
            if section is None:
                continue
            for sym in section.iter_symbols():
                if sym["st_info"]["type"] == "STT_FUNC" and sym["st_value"]:
                    entries.append((sym["st_value"], sym["st_value"] + max(sym["st_size"], 1), sym.name))
            if entries:
                break
    entries.sort()
    return [e[0] for e in entries], [(e[1], e[2]) for e in entries]


class _Attributor:
    """Guest addresses to (library, function), from the guest's maps and the libraries' symbol tables."""

    def __init__(self, maps: list, sysroot: Path):
        self.maps = sorted((lo, hi, off, path) for lo, hi, off, path in maps)
        self.starts = [m[0] for m in self.maps]
        self.bases = {}
        for lo, _, off, path in self.maps:
            if off == 0 and path not in self.bases:
                self.bases[path] = lo
        self.sysroot, self.tables = sysroot, {}

    def _host_path(self, path: str) -> Path:
        inside = self.sysroot / path.lstrip("/")
        return inside if inside.exists() else Path(path)

    def where(self, address: int) -> tuple[str, str | None]:
        i = bisect.bisect_right(self.starts, address) - 1
        if i < 0 or address >= self.maps[i][1]:
            return "(no file)", None
        path = self.maps[i][3]
        if path not in self.tables:
            try:
                self.tables[path] = _symbols(self._host_path(path))
            except Exception:  # a file the host cannot read as ELF: counted by library only
                self.tables[path] = ([], [])
        starts, rest = self.tables[path]
        offset = address - self.bases.get(path, self.maps[i][0])
        j = bisect.bisect_right(starts, offset) - 1
        name = rest[j][1] if j >= 0 and offset < rest[j][0] else None
        return Path(path).name, name


def _regions(text: str) -> list[tuple[int, dict[tuple[int, int], int]]]:
    regions, blocks, total = [], {}, None
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "region":
            total, blocks = int(parts[1]), {}
        elif parts[0] == "tb":
            blocks[(int(parts[1], 16), int(parts[2]))] = int(parts[3])
        elif parts[0] == "end":
            regions.append((total, blocks))
    return regions


GEMM_PARTS = re.compile(r"^kai_|xnn_.*pack_lh")  # KleidiAI's matmuls and their packing, XNNPACK's LHS packing


def _family(name: str) -> str:
    """The TFLite ops a kernel serves: XNNPACK's by name (bench.instructions.family); KleidiAI's (SME2) are the
    matmuls of CONV_2D and FULLY_CONNECTED."""
    from liteship.bench.instructions import family

    return "gemm (CONV_2D, FULLY_CONNECTED)" if GEMM_PARTS.search(name) else family(name)


KERNEL_COUNT = "per_invoke"  # a kernel row's instructions per invoke (Instructions.by_kernel), in the JSON it always had


def _kernels(blocks: dict, empty: dict, region: int, attributor: _Attributor) -> list[dict]:
    """Per function: instructions per invoke, its share, and the TFLite ops it serves (XNNPACK's by name)."""
    by_function: dict[tuple[str, str], int] = {}
    for key, count in blocks.items():
        steady = count - empty.get(key, 0)
        if steady <= 0:
            continue
        library, name = attributor.where(key[0])
        if library.startswith("python3"):
            continue  # the interpreter itself, left out of the count
        label = (library, name or "(unnamed)")
        by_function[label] = by_function.get(label, 0) + steady
    total = sum(by_function.values()) or 1
    rows = [{"kernel": name, "library": library, KERNEL_COUNT: round(count / region),
             "share": round(count / total, 4), "ops": _family(name)}
            for (library, name), count in sorted(by_function.items(), key=lambda kv: -kv[1])]
    return rows


def run_guest(script: Path, backend: str, workdir: Path, stdin: str = "", timeout: float = 900):
    """Run ``script`` with the aarch64 Python under QEMU as ``backend``'s CPU, counted; (stdout, regions)."""
    e = EMULATIONS[backend]
    env = env_dir()
    qemu, prefix, plugin = counter(backend)
    regions_file = Path(workdir) / f"regions-{os.getpid()}.txt"
    if not qemu:
        raise RuntimeError("qemu-aarch64 is not on PATH (apt-get install qemu-user)")
    cmd = [*qemu, "-cpu", e.qemu_cpu, "-L", str(prefix), "-plugin", f"{plugin},out={regions_file}",
           str(prefix / GUEST_PYTHON), str(script)]
    child_env = {"PYTHONPATH": str(env / "site"), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
                 "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    try:
        proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout, env=child_env,
                              preexec_fn=preexec())
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"the {backend} count took over {timeout:.0f} s") from exc
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"the aarch64 LiteRT could not run it under QEMU ({backend}): "
                           f"{proc.stderr.strip()[-400:] or f'exit code {proc.returncode}'}")
    return proc.stdout, _regions(regions_file.read_text())


def count_arm64(path: str | Path, backend: str, inputs: np.ndarray, score: bool = False,
                input_note: str = "a mid-grey image", timeout: float = 900) -> dict:
    """Count one .tflite on an ARM backend: ``{"instructions", "emulation", "outputs"}``.

    ``inputs``: tensors already fed per the input contract (N, S, S, 3); the first is the one counted, and with
    ``score`` every one is run (outside the counted regions) for the outputs.
    """
    from liteship.versions import system_info

    record = require_backend(backend)  # its "qemu" is asked of the binary that runs the count, now
    e = EMULATIONS[backend]
    with tempfile.TemporaryDirectory(prefix="liteship-arm64-") as tmp:
        np.save(Path(tmp) / "inputs.npy", np.ascontiguousarray(inputs))
        request = json.dumps({"model": str(Path(path).resolve()), "inputs": str(Path(tmp) / "inputs.npy"),
                              "score": score})
        stdout, regions = run_guest(CHILD, backend, Path(tmp), request, timeout)
        answer = json.loads(stdout.strip().splitlines()[-1])
    if len(regions) != 3:
        raise RuntimeError(f"the {backend} count ended with {len(regions)} regions instead of 3")
    (empty, empty_blocks), (first, _), (steady, blocks) = regions
    n = answer["region"]
    steady_count = round((steady - empty) / n)
    if steady_count <= 0:
        raise RuntimeError(f"the {backend} count found no instructions in the invokes")
    attributor = _Attributor(answer["maps"], env_dir() / "sysroot")
    versions = system_info()["versions"]
    kernels = _kernels(blocks, empty_blocks, n, attributor)
    by_op: dict[str, int] = {}
    for row in kernels:
        by_op[row["ops"]] = by_op.get(row["ops"], 0) + row[KERNEL_COUNT]
    instructions = Instructions(
        steady_count, AARCH64, first - empty, 1, dict(sorted(by_op.items(), key=lambda kv: -kv[1])),
        {"qemu": record["qemu"], **({"qemu_source": record["qemu_source"]} if "qemu_source" in record else {}),
         "plugin_sha256": record["plugin_sha256"],
         "ai-edge-litert (aarch64)": record["wheels"].get("ai-edge-litert"),
         "numpy (aarch64)": record["wheels"].get("numpy"), "liteship": versions.get("liteship")},
        METHOD, kernels[:40], input_note)
    return {"instructions": instructions.to_dict(), "emulation": {"backend": backend, **e.describe()},
            "outputs": np.asarray(answer["outputs"], np.float32) if score else None}


