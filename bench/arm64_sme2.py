"""The SME2 QEMU in liteship's cache, which counts the ``arm64-a18`` backend (Apple A18/A19, M4), made on demand.

Debian 12's QEMU 7.2 emulates no SME2, and Debian's newer ``qemu-user`` binaries are static and built without TCG
plugins, so ``liteship runtimes install arm64-a18`` builds one from Debian's QEMU source package
(:mod:`liteship.bench.arm64_sme2_build`) and keeps, in ``runtimes/arm64-a18``: that ``qemu-aarch64`` with the
libraries and loader it was linked against, liteship's counting plugin for QEMU 9 and later (``bench/qemu/count_v2.c``)
and a ``-L`` prefix per emulated CPU over the arm64 environment's root file system, whose aarch64 Python and LiteRT
it runs. Before it is taken, the new QEMU runs that Python with the plugin and must report what the emulation stands
for: SME2 in HWCAP2 and its streaming vector length. It is made in a temp folder and renamed into place, so a
half-made one is never taken for whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import time
from pathlib import Path

from liteship.bench.arm64_sme2_build import CONFIGURE, INSTALL, LOADER, NAME, PLUGIN_SOURCE, SUITE, _run, build, \
    log_path
from liteship.cache import runtimes_dir
from liteship.errors import LiteshipError
from liteship.files import atomic_write_json, staged

MARKER = "liteship-arm64-a18.json"
LAYOUT = frozenset({"qemu", "plugin", "cpus"})  # what _make puts at the top of the environment
FREE_BYTES = 4 * 10**9  # the build root and QEMU's build take about 2.3 GB, all deleted at the end
HWCAP2_SME2 = 1 << 37  # Linux's arch/arm64/include/uapi/asm/hwcap.h
NEEDS = ("arm64-a18's install builds an SME2 QEMU in a Debian root that debootstrap makes, and makes the arm64 "
         "environment (qemu-user, debootstrap, gcc) first when it is missing")


def env_dir() -> Path:
    return runtimes_dir() / NAME


# --------------------------------------------------------------------------- before any work


def missing_tools() -> list[str]:
    """The host's Debian packages the install needs: debootstrap (chroot is coreutils'), and the arm64
    environment's when that is to be made too."""
    from liteship.bench import arm64_env

    own = [] if shutil.which("debootstrap") or Path("/usr/sbin/debootstrap").exists() else ["debootstrap"]
    return sorted(set(own) | set(() if arm64_env.installed() else arm64_env.missing_tools()))


def refusal() -> LiteshipError | None:
    """Why this machine cannot make the environment now (not root, not x86-64, too little disk), else None."""
    if os.geteuid() != 0:
        return LiteshipError(f"Making the {NAME} environment needs root", "debootstrap makes a Debian root to build "
                             "QEMU in, and the build runs in it with chroot", f"run `{INSTALL}` as root (once; "
                             "counting then runs as any user who can read the cache)")
    if platform.machine() != "x86_64":
        return LiteshipError(f"The {NAME} environment is built for x86-64 hosts only",
                             f"this machine is {platform.machine()}", "count arm64-a18 on an x86-64 Linux machine")
    runtimes_dir().mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(runtimes_dir()).free
    if free < FREE_BYTES:
        return LiteshipError(f"Making the {NAME} environment needs {FREE_BYTES / 1e9:.0f} GB free in "
                             f"{runtimes_dir()}", f"{free / 1e9:.1f} GB are free; the QEMU build takes about 2.3 GB "
                             "for a few minutes (about 15 MB are kept)", "free some space there, or point "
                             "LITESHIP_CACHE at a disk with room, then run the command again")
    return None


# --------------------------------------------------------------------------- what the build emulates

PROBE = """
import ctypes, json, mmap, struct
libc = ctypes.CDLL(None)
libc.getauxval.restype = ctypes.c_ulong
libc.syscall.restype = ctypes.c_long
hwcap2 = libc.getauxval(26)  # AT_HWCAP2
svl = None
if hwcap2 & (1 << 23):  # SME: rdsvl x0, #1; ret -- the streaming vector length in bytes
    page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(struct.pack("<II", 0x04BF5820, 0xD65F03C0))
    svl = ctypes.CFUNCTYPE(ctypes.c_long)(ctypes.addressof(ctypes.c_char.from_buffer(page)))()
def mark(command):  # the counting plugin's markers (bench/arm64_child.py)
    libc.syscall(ctypes.c_long(173), ctypes.c_uint64(0x6C697465736869), ctypes.c_uint64(command), ctypes.c_uint64(0),
                 ctypes.c_uint64(0))
mark(1)
mark(2)
print(json.dumps({"hwcap2": hwcap2, "svl_bytes": svl}))
"""


