"""Typed configs from TOML: a table maps onto a frozen dataclass, strictly, and every problem is found at once.

Unknown keys, missing keys, values of the wrong kind and values out of range
each become a :class:`Problem` that names the file and table, the key, the
value given (as it was written, never as a Python repr), what is allowed and a
fix. :func:`check_mapping` collects them; :func:`from_mapping` raises them all
together as :class:`Problems`. A field's range lives in its metadata
(:func:`setting`): ``min``, ``max``, ``choices`` (a tuple, or a function that returns one
when the value is checked: a registry that modules add to), ``non_empty``.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import functools
import json
import math
import re
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path

from liteship.errors import LiteshipError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, in the user's words."""

    where: str  # "sweep.toml [bench]", "--batch-size", "the data path"
    key: str | None  # "threads", or None when ``where`` says it all
    given: str  # the value as written: 0, "int8", a table, ...
    allowed: str  # what would be accepted
    fix: str
    count: int = 1  # how many problems this line stands for ("and 1,499,980 more unknown keys": one line)
    python: bool = False  # a Python call's argument: ``where`` its name (workers, config.epochs), said ``where=given``

    def line(self) -> str:
        place = f"{self.where} {self.key}" if self.key else self.where
        fix = self.fix if self.fix.endswith(("?", ".")) else self.fix + "."
        head = f"{place}{'=' if self.python else ' = '}{self.given}" if self.given else place
        body = f": {self.allowed.rstrip('.')}" if self.allowed else ""
        return f"{head}{body}. Fix: {fix}"


SHOWN_PROBLEMS = 20  # problem lines printed; the rest are counted ("and N more")
COLLECTED_KEYS = 100  # unknown keys of one table made into problems; the rest become one counted problem


class Problems(LiteshipError):
    """Every problem found in the input, raised together before any work starts (exit 2)."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("")

    def __reduce__(self):
        """Pickled and copied with its problems (a process pool, joblib or Ray sends it back to the parent):
        rebuilt from them, not from ``args`` (the message), which this ``__init__`` does not take."""
        return type(self), (self.problems,), self.__dict__

    @property
    def message(self) -> str:
        n = sum(p.count for p in self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the input; nothing was started or written"
        shown = self.problems[:SHOWN_PROBLEMS]
        rest = n - sum(p.count for p in shown)
        more = [f"  - and {rest} more problem{'s' if rest != 1 else ''} like these"] if rest else []
        return head + ":\n" + "\n".join([f"  - {p.line()}" for p in shown] + more)


def setting(default, *, lo=None, hi=None, choices=None, non_empty: bool = False):
    """A dataclass field with its allowed range, checked by :func:`check_mapping`."""
    meta = {k: v for k, v in (("min", lo), ("max", hi), ("choices", choices)) if v is not None}
    if non_empty:
        meta["non_empty"] = True
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple default")
    return dataclasses.field(default=default, metadata=meta)


def field_of(cls, name: str):
    """A field with the default and range of ``cls``'s field ``name``: a table that takes the same setting."""
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    return dataclasses.field(default=f.default, metadata=f.metadata)


def limits(cls, name: str) -> tuple:
    """(min, max) of ``cls``'s field ``name``, as :func:`setting` gave them (None where unbounded)."""
    meta = next(f for f in dataclasses.fields(cls) if f.name == name).metadata
    return meta.get("min"), meta.get("max")


def range_problems(obj, names: dict) -> list[Problem]:
    """Every field of the dataclass ``obj`` outside its :func:`setting` range; ``names[field]``: (where, key)."""
    out = []
    for f in dataclasses.fields(obj):
        value, (lo, hi) = getattr(obj, f.name), (f.metadata.get("min"), f.metadata.get("max"))
        if f.name in names and isinstance(value, (int, float)) and not isinstance(value, bool) and \
                ((lo is not None and value < lo) or (hi is not None and value > hi)):
            out.append(Problem(*names[f.name], describe(value), f"it must be from {lo} to {hi}",
                               f"give {f.name.replace('_', ' ')} a value in that range"))
    return out


