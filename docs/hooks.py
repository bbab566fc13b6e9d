"""MkDocs hooks: the command-line reference is rendered from the parser itself, so it cannot drift from it, and
the API reference reads the source as the package installs it.

``reference/cli.md`` holds the marker ``<!-- cli-reference -->``; :func:`on_page_markdown` replaces it with one
section per subcommand of :func:`liteship.app.cli.build_parser`: its description, its usage line and a table of
its arguments (flags, what they take, the default, the help text).
"""

from __future__ import annotations

import argparse
import atexit
import re
import shutil
import tempfile
import tomllib
from pathlib import Path

from mkdocs.plugins import event_priority

MARKER = "<!-- cli-reference -->"
# The docstrings cross-reference in Sphinx's roles (:class:`~liteship.x.Y`), which Markdown leaves as text
# before the code span: the role goes, and a leading ~ keeps only the last name, as Sphinx shows it.
ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj):<code>(~?)([^<]*)</code>")
WIDTH = 76  # usage lines wrap here (the page's code blocks hold about 80 columns), whatever the terminal that builds the site


def _subparsers(parser: argparse.ArgumentParser) -> tuple[dict, dict]:
    """The subcommands' parsers by name, and each one's one-line help."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            return dict(action.choices), helps
    return {}, {}


def _usage(parser: argparse.ArgumentParser) -> str:
    formatter = argparse.HelpFormatter(parser.prog, width=WIDTH)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return formatter.format_help().strip()


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _takes(action: argparse.Action) -> str:
    if action.choices and not isinstance(action, argparse._SubParsersAction):
        return " \\| ".join(f"`{c}`" for c in action.choices)
    if action.nargs == 0:
        return "(a switch)"
    metavar = action.metavar or (action.dest.upper() if action.option_strings else action.dest)
    return f"`{metavar}`"


def _default(action: argparse.Action) -> str:
    d = action.default
    if d is None or d is False or d is argparse.SUPPRESS or action.required or action.nargs == 0:
        return ""
    if isinstance(d, (tuple, list)):
        d = ",".join(str(x) for x in d)
    return f"`{d}`"


def _argument_rows(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| argument | takes | default | what it does |", "| --- | --- | --- | --- |"]
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        names = ", ".join(f"`{s}`" for s in action.option_strings) or f"`{action.dest}`"
        if action.required and action.option_strings:
            names += " (required)"
        text = (action.help or "") % {**vars(action), "prog": parser.prog} if action.help else ""
        rows.append(f"| {names} | {_takes(action)} | {_default(action)} | {_cell(text)} |")
    return rows


def render_cli(parser: argparse.ArgumentParser) -> str:
    """The reference of every subcommand of ``parser`` as Markdown."""
    subs, helps = _subparsers(parser)
    out = [f"```\n{_usage(parser)}\n```", "", *_argument_rows(parser), "", "| command | what it does |",
           "| --- | --- |"]
    out += [f"| [`{parser.prog} {name}`](#{parser.prog}-{name}) | {_cell(helps.get(name, ''))} |" for name in subs]
    for name, sub in subs.items():
        out += _section(f"{parser.prog} {name}", sub)
        actions, action_helps = _subparsers(sub)  # a command of commands (`liteship device kit`): a section each
        out += [f"- [`{parser.prog} {name} {a}`](#{parser.prog}-{name}-{a}): {_cell(action_helps.get(a, ''))}"
                for a in actions]
        for action, each in actions.items():
            out += _section(f"{parser.prog} {name} {action}", each, "###")
    return "\n".join(out) + "\n"


def _section(title: str, sub: argparse.ArgumentParser, level: str = "##") -> list[str]:
    out = ["", f"{level} `{title}` {{#{title.replace(' ', '-')}}}", ""]
    if sub.description:
        out += [_cell(sub.description), ""]
    return out + [f"```\n{_usage(sub)}\n```", "", *_argument_rows(sub), ""]


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER not in markdown:
        return markdown
    from liteship.app.cli import build_parser

    return markdown.replace(MARKER, render_cli(build_parser()))


def _role(match: re.Match) -> str:
    name = match.group(2).rsplit(".", 1)[-1] if match.group(1) else match.group(2)
    return f"<code>{name}</code>"


def on_page_content(html: str, page, config, files) -> str:
    return ROLE.sub(_role, html)


def package_tree(root: Path, dest: Path) -> Path:
    """A tree of symbolic links laid out as the package installs: pyproject.toml's package-dir maps the top-level
    folders trainer/, optimize/ and bench/ to liteship.trainer and so on, which a read of the source tree alone
    cannot follow. mkdocstrings reads the source there, importing nothing."""
    dirs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    top = dest / "liteship"
    top.mkdir(parents=True)
    for entry in (root / dirs["liteship"]).iterdir():
        if entry.name != "__pycache__":
            (top / entry.name).symlink_to(entry.resolve())
    for name, folder in dirs.items():
        if name.startswith("liteship."):
            (top / name.split(".", 1)[1]).symlink_to((root / folder).resolve())
    return dest


@event_priority(100)  # before mkdocstrings reads its handlers' settings
def on_config(config):
    root = Path(config.config_file_path).resolve().parent
    tree = Path(tempfile.mkdtemp(prefix="liteship-docs-"))
    atexit.register(shutil.rmtree, tree, ignore_errors=True)
    python = config.plugins["mkdocstrings"].config.handlers.setdefault("python", {})
    python["paths"] = [str(package_tree(root, tree))]
    return config
