"""The sweep's estimate takes an architecture's and a recipe's costs from the spec that declares them, and says so
when one declares none: never MobileNetV2's numbers, never a crash."""

from dataclasses import dataclass

import pytest

from liteship.optimize import registry
from liteship.trainer import models
from liteship.workflow import resources
from liteship.workflow.plan import BenchKey, ChainKey, CountKey, TrainKey

FAKE_ARCH, FAKE_RECIPE = "fake_arch_for_costs", "fake_recipe_for_costs"


@dataclass(frozen=True)
class NoSettings:
    pass


@pytest.fixture()
def fakes():
    """A throw-away architecture and recipe, registered as a plugin would, without costs; removed after."""
    models.register(FAKE_ARCH, summary="a test's", default_size=32, min_size=8)(lambda *a, **k: None)
    registry.recipe(FAKE_RECIPE, NoSettings, "a test's")(lambda *a, **k: None)
    yield
    del models._REGISTRY[FAKE_ARCH], registry._RECIPES[FAKE_RECIPE]


def test_an_architecture_without_costs_is_not_costed_as_mobilenet(fakes):
    images, size, epochs = 1000, 64, 20
    mine = resources.unit_seconds("m", FAKE_ARCH, size, images, epochs, {"int8": {}}, 1, ["x86", "arm64-a15"])
    mnv2 = resources.unit_seconds("m", "mobilenet_v2", size, images, epochs, {"int8": {}}, 1, ["x86", "arm64-a15"])
    # by hand: the parts that depend on no architecture, and nothing else
    assert mine[TrainKey("m")] == resources.JOB_START + resources.TRAIN_START
    assert mine[ChainKey("m", ("int8",))] == resources.JOB_START
    assert mine[CountKey("m", "int8", "x86")] == 0.0 and mine[CountKey("m", "int8", "arm64-a15")] == resources.ARM_START
    assert mine[BenchKey("m", "int8")] == mnv2[BenchKey("m", "int8")]  # the bench costs no architecture's numbers
    assert all(mine[k] < mnv2[k] for k in mine if not isinstance(k, BenchKey))
    e = resources.train_estimate(FAKE_ARCH, size, 1.0, 32, images, 3)
    assert e.memory_bytes == resources.FRAMEWORK_BYTES + images * size * size * 3 * 5  # frameworks and images only
    assert e.unknown == (f"no cost measured for architecture {FAKE_ARCH}: not counted",)
    assert resources.train_estimate("mobilenet_v2", size, 1.0, 32, images, 3).unknown == ()


def test_a_recipe_without_costs_is_said_and_not_costed_as_another(fakes):
    mine = resources.unit_seconds("m", "small_cnn", 32, 500, 5, {FAKE_RECIPE: {}, "int8": {}}, 1, ["arm64-a15"])
    assert mine[ChainKey("m", (FAKE_RECIPE,))] == resources.JOB_START  # int8's conversion is not borrowed
    # small_cnn's declared conversion, by hand, twice: int8 declares a float conversion and the quantizer's pass
    assert mine[ChainKey("m", ("int8",))] == pytest.approx(resources.JOB_START + 0.6 * 2.0)
    assert mine[CountKey("m", FAKE_RECIPE, "arm64-a15")] == resources.ARM_START
    unknown = resources.unknown_costs("small_cnn", [FAKE_RECIPE, "int8"])
    assert unknown == (f"no cost measured for recipe {FAKE_RECIPE}: not counted",)
    note = resources.unknown_note(unknown + resources.unknown_costs(FAKE_ARCH))
    assert f"recipe {FAKE_RECIPE}: not counted" in note and f"architecture {FAKE_ARCH}: not counted" in note
    assert resources.unknown_note(()) == ""


def test_every_registered_architecture_and_recipe_declares_its_costs():
    assert all(a.costs is not None for a in models.list_archs())
    assert all(r.costs is not None for r in registry.list_recipes())


@dataclass(frozen=True)
class Rounds:
    rounds: int = 3


