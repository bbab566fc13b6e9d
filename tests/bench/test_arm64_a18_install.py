"""`liteship runtimes install arm64-a18`'s refusals and failures, with a fake Debian: no network, root or build.

The fake plays debootstrap, the chroot's apt and QEMU's build, and the new QEMU's first run, by the commands the
install runs; each test makes one of them fail (or say something else) and checks what the user is told and that
nothing half-made is left where a count would take it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from liteship.bench import arm64_env, arm64_sme2, arm64_sme2_build
from liteship.errors import LiteshipError

SME2_AND_SME = (1 << 37) | (1 << 23)


class FakeDebian:
    """subprocess.run for the install's commands: succeeds, except ``fail`` (a word of the failing command), with
    ``versions`` offered by apt-cache showsrc and ``probe`` as the new QEMU's answer."""

    def __init__(self, fail: str | None = None, versions=("1:10.2.2+ds-1",), probe=None):
        self.fail, self.versions, self.ran = fail, versions, []
        self.probe = probe or {"hwcap2": SME2_AND_SME, "svl_bytes": 64}

    def __call__(self, cmd, **kwargs):
        text = " ".join(map(str, cmd))
        self.ran.append(text)
        if self.fail and self.fail in text:
            return subprocess.CompletedProcess(cmd, 1, "", f"E: the fake {self.fail} failed\nninja: build stopped")
        out = ""
        if cmd[0] == "debootstrap":
            (_root(cmd) / "etc" / "apt" / "sources.list.d").mkdir(parents=True)
        elif "showsrc" in text:
            out = "".join(f"Package: qemu\nVersion: {v}\n\n" for v in self.versions)
        elif "ninja" in text:
            for part in ("src/qemu/build/qemu-aarch64", "lib64/ld-linux-x86-64.so.2", "lib/x86_64-linux-gnu/libc.so.6"):
                (_root(cmd) / part).parent.mkdir(parents=True, exist_ok=True)
                (_root(cmd) / part).write_text("fake")
        elif "count_v2.c" in text:
            (_root(cmd) / "src" / "count.so").write_text("fake plugin")
        elif "ldd" in text:
            out = ("\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f00)\n"
                   "\t/lib64/ld-linux-x86-64.so.2 (0x00007f01)\n")
        elif "--version" in text:
            out = "qemu-aarch64 version 10.2.2\n"
        elif "-plugin" in text:
            plugin_arg = cmd[cmd.index("-plugin") + 1]
            regions = plugin_arg.split("out=", 1)[1]
            with open(regions, "w") as fh:
                fh.write("region 12\nend\n")
            out = json.dumps(self.probe) + "\n"
        return subprocess.CompletedProcess(cmd, 0, out, "")


