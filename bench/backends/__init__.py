"""The backend registry: every way liteship runs or analyses a model, each an object that says what it is.

A backend is one of three kinds:

- ``run``: loaded, scored and timed on this machine (:attr:`Backend.open` gives a session);
- ``count``: instructions per invoke on an emulated instruction set (:attr:`Backend.count`), not timed;
- ``coverage``: an analysis of which ops a delegate takes (:attr:`Backend.analyse`), nothing run.

The registry is every module of this package: each defines ``BACKENDS``, a tuple of :class:`Backend`.
Adding a backend is adding one module here, or, outside liteship, one module of the namespace package
``liteship_backends`` (a folder of that name on ``sys.path``). Measurement, findings, budgets, the report
and the release ask the objects (:func:`get`, :func:`names`, :func:`reference`) and never compare names.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass
from typing import Callable

KINDS = ("run", "count", "coverage")


@dataclass(frozen=True)
class Backend:
    """A way to run or analyse a model: what it yields, how to open it, and where its numbers come from."""

    name: str
    kind: str  # one of KINDS
    summary: str  # what it is, for `liteship bench --list` and the records' runtime when it fails
    rank: int  # its place in listings, tables and the "first backend" rules: lower first
    isa: str = "x86_64"  # the instruction set its numbers were measured on
    emulated_time: str = ""  # why its time says nothing of a phone's, where it does not (fp16 on an x86 CPU)
    reference: bool = False  # the app's default path: other backends are compared with it; valgrind counts on it
    in_default: bool = False  # in the default sweep (count backends: when available)
    open: Callable | None = None  # run: (path, threads) -> liteship.runtime.Session
    count: Callable | None = None  # count: (path, inputs, score, input_note) -> instructions, emulation, outputs
    analyse: Callable | None = None  # coverage: (path, model, facts) -> (runtime, status, record fields)
    available: Callable[[], bool] = lambda: True  # installed on this machine (count: its emulator environment)
    unavailable: str = ""  # what to run when it is not available
    release_note: str = ""  # Classifier.swift's comment when a budget requires this delegate

    @property
    def times(self) -> bool:
        return self.kind == "run"

    @property
    def time_stands(self) -> bool:
        """Its latency stands for something: timed, and not an emulation's time."""
        return self.times and not self.emulated_time


@functools.lru_cache(maxsize=1)
def registry() -> dict[str, Backend]:
    """Every backend of every module in this package, by name, in rank order."""
    found: list[Backend] = []
    for module in _modules():
        found += getattr(module, "BACKENDS", ())
    names = [b.name for b in found]
    if len(set(names)) != len(names) or sum(b.reference for b in found) != 1:
        raise RuntimeError(f"backend registry: names must be unique and exactly one must be the reference: {names}")
    return {b.name: b for b in sorted(found, key=lambda b: (b.rank, b.name))}


def _modules():
    """This package's modules, then those of the ``liteship_backends`` namespace package where there is one."""
    for path, prefix in ((__path__, f"{__name__}."), (_namespace_path(), "liteship_backends.")):
        for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
            yield importlib.import_module(prefix + info.name)


def _namespace_path() -> list[str]:
    spec = importlib.util.find_spec("liteship_backends")
    return list(spec.submodule_search_locations or []) if spec is not None else []


def get(name: str) -> Backend:
    return registry()[name]


def names(*kinds: str) -> tuple[str, ...]:
    """The backends of these kinds (all, without any), in rank order."""
    return tuple(n for n, b in registry().items() if not kinds or b.kind in kinds)


def reference() -> Backend:
    """The app's default path, the one other backends are compared with (XNNPACK through the Interpreter)."""
    return next(b for b in registry().values() if b.reference)


def default_backends() -> tuple[str, ...]:
    """What `liteship bench` measures unless told: every run and coverage backend, and the available counts."""
    return tuple(n for n, b in registry().items() if b.kind != "count" or b.available())


def sweep_defaults(*kinds: str) -> tuple[str, ...]:
    """The default sweep's backends of these kinds (all kinds when none is named), in the registry's order."""
    return tuple(n for n, b in registry().items() if b.in_default and (not kinds or b.kind in kinds))


def rank(name: str) -> int:
    """Its place in the registry's order; unknown names last."""
    b = registry().get(name)
    return b.rank if b is not None else 10_000


def find(name: str) -> Backend | None:
    """The backend of that name, or None (a record written by a liteship with other backends)."""
    return registry().get(name)


def time_stands(name: str) -> bool:
    """A latency measured on ``name`` stands for something: timed, not emulated (False for unknown names)."""
    b = find(name)
    return b is not None and b.time_stands
