"""A variant's record is a cache on resume: one that cannot be read as a record is made again, never a crash."""

import hashlib
import json

import pytest

from liteship.optimize.run import made_variant


@pytest.mark.parametrize("content", [b"\xff\xfe not utf-8", b"[1, 2]", b"{not json", b"[" * 100_000 + b"]" * 100_000])
def test_a_damaged_variant_record_is_made_again(tmp_path, content):
    (tmp_path / "v1.tflite").write_bytes(b"TFL3 bytes")
    (tmp_path / "v1.json").write_bytes(content)
    assert made_variant(tmp_path, "v1") is None


def test_a_whole_record_of_the_same_file_is_reused_and_of_another_file_is_not(tmp_path):
    (tmp_path / "v1.tflite").write_bytes(b"TFL3 bytes")
    record = {"status": "ok", "sha256": hashlib.sha256(b"TFL3 bytes").hexdigest()}  # by hand
    (tmp_path / "v1.json").write_text(json.dumps(record))
    assert made_variant(tmp_path, "v1") == record
    (tmp_path / "v1.tflite").write_bytes(b"TFL3 other bytes")
    assert made_variant(tmp_path, "v1") is None