def test_a_new_fine_tuning_recipe_is_estimated_from_what_it_declares():
    """A recipe registered as a plugin would, declaring its fine-tuning: the estimate needs no edit to know it."""
    tuner = "fake_tuner_for_costs"
    costs = registry.RecipeCosts(fine_tuning=lambda c: (registry.FineTuning(c.rounds, factor=3.0),))
    registry.recipe(tuner, Rounds, "a test's", costs=costs)(lambda *a, **k: None)
    try:
        tunings = resources.fine_tunings({tuner: Rounds(rounds=5), "int8": None})
        mine = resources.unit_seconds("m", "small_cnn", 32, 500, 5, tunings, 1, [])
    finally:
        del registry._RECIPES[tuner]
    # by hand: small_cnn declares 0.95 ms per training image (0.7 of the images) per epoch per 1,000 pixels and a
    # 0.6 s conversion; five rounds at three times a training epoch, and one fine-tuning's start
    epoch = 0.7 * 500 * 32 * 32 / 1000 * 0.95e-3
    assert mine[ChainKey("m", (tuner,))] == pytest.approx(resources.JOB_START + 0.6 + resources.TUNE_START + 15 * epoch)
    assert mine[ChainKey("m", ("int8",))] == pytest.approx(resources.JOB_START + 0.6 * 2.0)  # no fine-tuning


def test_a_pruning_two_recipes_share_is_counted_once_by_the_recipe_that_runs_first():
    from liteship.optimize.qat import PqatConfig
    from liteship.optimize.prune import PruneConfig

    same = resources.fine_tunings({"prune_int8": PruneConfig(), "pqat_int8": PqatConfig()})
    # by hand, from the defaults: pruning 8 + 4 epochs at 1.0, QAT 4 epochs at 2.5
    assert [(t.epochs, t.factor) for t in same["prune_int8"]] == [(12, 1.0)]
    assert [(t.epochs, t.factor) for t in same["pqat_int8"]] == [(4, 2.5)]  # pqat reuses prune_int8's pruned model
    first = resources.fine_tunings({"pqat_int8": PqatConfig(), "prune_int8": PruneConfig()})
    assert [(t.epochs, t.factor) for t in first["pqat_int8"]] == [(12, 1.0), (4, 2.5)] and first["prune_int8"] == ()
    apart = resources.fine_tunings({"prune_int8": PruneConfig(), "pqat_int8": PqatConfig(target_sparsity=0.5)})
    assert [(t.epochs, t.factor) for t in apart["pqat_int8"]] == [(12, 1.0), (4, 2.5)]  # other settings: pruned again


class Stop(Exception):
    pass


def _estimate_of(recipes: str, tmp_path):
    """The sweep's estimate as execute hands it out before any work, for a small_cnn sweep of ``recipes``."""
    from liteship.app.cli import build_parser
    from liteship.app.requests import build_request
    from liteship.workflow.execute import execute

    tmp_path.mkdir(exist_ok=True)
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(f"[[models]]\narch = 'small_cnn'\nsize = 16\n[optimize]\nrecipes = {recipes}\n"
                   "[bench]\nbackends = ['xnnpack']\ninstructions = false\narm64 = false\n")
    request = build_request(build_parser().parse_args(["sweep", "--data", "digits", "--config", str(cfg), "--out",
                                                       str(tmp_path / "run"), "--workers", "1"]))
    said = []

    def stop(estimate):
        said.append(estimate)
        raise Stop  # the estimate is all this test needs: no work runs

    with pytest.raises(Stop):
        execute(request, on_estimate=stop)
    return said[0]


def test_the_printed_estimate_says_what_it_left_out(fakes, tmp_path, capsys):
    from liteship.app.commands import print_estimate
    from liteship.progress import Progress
    from liteship.workflow.api import _estimate_line

    estimate = _estimate_of(f"['float32', '{FAKE_RECIPE}']", tmp_path)
    assert estimate.unknown == (f"no cost measured for recipe {FAKE_RECIPE}: not counted",)
    print_estimate(estimate)
    logged = []
    progress = Progress(quiet=True)
    progress.log = logged.append
    _estimate_line(progress)(estimate)
    for line in (capsys.readouterr().err, logged[0]):
        assert line.startswith("estimated: about ") and \
            f"no cost measured for recipe {FAKE_RECIPE}: not counted (the estimate is short by that work)" in line
    known = _estimate_of("['float32', 'int8']", tmp_path / "known")
    assert known.unknown == ()
    print_estimate(known)
    assert "not counted" not in capsys.readouterr().err
