"""qemu-aarch64 with TCG plugins, built from Debian's QEMU source package in a Debian root debootstrap makes.

What ``liteship runtimes install arm64-a18`` runs (:mod:`liteship.bench.arm64_sme2` holds the environment): a
Debian 13 (trixie) amd64 root in the environment's temp folder, the build tools in it, the newest QEMU source with
SME2 that the archive serves (the tested one first), QEMU configured for linux-user with plugins and nothing else,
liteship's counting plugin for QEMU 9 and later compiled there against that QEMU's own ``qemu-plugin.h`` (read at
install only, never part of liteship), and then out of the root: the binary, the libraries and the loader it was
linked against (it runs on older hosts through that loader), and the plugin. Every step's command and output go to
the install log; a failed step says which, with the tail of its output and what to do.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from liteship.cache import runtimes_dir
from liteship.errors import LiteshipError

NAME = "arm64-a18"
INSTALL = "liteship runtimes install arm64-a18"
SUITE = "trixie"
MIRROR = "http://deb.debian.org/debian"
TESTED_SOURCE = "1:10.2.2+ds-1"  # the QEMU source the arm64-a18 counts were validated with: taken when still served
MIN_QEMU = (10, 1)  # the first QEMU that emulates FEAT_SME2
SOURCES = (f"deb-src {MIRROR} {SUITE}-backports main\n"  # an expired Release (sid's often is) is still read
           f"deb-src [check-valid-until=no] {MIRROR} sid main\n")
BUILD_PACKAGES = ("make", "ninja-build", "meson", "python3", "python3-venv", "pkgconf", "libglib2.0-dev", "flex",
                  "bison", "xz-utils", "dpkg-dev")
CONFIGURE = ("--target-list=aarch64-linux-user", "--enable-plugins", "--disable-system",
             "--disable-tools", "--disable-docs", "--disable-guest-agent", "--disable-werror", "--disable-debug-info",
             "--without-default-features", "--disable-install-blobs")  # +ds sources have no firmware blobs
BINARY = "/src/qemu/build/qemu-aarch64"  # in the build root
CHROOT_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root",
              "DEBIAN_FRONTEND": "noninteractive"}
PLUGIN_SOURCE = Path(__file__).with_name("qemu") / "count_v2.c"
LOADER = "ld-linux-x86-64.so.2"


def log_path() -> Path:
    """Where an install writes every step's full output; kept after a failure, for the reason."""
    return runtimes_dir() / f"{NAME}-install.log"


def _run(cmd: list[str], what: str, timeout: float = 1800, fix: str = "", **kwargs) -> subprocess.CompletedProcess:
    """Run one step, its command and output appended to the install log; a failure says which step and why."""
    fix = fix or (f"check the network access to Debian's archive ({MIRROR}), then run `{INSTALL}` again")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _append_log(cmd, str(exc))
        raise LiteshipError(f"Making the {NAME} environment failed at {what}: {exc}",
                            f"the full log is {log_path()}", fix) from exc
    _append_log(cmd, proc.stdout + proc.stderr)
    if proc.returncode != 0:
        tail = (proc.stderr.strip() or proc.stdout.strip())[-600:] or f"exit code {proc.returncode}"
        raise LiteshipError(f"Making the {NAME} environment failed at {what}",
                            f"{tail} (the full log is {log_path()})", fix)
    return proc


def _append_log(cmd: list[str], text: str) -> None:
    with contextlib.suppress(OSError), open(log_path(), "a", encoding="utf-8") as fh:  # a missing log stops nothing
        fh.write(f"[{time.strftime('%H:%M:%S')}] $ {' '.join(cmd)}\n{text}\n")


def _chroot(root: Path, script: str, what: str, timeout: float = 1800, fix: str = "") -> subprocess.CompletedProcess:
    return _run(["chroot", str(root), "sh", "-c", script], what, timeout, fix, env=CHROOT_ENV)


def build(root: Path, staging: Path, log) -> tuple[str, list[str]]:
    """Build QEMU and the plugin in a new Debian root at ``root``, copy what runs into ``staging`` (qemu/bin,
    qemu/lib, plugin), then delete the root; (the QEMU source's Debian version, the libraries copied)."""
    try:
        _build_root(root, log)
        source = _source(root, log)
        _compile(root, log)
        libraries = _copy_out(root, staging)
    finally:
        _unmount_under(root)
    log(f"{NAME}: deleting the build root")
    shutil.rmtree(root)
    return source, libraries


def _build_root(build: Path, log) -> None:
    log(f"{NAME}: debootstrap --variant=minbase {SUITE} (amd64) to build QEMU in (about 90 s)")
    _run(["debootstrap", "--variant=minbase", "--include=gcc,libc6-dev", SUITE, str(build), MIRROR], "debootstrap")
    (build / "etc" / "apt" / "sources.list.d" / "liteship-src.list").write_text(SOURCES)
    log(f"{NAME}: the build tools ({', '.join(BUILD_PACKAGES)}; about 30 s)")
    _chroot(build, "apt-get update -qq", "apt-get update (in the build root)")
    _chroot(build, "apt-get install -y -qq --no-install-recommends " + " ".join(BUILD_PACKAGES),
            "apt-get install of the build tools (in the build root)")


