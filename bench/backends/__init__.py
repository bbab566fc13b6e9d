"""The backend registry: every way liteship runs or analyses a model, each an object that says what it is.

A backend has a :class:`Kind`, and what depends on the kind is said by the kind, never by its name:

- ``run`` (:attr:`Kind.RUN`): loaded, scored and timed on this machine (:attr:`Backend.open` gives a session);
- ``count`` (:attr:`Kind.COUNT`): instructions per invoke (:attr:`Backend.count`), not timed: valgrind's count of
  the reference backend's kernels on this CPU (its count goes on the reference backend's records), or an
  instruction set emulated under QEMU (records of its own);
- ``coverage`` (:attr:`Kind.COVERAGE`): an analysis of which ops a delegate takes (:attr:`Backend.analyse`).

The registry is every module of this package: each defines ``BACKENDS``, a tuple of :class:`Backend`.
Adding a backend is adding one module here, or, outside liteship, one module of the namespace package
``liteship_backends`` (a folder of that name on ``sys.path``). A new kind is a member of :class:`Kind` (or, in
the backend's own module, a :class:`KindBase` of its own). Measurement, findings, budgets, the report and the
release ask the objects (:func:`get`, :func:`names`, :func:`reference`, a kind's traits) and never compare names
or kinds; ``tests/test_architecture.py`` fails on a comparison with a kind's name outside this package.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass
from enum import StrEnum
from typing import Callable

EACH = "each"  # a kind's threads: one record per thread count asked


class KindBase(StrEnum):
    """What a backend yields, and everything that depends on it. A member is its name (the records' ``kind``
    string on disk) with its traits:

    - ``times``: its records carry a latency (they are timed);
    - ``counts``: its records carry instructions per invoke;
    - ``analyses``: its records carry op coverage, nothing run;
    - ``here``: bench makes its records on this machine, so it can measure them again (a phone's own
      measurements, brought in from elsewhere, could not be);
    - ``threads``: the threads of its records: ``EACH`` thread count asked, or the one value they all have
      (1 for a count, None for an analysis).
    """

    def __new__(cls, name: str, times: bool = False, counts: bool = False, analyses: bool = False,
                here: bool = True, threads: int | str | None = None):
        kind = str.__new__(cls, name)
        kind._value_ = name
        kind.times, kind.counts, kind.analyses, kind.here, kind.threads = times, counts, analyses, here, threads
        return kind

    @property
    def per_thread(self) -> bool:
        """A record per thread count: its records are told apart by their threads (``xnnpack_t4``)."""
        return self.threads == EACH

    def record_threads(self, asked: tuple[int, ...]) -> tuple:
        """The threads of the records a bench asked for ``asked`` thread counts makes (none when not ``here``)."""
        if not self.here:
            return ()
        return tuple(asked) if self.per_thread else (self.threads,)

    def label(self, backend: str, threads: int | None) -> str:
        """How a record of this kind is named among a variant's metrics: ``xnnpack_t1``, or ``arm64-a15`` alone."""
        return f"{backend}_t{threads}" if self.per_thread else backend


class Kind(KindBase):
    RUN = "run", True, False, False, True, EACH
    COUNT = "count", False, True, False, True, 1
    COVERAGE = "coverage", False, False, True, True, None


def kind_of(name) -> KindBase:
    """The kind a record's ``kind`` string names: the one place a stored kind is parsed (a kind of a backend
    module of its own included); ValueError, in words, for a name this liteship does not know."""
    if isinstance(name, KindBase):
        return name
    known = {k.value: k for k in Kind} | {b.kind.value: b.kind for b in registry().values()} | \
        {k.value: k for m in _families() for k in getattr(m, "KINDS", ())}
    if name not in known:
        raise ValueError(f"kind = {name!r} is not a kind of backend this liteship knows ({', '.join(known)}); "
                         "it was written by another liteship")
    return known[name]


@dataclass(frozen=True)
class Backend:
    """A way to run or analyse a model: what it yields, how to open it, and where its numbers come from."""

    name: str
    kind: KindBase  # a Kind (its name is taken too: "run", "count", "coverage")
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
    source: str = ""  # where its numbers come from, as the report says it ("x86 CPU, LiteRT's builtin kernels")
    measures: str = ""  # what its numbers are, as the report names them ("latency", "ARM instructions")
    on_reference: bool = False  # a count that goes on the reference backend's one-thread records, none of its
    # own (valgrind's): asked by BenchOptions.instructions, never named in --backends
    inputs: bool = True  # a count runs the images it is given (valgrind feeds its own mid-grey image)
    tools: Callable[[], dict] = dict  # a count: the tools it would be made with here now (its reuse key)
    not_counted: str = "n/a"  # a failed count's reason starts so

    def __post_init__(self):
        object.__setattr__(self, "kind", self.kind if isinstance(self.kind, KindBase) else Kind(self.kind))

    @property
    def times(self) -> bool:
        return self.kind.times

    @property
    def time_stands(self) -> bool:
        """Its latency stands for something: timed, and not an emulation's time."""
        return self.times and not self.emulated_time

    @property
    def own_records(self) -> bool:
        """It makes records of its own (valgrind's count goes on the reference backend's)."""
        return not self.on_reference

    def record_threads(self, asked: tuple[int, ...]) -> tuple:
        """The threads of its records in a bench asked for ``asked`` (none: it has no records of its own here)."""
        return self.kind.record_threads(asked) if self.own_records else ()

    def asked(self, options) -> bool:
        """A count that bench ``options`` (a BenchOptions) ask for."""
        if self.on_reference:
            return bool(options.instructions) and reference().name in options.backends
        return self.kind.counts and self.name in options.backends


