"""The run handle: a run directory as Python objects, for a notebook or a script.

:class:`Run` reads the run directory each time a property is asked (so it follows a later ``pick`` or sweep),
through the readers every command uses (:func:`liteship.bench.current_results`, :func:`liteship.rundir.read_manifest`,
:mod:`liteship.judge`), never a parser of its own. In Jupyter a run, a decision and a release show themselves as
HTML: the same decision, variants table and plot as ``report.html`` (:mod:`liteship.report`'s notebook fragment).

A run that cannot be read now (a damaged file, its folder moved or deleted, a command writing it) still shows
itself, with what is wrong written in it; its properties raise the :class:`LiteshipError` that says so.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import fields
from pathlib import Path

from liteship.errors import LiteshipError
from liteship.rundir import (MANIFEST, MARKER, PICKED, RELEASE, RELEASE_FILES, REPORT_HTML, RESULTS, damaged, is_marked,
                             read_json, read_manifest, writer)

TITLE = "liteship sweep"  # the notebook fragment's heading, as a run's report has it


class Unavailable(LiteshipError):
    """A run that cannot be read now, and the words its ``repr`` and notebook HTML show instead (``shown``)."""

    def __init__(self, what: str, why: str, fix: str, shown: str):
        super().__init__(what, why, fix)
        self.shown = shown


def _said(exc: Exception) -> str:
    """What a run, decision or release that cannot be read shows in place of itself."""
    if isinstance(exc, Unavailable):
        return exc.shown
    if isinstance(exc, LiteshipError):
        return f"this run cannot be read: {exc.what.rstrip('.')}; {exc.fix.rstrip('.') or exc.why.rstrip('.')}"
    return f"this run cannot be read: {type(exc).__name__}: {exc}"


def _notice_html(exc: Exception, run_dir: Path) -> str:
    from liteship.report.notebook import notice_html

    return notice_html(TITLE, f"`{run_dir}`: {_said(exc)}")


class Decision:
    """Which variant ships, and what the others trade: a :class:`liteship.judge.Decision` (its attributes are
    this object's: ``chosen``, ``alternatives``, ``misses``, ``budgets``, ``prefer``, ``made_by``, ``tie``) that
    shows itself as the report's decision section in Jupyter."""

    def __init__(self, decision, records, run_dir: str | Path):
        self.judged = decision  # the judge's frozen Decision
        self._records, self._run_dir = records, Path(run_dir)  # records None: the run's current ones, when shown

    def __getattr__(self, name: str):
        if name.startswith("__") or name == "judged":  # "judged" unset: a copy being made, not a decision
            raise AttributeError(name)
        return getattr(self.judged, name)

    @property
    def variant(self) -> str | None:
        """The chosen variant's ID; None when nothing passes every budget."""
        return self.judged.chosen.variant if self.judged.chosen is not None else None

    def __repr__(self) -> str:
        d = self.judged
        if d.chosen is None:
            return f"<Decision: no variant of {d.total} passes every budget (prefer {d.prefer})>"
        vv = d.chosen.verdict
        return f"<Decision: ship {vv.variant} ({vv.model} {vv.recipe}) of {d.total}, prefer {d.prefer}, by {d.made_by}>"

    def _repr_html_(self) -> str:
        from liteship.bench import current_results
        from liteship.report.notebook import notebook_html

        try:
            records = self._records if self._records is not None else current_results(self._run_dir)[0]
            return notebook_html(records, self.judged, (), str(self._run_dir), parts=("decision",))
        except Exception as exc:  # shown, never raised: a notebook shows the object with what is wrong in it
            return _notice_html(exc, self._run_dir)


class Release:
    """``RUN/release/`` as the app team takes it: the files' paths and the manifest's fields as attributes
    (``variant``, ``recipe``, ``float_model``, ``arch``, ``input_size``, ``chosen_by``, ``measured``, ``budgets``,
    ``task_api``, ...; ``manifest`` holds them all). ``decision``: the pick that wrote it, when this object
    comes from :func:`liteship.pick`."""

    def __init__(self, path: str | Path, decision: Decision | None = None):
        self.path = Path(path)
        self.manifest: dict = read_manifest(self.path)
        self.decision = decision

    def __getattr__(self, name: str):
        if name.startswith("_") or name not in self.__dict__.get("manifest", {}):
            raise AttributeError(f"'Release' object has no attribute {name!r}")
        return self.manifest[name]

    @property
    def files(self) -> dict[str, Path]:
        """Each file of the bundle that is there, by name: model.tflite, labels.txt, manifest.json, MODEL.md,
        Classifier.swift."""
        return {name: self.path / name for name in RELEASE_FILES if (self.path / name).is_file()}

    @property
    def model_path(self) -> Path:
        return self.path / self.manifest["model"]["file"]

    @property
    def labels_path(self) -> Path:
        return self.path / self.manifest["labels"]["file"]

    @property
    def classes(self) -> list[str]:
        """The class names in the model's output order (``labels.txt``'s lines)."""
        return list(self.manifest["labels"]["classes"])

    def __repr__(self) -> str:
        m = self.manifest
        try:
            return (f"<Release {self.path}: {m.get('variant')} ({m.get('float_model')} {m.get('recipe')}), "
                    f"{m['model'].get('size_bytes')} bytes, {len(self.classes)} classes>")
        except Exception as exc:  # a manifest.json without the fields pick writes: said, never raised
            return f"<Release {self.path}: its {MANIFEST} cannot be read: {type(exc).__name__}: {exc}>"

    def _repr_html_(self) -> str:
        try:
            return self._html()
        except Exception as exc:  # shown, never raised
            return _notice_html(exc, self.path)

    def _html(self) -> str:
        m = self.manifest
        rows = "".join(f"<tr><td><code>{html.escape(name)}</code></td><td>{path.stat().st_size:,} bytes</td></tr>"
                       for name, path in self.files.items())
        head = (f"<p><b>release/</b> of <code>{html.escape(str(m.get('variant')))}</code>: "
                f"{html.escape(str(m.get('float_model')))} {html.escape(str(m.get('recipe')))}, chosen by "
                f"{html.escape(str(m.get('chosen_by')))}, input {m.get('input_size')} px, "
                f"{len(self.classes)} classes. Folder: <code>{html.escape(str(self.path))}</code></p>")
        table = f"<table><tr><th>file</th><th>size</th></tr>{rows}</table>"
        shown = self.decision._repr_html_() if self.decision is not None else ""
        return f"<div class=\"liteship-release\">{head}{table}{shown}</div>"


class Run:
    """A run directory (``liteship.sweep``'s, ``liteship.open_run``'s): its records, decision, findings and release.

    Every property reads the run directory as it is now: after ``liteship.pick(run)`` the run's ``decision`` and
    ``release`` are the pick's. Nothing here writes. The folder is the one opened (its absolute path, so a later
    ``os.chdir`` changes nothing); moved or deleted, or while a liteship command writes it, the properties raise
    and the run shows what is wrong.
    """

    def __init__(self, path: str | Path, result=None):
        if not isinstance(path, (str, os.PathLike)) or isinstance(os.fspath(path), bytes):  # None, 5, b"..."
            from liteship.config import Problem, Problems

            raise Problems([Problem("path", None, repr(path), "it takes the path of a run directory (text or a "
                                    "pathlib.Path)", "pass the folder given as out to liteship.sweep(data, out)",
                                    python=True)])
        self.path = Path(os.path.abspath(path))
        self.result = result  # the sweep's result (its estimate, time, tracking) when a sweep made this handle
        self._marked = is_marked(self.path)  # what made it a run directory at open: its marker, or results.jsonl
        if not self.path.is_dir() or not (self._marked or (self.path / RESULTS).is_file()):
            what = "does not exist" if not self.path.exists() else "is not a liteship run directory"
            raise LiteshipError(f"{self.path} {what}", "a run directory is a folder a liteship command made (it "
                                "holds .liteship-run) or one with a results.jsonl",
                                "pass the folder given as out to liteship.sweep(data, out) or liteship.train(data, "
                                "out), or to the liteship command")

    def _unavailable(self) -> Unavailable | None:
        """Why the run cannot be read now: its folder gone (or no longer a run), or a command writing it."""
        kept = MARKER if self._marked else RESULTS
        if not self.path.is_dir() or not (self.path / kept).is_file():
            gone = "no longer exists" if not self.path.is_dir() else f"no longer holds {kept}"
            return Unavailable(f"{self.path} {gone} (moved or deleted?)", "this handle reads the folder it was "
                               "opened on, each time it is asked", "open the run where it is now: "
                               "liteship.open_run(path)", f"this run's folder {gone} (moved or deleted?)")
        holder = writer(self.path)
        if holder is not None:
            return Unavailable(f"{self.path} is being written by {holder}", "a decision judges a finished run, "
                               "and a verdict on half-made variants and results would be neither passed nor "
                               "failed", "wait for that command to finish, then ask again (the handle reads the "
                               "run each time)", f"being written by {holder}: the decision is shown when it ends")
        return None

    def _check(self) -> None:
        problem = self._unavailable()
        if problem is not None:
            raise problem

    def _read(self, read):
        """``read()`` of a run that can be read, checked before and after (a command may begin to write it)."""
        self._check()
        value = read()
        self._check()
        return value

    @property
    def records(self):
        """The bench records of the run's current variants (:class:`liteship.bench.BenchRecord`), one per
        (variant, backend, threads); none before anything is benched."""
        from liteship.bench import current_results
        from liteship.bench.results import results_path

        return self._read(lambda: current_results(self.path)[0] if results_path(self.path).is_file() else [])

    @property
    def variants(self) -> list[str]:
        """The current variants' IDs, in the order of their records."""
        return list(dict.fromkeys(r.variant for r in self.records))

    def _judged(self):
        """(records, the judge's decision) under what ``report.html`` was written with: the last pick's budgets and
        preference while its report stands (a pick where nothing passes included), else the default budgets,
        ranked by accuracy (as the sweep's report)."""
        from liteship.judge import DEFAULT_BUDGETS, decide, gate

        records = self.records
        if not records:
            return records, None
        budgets, prefer, made_by = DEFAULT_BUDGETS, "accuracy", "sweep"
        picked = self._read(lambda: last_pick(self.path, records))
        if picked:
            budgets, prefer, made_by = *picked, "pick"
        elif picked is None:  # a run picked before pick.json was written: its release says what the pick judged with
            release = self.release
            if release is not None and release.manifest.get("variant") in {r.variant for r in records}:
                budgets = _budgets((release.manifest.get("budgets") or {}).get("limits") or {})
                prefer, made_by = release.manifest.get("chosen_by"), "pick"
        verdicts = self._read(lambda: gate(self.path, budgets, remeasure=False, records=records))
        return records, decide(records, budgets, prefer, verdicts, made_by=made_by)

    @property
    def decision(self) -> Decision | None:
        """What the run's ``report.html`` decides: the last ``pick``'s budgets and preference (nothing passing
        included), or the default budgets before any pick; nothing is re-measured (``pick`` re-times a latency
        too close to its limit). None before anything is benched."""
        records, judged = self._judged()
        return None if judged is None else Decision(judged, records, self.path)

    @property
    def findings(self) -> list:
        """The report's warnings (:class:`liteship.judge.Finding`), under the decision's budgets."""
        from liteship.judge import findings

        records, judged = self._judged()
        return findings(records, judged.budgets, str(self.path), judged) if judged is not None else []

    @property
    def release(self) -> Release | None:
        """``release/`` when a pick wrote one, else None."""
        return self._read(lambda: Release(self.path / RELEASE) if (self.path / RELEASE / MANIFEST).is_file()
                          else None)

    def to_pandas(self):
        """The records as a :class:`pandas.DataFrame`, one row per record, the columns of ``results.csv``
        (``latency_ms.p50``, ...) with their values as Python objects. Needs pandas (never required otherwise)."""
        try:
            import pandas
        except ImportError:
            raise LiteshipError("to_pandas needs pandas, which is not installed", "liteship itself never needs it",
                                "pip install pandas") from None
        from liteship.bench.results import csv_columns

        rows = []
        for r in self.records:
            row = r.to_dict()
            latency = row.pop("latency_ms") or {}
            rows.append({**row, **{f"latency_ms.{k}": v for k, v in latency.items()}})
        return pandas.DataFrame(rows, columns=csv_columns())

    def __repr__(self) -> str:
        try:
            records, judged = self._judged()
            released = " (released)" if self.release is not None else ""
        except Exception as exc:  # shown, never raised: a notebook shows the run with what is wrong in it
            return f"<Run {self.path}: {_said(exc)}>"
        chosen = (f"; ships {judged.chosen.variant}" if judged is not None and judged.chosen is not None else
                  "; nothing passes" if judged is not None else "")
        return f"<Run {self.path}: {len(dict.fromkeys(r.variant for r in records))} variants, " \
               f"{len(records)} records{chosen}{released}>"

    def _repr_html_(self) -> str:
        from liteship.judge import findings
        from liteship.report.notebook import notebook_html

        try:
            records, judged = self._judged()
            found = findings(records, judged.budgets, str(self.path), judged) if judged is not None else []
            return notebook_html(records, judged, found, str(self.path))
        except Exception as exc:  # shown, never raised
            return _notice_html(exc, self.path)


class Explanation:
    """What a variant computes op by op (``variant``, a :class:`liteship.bench.Explained`) and, with ``vs``, the
    other's and what differs; shown as ``liteship explain`` prints it."""

    def __init__(self, variant, vs=None):
        self.variant, self.vs = variant, vs

    def __str__(self) -> str:
        from liteship.report.explain import render

        return render(self.variant, self.vs)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(str(self))}</pre>"