def describe(value) -> str:
    """A TOML value as a person wrote it: 3, 0.5, true, "int8", a list [1, 2], a table."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, (int, float)):
        text = repr(value) if not (isinstance(value, float) and math.isinf(value)) else ("inf" if value > 0 else "-inf")
        return text if len(text) <= 40 else text[:37] + "..."
    if isinstance(value, str):
        # JSON escapes C0 controls; DEL and C1 (U+009B is a terminal's CSI) are escaped too, never printed raw
        text = re.sub("[\x7f-\x9f]", lambda m: f"\\u{ord(m.group()):04x}", json.dumps(value, ensure_ascii=False))
        return text if len(text) <= 160 else text[:100] + "..." + text[-50:]
    if isinstance(value, (list, tuple)):
        items = ", ".join(describe(v) for v in value[:4]) + (", ..." if len(value) > 4 else "")
        return f"[{items}]"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (datetime.date, datetime.time, datetime.datetime)):
        return f"a date or time {value.isoformat()}"
    return "a value of another kind"


def _words(hint) -> str:
    """What a type hint accepts, in words."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(w for w in (_words(a) for a in typing.get_args(hint) if a is not type(None)) if w)
    if origin is typing.Literal:
        return "one of " + ", ".join(describe(v) for v in typing.get_args(hint))
    if origin in (tuple, list):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return f"a list of {_plural(args[0]) if args else 'values'}"
    return {int: "a whole number", float: "a number", str: "text", bool: "true or false", dict: "a table",
            list: "a list"}.get(hint, "a table of its own keys" if dataclasses.is_dataclass(hint) else "a value")


def _plural(hint) -> str:
    return {int: "whole numbers", float: "numbers", str: "text values", bool: "true/false values"}.get(
        hint, _words(hint))


class _Wrong(Exception):
    """A value that does not fit its hint; ``fix`` is a hint-specific way out, when there is one."""

    def __init__(self, fix: str = ""):
        self.fix = fix
        super().__init__(fix)


def _coerce_union(value, hint):
    fixes = []
    for arg in typing.get_args(hint):
        if arg is type(None):
            if value is None:
                return None
            continue
        try:
            return _coerce(value, arg)
        except _Wrong as exc:
            fixes.append(exc.fix)
    raise _Wrong(next((f for f in fixes if f), ""))


def _coerce_list(value, hint):
    if isinstance(value, str):  # "int8,float32", as on the command line, is two values, not one
        parts = [p.strip() for p in value.split(",") if p.strip()] if "," in value else [value]
        raise _Wrong(f"write it as a list: {json.dumps(parts or [value], ensure_ascii=False)}")
    if not isinstance(value, (list, tuple)):
        raise _Wrong("write it as a list in square brackets")
    inner = [a for a in typing.get_args(hint) if a is not Ellipsis]
    return tuple(_coerce(v, inner[0]) for v in value) if inner else tuple(value)


def _coerce_scalar(value, hint):
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise _Wrong("give a finite number")
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is int and isinstance(value, float) and value.is_integer():
        raise _Wrong(f"write it without a decimal point: {int(value)}")
    if hint in (str, bool) and isinstance(value, hint):
        return value
    if hint in (dict, list) and isinstance(value, hint):
        return value
    if dataclasses.is_dataclass(hint) and isinstance(value, hint):
        return value
    raise _Wrong()


def _coerce(value, hint):
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return _coerce_union(value, hint)
    if origin is typing.Literal:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and value in typing.get_args(hint):
            return value
        raise _Wrong()
    if origin in (tuple, list):
        return _coerce_list(value, hint)
    return _coerce_scalar(value, hint)


