"""Each model is scored on the split it was trained with, even after another model of the run is trained on another.

The scenario of issue 31: a sweep trains two models (seed 0), a second sweep into the same run directory trains
only one of them again with seed 1 and changes a bench option, so every current model is benched again. Before,
the other model was scored on the new split, largely made of its own training images, and the progress line
counted the extra bench beyond its total ([4/3]). The two sweeps take about 20 s: those tests are slow; the
rules they rest on are checked fast on files made by hand.
"""

import hashlib
import io
import json
import re
import shutil

import pytest

from tests.conftest import run_sweep as sweep
from liteship.workflow.sweep_config import load_sweep_config
from liteship.errors import LiteshipError
from liteship.progress import Progress
from liteship.rundir import read_split

FIRST = """
[train]
epochs = 1
[[models]]
arch = "small_cnn"
size = 16
[[models]]
arch = "small_cnn"
size = 20
[optimize]
recipes = ["float32"]
[bench]
backends = ["xnnpack"]
runs = 3
rounds = 1
warmup = 0
instructions = false
arm64 = false
"""

# The second sweep: only the 16 px model, trained again with seed 1; runs changed, so every current model is
# benched again, the 20 px one too (it is current, though this config does not name it).
SECOND = FIRST.replace('[[models]]\narch = "small_cnn"\nsize = 20\n', "").replace("epochs = 1", "epochs = 1\nseed = 1") \
    .replace("runs = 3", "runs = 4")


def _members(items: list[str]) -> str:
    """The hash of an ordered member list, written here from its definition (names joined by newlines, sha256)."""
    return hashlib.sha256("\n".join(items).encode("utf-8")).hexdigest()


def _records(out) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def _split(seed: int, test: list[str]) -> dict:
    return {"source": "photos", "content_hash": "abc", "classes": ["a", "b"], "seed": seed,
            "fractions": {"val": 0.15, "test": 0.15}, "splits": {"train": ["a/1.png"], "val": [], "test": test}}


def test_a_model_reads_its_own_split_and_never_another_models(tmp_path):
    """By hand: model A trained with seed 0 (its card says so), the run's data/split.json since written by a
    training with seed 1. A's own split.json is what it reads; without it, data/split.json is refused for A."""
    (tmp_path / "data").mkdir()
    (tmp_path / "float" / "A").mkdir(parents=True)
    (tmp_path / "data" / "split.json").write_text(json.dumps(_split(1, ["b/2.png"])))
    card = {"data": {"content_hash": "abc", "seed": 0, "fractions": {"val": 0.15, "test": 0.15}}}
    (tmp_path / "float" / "A" / "card.json").write_text(json.dumps(card))
    with pytest.raises(LiteshipError, match="A was not trained on the split data/split.json holds now"):
        read_split(tmp_path, "A")
    (tmp_path / "float" / "A" / "split.json").write_text(json.dumps(_split(0, ["a/2.png", "b/1.png"])))
    assert read_split(tmp_path, "A").members("test") == _members(["a/2.png", "b/1.png"])
    assert read_split(tmp_path).members("test") == _members(["b/2.png"])  # no model named: the run's latest
    assert read_split(tmp_path, "../A").seed == 1  # a path is not a model's folder name


def test_steps_found_as_the_work_goes_count_in_the_total():
    """Three steps planned; after two, the bench turns out to have two steps (one of a model the config does not
    name): the lines read 1/3, 2/3, 3/4, 4/4, never 4/3."""
    log = io.StringIO()
    steps = Progress(stream=log, bar=False).steps(3)
    steps.step("train")
    steps.step("make")
    steps.expect(steps.done + 2)
    steps.step("bench a")
    steps.step("bench b")
    assert re.findall(r"^\[(\d+/\d+)\]", log.getvalue(), re.M) == ["1/3", "2/3", "3/4", "4/4"]
    over = io.StringIO()
    steps = Progress(stream=over, bar=False).steps(1)
    steps.step("one")
    steps.step("one more, unannounced")
    assert re.findall(r"^\[(\d+/\d+)\]", over.getvalue(), re.M) == ["1/1", "2/2"]
    assert "ETA -" not in over.getvalue()


@pytest.fixture(scope="module")
def two_sweeps(tf_available, tmp_path_factory, class_folder):
    root = tmp_path_factory.mktemp("split_per_model")
    out = root / "run"
    first, second = root / "first.toml", root / "second.toml"
    first.write_text(FIRST)
    second.write_text(SECOND)
    sweep(str(class_folder), out, load_sweep_config(first), Progress(quiet=True))
    trained = json.loads((out / "data" / "split.json").read_text())  # what both models were trained on (seed 0)
    log = io.StringIO()
    sweep(str(class_folder), out, load_sweep_config(second), Progress(stream=log, bar=False))
    return out, trained, log.getvalue(), second


