"""aarch64 instruction counts under QEMU, checked against things the counter did not compute.

- a hand-assembled aarch64 loop whose instruction count is known by hand;
- the aarch64 LiteRT's outputs against LiteRT's x86 outputs for the same file and images;
- two models differing only in one layer's width, counted in order;
- the kernels that ran against the ISA features emulated (dot product on both, i8mm only on arm64-a15).

Skipped, saying why, where the arm64 environment is not installed (`liteship runtimes install arm64`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from liteship.bench import arm64, arm64_env

pytestmark = pytest.mark.skipif(not arm64_env.installed(), reason="the arm64 environment is not installed: "
                                "`liteship runtimes install arm64 --with-system-packages` (as root)")

# aarch64 machine code, assembled by hand (Arm ARM encodings):
#   movz x0, #N          0xD2800000 | N << 5
# loop:
#   subs x0, x0, #1      0xF1000400
#   b.ne loop            0x54FFFFE1   (imm19 = -1, cond NE)
#   ret                  0xD65F03C0
# executes 1 + 2N + 1 instructions.
GUEST = textwrap.dedent("""
    import ctypes, json, mmap, struct, sys
    sys.path.insert(0, {child_dir!r})
    from arm64_child import EXCLUDE, START, STOP, mark, maps
    for lo, hi, _, path, perms in maps():
        if "x" in perms and path.endswith("/python3.11"):
            mark(EXCLUDE, lo, hi)
    def loop(n):
        code = struct.pack("<4I", 0xD2800000 | (n << 5), 0xF1000400, 0x54FFFFE1, 0xD65F03C0)
        page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        page.write(code)
        address = ctypes.addressof(ctypes.c_char.from_buffer(page))
        return page, ctypes.CFUNCTYPE(ctypes.c_uint64)(address)
    out = []
    for n in {counts!r}:
        page, fn = loop(n)
        fn()  # translated once outside the region
        mark(START); fn(); mark(STOP)
    mark(START); mark(STOP)
    print("ok")
""")


def test_a_hand_assembled_loop_counts_exactly_its_instructions(tmp_path):
    counts = (1, 10, 1000, 4321)
    script = tmp_path / "loop.py"
    script.write_text(GUEST.format(child_dir=str(arm64.CHILD.parent), counts=counts))
    stdout, regions = arm64.run_guest(script, "arm64-a15", tmp_path)
    assert stdout.strip().endswith("ok")
    totals = [total for total, _ in regions]
    empty = totals[-1]  # the markers' and ctypes' own instructions, the same in every region
    calls = dict(zip(counts, (t - empty for t in totals[:-1])))
    # a line through two of the points (n = 1 and n = 1000), then the held-out ones predicted from it
    slope = (calls[1000] - calls[1]) / (1000 - 1)
    overhead = calls[1] - (2 * 1 + 2)
    assert slope == 2  # by hand: subs and b.ne, two instructions per iteration
    assert [calls[n] for n in (10, 4321)] == [2 * n + 2 + overhead for n in (10, 4321)]  # held out: exact
    assert 0 <= overhead < 2000  # libffi's call into the page and back


@pytest.fixture(scope="module")
def two_widths(tmp_path_factory):
    """Two float models identical but for one convolution's width (8 vs 32 filters)."""
    import tensorflow as tf
    import tf_keras as keras

    out = {}
    for width in (8, 32):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(width, 3, activation="relu"),
                                  keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
        path = tmp_path_factory.mktemp("w") / f"w{width}.tflite"
        path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
        out[width] = path
    return out


def _fed(path, pixels):
    from liteship.contract import feed
    from liteship.tflite_file import io_specs, read_model

    spec = io_specs(read_model(path.read_bytes()))[0][0]
    return feed(pixels, spec.dtype, *(spec.scale[:1] or (0.0,)), *(spec.zero_point[:1] or (0,)))


@pytest.mark.slow
def test_a_wider_layer_counts_more_and_counts_repeat_exactly(two_widths):
    x = _fed(two_widths[8], np.full((1, 32, 32, 3), 128, np.uint8))
    narrow = [arm64.count_arm64(two_widths[8], "arm64-a14", x)["instructions"]["per_invoke"] for _ in range(2)]
    wide = arm64.count_arm64(two_widths[32], "arm64-a14", x)["instructions"]["per_invoke"]
    assert narrow[0] == narrow[1]  # fresh processes, the same count
    assert wide > narrow[0] * 1.5