def _range_problem(value, given, meta: dict, non_negative: bool, key: str, default) -> tuple[str, str] | None:
    """(what is allowed, a fix) when a well-typed value is out of range; None when it is fine.

    ``given``: the value as written (3, not 3.0), for the message.
    """
    items = value if isinstance(value, tuple) else (value,)
    written = list(given) if isinstance(given, (list, tuple)) else [given]
    if meta.get("non_empty") and isinstance(value, tuple) and not value:
        return "the list must not be empty", f"list at least one value, e.g. {key} = {describe(default)}"
    if meta.get("non_empty") and isinstance(value, str) and not value.strip():
        return "it must not be empty", f"give {key} a value, or leave the key out"
    lo = meta.get("min", 0 if non_negative else None)
    hi = meta.get("max")
    span = (f"from {lo} to {hi}" if lo is not None and hi is not None else f"of {lo} or more" if lo is not None
            else f"of {hi} or less")
    for v, w in zip(items, written):
        if isinstance(v, (int, float)) and not isinstance(v, bool) and \
                ((lo is not None and v < lo) or (hi is not None and v > hi)):
            return f"{describe(w)} is out of range: values {span}", f"give {key} values {span}"
        choices = meta["choices"]() if callable(meta.get("choices")) else meta.get("choices")
        if choices is not None and v not in choices:
            allowed = ", ".join(describe(c) for c in choices)
            return f"{describe(w)} is not one of {allowed}", f"use values from: {allowed}"
    return None


def more_problems(where: str, found: int, what: str) -> list[Problem]:
    """One counted problem for the ``found`` past :data:`COLLECTED_KEYS` (none when there are no more)."""
    rest = found - COLLECTED_KEYS
    return [Problem(where, None, "", f"and {rest} more {what}", "remove them", count=rest)] if rest > 0 else []


def _key_problems(fields: dict, mapping: dict, where: str) -> list[Problem]:
    out = []
    unknown = [key for key in mapping if key not in fields]
    for key in unknown[:COLLECTED_KEYS]:
        close = difflib.get_close_matches(str(key), list(fields), n=1)
        out.append(Problem(where, str(key), describe(mapping[key]), "there is no such key; valid keys: "
                           + ", ".join(sorted(fields)), f"did you mean {close[0]}?" if close else "remove it"))
    out += more_problems(where, len(unknown), "keys that are not valid keys either")
    for name, f in fields.items():
        if name not in mapping and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            out.append(Problem(where, name, "missing", "this key is required", f"add {name} = ..."))
    return out


@functools.lru_cache(maxsize=None)
def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def check_mapping(cls, mapping, where: str, problems: list[Problem], non_negative: bool = True,
                  partial: bool = False):
    """``cls`` built from ``mapping``, or None; every problem found is appended to ``problems``.

    ``partial``: build it from the keys that are right even when others are wrong (when every field has a
    default), so later checks can still run on them.
    """
    if not isinstance(mapping, dict):
        problems.append(Problem(where, None, describe(mapping), "this must be a table of keys",
                                f"write it as a table: {where.rsplit(' ', 1)[-1]} with one key a line"))
        return None
    fields = {f.name: f for f in dataclasses.fields(cls)}
    found = _key_problems(fields, mapping, where)
    hints = _hints(cls)
    values = {}
    for key, value in mapping.items():
        if key not in fields:
            continue
        try:
            coerced = _coerce(value, hints[key])
        except _Wrong as exc:  # a whole number written 0.0 that is out of range anyway: its range said too
            span = _range_problem(int(value), value, dict(fields[key].metadata), non_negative, key, None) \
                if isinstance(value, float) and exc.fix.startswith("write it without a decimal point") else None
            found.append(Problem(where, key, describe(value), f"it takes {_words(hints[key])}" +
                                 (f"; {span[0]}" if span else ""), span[1] if span else
                                 exc.fix or f"give {key} {_words(hints[key])}"))
            continue
        wrong = _range_problem(coerced, value, dict(fields[key].metadata), non_negative, key, fields[key].default)
        if wrong:
            found.append(Problem(where, key, describe(value), *wrong))
            continue
        values[key] = coerced
    problems.extend(found)
    if not found:
        return cls(**values)
    try:
        return cls(**values) if partial else None
    except TypeError:  # a required key is missing
        return None


