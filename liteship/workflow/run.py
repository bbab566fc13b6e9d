"""The run handle: a run directory as Python objects, for a notebook or a script.

:class:`Run` reads the run directory each time a property is asked (so it follows a later ``pick`` or sweep),
through the readers every command uses (:func:`liteship.bench.current_results`, :func:`liteship.rundir.read_manifest`,
:mod:`liteship.judge`), never a parser of its own. In Jupyter a run, a decision and a release show themselves as
HTML: the same decision, variants table and plot as ``report.html`` (:mod:`liteship.report`'s notebook fragment).
"""

from __future__ import annotations

import html
from dataclasses import fields
from pathlib import Path

from liteship.errors import LiteshipError
from liteship.rundir import MANIFEST, RELEASE, RELEASE_FILES, RESULTS, is_marked, read_manifest


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

        records = self._records if self._records is not None else current_results(self._run_dir)[0]
        return notebook_html(records, self.judged, (), str(self._run_dir), parts=("decision",))


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
        return (f"<Release {self.path}: {m.get('variant')} ({m.get('float_model')} {m.get('recipe')}), "
                f"{m['model'].get('size_bytes')} bytes, {len(self.classes)} classes>")

    def _repr_html_(self) -> str:
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
    ``release`` are the pick's. Nothing here writes.
    """

    def __init__(self, path: str | Path, result=None):
        self.path = Path(path)
        self.result = result  # the sweep's result (its estimate, time, tracking) when a sweep made this handle
        if not self.path.is_dir() or not (is_marked(self.path) or (self.path / RESULTS).is_file()):
            what = "does not exist" if not self.path.exists() else "is not a liteship run directory"
            raise LiteshipError(f"{self.path} {what}", "a run directory is a folder a liteship command made (it "
                                "holds .liteship-run) or one with a results.jsonl",
                                "pass the --out of a sweep or train (liteship.sweep(data, out) makes one)")

    @property
    def records(self):
        """The bench records of the run's current variants (:class:`liteship.bench.BenchRecord`), one per
        (variant, backend, threads); none before anything is benched."""
        from liteship.bench import current_results
        from liteship.bench.results import results_path

        return current_results(self.path)[0] if results_path(self.path).is_file() else []

    @property
    def variants(self) -> list[str]:
        """The current variants' IDs, in the order of their records."""
        return list(dict.fromkeys(r.variant for r in self.records))

    def _judged(self):
        """(records, the judge's decision): the last pick's budgets and preference when the release is of a
        current variant, else the default budgets, ranked by accuracy (as the sweep's report)."""
        from liteship.judge import DEFAULT_BUDGETS, decide, gate

        records = self.records
        if not records:
            return records, None
        release = self.release
        budgets, prefer, made_by = DEFAULT_BUDGETS, "accuracy", "sweep"
        if release is not None and release.manifest.get("variant") in {r.variant for r in records}:
            budgets, prefer, made_by = _release_budgets(release), release.manifest.get("chosen_by"), "pick"
        verdicts = gate(self.path, budgets, remeasure=False, records=records)
        return records, decide(records, budgets, prefer, verdicts, made_by=made_by)

    @property
    def decision(self) -> Decision | None:
        """What ``pick`` chose (the release's budgets and preference), or would choose under the default budgets
        when there is no release; nothing is re-measured (``pick`` re-times a latency too close to its limit).
        None before anything is benched."""
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
        return Release(self.path / RELEASE) if (self.path / RELEASE / MANIFEST).is_file() else None

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
        records = self.records
        decision = self.decision
        chosen = (f"; ships {decision.variant}" if decision is not None and decision.variant else
                  "; nothing passes" if decision is not None else "")
        released = " (released)" if self.release is not None else ""
        return f"<Run {self.path}: {len(dict.fromkeys(r.variant for r in records))} variants, " \
               f"{len(records)} records{chosen}{released}>"

    def _repr_html_(self) -> str:
        from liteship.judge import findings
        from liteship.report.notebook import notebook_html

        records, judged = self._judged()
        found = findings(records, judged.budgets, str(self.path), judged) if judged is not None else []
        return notebook_html(records, judged, found, str(self.path))


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


def _release_budgets(release: Release):
    """The budgets the release was picked under, as its manifest wrote them (``Budgets.to_dict``)."""
    from liteship.judge import Budgets

    limits = (release.manifest.get("budgets") or {}).get("limits") or {}
    return Budgets(**{f.name: limits[f.name] for f in fields(Budgets) if f.name in limits})