def _root(cmd) -> Path:
    """The build root a command works in: debootstrap's target, or chroot's root."""
    return Path(cmd[4] if cmd[0] == "debootstrap" else cmd[1])


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A cache with a whole-looking arm64 environment (its sysroot holds the guest Python), as root on x86-64."""
    monkeypatch.setenv("LITESHIP_CACHE", str(tmp_path / "cache"))
    sysroot = arm64_env.env_dir() / "sysroot"
    (sysroot / "usr" / "bin").mkdir(parents=True)
    (sysroot / arm64_env.GUEST_PYTHON).write_text("")
    monkeypatch.setattr(arm64_env, "installed", lambda: True)
    monkeypatch.setattr(arm64_sme2.os, "geteuid", lambda: 0)
    monkeypatch.setattr(arm64_sme2.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(arm64_sme2, "missing_tools", lambda: [])
    monkeypatch.setattr(arm64_sme2_build, "_unmount_under", lambda root: None)
    return tmp_path / "cache" / "runtimes"


def _install(monkeypatch, fake: FakeDebian) -> list[str]:
    monkeypatch.setattr(subprocess, "run", fake)
    said = []
    arm64_sme2.install(log=said.append)
    return said


def _left(runtimes) -> set[str]:
    return {p.name for p in runtimes.iterdir()}


def test_a_whole_install_is_taken_and_says_what_it_emulates(machine, monkeypatch):
    said = _install(monkeypatch, FakeDebian())
    record = arm64_sme2.status()
    assert record is not None and record["qemu"] == "qemu-aarch64 version 10.2.2"
    assert record["qemu_source"].startswith("Debian qemu 1:10.2.2+ds-1")
    assert record["emulations"] == {"arm64-a18": {"hwcap2": f"0x{SME2_AND_SME:x}", "svl_bits": 512}}
    assert record["libraries"] == ["ld-linux-x86-64.so.2", "libc.so.6"]
    assert not (arm64_sme2.env_dir() / "build").exists()  # the 2.3 GB build root is gone
    assert any("streaming vector length 512 bits" in line for line in said)
    # its prefix is the arm64 environment's root file system, seen from where the environment now is
    assert (arm64_sme2.env_dir() / "cpus" / "arm64-a18" / arm64_env.GUEST_PYTHON).exists()
    assert _left(machine) == {"arm64", "arm64-a18", ".arm64-a18.install.lock", "arm64-a18-install.log"}


@pytest.mark.parametrize("step, said", [
    ("debootstrap", "failed at debootstrap"),
    ("apt-get install", "failed at apt-get install of the build tools"),
    ("configure", "failed at QEMU's build"),
    ("count_v2.c", "failed at gcc (the counting plugin"),
])
def test_a_failed_step_is_named_and_leaves_nothing_half_made(machine, monkeypatch, step, said):
    with pytest.raises(LiteshipError) as caught:
        _install(monkeypatch, FakeDebian(fail=step))
    message = caught.value.message
    assert said in message and f"the fake {step} failed" in message
    assert str(arm64_sme2.log_path()) in message and "Fix: " in message
    assert arm64_sme2.status() is None
    assert _left(machine) == {"arm64", ".arm64-a18.install.lock", "arm64-a18-install.log"}  # no temp folder either
    assert step in arm64_sme2.log_path().read_text()  # the step's command and output are in the log


@pytest.mark.parametrize("probe, said", [
    ({"hwcap2": 1 << 23, "svl_bytes": 64}, "(SME2 off), a streaming vector length of 64 bytes"),  # SME without SME2
    ({"hwcap2": SME2_AND_SME, "svl_bytes": 32}, "(SME2 on), a streaming vector length of 32 bytes (wanted 64)"),
])
def test_a_qemu_that_does_not_emulate_sme2_at_512_bits_is_refused(machine, monkeypatch, probe, said):
    with pytest.raises(LiteshipError) as caught:
        _install(monkeypatch, FakeDebian(probe=probe))
    assert "does not emulate what it stands for" in caught.value.message and said in caught.value.message
    assert arm64_sme2.status() is None and "arm64-a18" not in _left(machine)


def test_no_qemu_source_with_sme2_names_what_the_archive_offers(machine, monkeypatch):
    fake = FakeDebian(versions=("1:7.2+dfsg-7+deb12u18", "1:10.0.13+ds-0+deb13u1"))
    with pytest.raises(LiteshipError) as caught:
        _install(monkeypatch, fake)
    assert "no QEMU source with SME2" in caught.value.message
    assert "1:10.0.13+ds-0+deb13u1" in caught.value.message and "10.1 or later" in caught.value.message
    assert not any("apt-get source" in cmd for cmd in fake.ran)  # neither is fetched


def test_the_tested_source_goes_first_then_the_newest_with_sme2():
    offered = ["1:10.0.13+ds-0+deb13u1", "1:11.1.3+ds-2~bpo13+1", "1:10.2.2+ds-1", "1:10.1.0+ds-5", "1:9.2.0+ds-1"]
    assert arm64_sme2_build.candidates(offered) == ["1:10.2.2+ds-1", "1:11.1.3+ds-2~bpo13+1", "1:10.1.0+ds-5"]
    assert arm64_sme2_build.upstream("1:11.1.3+ds-2~bpo13+1") == (11, 1, 3)


def test_a_source_that_will_not_download_makes_way_for_the_next(machine, monkeypatch):
    fake = FakeDebian(fail="qemu=1:10.2.2+ds-1", versions=("1:10.2.2+ds-1", "1:10.1.0+ds-5"))
    said = _install(monkeypatch, fake)
    assert arm64_sme2.status()["qemu_source"].startswith("Debian qemu 1:10.1.0+ds-5")
    assert any("no longer served" in line for line in said)  # the user is told the counts' QEMU changed


def test_refusals_come_before_any_work(machine, monkeypatch):
    fake = FakeDebian()
    monkeypatch.setattr(subprocess, "run", fake)
    monkeypatch.setattr(arm64_sme2.os, "geteuid", lambda: 1000)
    with pytest.raises(LiteshipError, match="needs root"):
        arm64_sme2.install(log=lambda line: None)
    monkeypatch.setattr(arm64_sme2.os, "geteuid", lambda: 0)
    monkeypatch.setattr(arm64_sme2.shutil, "disk_usage", lambda path: type("U", (), {"free": 10**9})())
    with pytest.raises(LiteshipError, match="needs 4 GB free"):
        arm64_sme2.install(log=lambda line: None)
    assert fake.ran == [] and "arm64-a18" not in _left(machine)


def test_missing_debootstrap_is_exit_2_naming_the_package(tmp_path, monkeypatch):
    from liteship.app.cli import build_parser
    from liteship.app.requests import build_request
    from liteship.config import Problems
    from liteship.workflow.checks import check

    monkeypatch.setattr(arm64_sme2, "missing_tools", lambda: ["debootstrap"])
    monkeypatch.setattr(arm64_env, "installed", lambda: True)
    with pytest.raises(Problems) as caught:
        check(build_request(build_parser().parse_args(["runtimes", "install", "arm64-a18"])))
    assert "apt-get install debootstrap" in caught.value.message and "--with-system-packages" in caught.value.message


def test_a_half_made_environment_is_not_taken_and_the_backend_says_how_to_install(tmp_path, monkeypatch):
    from liteship.bench import backends

    monkeypatch.setenv("LITESHIP_CACHE", str(tmp_path))
    monkeypatch.setattr(arm64_env, "status", lambda: {"qemu": "7.2", "plugin_sha256": "p", "wheels": {}})  # arm64: whole
    env = arm64_sme2.env_dir()
    (env / "plugin").mkdir(parents=True)
    (env / "plugin" / "count.so").write_text("")
    (env / arm64_sme2.MARKER).write_text('{"qemu": "x"}')  # a record, but no QEMU binary or CPU prefix
    assert arm64_sme2.status() is None
    assert not backends.get("arm64-a18").available()
    assert "liteship runtimes install arm64-a18" in backends.get("arm64-a18").unavailable
    with pytest.raises(LiteshipError, match="run `liteship runtimes install arm64-a18`"):
        arm64_env.require_backend("arm64-a18")


def test_a_bench_reuses_an_arm_record_by_its_own_backends_qemu(monkeypatch):
    """bench.run.same_tools: an arm64-a18 record is current while the SME2 QEMU that made it would count it, an
    arm64-a15 record while Debian's QEMU would; neither is judged by the other's QEMU."""
    from liteship.bench.record import BenchRecord
    from liteship.bench.run import counting_tools, same_tools

    debian, built = "qemu-aarch64 version 7.2.22 (Debian 1:7.2+dfsg-7)", "qemu-aarch64 version 10.2.2"
    monkeypatch.setattr(arm64_env, "status", lambda: {"qemu": debian, "plugin_sha256": "v1", "wheels": {}})
    monkeypatch.setattr(arm64_sme2, "status", lambda: {"qemu": built, "plugin_sha256": "v2"})

    def record(backend, qemu, plugin):
        return BenchRecord(variant="v", model="m", recipe="float32", arch=None, alpha=None, size=32, backend=backend,
                           threads=1, runtime="aarch64", kind="count", status="ok", size_bytes=1, gzip_bytes=1,
                           params=None, sparsity=None, instructions={"per_invoke": 1, "tool": {
                               "qemu": qemu, "plugin_sha256": plugin}})

    tools = counting_tools()
    assert same_tools(record("arm64-a18", built, "v2"), tools) and same_tools(record("arm64-a15", debian, "v1"), tools)
    assert not same_tools(record("arm64-a18", debian, "v1"), tools)  # counted by the other QEMU: counted again
    assert not same_tools(record("arm64-a15", built, "v2"), tools)
