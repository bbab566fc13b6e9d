"""The arm64 environment in liteship's cache: what QEMU runs the aarch64 LiteRT in, made on demand.

``liteship runtimes install arm64`` makes it once: a Debian arm64 root file system (debootstrap
``--foreign``, then ``dpkg-deb -x`` of the packages it fetched: no chroot, binfmt or second stage), the
aarch64 wheels of LiteRT (the host's version) and numpy unzipped into a site folder, liteship's counting
plugin compiled with the system's gcc, and one QEMU ``-L`` prefix per emulated CPU whose ``/proc/cpuinfo``
and ``/sys`` CPU files carry a MIDR matching the QEMU CPU model (LiteRT's cpuinfo reads the host's
otherwise, and crashes; a MIDR that promises more than the model emulates ends in SIGILL). It is built in a
temp folder and renamed into place, so a half-made one is never taken for whole; it is re-made, saying so.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from liteship.cache import runtimes_dir
from liteship.errors import LiteshipError
from liteship.files import atomic_write_json, staged

NAME = "arm64"
SUITE = "bookworm"
MARKER = "liteship-arm64.json"
PLUGIN_SOURCE = Path(__file__).with_name("qemu") / "count.c"
SYSTEM_PACKAGES = ("qemu-user", "debootstrap", "gcc")
GUEST_PYTHON = "usr/bin/python3.11"
METHOD = ("QEMU user mode with liteship's TCG plugin: instructions outside the Python interpreter between two "
          "markers; an empty region, the first invoke, one uncounted warm-up, then 3 invokes; per invoke = "
          "(3 invokes - empty region) / 3; one thread")
BASE_FEATURES = ("fp", "asimd", "evtstrm", "aes", "pmull", "sha1", "sha2", "crc32", "atomics", "fphp", "asimdhp",
                 "cpuid", "asimdrdm", "lrcpc", "dcpop", "asimddp")
# What QEMU 10.2's max CPU reports (it writes the guest's /proc/cpuinfo itself since QEMU 8.2).
SME2_FEATURES = tuple(
    "fp asimd aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop sha3 sm3 sm4 "
    "asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm sb paca pacg gcs dcpodp sve2 sveaes svepmull svebitperm "
    "svesha3 svesm4 flagm2 frint svei8mm svef32mm svef64mm svebf16 i8mm bf16 rng bti mte mte3 sme smei16i64 smef64f64 "
    "smei8i32 smef16f32 smeb16f32 smef32f32 smefa64 cssc sve2p1 sme2 sme2p1 smei16i32 smebi32i32 smeb16b16 smef16f16 "
    "mops hbc sveb16b16 lse128".split())


@dataclass(frozen=True)
class Emulation:
    """One ARM backend, whole: QEMU's CPU model, the MIDR its fake CPU files carry, the ISA features, and the
    words and place of its backend (``bench/backends/qemu_arm64.py`` makes one backend per emulation here, so
    another phone CPU is one more entry of :data:`EMULATIONS`)."""

    backend: str
    qemu_cpu: str
    midr: int  # implementer, variant, architecture, part, revision
    features: tuple[str, ...]
    phones: str  # the phones' ISA features it stands for, as records and MODEL.md say them
    cpu: str  # the emulated CPU as its backend's summary names it ("a Cortex-A76")
    rank: int  # its backend's place in listings (Backend.rank)
    in_default: bool = False  # its backend is in the default sweep when the environment is installed
    environment: str = NAME  # the runtimes environment whose QEMU counts it: arm64 (Debian's), or arm64-a18's own
    svl: int = 0  # SME's streaming vector length in bits (0: no SME)

    @property
    def implementer(self) -> int:
        return self.midr >> 24

    @property
    def part(self) -> int:
        return (self.midr >> 4) & 0xFFF

    def describe(self) -> dict:
        svl = {"streaming_vector_length_bits": self.svl} if self.svl else {}
        return {"qemu_cpu": self.qemu_cpu, "midr": f"0x{self.midr:08x}", "features": list(self.features),
                "phones": self.phones, **svl}


EMULATIONS = {e.backend: e for e in (
    Emulation("arm64-a14", "cortex-a76", 0x410FD0B0, BASE_FEATURES,
              "Apple A14's ISA features: NEON, dot product, fp16 arithmetic; no i8mm",
              cpu="a Cortex-A76", rank=31),
    Emulation("arm64-a15", "max,sve=off,sme=off", 0x610F0230, BASE_FEATURES + ("i8mm", "bf16"),
              "Apple A15-A17's ISA features: NEON, dot product, fp16 arithmetic and int8 matrix multiply (i8mm); "
              "no SVE or SME", cpu="its max CPU without SVE or SME", rank=30, in_default=True),
    Emulation("arm64-a18", "max,sme-default-vector-length=64", 0x610F0230, SME2_FEATURES,
              "Apple A18/A19 and M4's ISA features: NEON, dot product, i8mm, bf16 and SME2 (XNNPACK's KleidiAI "
              "kernels), at M4's 512-bit streaming vector length; QEMU's max CPU also has SVE2, which LiteRT does not "
              "run outside streaming mode", cpu="its max CPU with SME2 at a 512-bit streaming vector length",
              rank=32, environment="arm64-a18", svl=512),
)}


def env_dir() -> Path:
    return runtimes_dir() / NAME


def own_emulations() -> list[Emulation]:
    """The emulations Debian's QEMU counts in this environment (arm64-a18 has an environment of its own)."""
    return [e for e in EMULATIONS.values() if e.environment == NAME]


