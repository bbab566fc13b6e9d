"""Problems said in the Python API's words: ``workers=0``, ``config.epochs=0``, ``target='x.tflite'``.

The checks (:mod:`liteship.workflow.checks`) name a problem's place as the CLI spells it (``--workers``,
``TARGET``, ``config [bench]``), and the CLI prints those words unchanged. A Python caller gave arguments, not
flags, so :func:`in_python_words` renders each problem again: its place as the argument (or the field of a settings
object) the caller wrote, its value as Python writes it (``repr`` of what was passed), and the flags named in its
text as keyword arguments (``pass --workers 2`` becomes ``pass workers=2``). A file's problems keep the file, table
and key (the caller wrote those in the file).

Which flag is which request field comes from one table, :func:`flag_fields`, derived from the request classes: a
field ``fine_tune_at`` is the flag ``--fine-tune-at`` and a positional ``run_dir`` is ``RUN_DIR`` (the request's
field names follow the flags), and the fields of a request's settings object (``TrainRequest.config``,
``BenchRequest.options``) are flags of their own (``--epochs`` is ``config.epochs``).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from liteship.config import Problem

REQUEST_ONLY = ("command", "writes", "flag_problems", "list_only", "given")  # fields a caller never sets
NESTED = {"config", "options"}  # request fields whose settings object's fields are flags of their own
# Words that follow a flag in the checks' text and are not its value ("--workers sets the local executor's ...").
_NOT_VALUES = frozenset("a an and are as asks at be describes failed file finds first for goes hold holds in is it "
                        "must names of on only or sets takes the to too was when with".split())


def flag_fields(request_cls) -> dict[str, str]:
    """Each name the CLI gives a field of ``request_cls`` (``--fine-tune-at``, ``RUN_DIR``) -> the field's path in
    the request (``fine_tune_at``, ``run_dir``, ``config.epochs`` for a field of its settings object)."""
    out = {}
    for f in dataclasses.fields(request_cls):
        if f.name in REQUEST_ONLY:
            continue
        out[f.name.upper()] = out[f"--{f.name.replace('_', '-')}"] = f.name
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else None
        if f.name in NESTED and dataclasses.is_dataclass(default):
            out.update({f"--{g.name.replace('_', '-')}": f"{f.name}.{g.name}" for g in dataclasses.fields(default)})
    return out


def spell(value) -> str:
    """A value as Python writes it (a path as the str it stands for, shortened past 160 characters)."""
    text = f"Path({str(value)!r})" if isinstance(value, Path) else repr(value)
    return text if len(text) <= 160 else text[:100] + "..." + text[-50:]


def _value(token: str) -> str:
    """A flag's value in a message (``2``, ``ray``, ``runs/demo``, ``NAME``) as a keyword argument's."""
    if re.fullmatch(r"-?\d+(\.\d+)?|[A-Z][A-Z_]*|\.\.\.|\{.*\}", token):
        return token
    return repr(token)


def words(text: str, names: dict[str, str]) -> str:
    """``text`` with each CLI name in ``names`` (flag -> the caller's argument) said as the argument: ``--workers 2``
    as ``workers=2``, ``--address`` as ``address``, ``RUN_DIR`` as ``run``. Command lines (in backticks, or after
    ``liteship <command>``) are left as they are."""
    if not text or not names:
        return text
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w-])({alternatives})(?![\w-])(?:[ =]([^\s,;:()`'\"]+))?")

    def one(match: re.Match) -> str:
        name, token = names[match.group(1)], match.group(2)
        if token is None or not match.group(1).startswith("--") or token.rstrip(".") in _NOT_VALUES:
            return name + match.group(0)[len(match.group(1)):]
        end = "." if token.endswith(".") and len(token) > 1 and not token.endswith("...") else ""
        return f"{name}={_value(token[:-1] if end else token)}{end}"

    parts = re.split(r"(`[^`]*`|liteship [a-z]+[^,;)]*)", text)
    return "".join(part if i % 2 else pattern.sub(one, part) for i, part in enumerate(parts))


def _walk(root, path: str):
    """The value at ``path`` (``bench.threads``, ``models[0].size``, ``['int8'].target_sparsity``) in ``root``."""
    value = root
    for attr, index, key in re.findall(r"\.?(\w+)|\[(\d+)\]|\['([^']*)'\]", path):
        value = getattr(value, attr) if attr else value[int(index)] if index else value[key]
    return value


class Caller:
    """What a Python call named: ``args``, each argument's name -> the value passed (``run``, ``workers``,
    ``config``); ``renames``, a request field -> the argument that fills it (``run_dir`` -> ``run``, ``config.epochs``
    -> ``epochs`` when given as a keyword); ``tables``, how a settings object's TOML tables are its fields."""

    def __init__(self, request, args: dict, renames: dict | None = None, tables=None):
        self.request, self.args, self.renames = request, args, dict(renames or {})
        self.flags = flag_fields(type(request))
        self.tables = tables

    def argument(self, field: str) -> tuple[str, object]:
        """(the caller's name for the request field ``field``, the value it took)."""
        name = self.renames.get(field, field)
        head, _, rest = name.partition(".")
        if head in self.args:
            try:
                return name, _walk(self.args[head], rest) if rest else self.args[head]
            except (AttributeError, IndexError, KeyError, TypeError):
                pass
        return name, _walk(self.request, field)

    def said(self) -> dict[str, str]:
        """Each CLI name -> the caller's name, for the text of the problems; another command's flags
        (``--out`` in optimize's "the folder a sweep or train wrote (--out)") by their field's name."""
        from liteship.workflow.requests import REQUESTS

        other = {flag: field for cls in REQUESTS.values() for flag, field in flag_fields(cls).items()
                 if flag.startswith("--")}
        return {**{flag: field.rpartition(".")[2] for flag, field in other.items()},
                **{flag: self.renames.get(field, field) for flag, field in self.flags.items()}}

    def object_place(self, problem: Problem) -> str | None:
        """A settings object's field the problem names, as a Python path (``config.bench.threads``)."""
        match = re.fullmatch(r"(config|budgets|thresholds|options)(?: \[(\[?)([^\]]+)\]?\](?: #(\d+))?)?",
                             problem.where)
        if match is None or isinstance(self.args.get(match.group(1), ""), (str, Path)):
            return None  # a file's problem (config="sweep.toml"): its file, table and key, as the caller wrote them
        head, table, number = match.group(1), match.group(3), match.group(4)
        place = head + (self.tables(table, number) if table and self.tables else f".{table}" if table else "")
        key = (problem.key or "").strip("[]")
        if problem.key and problem.key.startswith("["):
            return place + (self.tables(key, None) if self.tables else f".{key}")
        return place + (f".{key}" if key else "")


