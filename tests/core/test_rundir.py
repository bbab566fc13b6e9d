"""The run directory: liteship writes only in a folder it marked, cleans only its own temp entries, and says which
command rewrites a damaged file."""

import json

import pytest

from liteship.errors import LiteshipError
from liteship.rundir import (CURRENT, MARKER, SPLIT, claim, exclusive, read_current, read_split, remove_stale_temps,
                             update_current)


def test_claim_marks_a_new_folder_and_refuses_a_full_unmarked_one(tmp_path):
    run = claim(tmp_path / "new")
    assert (run / MARKER).is_file()
    assert claim(run) == run  # a marked folder is liteship's
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "thesis.tex").write_text("mine")
    with pytest.raises(LiteshipError):
        claim(theirs)
    assert [p.name for p in theirs.iterdir()] == ["thesis.tex"] and not (theirs / MARKER).exists()


def test_cleanup_removes_only_temp_entries_and_only_in_a_marked_folder(tmp_path):
    run = claim(tmp_path / "run")
    (run / ".liteship-tmp-abc").write_text("half")
    (run / ".hidden").write_text("user's")
    (run / "variants").mkdir()
    (run / "variants" / ".liteship-tmp-x.tflite").write_bytes(b"half")
    removed = {p.name for p in remove_stale_temps(run)}
    assert removed == {".liteship-tmp-abc", ".liteship-tmp-x.tflite"}
    assert (run / ".hidden").read_text() == "user's"
    unmarked = tmp_path / "unmarked"
    unmarked.mkdir()
    (unmarked / ".liteship-tmp-abc").write_text("not ours to judge")
    assert remove_stale_temps(unmarked) == [] and (unmarked / ".liteship-tmp-abc").exists()


def test_a_damaged_file_names_itself_and_the_command_that_rewrites_it(tmp_path):
    run = claim(tmp_path / "run")
    (run / "data").mkdir()
    (run / SPLIT).write_text('{"splits": [1, 2]')
    with pytest.raises(LiteshipError) as caught:
        read_split(run)
    assert SPLIT in str(caught.value) and "liteship train" in caught.value.fix
    (run / CURRENT).write_text(json.dumps({"m": {"int8": 3}}))
    with pytest.raises(LiteshipError):
        read_current(run)  # damaged is an error, never "no index" (that would make stale variants current)


def test_the_current_index_keeps_other_entries(tmp_path):
    run = claim(tmp_path / "run")
    assert read_current(run) is None
    update_current(run, [("m", "int8", "a1"), ("m", "float32", "f1")])
    update_current(run, [("m", "int8", "a2"), ("n", "int8", "b1")])
    assert read_current(run) == {"m": {"int8": "a2", "float32": "f1"}, "n": {"int8": "b1"}}


def test_a_second_writer_is_refused_naming_the_first(tmp_path):
    run = claim(tmp_path / "run")
    with exclusive(run, "sweep"):
        with pytest.raises(LiteshipError) as caught:
            with exclusive(run, "pick"):
                pass
    assert "liteship sweep" in str(caught.value)
    with exclusive(run, "pick"):  # released when the holder is done
        pass
