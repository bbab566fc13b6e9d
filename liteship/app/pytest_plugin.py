"""pytest plugin: ``pytest --liteship-run RUN_DIR --liteship-budgets FILE`` gates a run in CI.

One test item per variant x budget check, so ``-k``, ``--junitxml`` and
pytest's exit codes just work. Latency items time the interpreter with
pytest-benchmark (``benchmark.pedantic``) and put size and accuracy in
``extra_info``, so ``--benchmark-autosave`` and
``--benchmark-compare-fail=median:10%`` gate regressions against a baseline.
"""

from __future__ import annotations

from pathlib import Path

ITEMS_MODULE = Path(__file__).with_name("gate_items.py")


def pytest_addoption(parser):
    group = parser.getgroup("liteship", "liteship budget gate")
    group.addoption("--liteship-run", metavar="RUN_DIR", help="gate the variants of this liteship run directory")
    group.addoption("--liteship-budgets", metavar="FILE", help="liteship.toml or pyproject.toml with the budgets")


def pytest_configure(config):
    if config.getoption("liteship_run"):
        # Collect the bundled items module, from any folder, with no test files of the user's.
        config.args[:] = [a for a in config.args if Path(a).resolve() != Path.cwd().resolve()] + [str(ITEMS_MODULE)]