@pytest.mark.slow
def test_arm_outputs_match_litert_x86_on_the_same_images(optimized_run):
    from sklearn.datasets import load_digits

    from liteship.contract import to_model_pixels
    from liteship.runtime import InterpreterSession
    from PIL import Image

    out, variants = optimized_run
    bunch = load_digits()
    grey = np.clip(np.rint(bunch.images[:40] * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    pixels = np.stack([to_model_pixels(Image.fromarray(g, mode="L"), 32) for g in grey])
    for recipe in ("float32", "int8"):
        path = out / variants[recipe]["file"]
        counted = arm64.count_arm64(path, "arm64-a15", _fed(path, pixels), score=True)
        x86 = InterpreterSession(str(path), 1).predict(pixels, 1)
        assert counted["outputs"].shape == x86.shape
        assert np.mean(np.argmax(counted["outputs"], 1) == np.argmax(x86, 1)) >= 0.97
        assert float(np.max(np.abs(counted["outputs"] - x86))) < (1e-3 if recipe == "float32" else 0.05)


@pytest.mark.slow
def test_the_kernels_follow_the_features_emulated(optimized_run):
    out, variants = optimized_run
    path = out / variants["int8"]["file"]
    x = _fed(path, np.full((1, 32, 32, 3), 128, np.uint8))
    names = {b: [k["kernel"] for k in arm64.count_arm64(path, b, x)["instructions"]["by_kernel"]]
             for b in ("arm64-a14", "arm64-a15")}
    gemms = {b: [n for n in names[b] if "gemm" in n and n.startswith("xnn_qs8")] for b in names}
    assert gemms["arm64-a14"] and gemms["arm64-a15"], names
    assert all("i8mm" not in n for n in names["arm64-a14"])  # A14 has no int8 matrix multiply
    assert any("neondot" in n for n in gemms["arm64-a14"])  # ... but has dot product
    assert any("i8mm" in n for n in gemms["arm64-a15"])


def test_cpuinfo_files_match_the_cpu_model():
    for e in arm64_env.own_emulations():  # arm64-a18's QEMU writes its /proc/cpuinfo itself
        backend = e.backend
        text = (arm64_env.env_dir() / "cpus" / backend / "proc" / "cpuinfo").read_text()
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        assert int(fields["CPU implementer\t"], 16) == e.midr >> 24
        assert int(fields["CPU part\t"], 16) == (e.midr >> 4) & 0xFFF
        assert ("i8mm" in fields["Features\t"].split()) == (backend == "arm64-a15")


def test_runtimes_list_shows_the_environment():
    proc = subprocess.run([sys.executable, "-m", "liteship", "runtimes", "list"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and "arm64" in proc.stdout and "qemu" in proc.stdout.lower()
    assert json.dumps(arm64_env.status())  # serialisable record


@pytest.mark.slow
def test_bench_of_a_run_records_the_arm_count_beside_x86(optimized_run, tmp_path):
    import shutil

    out, variants = optimized_run
    run = tmp_path / "run"
    shutil.copytree(out, run, ignore=shutil.ignore_patterns(".liteship.lock", "results.*"))
    proc = subprocess.run([sys.executable, "-m", "liteship", "bench", str(run), "--backends", "xnnpack,arm64-a15",
                           "--runs", "3", "--rounds", "1", "--warmup", "0"], capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    split = json.loads((run / "data" / "split.json").read_text())
    n = min(100, split["counts"]["test"])
    arm = [r for r in records if r["backend"] == "arm64-a15"]
    assert len(arm) == len(variants) and all(r["kind"] == "count" and r["status"] == "ok" for r in arm)
    for r in arm:
        assert r["instructions"]["isa"] == "aarch64" and r["instructions"]["per_invoke"] > 0
        assert r["emulation"]["qemu_cpu"] == "max,sve=off,sme=off" and r["images"] == n
        assert r["data"]["subset"]["rule"] == "stratified" and r["data"]["subset"]["of"] == split["counts"]["test"]
        assert r["reference_agreement"] >= 0.97 and r["latency_ms"] is None
    assert "instr M" in proc.stdout and " arm " in proc.stdout


# ---------------------------------------------------------------- QEMU's version: the one that runs, not the install's

NEWER = "qemu-aarch64 version 99.1.0 (a QEMU upgraded since the install)"


@pytest.fixture
def upgraded_qemu(tmp_path, monkeypatch):
    """A qemu-aarch64 first on PATH that names another version and runs the real QEMU for everything else."""
    import shutil

    real = shutil.which("qemu-aarch64")
    script = tmp_path / "bin" / "qemu-aarch64"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\nif [ "$1" = "--version" ]; then echo "{NEWER}"; exit 0; fi\nexec {real} "$@"\n')
    script.chmod(0o755)
    installed_with = arm64_env.status()["qemu"]
    monkeypatch.setenv("PATH", f"{script.parent}:{os.environ['PATH']}")
    return installed_with


def _counted_record(counted: dict):
    from liteship.bench.record import BenchRecord

    return BenchRecord(variant="v", model="m", recipe="float32", arch=None, alpha=None, size=32, backend="arm64-a14",
                       threads=1, runtime="aarch64", kind="count", status="ok", size_bytes=1, gzip_bytes=1, params=None,
                       sparsity=None, instructions=counted["instructions"], emulation=counted["emulation"])


def test_a_count_of_another_qemu_is_not_reused_after_an_upgrade(upgraded_qemu, tmp_path):
    from liteship.bench.counts import count_key, read_count, write_count
    from liteship.bench.run import counting_tools, same_tools

    installed_with = upgraded_qemu
    assert installed_with != NEWER and arm64_env.status()["qemu"] == NEWER  # asked of the binary that runs now
    assert arm64_env.status()["qemu_at_install"] != NEWER
    earlier = _counted_record({"instructions": {"per_invoke": 1, "tool": {"qemu": installed_with,
                               "plugin_sha256": arm64_env.status()["plugin_sha256"]}}, "emulation": {}})
    assert not same_tools(earlier, counting_tools())  # a bench record counted with the old QEMU: counted again
    # a sweep's count file written with the old QEMU is not read back under the new one
    pixels = np.full((1, 8, 8, 3), 128, np.uint8)
    old_key = count_key("abc", "arm64-a14", pixels, True)
    old_key["tools"]["qemu"] = installed_with
    write_count(tmp_path, "v", "arm64-a14", old_key, {"instructions": {"per_invoke": 1}, "outputs": None})
    assert read_count(tmp_path, "v", "arm64-a14", old_key) is not None
    assert read_count(tmp_path, "v", "arm64-a14", count_key("abc", "arm64-a14", pixels, True)) is None


@pytest.mark.slow  # two QEMU counts of a tiny model
def test_a_count_names_the_qemu_that_ran_it_and_compare_refuses_two_qemus(two_widths, monkeypatch, tmp_path):
    from liteship.judge.compare import Thresholds, compare

    x = _fed(two_widths[8], np.full((1, 32, 32, 3), 128, np.uint8))
    before = arm64.count_arm64(two_widths[8], "arm64-a14", x)
    real = __import__("shutil").which("qemu-aarch64")
    script = tmp_path / "bin" / "qemu-aarch64"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\nif [ "$1" = "--version" ]; then echo "{NEWER}"; exit 0; fi\nexec {real} "$@"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{script.parent}:{os.environ['PATH']}")
    after = arm64.count_arm64(two_widths[8], "arm64-a14", x)
    assert before["instructions"]["tool"]["qemu"] != NEWER and after["instructions"]["tool"]["qemu"] == NEWER
    assert after["instructions"]["per_invoke"] == before["instructions"]["per_invoke"]  # the same QEMU really ran
    changes, _, _ = compare([_counted_record(before)], [_counted_record(after)], Thresholds())
    (counted,) = [c for c in changes if c.metric == "instructions"]
    assert counted.verdict == "not judged: counted with other tools" and NEWER in counted.note
