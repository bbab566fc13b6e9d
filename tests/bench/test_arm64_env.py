"""Without the arm64 environment or its Debian packages: exit 2 before any work, saying what to install."""

import subprocess
import sys

from liteship.bench import arm64_env


def test_an_arm_backend_without_the_environment_is_exit_2_with_the_install_command(tmp_path, optimized_run):
    out, variants = optimized_run
    env = {"LITESHIP_CACHE": str(tmp_path / "empty-cache"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "liteship", "bench", str(out / variants["int8"]["file"]),
                           "--backends", "xnnpack,arm64-a15"], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2, proc.stderr
    assert "arm64-a15" in proc.stderr and "liteship runtimes install arm64" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_debian_packages_are_named(monkeypatch):
    from liteship.workflow.checks import check
    from liteship.app.cli import build_parser
    from liteship.app.requests import build_request
    from liteship.config import Problems

    import liteship.bench

    monkeypatch.setattr(liteship.bench, "missing_tools", lambda: ["qemu-user", "debootstrap"])  # what checks calls
    args = build_parser().parse_args(["runtimes", "install", "arm64"])
    try:
        check(build_request(args))
        raise AssertionError("not refused")
    except Problems as exc:
        assert "qemu-user debootstrap" in exc.message and "apt-get install qemu-user debootstrap gcc" in exc.message


def test_a_half_made_environment_is_not_taken_for_whole(tmp_path, monkeypatch):
    monkeypatch.setenv("LITESHIP_CACHE", str(tmp_path))
    env = arm64_env.env_dir()
    (env / "sysroot" / "usr" / "bin").mkdir(parents=True)
    (env / arm64_env.MARKER).write_text('{"qemu": "x"}')  # a marker, but no python, plugin or CPU files
    assert arm64_env.status() is None and not arm64_env.installed()


def test_the_fake_cpuinfo_says_what_linux_says_on_that_core():
    # Field names and layout as Linux's arch/arm64/kernel/cpuinfo.c writes them.
    e = arm64_env.EMULATIONS["arm64-a14"]
    text = arm64_env.cpuinfo_text(e)
    assert "CPU implementer\t: 0x41\n" in text and "CPU part\t: 0xd0b\n" in text and "CPU architecture: 8\n" in text
    assert " asimddp" in text and "i8mm" not in text


def test_another_phone_cpu_is_one_emulation(monkeypatch):
    # One more entry in EMULATIONS: the registry then has its count backend, with the entry's rank and words,
    # and its fake CPU files name its MIDR (0x410FD4B0: ARM, part 0xd4b, a Cortex-A78C).
    import importlib

    from liteship.bench import backends
    from liteship.bench.backends import Kind, qemu_arm64

    phone = arm64_env.Emulation("arm64-x1", "cortex-a78c", 0x410FD4B0, arm64_env.BASE_FEATURES, "a test phone's ISA",
                                cpu="a Cortex-A78C", rank=32)
    monkeypatch.setitem(arm64_env.EMULATIONS, "arm64-x1", phone)
    try:
        importlib.reload(qemu_arm64)
        backends.registry.cache_clear()
        b = backends.get("arm64-x1")
        assert (b.kind, b.rank, b.isa, b.in_default) == (Kind.COUNT, 32, "aarch64", False)
        assert "a Cortex-A78C" in b.summary and "a test phone's ISA" in b.summary
        assert list(backends.registry())[-1] == "arm64-x1"  # rank 32 lists after arm64-a14 (31)
        assert "CPU part\t: 0xd4b\n" in arm64_env.cpuinfo_text(phone)
    finally:
        monkeypatch.undo()
        importlib.reload(qemu_arm64)
        backends.registry.cache_clear()
    assert "arm64-x1" not in backends.registry()
