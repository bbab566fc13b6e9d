"""--model-explorer refuses what it cannot write to, before any work (exit 2, nothing written): '-' (explain's text is
on standard output), /dev/full and other special files; and it writes no file when there is no per-op error to
write (an empty one would pass for a model without errors)."""

import os

import pytest

from liteship.errors import LiteshipError


@pytest.fixture
def explain(tmp_path, capsys):
    from liteship.app.cli import main

    run = tmp_path / "run"
    run.mkdir()
    (run / ".liteship-run").touch()

    def run_explain(target):
        code = main(["explain", str(run), "int8", "--model-explorer", target])
        return code, capsys.readouterr()
    return run_explain


@pytest.mark.parametrize("target", ["-", "/dev/full", "/dev/stdout", "/dev/null"])
def test_a_stream_or_special_file_is_refused_up_front(explain, target):
    code, said = explain(target)
    assert code == 2
    assert "--model-explorer" in said.err and "nothing was started or written" in said.err
    assert ("'-' is not supported" if target == "-" else "special file") in said.err
    assert said.out == ""


def test_a_fifo_is_refused_without_waiting_on_it(explain, tmp_path):
    fifo = tmp_path / "nodes.json"
    os.mkfifo(fifo)
    code, said = explain(str(fifo))
    assert code == 2 and "special file" in said.err


def test_a_new_regular_file_is_not_refused_by_these_checks(tmp_path):
    from liteship.bench.explorer_data import output_problems

    assert output_problems(str(tmp_path / "nodes.json")) == []
    (tmp_path / "old.json").write_text("{}")
    assert output_problems(str(tmp_path / "old.json")) == []


def test_nothing_measured_is_refused_not_written_empty(tmp_path):
    from liteship.bench import Explained, explorer_node_data

    note = "Float model file runs/x/float/small_cnn_16/model.tflite does not exist"
    e = Explained("abc", "small_cnn_16", "int8", 1000, (), op_error_note=note)
    with pytest.raises(LiteshipError) as caught:
        explorer_node_data(e, tmp_path / "abc.tflite")
    assert caught.value.exit_code == 2 and "no per-op error" in caught.value.message and note in caught.value.message