def _budgets(limits: dict):
    """Budgets from their ``Budgets.to_dict`` (a release manifest's ``limits``, ``pick.json``'s ``budgets``)."""
    from liteship.judge import Budgets

    return Budgets(**{f.name: limits[f.name] for f in fields(Budgets) if f.name in limits})


def record_pick(run_dir: Path, decision, records) -> None:
    """``RUN/pick.json``, written by ``pick`` after its reports: the budgets and preference it judged with, the
    variants it judged and the ``report.html`` it wrote. A pick where nothing passes writes no release, so this is
    how the run handle shows what the report says."""
    from liteship.files import atomic_write_text, sha256_file

    report = Path(run_dir) / REPORT_HTML
    atomic_write_text(Path(run_dir) / PICKED, json.dumps({
        "budgets": decision.budgets.to_dict(), "prefer": decision.prefer,
        "variants": sorted({r.variant for r in records}),
        "report_sha256": sha256_file(report) if report.is_file() else None}, indent=2) + "\n")


def last_pick(run_dir: Path, records) -> tuple | None | bool:
    """(budgets, prefer) of the last pick while the report it wrote stands, of the same variants; False when a
    later command wrote the report again (a sweep: the default budgets); None without ``pick.json``."""
    from liteship.files import sha256_file
    from liteship.judge import PREFERENCES

    path = Path(run_dir) / PICKED
    if not os.path.lexists(path):
        return None
    picked = read_json(path, "liteship pick RUN_DIR")
    report = Path(run_dir) / REPORT_HTML
    if picked.get("variants") != sorted({r.variant for r in records}) or \
            (report.is_file() and picked.get("report_sha256") != sha256_file(report)):
        return False
    if not isinstance(picked.get("budgets"), dict) or picked.get("prefer") not in PREFERENCES:
        raise damaged(path, "its budgets or prefer are not what pick writes", "liteship pick RUN_DIR")
    try:
        return _budgets(picked["budgets"]), picked["prefer"]
    except (TypeError, ValueError) as exc:
        raise damaged(path, f"its budgets are not budgets ({exc})", "liteship pick RUN_DIR") from None
