"""Counts as files of the run directory: read back exactly, and only for the same file, tools and images."""

import json

import numpy as np
import pytest

from liteship.bench.counts import count_key, count_path, read_count, write_count

PIXELS = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)


def test_a_count_reads_back_exactly_with_its_outputs(tmp_path):
    key = count_key("a" * 64, "arm64-a15", PIXELS, True)
    outputs = np.array([[0.1, 0.7, 0.2], [1 / 3, 1e-7, 0.6666667]], np.float32)
    count = {"instructions": {"per_invoke": 12345, "tool": {"qemu": "x"}}, "outputs": outputs, "runtime": "r"}
    write_count(tmp_path, "v1", "arm64-a15", key, count)
    back = read_count(tmp_path, "v1", "arm64-a15", count_key("a" * 64, "arm64-a15", PIXELS.copy(), True))
    assert back["instructions"] == count["instructions"] and back["runtime"] == "r"
    assert back["outputs"].dtype == np.float32 and np.array_equal(back["outputs"], outputs)  # bit for bit


def test_another_file_other_images_or_other_tools_are_counted_again(tmp_path):
    key = count_key("a" * 64, "arm64-a15", PIXELS, True)
    write_count(tmp_path, "v1", "arm64-a15", key, {"instructions": {"per_invoke": 1}, "outputs": None})
    other_image = PIXELS.copy()
    other_image[1, 0, 0, 0] += 1
    assert read_count(tmp_path, "v1", "arm64-a15", count_key("b" * 64, "arm64-a15", PIXELS, True)) is None
    assert read_count(tmp_path, "v1", "arm64-a15", count_key("a" * 64, "arm64-a15", other_image, True)) is None
    assert read_count(tmp_path, "v1", "arm64-a15", count_key("a" * 64, "arm64-a15", PIXELS, False)) is None
    older = json.loads(json.dumps(key))
    older["tools"]["liteship"] = "0.0.1"
    assert read_count(tmp_path, "v1", "arm64-a15", older) is None
    x86 = count_key("a" * 64, "x86", None, False)
    write_count(tmp_path, "v1", "x86", x86, {"per_invoke": 7})
    valgrind = json.loads(json.dumps(x86))
    valgrind["tools"]["valgrind"] = "valgrind-3.99"
    assert read_count(tmp_path, "v1", "x86", valgrind) is None and read_count(tmp_path, "v1", "x86", x86) == {
        "per_invoke": 7}


def test_a_failure_is_kept_for_the_bench_and_tried_again_by_the_next_sweep(tmp_path):
    key = count_key("a" * 64, "x86", None, False)
    write_count(tmp_path, "v1", "x86", key, "instructions not counted: valgrind exited with code 1")
    assert read_count(tmp_path, "v1", "x86", key) == "instructions not counted: valgrind exited with code 1"
    assert read_count(tmp_path, "v1", "x86", key, failures=False) is None


def test_a_damaged_file_or_a_link_is_counted_again_and_nothing_is_written_through_a_link(tmp_path):
    key = count_key("a" * 64, "x86", None, False)
    path = count_path(tmp_path, "v1", "x86")
    path.parent.mkdir()
    path.write_text('{"key": ')
    assert read_count(tmp_path, "v1", "x86", key) is None
    run, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    run.mkdir()
    elsewhere.mkdir()
    (run / "counts").symlink_to(elsewhere)
    assert write_count(run, "v1", "x86", key, {"per_invoke": 7}) is None
    assert list(elsewhere.iterdir()) == [] and read_count(run, "v1", "x86", key) is None


@pytest.mark.parametrize("content", [b"\xff\xfe not utf-8", b"[1, 2]", b"[" * 100_000 + b"]" * 100_000, "fifo"])
def test_a_count_file_that_is_no_count_is_counted_again_never_waited_on_or_a_crash(tmp_path, content):
    """A cache: anything but a count written for this key reads as none (a FIFO is refused, not waited on)."""
    import os

    key = count_key("a" * 64, "x86", None, False)
    path = count_path(tmp_path, "v1", "x86")
    path.parent.mkdir(parents=True)
    if content == "fifo":
        os.mkfifo(path)
    else:
        path.write_bytes(content)
    assert read_count(tmp_path, "v1", "x86", key) is None
    assert write_count(tmp_path, "v1", "x86", key, {"per_invoke": 7}) is not None  # the next count replaces it
    assert read_count(tmp_path, "v1", "x86", key) == {"per_invoke": 7}
