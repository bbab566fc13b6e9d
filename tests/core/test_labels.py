"""Class names and labels.txt: a name is accepted exactly when every reader gets it back as one line.

The oracle is Python's own ``str.splitlines`` (which splits on more characters than any other common reader:
\\n, \\r, \\v, \\f, \\x1c-\\x1e, \\x85, U+2028, U+2029) and ``str.strip``, not liteship's character list.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from liteship.contract import label_problem, labels_text, read_labels

NAMES = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12) | st.sampled_from(
    ["cat", "two\nlines", "cr\rname", "a\u2028b", "p\u2029q", "nul\0", "tab\there", " pad", "ünï", "<img>", "x\x85y"])


@settings(max_examples=300, database=None, deadline=None)
@given(NAMES)
def test_a_name_is_accepted_exactly_when_every_reader_reads_it_back(name):
    survives = (labels_text([name, "z"]).splitlines() == [name, "z"] and name == name.strip()
                and "\0" not in name and not any(ord(c) < 32 and c != "\t" for c in name))
    assert (label_problem(name) is None) == survives, repr(name)
    if survives:
        assert read_labels(labels_text([name, "z"])) == [name, "z"]