def upstream(version: str) -> tuple[int, ...]:
    """QEMU's own version in a Debian version: 1:10.2.2+ds-1 -> (10, 2, 2)."""
    core = re.split(r"[+~-]", version.split(":", 1)[-1])[0]
    return tuple(int(x) for x in re.findall(r"\d+", core))


def candidates(offered: list[str]) -> list[str]:
    """The source versions to try, in order: the tested one if offered, then the others with SME2, newest first."""
    with_sme2 = sorted({v for v in offered if upstream(v) >= MIN_QEMU}, key=lambda v: (upstream(v), v), reverse=True)
    return sorted(with_sme2, key=lambda v: v != TESTED_SOURCE)


def _source(build: Path, log) -> str:
    """Fetch and unpack the QEMU source package into /src/qemu of the build root; its Debian version."""
    shown = _chroot(build, "apt-cache showsrc qemu", "apt-cache showsrc qemu").stdout
    offered = re.findall(r"^Version: (\S+)$", shown, re.M)
    tried = []
    for version in candidates(offered):
        log(f"{NAME}: fetching Debian's QEMU source {version}")
        try:
            _chroot(build, f"mkdir -p /src && cd /src && apt-get source -qq --download-only qemu={version}",
                    f"apt-get source qemu={version}")
        except LiteshipError as exc:
            tried.append(f"{version} ({exc.why[:200]})")
            continue
        bare = version.split(":", 1)[-1]
        _chroot(build, f"cd /src && dpkg-source -x qemu_{bare}.dsc qemu", "dpkg-source -x (QEMU's source)")
        if version != TESTED_SOURCE:
            log(f"{NAME}: QEMU {TESTED_SOURCE}, which arm64-a18 was validated with, is no longer served; built "
                f"{version} instead (its records name it, and compare keeps counts of two QEMUs apart)")
        return version
    raise LiteshipError(f"Making the {NAME} environment failed: no QEMU source with SME2 could be fetched",
                        f"Debian's archive offers qemu {', '.join(offered) or 'in no version'}; SME2 needs "
                        f"{'.'.join(map(str, MIN_QEMU))} or later" + (f"; tried {'; '.join(tried)}" if tried else ""),
                        f"check the network access to {MIRROR}, then run `{INSTALL}` again")


def _compile(build: Path, log) -> None:
    jobs = os.cpu_count() or 1
    log(f"{NAME}: building qemu-aarch64 (linux-user, TCG plugins) on {jobs} cores (about {180 // min(jobs, 4)} s)")
    _chroot(build, f"cd /src/qemu && rm -rf build && mkdir build && cd build && ../configure {' '.join(CONFIGURE)} "
            f"&& ninja -j{jobs} qemu-aarch64", "QEMU's build", timeout=7200,  # the binary only: no tests, no contrib
            fix=f"the log's tail says why; run `{INSTALL}` again (a build from another QEMU source may need "
                "another build tool: say which in an issue)")
    shutil.copy(PLUGIN_SOURCE, build / "src" / "count_v2.c")
    _chroot(build, "gcc -O2 -shared -fPIC -fvisibility=hidden -I/src/qemu/include/qemu $(pkg-config --cflags "
            "glib-2.0) -o /src/count.so /src/count_v2.c", "gcc (the counting plugin, against this QEMU's qemu-plugin.h)",
            fix="the counting plugin does not build against this QEMU's plugin API; say so in an issue with the "
                "QEMU version")


def _copy_out(build: Path, staging: Path) -> list[str]:
    """qemu-aarch64, the libraries it links against and their loader, and the plugin; the libraries' names."""
    (staging / "qemu" / "bin").mkdir(parents=True)
    (staging / "qemu" / "lib").mkdir()
    (staging / "plugin").mkdir()
    shutil.copy(build / BINARY.lstrip("/"), staging / "qemu" / "bin" / "qemu-aarch64")
    shutil.copy(build / "src" / "count.so", staging / "plugin" / "count.so")
    ldd = _chroot(build, f"ldd {BINARY}", "ldd qemu-aarch64").stdout
    libs = [m.group(1) for m in re.finditer(r"=>\s*(/\S+)", ldd)] + re.findall(r"^\s*(/\S*ld-linux\S*)", ldd, re.M)
    for lib in libs:
        shutil.copyfile(build / lib.lstrip("/"), staging / "qemu" / "lib" / Path(lib).name)  # follows the links
    (staging / "qemu" / "lib" / LOADER).chmod(0o755)
    return sorted(Path(lib).name for lib in libs)


def _unmount_under(root: Path) -> None:
    """Unmount whatever a step left mounted inside the build root (debootstrap binds /dev in containers), deepest
    first, so deleting the root never reaches into the host's file systems."""
    try:
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return
    inside = str(root.resolve()) + os.sep
    for point in sorted((m for m in mounts if m.startswith(inside)), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, timeout=60)
