"""Fixtures of the application tests."""

import shutil

import pytest


@pytest.fixture
def run_copy(swept, tmp_path, monkeypatch):
    """A copy of the session's sweep named weekly, with no release; the working directory is tmp_path and no
    MLFLOW_TRACKING_URI is set (the tracker tests' starting point)."""
    out, cfg, _ = swept
    copy = tmp_path / "weekly"
    shutil.copytree(out, copy)
    shutil.rmtree(copy / "release", ignore_errors=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return copy, cfg
