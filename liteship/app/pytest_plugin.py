"""pytest plugin: ``pytest --liteship-run RUN_DIR --liteship-budgets FILE`` gates a run in CI.

Without ``--liteship-run`` it does nothing: it adds two options, imports
nothing else and adds no test items, so every other pytest run in an
environment with liteship is unaffected. With it, the run's variants become
one test item per variant x budget check, so ``-k``, ``--junitxml`` and
pytest's exit codes work. With ``--liteship-baseline BASE`` each compared
metric of ``liteship compare BASE RUN`` is an item too. Every item asserts the verdict ``liteship gate``
gives (same record, same statistic, the same re-measure near a latency
limit); with pytest-benchmark installed (``pip install 'liteship[gate]'``),
latency items also time the model in its ``benchmark`` fixture, for its
history and ``--benchmark-compare``, with liteship's numbers in ``extra_info``.
"""

from __future__ import annotations

from pathlib import Path

ITEMS_MODULE = Path(__file__).with_name("gate_items.py")
BASELINE_MODULE = Path(__file__).with_name("baseline_items.py")


def pytest_addoption(parser):
    group = parser.getgroup("liteship", "liteship budget gate")
    group.addoption("--liteship-run", metavar="RUN_DIR", help="gate the variants of this liteship run directory")
    group.addoption("--liteship-budgets", metavar="FILE", help="liteship.toml or pyproject.toml with the budgets")
    group.addoption("--liteship-baseline", metavar="BASE",
                    help="also compare the run with BASE (main's run directory or results.jsonl): one item per "
                         "variant x metric, thresholds from [compare] in the --liteship-budgets file")


def pytest_configure(config):
    if config.getoption("liteship_run"):
        # Collect the bundled items module, from any folder, with no test files of the user's.
        config.args[:] = [a for a in config.args if Path(a).resolve() != Path.cwd().resolve()] + [str(ITEMS_MODULE)]
        if config.getoption("liteship_baseline"):
            config.args.append(str(BASELINE_MODULE))
