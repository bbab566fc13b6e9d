"""The documentation site builds with warnings as errors, its command-line reference covers the parser, and every
`liteship COMMAND --flag` the docs and the README show is a flag that command takes.

The parser is walked here, in the test, independently of the hook that renders the reference page.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from liteship.app.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    assert time.monotonic() - start < 120, "the strict build is meant to take seconds: mark this test slow if not"
    return out


def test_site_builds_strictly_with_every_page(site):
    for page in ["index.html", "getting-started.html", "tutorial.html", "model-maker.html", "development.html",
                 *(f"how-to/{p}.html" for p in ("photos-to-ios", "ci-gates", "compare", "ray", "mlflow", "phone-isa")),
                 *(f"reference/{p}.html" for p in ("api", "cli", "sweep-toml", "run-directory", "input-contract",
                                                   "measurements"))]:
        assert (site / page).is_file(), page
    assert (site / "mlflow-runs.png").is_file()
    assert not (site / "hooks.py").exists()


def test_cli_reference_names_every_subcommand_and_every_option(site):
    """Each option and positional argument has its own row in its command's table (the usage line alone is not
    enough: an argument must be explained)."""
    page = html.unescape((site / "reference" / "cli.html").read_text(encoding="utf-8"))
    parser = build_parser()
    head = page.split('id="liteship-train"', 1)[0]
    missing = [o for o in _options(parser) if f"<code>{o}</code>" not in head and o not in ("-h", "--help")]
    for name, sub in _subcommands(parser).items():
        if f'id="liteship-{name}"' not in page:
            missing.append(f"the section of liteship {name}")
        section = page.split(f'id="liteship-{name}"', 1)[-1].split('<h2 id="liteship-', 1)[0]
        missing += [f"liteship {name} {o}" for o in sorted(_options(sub)) if o not in ("-h", "--help")
                    and f"<code>{o}</code>" not in section]
        missing += [f"liteship {name} {a.dest}" for a in sub._actions if not a.option_strings
                    and not isinstance(a, argparse._SubParsersAction) and f"<code>{a.dest}</code>" not in section]
        for action, each in next((dict(a.choices) for a in sub._actions  # `liteship device kit`: its own section
                                  if isinstance(a, argparse._SubParsersAction)), {}).items():
            part = page.split(f'id="liteship-{name}-{action}"', 1)[-1].split('<h', 1)[0]
            missing += [f"liteship {name} {action} {a.dest}" for a in each._actions if a.dest != "help" and not
                        any(f"<code>{o}</code>" in part for o in a.option_strings or [a.dest])]
    assert not missing, missing


def test_api_reference_is_generated_from_docstrings(site):
    """Each object's own docstring reaches the page (its first line, as text: the markup is the page's)."""
    page = (site / "reference" / "api.html").read_text(encoding="utf-8")
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())
    import liteship
    from liteship.workflow import api

    for obj in (liteship.TrainConfig, liteship.BenchOptions, liteship.ModelTable, liteship.Thresholds, api.sweep,
                api.pick, api.open_run, liteship.Run):
        first_line = re.sub(r"`+|:\w+:", "", obj.__doc__.strip().splitlines()[0]).replace("~", "")
        assert " ".join(first_line.split()) in text, obj.__name__
    for name in ("sweep", "pick", "open_run", "train", "optimize", "bench", "gate", "compare", "explain"):
        assert f'id="liteship.workflow.api.{name}"' in page, name


def _shown_commands() -> list[tuple[str, str]]:
    """Every `liteship ...` command line in the docs' shell blocks and inline code, and in the README."""
    found = []
    for path in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        fence = None  # the language of the fenced block the scan is in
        for line in text.replace("\\\n", " ").splitlines():
            if line.lstrip().startswith("```"):
                fence = None if fence is not None else line.strip()[3:] or "text"
            elif fence in ("sh", "bash", "text"):
                found.append((path.name, line.strip()))
            elif fence is None:
                found += [(path.name, span) for span in re.findall(r"`(liteship [^`]+)`", line)]
    return [(name, line) for name, line in found if re.match(r"(\.venv/bin/)?liteship [a-z]+(\s|$)", line)]


def test_every_flag_the_docs_show_is_one_the_command_takes():
    commands = _subcommands(build_parser())
    wrong = []
    shown = _shown_commands()
    assert len(shown) > 30  # the docs show many command lines; a broken scan must not pass by finding none
    for page, line in shown:
        for part in re.split(r"&&|\|\s|;", re.sub(r"\s#.*$", "", line)):  # a shell comment is not a flag
            words = part.split()
            if len(words) < 2 or not words[0].endswith("liteship"):
                continue
            if words[1] not in commands:
                wrong.append(f"{page}: {line} ({words[1]}: no such command)")
                continue
            sub = commands[words[1]]  # `liteship device kit`: the flags of the action's own parser
            nested = next((dict(a.choices) for a in sub._actions if isinstance(a, argparse._SubParsersAction)), {})
            takes = _options(nested.get(words[2], sub) if len(words) > 2 else sub)
            wrong += [f"{page}: {line} ({flag})" for flag in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", part)
                      if flag not in takes]
    assert not wrong, wrong
