"""Fixtures of the hostile-input tests: a copy of the shared sweep to damage, and its results file."""

import shutil

import pytest


@pytest.fixture()
def run_copy(swept, tmp_path):
    out, _, _ = swept
    copy = tmp_path / "run"
    shutil.copytree(out, copy, symlinks=True, ignore=shutil.ignore_patterns(".liteship.lock"))
    return copy


@pytest.fixture(scope="module")
def results_file(swept):
    return swept[0] / "results.jsonl"
