"""The Python API (``import liteship``): cheap to import, the same checks and the same run directory as the CLI.

The CLI side of each comparison runs as its own ``python -m liteship`` process, with the settings written as the
sweep TOML a user would write by hand; the Python side builds them as objects.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import liteship
from liteship.config import Problems

HEAVY = ("tensorflow", "ai_edge_litert", "matplotlib", "numpy")
PUBLIC = ("train", "optimize", "bench", "sweep", "gate", "pick", "compare", "explain", "open_run", "SweepConfig",
          "TrainConfig", "BenchOptions", "Budgets", "Thresholds", "Problems", "LiteshipError", "Int8Config",
          "PruneConfig", "QatConfig", "ClusterConfig", "SelectiveConfig", "AutoInt8Config")


def _python(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_import_liteship_loads_no_framework():
    done = _python(f"""
        import sys
        import liteship
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
        print(sorted(dir(liteship)))
    """)
    assert done.returncode == 0, done.stderr
    loaded, names = done.stdout.splitlines()
    assert loaded == "[]"
    assert set(PUBLIC) <= set(eval(names))  # tab completion and help() see the names before they are imported


def test_every_public_name_is_what_its_layer_defines():
    from liteship.bench import BenchOptions
    from liteship.config import Problems as ConfigProblems
    from liteship.errors import LiteshipError
    from liteship.judge import Budgets, Thresholds
    from liteship.optimize.convert import Int8Config
    from liteship.optimize.prune import PruneConfig
    from liteship.trainer import TrainConfig
    from liteship.workflow import api
    from liteship.workflow.sweep_config import SweepConfig

    expected = {"SweepConfig": SweepConfig, "TrainConfig": TrainConfig, "BenchOptions": BenchOptions,
                "Budgets": Budgets, "Thresholds": Thresholds, "Problems": ConfigProblems,
                "LiteshipError": LiteshipError, "Int8Config": Int8Config, "PruneConfig": PruneConfig}
    for name, value in expected.items():
        assert getattr(liteship, name) is value, name
    for name in ("train", "sweep", "gate", "pick", "compare", "explain", "open_run"):
        assert getattr(liteship, name) is getattr(api, name), name
    for name in liteship.__all__:
        assert getattr(liteship, name) is not None
    with pytest.raises(AttributeError):
        liteship.no_such_name  # noqa: B018


# liteship.optimize and liteship.bench are packages too: a call reaches the workflow whether or not the package (or
# one of its modules) was imported first. The workflow's function is replaced by a recorder, so the test sees what
# reached it; then the real one runs and refuses a missing run with Problems, before any work.
_CALLS = """
    import sys
    import liteship
    from liteship.config import Problems
    from liteship.workflow import api
    seen = []
    for name in ("optimize", "bench"):
        setattr(api, name, lambda *a, _n=name, **k: seen.append((_n, a, k)) or _n)
    {before}
    assert liteship.optimize("RUN", recipes="int8") == "optimize"
    assert liteship.bench("M.tflite", runs=3) == "bench"
    import liteship.optimize.registry, liteship.bench.results
    assert liteship.optimize("RUN2") == "optimize" and liteship.bench("M2.tflite") == "bench"
    assert seen == [("optimize", ("RUN",), {{"recipes": "int8"}}), ("bench", ("M.tflite",), {{"runs": 3}}),
                    ("optimize", ("RUN2",), {{}}), ("bench", ("M2.tflite",), {{}})], seen
    import importlib
    importlib.reload(api)  # the real functions again
    for call in (lambda: liteship.optimize("no-such-run"), lambda: liteship.bench("no-such.tflite")):
        try:
            call()
        except Problems as exc:
            print("problems:", len(exc.problems))
        else:
            raise AssertionError("no Problems")
