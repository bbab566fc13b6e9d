"""Where augmentation is set (``[train] augment`` and its settings, ``--augment`` on train and sweep, the Python API)
and how bad values are refused: exit 2 or Problems before any work, naming the key or flag, the value and a fix."""

import dataclasses

import pytest

import liteship
from liteship.app.cli import build_parser, main
from liteship.app.requests import build_request
from liteship.config import Problems
from liteship.trainer import AUGMENTATIONS, TrainConfig
from liteship.workflow.settings_checks import checked_sweep_config
from liteship.workflow.sweep_config import DEFAULT_SWEEP, SweepConfig, TrainTable, sweep_config_from, train_config

TWO_MODELS = [{"arch": "small_cnn", "size": 32}, {"arch": "small_cnn", "size": 16}]


def test_the_settings_and_their_ranges_are_declared_once_on_trainconfig():
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    assert fields["augment"].default is None and fields["augment"].metadata["choices"] == AUGMENTATIONS
    assert fields["crop_area"].default == (0.08, 1.0)  # MediaPipe Model Maker's
    assert fields["crop_aspect_ratio"].default == (3 / 4, 4 / 3)
    table = {f.name: f for f in dataclasses.fields(TrainTable)}
    for name in ("augment", "crop_area", "crop_aspect_ratio", "rotation_degrees", "brightness", "contrast"):
        assert (table[name].default, table[name].metadata) == (fields[name].default, fields[name].metadata), name


@pytest.mark.parametrize("flag, steps", [(None, None), ("crop,flip", ("crop", "flip")), ("none", ()), ("", ()),
                                         (" flip , rotate ", ("flip", "rotate"))])
def test_augment_flag_of_train_and_sweep(flag, steps):
    extra = [] if flag is None else ["--augment", flag]
    train = build_request(build_parser().parse_args(["train", "--data", "digits", "--out", "x", *extra]))
    sweep = build_request(build_parser().parse_args(["sweep", "--data", "digits", "--out", "x", *extra]))
    assert train.config.augment == steps and sweep.augment == steps


def test_a_sweep_toml_sets_every_model_s_augmentation():
    doc = {"train": {"augment": ["flip", "crop"], "crop_area": [0.25, 1], "crop_aspect_ratio": [0.5, 2.0],
                     "rotation_degrees": 10, "brightness": 0.1, "contrast": 0.3}, "models": TWO_MODELS}
    config = sweep_config_from(doc, "sweep.toml")
    for model in config.models:
        tc = train_config(config, model)
        assert (tc.augment, tc.crop_area, tc.crop_aspect_ratio) == (("flip", "crop"), (0.25, 1.0), (0.5, 2.0))
        assert (tc.rotation_degrees, tc.brightness, tc.contrast) == (10.0, 0.1, 0.3)
    off = sweep_config_from({"train": {"augment": []}, "models": TWO_MODELS}, "sweep.toml")
    assert train_config(off, off.models[0]).augment == ()
    assert train_config(DEFAULT_SWEEP, DEFAULT_SWEEP.models[0]).augment is None  # the data set's default


def _lines(exc) -> list[str]:
    return [p.line() for p in exc.value.problems]


def test_bad_table_values_are_each_said_once_whatever_the_number_of_models():
    doc = {"train": {"augment": ["crop", "crop"], "crop_area": [0.5, 0.2], "crop_aspect_ratio": [0.75],
                     "rotation_degrees": 400, "brightness": "high"}, "models": TWO_MODELS}
    with pytest.raises(Problems) as exc:
        sweep_config_from(doc, "sweep.toml")
    lines = _lines(exc)
    assert len(lines) == 5, lines  # and no "trains the same model" for two models whose settings are wrong
    assert any(line.startswith('sweep.toml [train] augment = ["crop", "crop"]: crop named more than once')
               for line in lines)
    assert any(line.startswith("sweep.toml [train] crop_area = [0.5, 0.2]: it takes two numbers from 0.01 to 1.0, "
                               "the least first") for line in lines)
    assert any(line.startswith("sweep.toml [train] crop_aspect_ratio = [0.75]") for line in lines)
    assert any(line.startswith("sweep.toml [train] rotation_degrees = 400: 400 is out of range") for line in lines)
    assert any(line.startswith('sweep.toml [train] brightness = "high": it takes a number') for line in lines)
    with pytest.raises(Problems) as exc:
        sweep_config_from({"train": {"augment": ["crop", "blur"]}, "models": TWO_MODELS}, "sweep.toml")
    assert _lines(exc) == ['sweep.toml [train] augment = ["crop", "blur"]: "blur" is not one of "crop", "flip", '
                           '"rotate", "brightness", "contrast". Fix: use values from: "crop", "flip", "rotate", '
                           '"brightness", "contrast".']


def test_sweep_augment_replaces_the_config_s_and_is_checked_with_it(tmp_path):
    assert checked_sweep_config(None, ("flip",)).train.augment == ("flip",)
    assert checked_sweep_config(None, ()).train.augment == ()
    assert checked_sweep_config(None) is DEFAULT_SWEEP
    bad = SweepConfig(train=TrainTable(weights="none", crop_area=(0.9, 0.1)), models=DEFAULT_SWEEP.models)
    with pytest.raises(Problems) as exc:
        checked_sweep_config(bad, ["flip", "warp"])
    assert [line.split(":")[0] for line in _lines(exc)] == ['--augment = ["flip", "warp"]',
                                                          "config [train] crop_area = [0.9, 0.1]"]


def test_a_bad_augment_flag_is_exit_2_before_any_work(tmp_path, capsys):
    for argv in (["train", "--data", "digits"], ["sweep", "--data", "digits"]):
        out = tmp_path / argv[0]
        assert main([*argv, "--out", str(out), "--augment", "crop,warp,crop"]) == 2
        err = capsys.readouterr().err
        assert '--augment = ["crop", "warp", "crop"]' in err and "warp" in err and "Fix:" in err, err
        assert not out.exists()


def test_the_python_api_says_its_augmentation_problems_in_python_words(tmp_path):
    with pytest.raises(Problems) as exc:
        liteship.train("digits", tmp_path / "t", augment=["blur"], crop_aspect_ratio=(2.0, 1.0))
    assert [line.split(":")[0] for line in _lines(exc)] == ["augment=['blur']", "crop_aspect_ratio=(2.0, 1.0)"]
    with pytest.raises(Problems) as exc:
        liteship.sweep("digits", tmp_path / "s", augment="flip")
    assert _lines(exc)[0].startswith("augment='flip': it takes a list of step names")
    assert not (tmp_path / "t").exists() and not (tmp_path / "s").exists()


def test_a_trainconfig_built_in_python_and_trained_straight_is_checked_too():
    with pytest.raises(Problems) as exc:
        TrainConfig(augment=("flip", "mirror"), crop_area=(0.0, 1.0)).resolved()
    assert [line.split(":")[0] for line in _lines(exc)] == ['--augment = ["flip", "mirror"]',
                                                          "--crop-area = [0.0, 1.0]"]
    assert TrainConfig(augment=["flip"], crop_area=[0.5, 1]).resolved().augment == ("flip",)
