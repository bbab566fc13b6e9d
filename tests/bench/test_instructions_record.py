"""The instruction count is one typed record (bench.record.Instructions) read from the JSON liteship always wrote:
results.jsonl lines and counts files written by hand here, as older liteships wrote them."""

import json

import pytest

from liteship.bench import AARCH64, X86_64, Instructions, read_results, write_results
from liteship.bench.counts import read_count, write_count

# A results.jsonl line as liteship wrote it before the record type: the count a dict, its ISA spelt "x86_64".
OLD_X86 = {"per_invoke": 1_234_567, "first_invoke": 2_345_678, "isa": "x86_64", "threads": 1,
           "by_op": {"XNNPACK convolution": 1_000_000, "other (runtime bookkeeping, copies)": 234_567},
           "tool": {"valgrind": "valgrind-3.22.0", "ai-edge-litert": "2.1.0", "liteship": "0.1.0"},
           "method": "callgrind --toggle-collect='X' --dump-after: the third of 3 invokes, one thread"}
OLD_ARM = {"per_invoke": 7_000_001, "first_invoke": 9_000_000, "isa": "aarch64", "threads": 1,
           "by_kernel": [{"kernel": "xnn_qs8_gemm", "library": "libxnnpack.so", "per_invoke": 5_000_000,
                          "share": 0.71, "ops": "XNNPACK convolution"}],
           "method": "QEMU user mode", "tool": {"qemu": "8.2.2", "plugin_sha256": "ab"}, "input": "a mid-grey image",
           "by_op": {"XNNPACK convolution": 5_000_000}}


def _line(variant: str, backend: str, kind: str, instructions) -> dict:
    return {"variant": variant, "model": "m", "recipe": "int8", "arch": None, "alpha": None, "size": 32,
            "backend": backend, "threads": 1, "runtime": "", "kind": kind, "status": "ok", "size_bytes": 10,
            "gzip_bytes": 9, "params": None, "sparsity": None, "instructions": instructions}


def _write_lines(run, lines):
    run.mkdir(exist_ok=True)
    (run / "results.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def test_an_old_results_line_reads_as_the_record_and_writes_back_the_same_json(tmp_path):
    _write_lines(tmp_path, [_line("aaaa", "xnnpack", "run", OLD_X86), _line("aaaa", "arm64-a15", "count", OLD_ARM)])
    x86, arm = sorted(read_results(tmp_path), key=lambda r: r.backend != "xnnpack")
    assert isinstance(x86.instructions, Instructions)
    assert x86.instructions.per_invoke == 1_234_567 and x86.instructions.isa == X86_64 and x86.instructions.on_x86
    assert x86.instructions.millions == pytest.approx(1.234567)  # 1,234,567 / 1,000,000, by hand
    assert x86.instructions.first_millions == pytest.approx(2.345678)
    assert x86.instructions.formatted() == "1.235 M x86_64"
    assert x86.instructions.counted_by == "valgrind-3.22.0"
    assert arm.instructions.isa == AARCH64 and not arm.instructions.on_x86
    assert arm.instructions.by_kernel[0]["per_invoke"] == 5_000_000 and arm.instructions.input == "a mid-grey image"
    assert arm.instructions.counted_by == "QEMU 8.2.2"
    assert x86.to_dict()["instructions"] == OLD_X86  # the same keys and values it was read from
    assert arm.to_dict()["instructions"] == OLD_ARM


def test_the_other_spelling_of_the_isa_reads_as_the_one_constant(tmp_path):
    _write_lines(tmp_path, [_line("bbbb", "xnnpack", "run", {**OLD_X86, "isa": "x86-64"})])
    (rec,) = read_results(tmp_path)
    assert rec.instructions.isa == "x86_64" == X86_64
    write_results(tmp_path, [rec])
    written = json.loads((tmp_path / "results.jsonl").read_text().splitlines()[0])
    assert written["instructions"]["isa"] == "x86_64"


def test_a_count_with_only_the_count_and_its_tool_still_reads(tmp_path):
    """Records written by hand in tests and by early liteships carry the count and the tool alone."""
    _write_lines(tmp_path, [_line("cccc", "xnnpack", "run", {"per_invoke": 5, "tool": {"valgrind": "v"}})])
    (rec,) = read_results(tmp_path)
    assert rec.instructions == Instructions(5, X86_64, tool={"valgrind": "v"})


def test_a_damaged_count_names_its_key(tmp_path):
    from liteship.errors import LiteshipError

    _write_lines(tmp_path, [_line("dddd", "xnnpack", "run", {**OLD_X86, "per_invoke": "many"})])
    with pytest.raises(LiteshipError) as err:
        read_results(tmp_path)
    assert "instructions.per_invoke" in str(err.value)


def test_a_counts_file_written_before_the_record_type_becomes_the_records_count(tmp_path):
    from liteship.bench.record import BenchRecord

    key = {"sha256": "s", "kind": "x86", "tools": {}}
    write_count(tmp_path, "v1", "x86", key, OLD_X86)  # the file's count is the JSON form, as before
    on_disk = json.loads((tmp_path / "counts" / "v1.x86.json").read_text())["count"]
    assert on_disk == OLD_X86
    rec = BenchRecord(**{**_line("v1", "xnnpack", "run", read_count(tmp_path, "v1", "x86", key))})
    assert rec.instructions.per_invoke == 1_234_567 and rec.instructions.by_op == OLD_X86["by_op"]


def test_a_count_of_zero_is_not_counted():
    assert not Instructions(0).counted and Instructions(1).counted