def sweep_tables(table: str, number: str | None) -> str:
    """A SweepConfig's tables as its fields: ``[bench]`` is ``.bench``, ``[[models]] #2`` is ``.models[1]``,
    ``[optimize.int8]`` is ``.recipe_configs['int8']``."""
    if number is not None:
        return f".{table}[{int(number) - 1}]"
    recipe = table.removeprefix("optimize.")
    return f".recipe_configs[{recipe!r}]" if recipe != table else f".{table}"


def recipe_tables(config):
    """optimize's ``config`` (a dict recipe -> config, or a list of configs): ``[int8]`` is ``['int8']`` of a
    dict, ``[0]`` the first item of a list."""
    def place(table: str, number: str | None) -> str:
        return f"[{int(table)}]" if table.isdigit() else f"[{table!r}]"
    return place if isinstance(config, (dict, list, tuple)) else None


def in_python_words(problems: list[Problem], caller: Caller) -> list[Problem]:
    """``problems`` as a Python caller reads them: each place the argument or settings field the caller wrote, its
    value as Python writes it, the flags in its text as keyword arguments."""
    said = caller.said()
    out = []
    for p in problems:
        text = dict(allowed=words(p.allowed, said), fix=words(p.fix, said))
        if p.python:
            out.append(p)
        elif p.key is None and p.where in caller.flags:
            name, value = caller.argument(caller.flags[p.where])
            out.append(Problem(name, None, spell(value), python=True, count=p.count, **text))
        elif (place := caller.object_place(p)) is not None:
            try:
                given = _object_value(caller, place)
            except (AttributeError, IndexError, KeyError, TypeError):
                given = p.given
            out.append(Problem(place, None, given, python=True, count=p.count, **text))
        else:
            out.append(dataclasses.replace(p, **text))
    return out


def _object_value(caller: Caller, place: str) -> str:
    """The value at ``place`` (``config.bench.threads``) in what the caller passed, as Python writes it."""
    head = re.match(r"\w+", place).group()
    return spell(_walk(caller.args[head], place[len(head):]))
