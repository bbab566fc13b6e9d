"""Typed configs from TOML: a table maps onto a frozen dataclass, strictly.

Unknown keys are an error that lists the valid ones; a value of the wrong
type or a negative number where a limit is expected is an error naming the
key. Used for recipe configs, sweep configs and budgets alike.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from pathlib import Path

from liteship.errors import LiteshipError


def load_toml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise LiteshipError(f"Config file {path} does not exist", "", "check the path")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LiteshipError(f"Config file {path} is not valid TOML: {exc}", "", "fix the syntax at that line") from exc


def liteship_table(path: str | Path, name: str) -> tuple[dict | None, str]:
    """Table ``name`` of ``liteship.toml`` ([name]) or ``pyproject.toml`` ([tool.liteship.name]), and where it is.

    None when the file has no such table; a value there that is not a table is an error.
    """
    path = Path(path)
    doc = load_toml(path)
    if path.name == "pyproject.toml":
        table, where = doc.get("tool", {}).get("liteship", {}).get(name), f"{path} [tool.liteship.{name}]"
    else:
        table, where = doc.get(name), f"{path} [{name}]"
    if table is not None and not isinstance(table, dict):
        raise LiteshipError(f"{where} is not a table", f"{name} settings are a TOML table of keys",
                            f"write it as [{name}] with one key a line")
    return table, where


def _allowed(hint) -> tuple:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return tuple(a for arg in typing.get_args(hint) for a in _allowed(arg))
    if origin is typing.Literal:
        return (("literal", typing.get_args(hint)),)
    if origin in (tuple, list):
        return ((origin, typing.get_args(hint)),)
    return (hint,)


def _coerce(value, hint, key: str, where: str):
    for allowed in _allowed(hint):
        if allowed is type(None) and value is None:
            return None
        if isinstance(allowed, tuple) and allowed[0] == "literal":
            if value in allowed[1]:
                return value
            continue
        if isinstance(allowed, tuple):
            if isinstance(value, (list, tuple)):
                inner = allowed[1][0] if allowed[1] else typing.Any
                if inner is typing.Any:
                    return tuple(value)
                return tuple(_coerce(v, inner, key, where) for v in value)
            continue
        if allowed is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if allowed is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if allowed in (str, bool) and isinstance(value, allowed):
            return value
    expected = " or ".join(str(a[1]) if isinstance(a, tuple) else getattr(a, "__name__", str(a)) for a in _allowed(hint))
    raise LiteshipError(f"{where}: key {key!r} has the wrong type ({type(value).__name__} {value!r})",
                        f"it takes {expected}", f"fix the value of {key}")


def from_mapping(cls, mapping: dict, where: str, non_negative: bool = True):
    """Build the frozen dataclass ``cls`` from ``mapping``; strict about keys and types."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(mapping) - set(fields))
    if unknown:
        raise LiteshipError(f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
                            "valid keys are: " + ", ".join(sorted(fields)), "remove or rename the key")
    missing = sorted(name for name, f in fields.items() if name not in mapping
                     and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
    if missing:
        raise LiteshipError(f"{where}: missing key{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                            "it has no default", f"add {missing[0]} = ...")
    hints = typing.get_type_hints(cls)
    values = {}
    for key, value in mapping.items():
        value = _coerce(value, hints[key], key, where)
        if non_negative and isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            raise LiteshipError(f"{where}: key {key!r} is negative ({value})", "limits and counts cannot be negative",
                                f"give {key} a value of 0 or more")
        values[key] = value
    return cls(**values)
