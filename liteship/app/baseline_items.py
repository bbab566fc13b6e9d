"""The baseline items of the liteship pytest plugin: one per variant x compared metric (see pytest_plugin)."""

from __future__ import annotations


def _changes(config):
    """``liteship compare BASE RUN``'s checks, when --liteship-baseline is given."""
    base = config.getoption("liteship_baseline")
    if not base:
        return [], []
    import pytest

    from liteship.errors import LiteshipError
    from liteship.judge import compare, load_thresholds, read_side

    from liteship.app.pytest_plugin import refuse_itself

    try:
        refuse_itself(base, config.getoption("liteship_run"))  # checked by the plugin too; copied in since: refused
        changes, _, _ = compare(read_side(base, "base"), read_side(config.getoption("liteship_run"), "new"),
                                load_thresholds(config.getoption("liteship_budgets")))
    except LiteshipError as exc:  # checked by the plugin before collection; damaged since: the message, no stack
        raise pytest.Collector.CollectError(f"liteship compare: {exc.message}") from None
    return changes, [f"{c.key[1]}-{c.key[2]}-{c.metric}" for c in changes]


def pytest_generate_tests(metafunc):
    if "liteship_change" in metafunc.fixturenames:
        changes, ids = _changes(metafunc.config)
        metafunc.parametrize("liteship_change", changes, ids=ids)


def test_against_baseline(liteship_change):
    c = liteship_change
    assert not c.failed, f"{c.metric} of {c.key}: {c.base} -> {c.new} ({c.change}) {c.verdict} {c.note}"