def _run(cmd: list[str], what: str, timeout: float = 1800, **kwargs) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LiteshipError(f"Making the arm64 environment failed at {what}: {exc}", "", "try again") from exc
    if proc.returncode != 0:
        raise LiteshipError(f"Making the arm64 environment failed at {what}",
                            (proc.stderr or proc.stdout).strip()[-600:] or f"exit code {proc.returncode}",
                            "check the network access to Debian's and PyPI's packages, then run "
                            "`liteship runtimes install arm64` again")
    return proc


# --------------------------------------------------------------------------- system tools


def missing_tools() -> list[str]:
    """The Debian packages whose tools are missing: a dynamic qemu-aarch64 (plugins), debootstrap, gcc."""
    missing = []
    qemu = shutil.which("qemu-aarch64")
    if qemu is None or "-plugin" not in subprocess.run([qemu, "-h"], capture_output=True, text=True,
                                                       timeout=60).stdout:
        missing.append("qemu-user")
    if shutil.which("debootstrap") is None and not Path("/usr/sbin/debootstrap").exists():
        missing.append("debootstrap")
    if shutil.which("gcc") is None:
        missing.append("gcc")
    return missing


def require_tools(with_system_packages: bool = False, log=print) -> None:
    missing = missing_tools()
    if not missing:
        return
    if with_system_packages and os.geteuid() == 0 and shutil.which("apt-get"):
        log(f"installing the Debian packages {' '.join(missing)} with apt-get (--with-system-packages)")
        _run(["apt-get", "update", "-qq"], "apt-get update")
        _run(["apt-get", "install", "-y", "-qq", *missing], "apt-get install",
             env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if not missing_tools():
            return
    raise LiteshipError(f"The arm64 backends need the Debian packages {', '.join(missing)}",
                        "liteship runs the aarch64 LiteRT under QEMU user mode (the dynamic qemu-aarch64 of "
                        "qemu-user, which loads plugins; qemu-user-static does not), makes its root file system "
                        "with debootstrap and builds its counting plugin with gcc",
                        f"apt-get install {' '.join(SYSTEM_PACKAGES)} (as root), or run `liteship runtimes "
                        "install arm64 --with-system-packages` as root")


def qemu_binary() -> str | None:
    """The qemu-aarch64 a count runs now: the first on PATH (None when there is none)."""
    return shutil.which("qemu-aarch64")


def qemu_version(exe: str | None = None) -> str | None:
    """The first line of ``exe --version`` (default: :func:`qemu_binary`), asked of the binary itself, not read from
    the install's record: an upgraded QEMU names itself. None when there is no qemu-aarch64."""
    exe = exe or qemu_binary()
    return None if exe is None else command_version([str(exe)])


def command_version(command: list[str]) -> str | None:
    """The first line of ``command --version``, asked once per process and version of the binary (the command's
    last word: its path, device, inode, size and mtime); None when that file is missing."""
    try:
        info = os.stat(command[-1])
    except OSError:
        return None
    return _version_of(tuple(command), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _version_of(command: tuple[str, ...], dev: int, inode: int, size: int, mtime_ns: int) -> str:
    try:
        out = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({command[-1]} --version failed: {type(exc).__name__})"
    return out.splitlines()[0].strip() if out.strip() else "unknown"


# --------------------------------------------------------------------------- the environment


def status() -> dict | None:
    """The installed environment's record (versions, plugin sha256), or None when there is none whole. Its ``qemu``
    is the version of the qemu-aarch64 that would run a count now (the one at install is ``qemu_at_install``): a
    count is reused, and named, by the QEMU that makes it."""
    from liteship.cache import env_refusal

    marker = env_dir() / MARKER
    if env_refusal(env_dir(), MARKER, ARM64_LAYOUT) is not None:  # not liteship's: never run
        return None
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    env = env_dir()
    whole = (env / "sysroot" / GUEST_PYTHON).exists() and (env / "plugin" / "count.so").is_file() and \
        all((env / "cpus" / e.backend / "proc" / "cpuinfo").is_file() for e in own_emulations())
    if not (whole and isinstance(record, dict)):
        return None
    return {**record, "qemu_at_install": record.get("qemu"), "qemu": qemu_version()}


def installed() -> bool:
    return status() is not None


def _sysroot(staging: Path, log) -> None:
    root = staging / "sysroot"
    log(f"arm64: debootstrap --foreign --arch=arm64 --variant=minbase --include=python3 {SUITE} (about 30 s)")
    _run(["debootstrap", "--foreign", "--arch=arm64", "--variant=minbase", "--include=python3", SUITE, str(root)],
         "debootstrap")
    debs = sorted((root / "var" / "cache" / "apt" / "archives").glob("*.deb"))
    log(f"arm64: unpacking {len(debs)} Debian packages")
    for deb in debs:
        _run(["dpkg-deb", "-x", str(deb), str(root)], f"dpkg-deb -x {deb.name}")
        deb.unlink()
    if not (root / GUEST_PYTHON).exists():
        raise LiteshipError("The arm64 root file system has no python3.11", "debootstrap fetched no python3",
                            "run `liteship runtimes install arm64` again")


def _site(staging: Path, litert: str, log) -> dict:
    wheels = staging / "wheels"
    log(f"arm64: fetching the aarch64 wheels of ai-edge-litert {litert} and numpy")
    _run([sys.executable, "-m", "pip", "download", "--quiet", "--platform", "manylinux_2_27_aarch64",
          "--python-version", "3.11", "--only-binary=:all:", "--dest", str(wheels), f"ai-edge-litert=={litert}",
          "numpy"], "pip download")
    site = staging / "site"
    found = {}
    for wheel in sorted(wheels.glob("*.whl")):
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(site)
        name, version = wheel.name.split("-")[:2]
        found[name.replace("_", "-").lower()] = version
    shutil.rmtree(wheels)
    return found


def build_plugin(out_dir: Path) -> Path:
    """Compile the counting plugin with the system's gcc; QEMU's header is not needed (see count.c)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    so = out_dir / "count.so"
    _run(["gcc", "-O2", "-shared", "-fPIC", "-fvisibility=hidden", "-o", str(so), str(PLUGIN_SOURCE),
          "-lpthread"], "gcc (the counting plugin)")
    return so


def cpuinfo_text(e: Emulation) -> str:
    """/proc/cpuinfo as Linux writes it on that core: the fields LiteRT's cpuinfo reads."""
    return (f"processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: {' '.join(e.features)}\n"
            f"CPU implementer\t: 0x{e.implementer:02x}\nCPU architecture: 8\nCPU variant\t: 0x{(e.midr >> 20) & 0xF:x}\n"
            f"CPU part\t: 0x{e.part:03x}\nCPU revision\t: {e.midr & 0xF}\n\n")


def make_prefix(prefix: Path, sysroot: Path, e: Emulation) -> None:
    """A QEMU -L prefix: the shared root file system by links, and this CPU's own /proc/cpuinfo and /sys files."""
    prefix.mkdir(parents=True)
    for entry in sysroot.iterdir():
        if entry.name not in ("proc", "sys"):
            (prefix / entry.name).symlink_to(os.path.relpath(entry, prefix))
    (prefix / "proc").mkdir()
    (prefix / "proc" / "cpuinfo").write_text(cpuinfo_text(e))
    cpu = prefix / "sys" / "devices" / "system" / "cpu"
    (cpu / "cpu0" / "regs" / "identification").mkdir(parents=True)
    for name in ("possible", "present", "online"):
        (cpu / name).write_text("0\n")
    (cpu / "kernel_max").write_text("0\n")
    (cpu / "cpu0" / "regs" / "identification" / "midr_el1").write_text(f"0x{e.midr:016x}\n")


def current(record: dict | None) -> bool:
    """An installed environment made for this LiteRT and this plugin source: nothing to make again."""
    from liteship.versions import litert_version

    return record is not None and record.get("wheels", {}).get("ai-edge-litert") == litert_version() and \
        record.get("source_sha256") == hashlib.sha256(PLUGIN_SOURCE.read_bytes()).hexdigest()


def install(with_system_packages: bool = False, log=print, force: bool = False) -> Path:
    """Make the environment, once: one already made for this LiteRT and plugin is kept; a half-made, broken or
    outdated one is made again, saying so. Two installs at once take turns (a file lock)."""
    import fcntl

    require_tools(with_system_packages, log)
    env = env_dir()
    env.parent.mkdir(parents=True, exist_ok=True)
    with open(env.parent / ".arm64.install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and current(status()):
            log(f"arm64: already installed in {env}")
            return env
        return _make(env, log)


def _make(env: Path, log) -> Path:
    from liteship.versions import litert_version

    if os.geteuid() != 0:
        raise LiteshipError("Making the arm64 environment needs root", "debootstrap makes device nodes and owners "
                            "in the root file system", "run `liteship runtimes install arm64` as root (once; "
                            "counting then runs as any user who can read the cache)")
    if env.exists() or env.is_symlink():
        from liteship.cache import env_refusal, in_the_way

        why = env_refusal(env, MARKER, ARM64_LAYOUT)
        if why is not None:  # a folder of that name liteship did not make: never replaced or deleted
            raise in_the_way(env, why)
        log(f"arm64: {env} is half-made, broken or for another LiteRT or plugin; making it again")
    with staged(env) as staging:  # publish_dir leaves it readable: counting may run as any user
        from liteship.cache import mark_env

        mark_env(staging, "arm64")
        _sysroot(staging, log)
        wheels = _site(staging, litert_version(), log)
        so = build_plugin(staging / "plugin")
        for e in own_emulations():
            make_prefix(staging / "cpus" / e.backend, staging / "sysroot", e)
        record = {"qemu": qemu_version(), "suite": SUITE, "wheels": wheels,
                  "plugin_sha256": hashlib.sha256(so.read_bytes()).hexdigest(),
                  "source_sha256": hashlib.sha256(PLUGIN_SOURCE.read_bytes()).hexdigest()}
        atomic_write_json(staging / MARKER, record)
    log(f"arm64: ready in {env}")
    return env


ARM64_LAYOUT = frozenset({"sysroot", "plugin", "cpus", "site"})  # what _make puts at the top of the environment


def remove() -> tuple[list[Path], list[tuple[Path, str]]]:
    """Delete the environment if liteship made it; (removed, [(left, why)]) (:func:`liteship.cache.remove_envs`)."""
    from liteship.cache import remove_envs

    env = env_dir()
    return remove_envs([env] if env.exists() or env.is_symlink() else [], MARKER, ARM64_LAYOUT)


def require_installed() -> dict:
    record = status()
    if record is None:
        missing = missing_tools()
        tools = f"apt-get install {' '.join(SYSTEM_PACKAGES)}, then " if missing else ""
        raise LiteshipError("The arm64 backends need liteship's arm64 environment, which is not installed",
                            "they run the aarch64 LiteRT under QEMU with a root file system and a counting plugin "
                            "made once into liteship's cache", f"{tools}run `liteship runtimes install arm64` "
                            "(as root; about a minute and 400 MB)")
    return record


# --------------------------------------------------------------------------- what counts a backend


def counter(backend: str) -> tuple[list[str], Path, Path]:
    """(the QEMU command, its -L prefix, the plugin) that count ``backend``: Debian's qemu-aarch64 on PATH and this
    environment's plugin, or the QEMU and plugin of the backend's own environment (arm64-a18's SME2 build)."""
    e = EMULATIONS[backend]
    if e.environment == NAME:
        qemu = qemu_binary()
        return ([qemu] if qemu else []), env_dir() / "cpus" / backend, env_dir() / "plugin" / "count.so"
    from liteship.bench import arm64_sme2

    own = arm64_sme2.env_dir()
    return arm64_sme2.command(own), own / "cpus" / backend, own / "plugin" / "count.so"


def backend_status(backend: str) -> dict | None:
    """The tools that count ``backend`` (``qemu``, ``plugin_sha256``, the aarch64 ``wheels``), or None when an
    environment it needs is not installed whole."""
    arm = status()
    if arm is None or EMULATIONS[backend].environment == NAME:
        return arm
    from liteship.bench import arm64_sme2

    own = arm64_sme2.status()
    return None if own is None else {**own, "wheels": arm["wheels"]}


def require_backend(backend: str) -> dict:
    """:func:`backend_status`, or a LiteshipError naming the install that is missing."""
    record = require_installed()
    if EMULATIONS[backend].environment == NAME:
        return record
    from liteship.bench import arm64_sme2

    return {**arm64_sme2.require_installed(), "wheels": record["wheels"]}