def from_mapping(cls, mapping: dict, where: str, non_negative: bool = True):
    """Build the frozen dataclass ``cls`` from ``mapping``; every problem raised together."""
    problems: list[Problem] = []
    built = check_mapping(cls, mapping, where, problems, non_negative)
    if problems:
        raise Problems(problems)
    return built


MAX_TOML_BYTES = 2 * 1024**2  # a liteship config is a few KB, a pyproject.toml rarely 100
MAX_TOML_DEPTH = 32  # liteship's tables nest 3 deep; tomllib recurses once a level


def _depth(value) -> int:
    """How deep lists and tables nest in a parsed document, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_TOML_DEPTH:
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else
                                                  item if isinstance(item, list) else ()))
    return deepest


def load_toml(path: str | Path) -> dict:
    """A TOML file the user gave, read only when it is a regular file (:func:`liteship.files.open_regular`).

    A UTF-8 byte-order mark is skipped; a document nested deeper than :data:`MAX_TOML_DEPTH` is refused.
    """
    from liteship.files import read_regular

    path = Path(path)
    raw = read_regular(path, "Config file", MAX_TOML_BYTES)
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise LiteshipError(f"Config file {path} is not UTF-8 text (byte {exc.start} is not)", "TOML files are UTF-8",
                            "save it as UTF-8") from exc
    try:
        doc = tomllib.loads(text)
    except RecursionError:
        doc = None
    except tomllib.TOMLDecodeError as exc:
        raise LiteshipError(f"Config file {path} is not valid TOML: {exc}", "", "fix the syntax at that line") from exc
    if doc is None or _depth(doc) > MAX_TOML_DEPTH:
        raise LiteshipError(f"Config file {path} nests lists or tables more than {MAX_TOML_DEPTH} levels deep",
                            "liteship's settings nest three levels at most, and a document this deep is not a "
                            "liteship config", "check the file")
    return doc


LITESHIP_TABLES = ("budgets", "compare", "train", "models", "optimize", "bench", "track")


def liteship_table(path: str | Path, name: str) -> tuple[dict | None, str]:
    """Table ``name`` of ``liteship.toml`` ([name]) or ``pyproject.toml`` ([tool.liteship.name]), and where it is.

    None when the file has no such table; a value there that is not a table is an error.
    """
    path = Path(path)
    doc = load_toml(path)
    if path.name == "pyproject.toml":
        tool = doc.get("tool", {})
        ours = tool.get("liteship", {}) if isinstance(tool, dict) else {}
        ours = ours if isinstance(ours, dict) else {}
        table, where, prefix = ours.get(name), f"{path} [tool.liteship.{name}]", "tool.liteship."
    else:
        ours, table, where, prefix = doc, doc.get(name), f"{path} [{name}]", ""
    unknown = [k for k, v in ours.items() if isinstance(v, (dict, list)) and k not in LITESHIP_TABLES]
    if unknown:
        raise Problems([Problem(str(path), f"[{prefix}{k}]", "a table", "liteship reads the tables "
                                + ", ".join(f"[{prefix}{t}]" for t in LITESHIP_TABLES) + ", and this one is none of "
                                "them", f"did you mean [{prefix}{close[0]}]?" if close else "remove it or rename it")
                        for k in unknown[:COLLECTED_KEYS]
                        for close in [difflib.get_close_matches(k, LITESHIP_TABLES, n=1)]]
                       + more_problems(str(path), len(unknown), "tables liteship does not read"))
    if table is not None and not isinstance(table, dict):
        raise Problems([Problem(str(path), name, describe(table), f"{name} must be a table of keys",
                                f"write it as [{name}] with one key a line")])
    return table, where