"""


@pytest.mark.parametrize("before", ["assert 'liteship.optimize' not in sys.modules and 'liteship.bench' not in sys.modules",
                                    "import liteship.optimize.registry, liteship.bench.record"])
def test_optimize_and_bench_are_functions_and_packages(before, tmp_path):
    done = _python(_CALLS.format(before=before), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("problems:") == 2
    assert not list(tmp_path.iterdir())  # refused before any work: nothing written


def test_bad_settings_raise_every_problem_and_write_nothing(tmp_path):
    out = tmp_path / "runs" / "demo"
    with pytest.raises(Problems) as caught:
        liteship.sweep("digits", out, workers=0, executor="nope")
    said = {(p.key or p.where) for p in caught.value.problems}
    text = caught.value.message
    assert len(caught.value.problems) >= 2 and "workers" in text and "nope" in text, text
    assert any("workers" in k for k in said) and any("executor" in k for k in said), said
    assert not out.exists() and not (tmp_path / "runs").exists()


def test_a_misspelt_setting_is_one_of_the_problems(tmp_path):
    out = tmp_path / "demo"
    with pytest.raises(Problems) as caught:
        liteship.sweep("digits", out, worker=2, executor="nope")
    wheres = [p.where for p in caught.value.problems]
    assert "worker" in wheres and any("nope" in p.line() for p in caught.value.problems), wheres
    assert not out.exists()


def test_train_settings_are_checked_like_flags(tmp_path):
    out = tmp_path / "demo"
    with pytest.raises(Problems) as caught:
        liteship.train("digits", out, arch="no_such_arch", batch_size=0, seedd=1)
    text = caught.value.message
    assert "no_such_arch" in text and "seedd" in text, text
    assert not out.exists()


def test_bench_settings_take_lists_or_text_and_are_checked_together(tmp_path):
    with pytest.raises(Problems) as caught:
        liteship.bench(tmp_path / "missing.tflite", backends="xnnpack,no_such_backend", runs=0, threads=[0])
    text = caught.value.message
    assert "no_such_backend" in text and "runs" in text and "threads" in text and "missing.tflite" in text, text
    assert not list(tmp_path.iterdir())


def test_open_run_refuses_a_folder_liteship_did_not_make(tmp_path):
    (tmp_path / "photos").mkdir()
    with pytest.raises(liteship.LiteshipError, match="not a liteship run directory"):
        liteship.open_run(tmp_path / "photos")
    with pytest.raises(liteship.LiteshipError, match="does not exist"):
        liteship.open_run(tmp_path / "nothing")


def test_to_pandas_without_pandas_says_how_to_get_it(tmp_path, monkeypatch):
    from liteship.rundir import claim

    run = liteship.open_run(claim(tmp_path / "run"))
    assert run.records == [] and run.decision is None and run.release is None
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` raises ImportError
    with pytest.raises(liteship.LiteshipError, match="pip install pandas"):
        run.to_pandas()


# The same small sweep, built in Python and written as a TOML by hand.
SWEEP_TOML = """\
[train]
epochs = 2
[[models]]
arch = "small_cnn"
size = 16
[optimize]
recipes = ["float32", "dynamic", "int8"]
[bench]
backends = ["xnnpack"]
runs = 10
rounds = 3
instructions = false
arm64 = false
"""
# results.jsonl fields that differ between two runs of the same settings, and why:
DIFFERENT = {
    "latency_ms": "timed twice: each run measures its own latency",
    "peak_rss_mb": "the measuring process's resident memory, which counts what that process had loaded before",
    "model_path": "names each run's own directory",
}


def _sweep_config():
    return liteship.SweepConfig(
        train=liteship.TrainTable(epochs=2), models=(liteship.ModelTable(arch="small_cnn", size=16),),
        optimize=liteship.OptimizeTable(recipes=("float32", "dynamic", "int8")),
        bench=liteship.BenchTable(backends=("xnnpack",), runs=10, rounds=3, instructions=False, arm64=False))


def _records(run: Path) -> dict:
    lines = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    return {(r["variant"], r["backend"], r["threads"]): r for r in lines}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The sweep and pick through the CLI (another process) and through the API, each into its own directory."""
    root = tmp_path_factory.mktemp("api_cli")
    (root / "sweep.toml").write_text(SWEEP_TOML)
    for args in (["sweep", "--data", "digits", "--config", "sweep.toml", "--out", "cli", "--quiet"], ["pick", "cli"]):
        done = subprocess.run([sys.executable, "-m", "liteship", *args], cwd=root, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stderr
    run = liteship.sweep("digits", root / "api", config=_sweep_config(), quiet=True)
    release = liteship.pick(run)
    return root / "cli", root / "api", run, release


@pytest.mark.slow
def test_the_api_and_the_cli_make_the_same_run(two_runs):
    cli, api, _, release = two_runs
    config = lambda d: {k: v for k, v in json.loads((d / "run.json").read_text()).items()  # noqa: E731
                        if k in ("config", "train_configs")}
    assert config(api) == config(cli)  # the TOML and the objects are the same settings
    ids = lambda d: sorted(p.stem for p in (d / "variants").glob("*.tflite"))  # noqa: E731
    assert ids(api) == ids(cli) and len(ids(cli)) == 3
    a, c = _records(api), _records(cli)
    assert a.keys() == c.keys()
    for key in c:
        fields = set(a[key]) | set(c[key])
        differ = {f for f in fields if a[key].get(f) != c[key].get(f)}
        assert differ <= set(DIFFERENT), (key, differ - set(DIFFERENT))
        assert a[key]["latency_ms"]["p50"] > 0 and c[key]["latency_ms"]["p50"] > 0
    manifest = lambda d: json.loads((d / "release" / "manifest.json").read_text())  # noqa: E731
    assert manifest(api)["variant"] == manifest(cli)["variant"] == release.variant
    assert manifest(api)["chosen_by"] == manifest(cli)["chosen_by"] == "accuracy"


@pytest.mark.slow
def test_the_run_handle_reads_the_run(two_runs):
    cli, api, run, release = two_runs
    lines = _records(api)
    assert {(r.variant, r.backend, r.threads) for r in run.records} == set(lines)
    shipped = json.loads((api / "release" / "manifest.json").read_text())
    assert run.decision.variant == shipped["variant"] and run.decision.made_by == "pick"
    assert release.recipe == shipped["recipe"] and release.classes == shipped["labels"]["classes"]
    assert sorted(release.files) == sorted(["model.tflite", "labels.txt", "manifest.json", "MODEL.md",
                                            "Classifier.swift"])
    assert run.release.variant == shipped["variant"]
    page = run._repr_html_()
    assert shipped["variant"] in page and "Decision" in page and "data:image/png;base64," in page
    assert shipped["variant"] in release._repr_html_() and shipped["variant"] in repr(run)
    assert "\n" not in repr(run)
    with (api / "results.csv").open() as f:  # the table results.csv is, read by the csv module
        rows = list(csv.DictReader(f))
    frame = run.to_pandas()
    assert list(frame.columns) == list(rows[0]) and len(frame) == len(rows)
    by_key = {(r["variant"], r["backend"]): float(r["top1"]) for r in rows}
    assert {(v, b): t for v, b, t in zip(frame["variant"], frame["backend"], frame["top1"])} == by_key
    reopened = liteship.open_run(str(cli))
    assert reopened.decision.variant == json.loads((cli / "release" / "manifest.json").read_text())["variant"]


def _cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "liteship", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
def test_gate_and_explain_say_what_the_cli_says(two_runs):
    _, api, run, _ = two_runs
    gated = liteship.gate(run, variant="int8")
    said = _cli("gate", str(api), "--variant", "int8", cwd=api.parent)
    assert gated.exit_code == said.returncode
    judged = [w[1] for w in map(str.split, said.stdout.splitlines()) if len(w) > 1 and w[1] in run.variants]
    assert [v.variant for v in gated.verdicts] == judged and len(judged) == 1
    explained = liteship.explain(run, "int8", vs="float32")
    assert str(explained) == _cli("explain", str(api), "int8", "--vs", "float32", cwd=api.parent).stdout