@pytest.mark.slow
def test_the_other_model_is_scored_on_its_own_test_split(two_sweeps):
    out, trained, _, _ = two_sweeps
    now = json.loads((out / "data" / "split.json").read_text())
    assert trained["seed"] == 0 and now["seed"] == 1 and now["splits"]["test"] != trained["splits"]["test"]
    # The new split's test images include images the 20 px model was trained or tuned on: the trap is real.
    seen = set(trained["splits"]["train"]) | set(trained["splits"]["val"])
    assert set(now["splits"]["test"]) & seen
    mine = [r for r in _records(out) if r["model"] == "small_cnn_20"]
    assert mine and all(r["options"]["runs"] == 4 for r in mine)  # benched again by the second sweep
    for r in mine:
        # The record names its member list; it is the 20 px model's own test list (seed 0), checked by hand:
        # none of those images was in its training or validation list.
        assert r["data"]["members"] == _members(trained["splits"]["test"]) != _members(now["splits"]["test"])
        assert r["data"]["seed"] == 0 and r["images"] == len(trained["splits"]["test"])
        assert not set(trained["splits"]["test"]) & seen
    # The retrained 16 px model is scored on its new split, kept beside it.
    own = json.loads((out / "float" / "small_cnn_16" / "split.json").read_text())
    assert own["seed"] == 1 and own["splits"] == now["splits"]
    assert all(r["data"]["members"] == _members(now["splits"]["test"])
               for r in _records(out) if r["model"] == "small_cnn_16")


@pytest.mark.slow
def test_the_progress_count_never_passes_its_total(two_sweeps):
    _, _, log, _ = two_sweeps
    counts = [(int(a), int(b)) for a, b in re.findall(r"^\[(\d+)/(\d+)\]", log, re.M)]
    # train, make float32 and bench of the 16 px model, and the bench of the 20 px one: four steps of four.
    assert counts and all(a <= b for a, b in counts), log
    assert counts[-1] == (4, 4) and [a for a, _ in counts] == [1, 2, 3, 4], log


@pytest.mark.slow
def test_a_record_of_another_member_list_is_measured_again(two_sweeps, tmp_path):
    from liteship.workflow.sweep_config import bench_options
    from liteship.bench import plan_bench

    out, _, _, second = two_sweeps
    run = tmp_path / "run"
    shutil.copytree(out, run, ignore=shutil.ignore_patterns(".liteship.lock"))
    options = bench_options(load_sweep_config(second).bench, Progress(quiet=True))
    assert all(p.done for p in plan_bench(run, options))  # as made: every record reusable
    lines = _records(run)
    for r in lines:
        if r["model"] == "small_cnn_20":  # the same data, scored on another list of its images
            r["data"]["members"] = _members(["some/other.png"])
    (run / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    planned = {p.target.group: p.done for p in plan_bench(run, options)}
    assert planned["small_cnn_20"] is None and planned["small_cnn_16"] is not None


@pytest.mark.slow
def test_a_model_older_than_its_own_split_is_not_scored_on_another_models(two_sweeps, tmp_path):
    """A run made before each model kept its split: data/split.json is used only if the card says it is the one."""
    out, trained, _, _ = two_sweeps
    run = tmp_path / "run"
    shutil.copytree(out, run, ignore=shutil.ignore_patterns(".liteship.lock"))
    (run / "float" / "small_cnn_20" / "split.json").unlink()
    with pytest.raises(LiteshipError, match="small_cnn_20 was not trained on the split data/split.json holds"):
        read_split(run, "small_cnn_20")  # data/split.json is seed 1's now
    (run / "data" / "split.json").write_text(json.dumps(trained))
    assert read_split(run, "small_cnn_20").members("test") == _members(trained["splits"]["test"])


@pytest.mark.slow
def test_a_model_trained_on_data_that_changed_since_is_stale_not_scored(two_sweeps, tmp_path):
    """A sweep on changed photos retrains the models it names; one it does not name keeps a split of files that
    are gone: its variants are stale (gate and pick say why), not benched on the new data and not an error."""
    from liteship.bench import plan_bench, variant_status
    from liteship.workflow.sweep_config import bench_options

    out, _, _, second = two_sweeps
    run = tmp_path / "run"
    shutil.copytree(out, run, ignore=shutil.ignore_patterns(".liteship.lock"))
    own = run / "float" / "small_cnn_20" / "split.json"
    own.write_text(json.dumps({**json.loads(own.read_text()), "content_hash": "0" * 64}))  # as trained on old photos
    current, stale = variant_status(run)
    assert {r["model"] for r in current} == {"small_cnn_16"}
    assert [(r["model"], why) for r, why in stale if r["model"] == "small_cnn_20"] == \
        [("small_cnn_20", "small_cnn_20 was trained on data that changed since (train it again)")]
    options = bench_options(load_sweep_config(second).bench, Progress(quiet=True))
    assert {p.target.group for p in plan_bench(run, options)} == {"small_cnn_16"}
