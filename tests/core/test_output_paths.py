"""Files the user names (--json, --junit, --markdown): any path gets an answer, never an exception, and a path
judged writable is written with exactly the text, at the umask's mode; a symlink stays a symlink."""

import os
import stat
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from liteship.files import output_problem, write_output

PARTS = st.sampled_from(["a", "b.json", "..", ".", "", "x" * 300, "ü", "sub", "link", "fifo", "dir"])


@settings(max_examples=200, database=None, deadline=None)
@given(st.lists(PARTS, min_size=1, max_size=4), st.text(max_size=50))
def test_any_output_path_is_answered_and_a_writable_one_gets_exactly_the_text(parts, text):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "dir").mkdir()
        (root / "target").write_text("old")
        (root / "link").symlink_to(root / "target")
        path = os.path.join(tmp, *parts)
        why = output_problem(path)  # never raises
        if why is not None or "fifo" in parts:
            return
        write_output(path, text)
        assert Path(path).read_bytes().decode("utf-8") == text
        assert os.path.islink(root / "link")  # never replaced by a file
        real = Path(os.path.realpath(path))
        if real != root / "target":
            mask = os.umask(0)
            os.umask(mask)
            assert stat.S_IMODE(real.stat().st_mode) == 0o666 & ~mask


def test_a_nul_character_is_answered_not_raised():
    assert output_problem("a\0b") == "it holds a NUL character"