@functools.lru_cache(maxsize=1)
def registry() -> dict[str, Backend]:
    """Every backend of every module in this package, by name, in rank order."""
    found: list[Backend] = []
    for module in _modules():
        found += getattr(module, "BACKENDS", ())
    names = [b.name for b in found]
    if len(set(names)) != len(names) or sum(b.reference for b in found) != 1 or \
            any(b.on_reference and not b.kind.counts for b in found):
        raise RuntimeError(f"backend registry: names must be unique exactly one must be the reference, and only a count goes on its records: {names}")
    return {b.name: b for b in sorted(found, key=lambda b: (b.rank, b.name))}


def _modules():
    """This package's modules, then those of the ``liteship_backends`` namespace package where there is one."""
    for path, prefix in ((__path__, f"{__name__}."), (_namespace_path(), "liteship_backends.")):
        for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
            yield importlib.import_module(prefix + info.name)


def _namespace_path() -> list[str]:
    spec = importlib.util.find_spec("liteship_backends")
    return list(spec.submodule_search_locations or []) if spec is not None else []


@functools.lru_cache(maxsize=1)
def _families() -> tuple:
    """The modules that make backends from their names (``resolve``): ``device:iphone-13``, a backend a run's
    results name that no module declares."""
    return tuple(m for m in _modules() if callable(getattr(m, "resolve", None)))


def _resolved(name) -> Backend | None:
    return next((b for m in _families() if (b := m.resolve(name)) is not None), None)


def get(name: str) -> Backend:
    found = find(name)
    if found is None:
        raise KeyError(name)
    return found


class Names(tuple):
    """Backend names that also hold every name a family of backends makes (``device:iphone-13``) for which
    ``where`` holds: what a budget may name."""

    where: Callable[[Backend], bool] | None = None

    def __contains__(self, name) -> bool:
        if tuple.__contains__(self, name):
            return True
        b = _resolved(name) if isinstance(name, str) else None
        return b is not None and (self.where is None or self.where(b))


def judged(where: Callable[[Backend], bool] | None = None) -> Names:
    """:func:`names`, and any backend a family makes from its name (a device's imported measurements), for which
    ``where`` holds: the names a budget may judge on."""
    found = Names(names(where))
    found.where = where
    return found


def names(where: Callable[[Backend], bool] | None = None) -> tuple[str, ...]:
    """The backends with records of their own (those --backends names) for which ``where`` holds (all without
    it), in rank order."""
    return tuple(n for n, b in registry().items() if b.own_records and (where is None or where(b)))


def on_reference() -> tuple[Backend, ...]:
    """The counts that go on the reference backend's records (valgrind's), in rank order."""
    return tuple(b for b in registry().values() if b.on_reference)


def measured_by(record) -> tuple[Backend, ...]:
    """The backends whose numbers a record holds: its own, and a count that went on it (valgrind's on the
    reference backend's records); none for a backend this liteship does not know."""
    own = find(record.backend)
    counted = record.instructions is not None and not record.kind.counts
    return ((own,) if own is not None else ()) + tuple(
        c for c in on_reference() if counted and c.isa == getattr(record.instructions, "isa", c.isa))


def reference() -> Backend:
    """The app's default path, the one other backends are compared with (XNNPACK through the Interpreter)."""
    return next(b for b in registry().values() if b.reference)


def default_backends() -> tuple[str, ...]:
    """What `liteship bench` measures unless told: every backend it measures here that is available."""
    return names(lambda b: b.kind.here and b.available())


def sweep_defaults(where: Callable[[Backend], bool] | None = None) -> tuple[str, ...]:
    """The default sweep's backends for which ``where`` holds (all without it), in the registry's order."""
    return tuple(n for n in names(where) if get(n).in_default)


def rank(name: str) -> int:
    """Its place in the registry's order; unknown names last."""
    b = find(name)
    return b.rank if b is not None else 10_000


def find(name: str) -> Backend | None:
    """The backend of that name (one a family makes from its name included), or None (a record written by a
    liteship with other backends)."""
    found = registry().get(name)
    return found if found is not None else _resolved(name)


def time_stands(name: str) -> bool:
    """A latency measured on ``name`` stands for something: timed, not emulated (False for unknown names)."""
    b = find(name)
    return b is not None and b.time_stands
