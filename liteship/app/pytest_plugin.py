"""pytest plugin: ``pytest --liteship-run RUN_DIR --liteship-budgets FILE`` gates a run in CI.

Without any ``--liteship-*`` option it does nothing: it adds three options,
imports nothing else and adds no test items, so every other pytest run in an
environment with liteship is unaffected. With it, the run's variants become
one test item per variant x budget check, so ``-k``, ``--junitxml`` and
pytest's exit codes work. With ``--liteship-baseline BASE`` each compared
metric of ``liteship compare BASE RUN`` is an item too. Every item asserts the verdict ``liteship gate``
gives (same record, same statistic, the same re-measure near a latency
limit); with pytest-benchmark installed (``pip install 'liteship[gate]'``),
latency items also time the model in its ``benchmark`` fixture, for its
history and ``--benchmark-compare``, with liteship's numbers in ``extra_info``. A backend this machine cannot
run (a phone's imported measurements, ``device:<slug>``; a prediction from counts, ``predicted:<slug>``) is never
timed there: its item asserts the gate's verdict on the device's (or the prediction's) number, and its JUnit
properties and report section give that number and say it was not timed here.

An option given means a gate was asked for: an empty value, a missing run directory or budgets file, or a file
liteship cannot read is pytest's usage error (exit 4) with liteship's message, checked before any item is
collected, never a gate that silently collects nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ITEMS_MODULE = Path(__file__).with_name("gate_items.py")
BASELINE_MODULE = Path(__file__).with_name("baseline_items.py")
OPTIONS = (("liteship_run", "--liteship-run"), ("liteship_budgets", "--liteship-budgets"),
           ("liteship_baseline", "--liteship-baseline"))


def pytest_addoption(parser):
    group = parser.getgroup("liteship", "liteship budget gate")
    group.addoption("--liteship-run", metavar="RUN_DIR", help="gate the variants of this liteship run directory")
    group.addoption("--liteship-budgets", metavar="FILE", help="liteship.toml or pyproject.toml with the budgets")
    group.addoption("--liteship-baseline", metavar="BASE",
                    help="also compare the run with BASE (main's run directory or results.jsonl): one item per "
                         "variant x metric, thresholds from [compare] in the --liteship-budgets file")


def _usage(text: str) -> pytest.UsageError:
    return pytest.UsageError(f"liteship gate: {text}")


def _check_inputs(config) -> None:
    """Every given option names something liteship can read; raises pytest's UsageError saying what is wrong."""
    given = {flag: config.getoption(name) for name, flag in OPTIONS}
    for flag, value in given.items():
        if value is not None and not str(value).strip():
            raise _usage(f"{flag} is empty (an unset variable?): the gate it asks for would silently vanish. "
                         f"Fix: give {flag} a value, or drop the option")
    if given["--liteship-run"] is None:
        flags = " and ".join(f for f, v in given.items() if v is not None)
        raise _usage(f"{flags} given without --liteship-run: there is no run to gate. "
                     "Fix: add --liteship-run RUN_DIR (the folder liteship sweep wrote)")
    from liteship.workflow.validate import run_dir_problems
    from liteship.errors import LiteshipError

    found = run_dir_problems(given["--liteship-run"], "--liteship-run")
    if found:
        raise _usage(found[0].line())
    try:
        from liteship.judge import load_budgets, load_thresholds, read_side

        load_budgets(given["--liteship-budgets"])
        if given["--liteship-baseline"] is not None:
            load_thresholds(given["--liteship-budgets"])
            read_side(given["--liteship-baseline"], "base")
        read_side(given["--liteship-run"], "new")  # the run's records: damaged ones are this message, not a stack
        refuse_itself(given["--liteship-baseline"], given["--liteship-run"])
    except LiteshipError as exc:
        raise _usage(exc.message) from None
    except RecursionError:
        raise _usage(f"{given['--liteship-budgets']} is nested too deeply to read. Fix: give a budgets file "
                     "with one [budgets] table of keys") from None


def refuse_itself(base, run) -> None:
    """--liteship-baseline naming the run itself (a link to it, a copy of it): ``liteship compare``'s refusal."""
    from liteship.errors import LiteshipError
    from liteship.judge.compare import same_run

    why = None if base is None else same_run(base, run)
    if why is not None:
        raise LiteshipError(f"--liteship-baseline {base} is the run --liteship-run {run} gates", why,
                            "pass main's run directory (or results.jsonl) as --liteship-baseline")


def pytest_configure(config):
    if all(config.getoption(name) is None for name, _ in OPTIONS):
        return
    _check_inputs(config)
    # Collect the bundled items module, from any folder, with no test files of the user's.
    config.args[:] = [a for a in config.args if Path(a).resolve() != Path.cwd().resolve()] + [str(ITEMS_MODULE)]
    if config.getoption("liteship_baseline"):
        config.args.append(str(BASELINE_MODULE))