def command(env: Path | None = None) -> list[str]:
    """How to run the environment's qemu-aarch64: through the loader it was linked against, with its libraries."""
    q = (env or env_dir()) / "qemu"
    return [str(q / "lib" / LOADER), "--library-path", str(q / "lib"), str(q / "bin" / "qemu-aarch64")]


def qemu_version(env: Path | None = None) -> str | None:
    """The first line of its ``--version``, asked of the binary (once per version of the file); None when absent."""
    from liteship.bench.arm64_env import command_version

    return command_version(command(env))


def emulations() -> list:
    """The emulations this environment's QEMU counts (their ``environment`` is its name)."""
    from liteship.bench.arm64_env import EMULATIONS

    return [e for e in EMULATIONS.values() if e.environment == NAME]


def _check(staging: Path, log) -> dict:
    """Run the new QEMU as each emulation, with the plugin: it must load, mark a region, and report SME2 and the
    emulation's streaming vector length; what it reported, by backend."""
    from liteship.bench.arm64_env import GUEST_PYTHON

    found = {}
    for e in emulations():
        prefix, out = staging / "cpus" / e.backend, staging / "probe-regions.txt"
        proc = _run([*command(staging), "-cpu", e.qemu_cpu, "-L", str(prefix), "-plugin",
                     f"{staging / 'plugin' / 'count.so'},out={out}", str(prefix / GUEST_PYTHON), "-c", PROBE],
                    f"a first run of the new QEMU as {e.backend}", timeout=300, env={"PATH": "/usr/bin:/bin"},
                    fix="the log's tail says why; run the command again, and if it fails the same way, say so in "
                        "an issue with the QEMU version")
        facts = json.loads(proc.stdout.strip().splitlines()[-1])
        regions = out.read_text().split() if out.exists() else []
        out.unlink(missing_ok=True)
        svl_bytes = e.svl // 8
        if not facts["hwcap2"] & HWCAP2_SME2 or facts["svl_bytes"] != svl_bytes or regions[:1] != ["region"]:
            raise LiteshipError(f"The QEMU built for {e.backend} does not emulate what it stands for",
                             f"as -cpu {e.qemu_cpu} it reports HWCAP2 0x{facts['hwcap2']:x} (SME2 "
                             f"{'on' if facts['hwcap2'] & HWCAP2_SME2 else 'off'}), a streaming vector length of "
                             f"{facts['svl_bytes']} bytes (wanted {svl_bytes}), and its plugin "
                             f"{'marked a region' if regions[:1] == ['region'] else 'marked no region'}",
                             "say so in an issue with the QEMU version in the log (" + str(log_path()) + ")")
        log(f"{NAME}: {e.backend} checked: SME2 on, streaming vector length {e.svl} bits, the plugin counts")
        found[e.backend] = {"hwcap2": f"0x{facts['hwcap2']:x}", "svl_bits": facts["svl_bytes"] * 8}
    return found


# --------------------------------------------------------------------------- the environment


