"""compare's "the same measurements" note reads both sides through bench's one results reader: hand-built files whose
answer is known (the same records in another order and spelling; one digit changed; no timing; a damaged side)."""

import json

from liteship.judge import same_measurements
from tests.judge.test_compare import _rec


def _write(path, records, indent=None):
    path.write_text("".join(json.dumps(r, indent=indent).replace("\n", " ") + "\n" for r in records))
    return str(path)


def test_the_same_records_in_another_order_and_spelling_are_the_same_measurements(tmp_path):
    a, b = _rec("int8"), _rec("float32", p50=1.3, ci=(1.2, 1.4))
    base = _write(tmp_path / "base.jsonl", [a, b])
    # the same records, the other way round, keys in reverse order and spaced out: the same measurements
    new = _write(tmp_path / "new.jsonl", [dict(reversed(list(r.items()))) for r in (b, a)], indent=1)
    assert same_measurements(base, new) and same_measurements(new, base)


def test_one_digit_a_missing_record_or_a_damaged_side_is_not(tmp_path):
    a, b = _rec("int8"), _rec("float32", p50=1.3, ci=(1.2, 1.4))
    base = _write(tmp_path / "base.jsonl", [a, b])
    assert not same_measurements(base, _write(tmp_path / "digit.jsonl", [a, {**b, "size_bytes": 100_001}]))
    assert not same_measurements(base, _write(tmp_path / "fewer.jsonl", [a]))
    assert not same_measurements(base, _write(tmp_path / "twice.jsonl", [a, b, b]))
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_text(json.dumps(a) + "\n{not json\n")
    assert not same_measurements(base, str(damaged)) and not same_measurements(str(damaged), base)
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 100_000 + "]" * 100_000 + "\n")  # too deep for the JSON reader: unreadable, never a crash
    assert not same_measurements(str(deep), base)


def test_untimed_copies_are_not_called_the_same_measurements(tmp_path):
    """Without a wall-clock timing, equal records are exact numbers that agree, not a copy to warn about."""
    untimed = [{**_rec("int8"), "latency_ms": None}]
    assert not same_measurements(_write(tmp_path / "a.jsonl", untimed), _write(tmp_path / "b.jsonl", untimed))
