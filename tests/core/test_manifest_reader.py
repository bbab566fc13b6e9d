"""The release manifest has one reader (rundir.read_manifest), and the tracker's files are named in rundir."""

import json

import pytest

from liteship.errors import LiteshipError
from liteship.rundir import MLARTIFACTS, MLFLOW_DB, TRACK_JSON, read_manifest


def test_a_manifest_written_by_hand_reads_back(tmp_path):
    written = {"variant": "abcd1234", "app_code": "Classifier.swift", "model": {"sha256": "ff"}}
    (tmp_path / "manifest.json").write_text(json.dumps(written))
    assert read_manifest(tmp_path) == written


def test_a_damaged_manifest_names_the_file_and_pick(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(LiteshipError) as err:
        read_manifest(tmp_path)
    assert str(tmp_path / "manifest.json") in str(err.value) and "liteship pick" in str(err.value)


@pytest.mark.parametrize("text", ["[1, 2]", '{"name": "my app", "version": 3}'])  # JSON, but not liteship's
def test_pick_refuses_to_replace_a_release_whose_manifest_is_damaged(tmp_path, text):
    from liteship.judge.release import _check_ours

    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(LiteshipError, match="no liteship manifest.json"):
        _check_ours(tmp_path)


def test_the_tracker_files_are_the_run_directory_names():
    from liteship.workflow import track

    assert (TRACK_JSON, MLFLOW_DB, MLARTIFACTS) == ("track.json", "mlflow.db", "mlartifacts")  # as ARCHITECTURE draws
    assert (track.TRACK_JSON, track.DEFAULT_DB, track.ARTIFACTS) == (TRACK_JSON, MLFLOW_DB, MLARTIFACTS)


def test_a_manifest_nested_too_deep_is_damaged_not_a_traceback(tmp_path):
    """100,000 nested lists exceed Python's JSON parser's recursion: the reader says the file is damaged (exit 2)."""
    from liteship.errors import LiteshipError
    from liteship.rundir import read_manifest

    (tmp_path / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(LiteshipError) as caught:
        read_manifest(tmp_path)
    assert "manifest.json" in str(caught.value) and "nested too deep" in str(caught.value)