def status() -> dict | None:
    """The installed environment's record (QEMU source, plugin sha256), or None when there is none whole. Its
    ``qemu`` is asked of the binary now (the one at install is ``qemu_at_install``)."""
    from liteship.cache import env_refusal

    env = env_dir()
    if env_refusal(env, MARKER, LAYOUT) is not None:  # none, or not liteship's: never run
        return None
    try:
        record = json.loads((env / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = [env / "qemu" / "bin" / "qemu-aarch64", env / "qemu" / "lib" / LOADER, env / "plugin" / "count.so"]
    files += [env / "cpus" / e.backend / "proc" / "cpuinfo" for e in emulations()]
    if not (isinstance(record, dict) and all(f.is_file() for f in files)):
        return None
    return {**record, "qemu_at_install": record.get("qemu"), "qemu": qemu_version(env)}


def current(record: dict | None) -> bool:
    """An installed environment whose plugin was built from this source: nothing to make again."""
    return record is not None and record.get("source_sha256") == hashlib.sha256(PLUGIN_SOURCE.read_bytes()).hexdigest()


def _require_tools(with_system_packages: bool, log) -> None:
    missing = missing_tools()
    if missing and with_system_packages and shutil.which("apt-get"):
        log(f"installing the Debian packages {' '.join(missing)} with apt-get (--with-system-packages)")
        _run(["apt-get", "update", "-qq"], "apt-get update")
        _run(["apt-get", "install", "-y", "-qq", *missing], "apt-get install", env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        missing = missing_tools()
    if missing:
        raise LiteshipError(f"The {NAME} install needs the Debian packages {' '.join(missing)}", NEEDS,
                            f"apt-get install {' '.join(missing)} (as root), or run `{INSTALL} "
                            "--with-system-packages` as root")


def install(with_system_packages: bool = False, log=print, force: bool = False) -> Path:
    """Make the environment, once (the arm64 environment first when it is missing: arm64-a18 runs its aarch64
    Python and LiteRT). One already made from this plugin source is kept; a half-made or outdated one is made
    again, saying so. Two installs at once take turns (a file lock)."""
    import fcntl

    from liteship.bench import arm64_env

    why = refusal()
    if why is not None:
        raise why
    _require_tools(with_system_packages, log)
    if not arm64_env.installed():
        log(f"{NAME} runs the arm64 environment's aarch64 Python and LiteRT, which is not installed: making it first")
        arm64_env.install(with_system_packages, log=log)
    env = env_dir()
    with open(env.parent / f".{NAME}.install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and current(status()):
            log(f"{NAME}: already installed in {env}")
            return env
        return _make(env, log)


def _make(env: Path, log) -> Path:
    from liteship.bench.arm64_env import env_dir as arm64_dir, make_prefix
    from liteship.cache import env_refusal, in_the_way, mark_env

    if env.exists() or env.is_symlink():
        why = env_refusal(env, MARKER, LAYOUT)
        if why is not None:  # a folder of that name liteship did not make: never replaced or deleted
            raise in_the_way(env, why)
        log(f"{NAME}: {env} is half-made, broken or for another plugin source; making it again")
    log_path().write_text(f"liteship: making {env}\n", encoding="utf-8")
    started = time.monotonic()
    with staged(env) as staging:
        mark_env(staging, NAME)
        source, libraries = build(staging / "build", staging, log)
        for e in emulations():
            make_prefix(staging / "cpus" / e.backend, arm64_dir() / "sysroot", e)
        probed = _check(staging, log)
        plugin = staging / "plugin" / "count.so"
        record = {"qemu": qemu_version(staging), "qemu_source": f"Debian qemu {source} ({SUITE} root)",
                  "configure": list(CONFIGURE), "libraries": libraries, "emulations": probed,
                  "plugin_sha256": hashlib.sha256(plugin.read_bytes()).hexdigest(),
                  "source_sha256": hashlib.sha256(PLUGIN_SOURCE.read_bytes()).hexdigest(),
                  "seconds": round(time.monotonic() - started)}
        atomic_write_json(staging / MARKER, record)
    size = sum(f.stat().st_size for f in env.rglob("*") if f.is_file() and not f.is_symlink())
    log(f"{NAME}: ready in {env} ({time.monotonic() - started:.0f} s; {size / 1e6:.0f} MB kept)")
    return env


def remove() -> tuple[list[Path], list[tuple[Path, str]]]:
    """Delete the environment if liteship made it; (removed, [(left, why)]) (:func:`liteship.cache.remove_envs`)."""
    from liteship.cache import remove_envs

    env = env_dir()
    return remove_envs([env] if env.exists() or env.is_symlink() else [], MARKER, LAYOUT)


def require_installed() -> dict:
    record = status()
    if record is None:
        raise LiteshipError(f"The {NAME} backend needs liteship's SME2 QEMU, which is not installed",
                            "Debian 12's QEMU emulates no SME2, so liteship builds one from Debian's QEMU source "
                            "once into its cache", f"run `{INSTALL}` (as root; about 5 minutes and 2.3 GB of "
                            "temporary disk; about 15 MB are kept)")
    return record
