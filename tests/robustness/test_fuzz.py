"""Generated inputs on every surface: sweep configs, budgets, recipe tables, CLI flags, results files.

Each case is labelled valid or invalid by the rules in ``fuzz_inputs`` (written from the README, not from
liteship's validators). Properties: an invalid one exits 2 naming the offending key or flag, with no traceback
or Python internals, and writes nothing; a valid one passes validation. How long validation takes is recorded
here (``LITESHIP_FUZZ_STATS=1`` prints cases, defect kinds and the slowest per surface) and held to its 1 s
target in ``tests/perf/test_validation_perf.py``, not asserted here: these machines are shared. The fast profile
runs by default; ``-m slow`` runs 2,000 cases a surface. Hypothesis keeps no database (nothing in the repo).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings

from liteship.workflow.checks import check
from liteship.app.cli import build_parser, main
from liteship.app.requests import build_request
from liteship.rundir import claim
from tests.robustness import fuzz_inputs as fz

FAST = settings(max_examples=int(os.environ.get("LITESHIP_FUZZ_FAST", "40")), deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
THOROUGH = settings(FAST, max_examples=2000)
INTERNALS = ("Traceback", "Ellipsis", "<class", "__init__(", "NoneType", "typing.", "dataclass", "Error:", "repr(")
STATS: dict[str, dict] = {}


def _note(surface: str, defect, seconds: float, err: str = "") -> None:
    s = STATS.setdefault(surface, {"cases": 0, "invalid": 0, "kinds": set(), "messages": set(), "slowest": 0.0})
    s["cases"] += 1
    s["slowest"] = max(s["slowest"], seconds)
    if defect:
        s["invalid"] += 1
        s["kinds"].add(defect[0])
        s["messages"].update(line.split(": ", 1)[-1].split(".")[0][:40] for line in err.splitlines()[1:])


@pytest.fixture(scope="module", autouse=True)
def _stats():
    yield
    if os.environ.get("LITESHIP_FUZZ_STATS"):
        for surface, s in STATS.items():
            print(f"\n{surface}: {s['cases']} cases, {s['invalid']} invalid, {len(s['kinds'])} defect kinds "
                  f"({', '.join(sorted(s['kinds']))}), {len(s['messages'])} distinct messages, slowest validation "
                  f"{s['slowest'] * 1000:.0f} ms", file=sys.__stderr__)


def _run(argv: list[str]) -> tuple[int, str, float]:
    """main(argv): exit code, what it printed on stderr, seconds."""
    err = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own usage errors
            code = exc.code
    return code, err.getvalue(), time.perf_counter() - started


def _refused(argv: list[str], name: str, written: Path | None = None) -> tuple[str, float]:
    code, err, seconds = _run(argv)
    assert code == 2, (argv, err)
    assert name in err, (name, err)
    assert not any(word in err for word in INTERNALS), err
    if written is not None:
        assert not written.exists(), f"{written} was written"
    return err, seconds


def _accepted(argv: list[str]) -> float:
    request = build_request(build_parser().parse_args(argv))
    started = time.perf_counter()
    check(request)  # raises Problems when it would refuse
    return time.perf_counter() - started


def _judged(surface: str, argv: list[str], defect, written: Path) -> None:
    """A valid case must pass the check; an invalid one must be refused naming its key (see _refused)."""
    if defect is None:
        _note(surface, None, _accepted(argv))
    else:
        err, seconds = _refused(argv, defect[1], written)
        _note(surface, defect, seconds, err)


def _sweep(case) -> None:
    doc, defect = case
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "sweep.toml"
        cfg.write_text(tomli_w.dumps(doc), encoding="utf-8")
        argv = ["sweep", "--data", "digits", "--config", str(cfg), "--out", str(Path(tmp) / "run")]
        _judged("sweep configs", argv, defect, Path(tmp) / "run")


def _budgets(case) -> None:
    table, defect = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "liteship.toml"
        path.write_text(tomli_w.dumps({"budgets": table}), encoding="utf-8")
        if defect is None:
            from liteship.judge import load_budgets

            started = time.perf_counter()
            load_budgets(path)
            _note("budgets files", None, time.perf_counter() - started)
        else:
            err, seconds = _refused(["gate", str(Path(tmp) / "no-run"), "--budgets", str(path)], defect[1])
            _note("budgets files", defect, seconds, err)


def _cli(case) -> None:
    command, flags, defect = case
    with tempfile.TemporaryDirectory() as tmp:
        if command == "train":
            argv = ["train", "--data", "digits", "--out", str(Path(tmp) / "run"), *flags]
        else:
            model = Path(tmp) / "m.tflite"
            model.write_bytes(b"")
            argv = ["bench", str(model), *flags]
        _judged("CLI flags", argv, defect, Path(tmp) / "run")


def _results(case, new: Path) -> None:
    lines, defect = case
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "results.jsonl"
        base.write_text("\n".join(lines) + "\n", encoding="utf-8")
        if defect is None:
            code, err, seconds = _run(["compare", str(base), str(new)])
            assert code in (0, 1), err
            _note("results/baseline files", None, seconds)
        else:
            err, seconds = _refused(["compare", str(base), str(new)], defect[1])
            assert "line 2" in err
            _note("results/baseline files", defect, seconds, err)


@pytest.fixture(scope="module")
def record_files(tmp_path_factory):
    from tests.judge.test_findings import FLOAT, rec

    record = rec("int8", FLOAT).to_dict()
    new = tmp_path_factory.mktemp("fuzz") / "new.jsonl"
    import json

    new.write_text(json.dumps(record) + "\n")
    return record, new


@given(fz.sweep_case())
@FAST
def test_sweep_configs(case):
    _sweep(case)


@given(fz.budgets_case())
@FAST
def test_budgets_files(case):
    _budgets(case)


@given(fz.recipe_case())
@FAST
def test_recipe_tables(case):
    _recipes(case)


@given(fz.cli_case())
@FAST
def test_cli_flags(case):
    _cli(case)


def test_results_files(record_files):
    record, new = record_files

    @given(fz.results_case(record))
    @FAST
    def prop(case):
        _results(case, new)

    prop()


@pytest.mark.slow
def test_thorough_every_surface(record_files):
    """2,000 generated cases a surface (CI runs it with the slow tests)."""
    record, new = record_files
    for strategy, run in ((fz.sweep_case(), _sweep), (fz.budgets_case(), _budgets), (fz.recipe_case(), _recipes),
                          (fz.cli_case(), _cli), (fz.results_case(record), lambda c: _results(c, new))):
        THOROUGH(given(strategy)(run))()
    for surface, s in STATS.items():
        assert s["cases"] >= 2000, (surface, s["cases"])


def _recipes(case) -> None:
    doc, names, defect = case
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "recipes.toml"
        cfg.write_text(tomli_w.dumps(doc), encoding="utf-8")
        run = claim(Path(tmp) / "run")  # a run directory liteship made
        (run / "float").mkdir(parents=True)
        argv = ["optimize", str(run), "--recipes", ",".join(names), "--config", str(cfg)]
        _judged("recipe tables", argv, defect, run / "variants")


def _aimed(root: Path, world: dict, target: str, way: str) -> str:
    """An output path reaching the world path ``target`` the ``way`` drawn (links made under root/out)."""
    if target == "-":
        return "-"
    head, _, rest = target.partition("/")
    path = (world[head] / rest if rest else world[head]) if head in world and head != "own" else root / target
    out = root / "out"
    out.mkdir(exist_ok=True)
    if way == "hardlink" and not path.exists():
        way = "symlink"
    if way == "symlink" or way == "link-chain":
        (out / "l1").symlink_to(path)
        if way == "link-chain":
            (out / "l2").symlink_to(out / "l1")
        return str(out / ("l2" if way == "link-chain" else "l1"))
    if way == "hardlink":
        os.link(path, out / "hard")
        return str(out / "hard")
    if way == "linked-folder":
        (out / "folder").symlink_to(path.parent, target_is_directory=True)
        return str(out / "folder" / path.name)
    return str(path.parent / ".." / path.parent.name / path.name) if way == "dotdot" else str(path)


def _world_argv(world: dict, command: str) -> list[str]:
    if command == "gate":
        return ["gate", str(world["base"]), "--budgets", str(world["budgets"])]
    return ["compare", str(world["base"]), str(world["new"]), "--thresholds", str(world["thresholds"])]


def _alias(case) -> None:
    from tests.robustness.worlds import make_world, snapshot

    command, flag, target, way, defect = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        world = make_world(root)
        (root / "out").mkdir()
        out = _aimed(root, world, target, way)
        before = snapshot(root)
        code, err, seconds = _run([*_world_argv(world, command), flag, out])
        if defect is None:
            assert code in (0, 1), err
            after = snapshot(root)
            changed = {k for k in before if before[k] != after.get(k)} | (after.keys() - before.keys())
            assert changed <= {"own.txt", "out/new.out", "out/new2.out", "out/l1"}, changed
        else:
            assert code == 2 and flag in err and "the output would overwrite it" in err, err
            assert not any(word in err for word in INTERNALS), err
            assert snapshot(root) == before
        _note("output paths", defect, seconds, err)


def _linked_run(case) -> None:
    from tests.robustness.worlds import make_world, snapshot

    links, defect = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        world = make_world(root)
        (root / "out").mkdir()
        for name, target in links:
            link = world["base"] / name
            link.unlink() if link.is_symlink() or link.is_file() else None
            link.symlink_to(link if target == "loop" else Path(target) if target == "/" else root / target)
        before = snapshot(root)
        code, err, seconds = _run([*_world_argv(world, "gate"), "--junit", str(root / "own.txt")])
        assert seconds < 10, "a link in the run directory was followed"
        if defect is None:
            assert code in (0, 1), err
            assert {k for k in before if before[k] != snapshot(root).get(k)} == {"own.txt"}
        else:
            assert code == 2 and "--junit" in err and "through a link" in err, err
            assert snapshot(root) == before
        _note("run directories holding links", defect, seconds, err)


@given(fz.alias_case())
@FAST
def test_output_paths_against_inputs(case):
    _alias(case)


@given(fz.linked_run_case())
@FAST
def test_run_directories_holding_links(case):
    _linked_run(case)
