"""Class names and labels.txt: a name is accepted exactly when every reader gets it back as one line.

The oracle is Python's own ``str.splitlines`` (which splits on more characters than any other common reader:
\\n, \\r, \\v, \\f, \\x1c-\\x1e, \\x85, U+2028, U+2029) and ``str.strip``, not liteship's character list.
"""

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liteship.contract import label_problem, labels_text, read_labels

NAMES = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12) | st.sampled_from(
    ["cat", "two\nlines", "cr\rname", "a\u2028b", "p\u2029q", "nul\0", "tab\there", " pad", "ünï", "<img>", "x\x85y"])


@settings(max_examples=300, database=None, deadline=None)
@given(NAMES)
def test_a_name_is_accepted_exactly_when_every_reader_reads_it_back(name):
    survives = (labels_text([name, "z"]).splitlines() == [name, "z"] and name == name.strip()
                and "\0" not in name and not any(unicodedata.category(c) == "Cc" and c != "\t" for c in name))
    assert (label_problem(name) is None) == survives, repr(name)
    if survives:
        assert read_labels(labels_text([name, "z"])) == [name, "z"]


@pytest.mark.parametrize("char", ["\x1b", "\x7f", "\x80", "\x85", "\x9b", "\x9f"],
                         ids=["ESC", "DEL", "PAD", "NEL", "CSI", "APC"])
def test_del_and_c1_controls_are_refused_as_esc_is(char):
    """Unicode's own category, not liteship's list: every "Cc" character but tab (C0, DEL, C1) is refused; the
    letters after the C1 block (U+00A0 on) are not."""
    assert unicodedata.category(char) == "Cc"
    assert label_problem(f"cat{char}") is not None
    assert f"U+{ord(char):04X}" in label_problem(f"cat{char}")
    for fine in ("caf\u00e9", "\u00bfqu\u00e9", "tab\there"):
        assert label_problem(fine) is None


def test_every_cc_character_but_tab_is_refused():
    for code in range(0x110000):
        char = chr(code)
        if unicodedata.category(char) == "Cc":
            assert (label_problem(f"a{char}b") is None) == (char == "\t"), f"U+{code:04X}"


def app_reads(text: str) -> list[str]:
    """The app's rule, written out: Swift's ``String.split(separator: "\\n")`` cuts at each newline and omits
    empty pieces (its default ``omittingEmptySubsequences: true``); nothing is trimmed."""
    pieces, current = [], ""
    for ch in text:
        if ch == "\n":
            pieces.append(current)
            current = ""
        else:
            current += ch
    pieces.append(current)
    return [p for p in pieces if p != ""]


def test_bench_reads_a_labels_file_as_the_app_does(tmp_path):
    """`bench --labels` and the release read one labels file the same way, and that way is the app's: white
    space kept, the trailing empty line dropped."""
    from liteship.bench.single import read_labels as bench_reads

    text = " cat \n\tdog\nbird  \n\n"
    path = tmp_path / "labels.txt"
    path.write_bytes(text.encode("utf-8"))
    assert app_reads(text) == [" cat ", "\tdog", "bird  "]
    assert bench_reads(path) == app_reads(text)
    assert read_labels(text) == app_reads(text)


@pytest.mark.parametrize("char", ["\x7f", "\x9b"], ids=["DEL", "CSI"])
def test_a_class_folder_with_del_or_c1_is_refused_before_any_work_and_not_echoed_raw(tmp_path, char):
    """The sweep's input check refuses the folder, naming the character, and its message holds no raw control
    character (U+009B is a terminal's CSI, as ESC [ is)."""
    from liteship.workflow.validate import data_problems

    (tmp_path / f"cat{char}2J").mkdir()
    (tmp_path / "dog").mkdir()
    (problem,) = data_problems(str(tmp_path))
    line = problem.line()
    assert f"U+{ord(char):04X}" in line
    assert not any(unicodedata.category(c) == "Cc" for c in line)
