"""Atomic writes and stage-then-publish: a reader sees the old whole or the new whole, never a part, and a
failure leaves nothing of liteship's behind."""

import json
import os

import pytest

from liteship.files import atomic_write_bytes, atomic_write_json, is_temp, sha256_file, staged


def _entries(folder):
    return sorted(p.name for p in folder.iterdir())


def test_an_atomic_write_replaces_the_whole_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "a.json"
    target.write_text("old")
    atomic_write_json(target, {"k": [1, 2]})
    assert json.loads(target.read_text()) == {"k": [1, 2]}
    assert _entries(tmp_path) == ["a.json"]


def test_a_failed_atomic_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new" * 1000)
    monkeypatch.undo()
    assert target.read_bytes() == b"old" and _entries(tmp_path) == ["a.bin"]


def test_staged_publishes_the_folder_whole(tmp_path):
    final = tmp_path / "release"
    final.mkdir()
    (final / "old.txt").write_text("old")
    with staged(final) as staging:
        assert is_temp(staging.name) and staging.parent == tmp_path
        (staging / "model.tflite").write_bytes(b"m")
        assert not (final / "model.tflite").exists()  # nothing shows before the folder is whole
    assert _entries(final) == ["model.tflite"] and _entries(tmp_path) == ["release"]


def test_staged_leaves_the_old_folder_as_it_was_after_an_error(tmp_path):
    final = tmp_path / "release"
    final.mkdir()
    (final / "old.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with staged(final) as staging:
            (staging / "half").write_text("x")
            raise RuntimeError("killed half way")
    assert _entries(final) == ["old.txt"] and _entries(tmp_path) == ["release"]


def test_sha256_file_matches_hashlib_on_a_file_larger_than_a_chunk(tmp_path):
    import hashlib

    data = os.urandom(3 * (1 << 20) + 17)
    (tmp_path / "f").write_bytes(data)
    assert sha256_file(tmp_path / "f") == hashlib.sha256(data).hexdigest()
