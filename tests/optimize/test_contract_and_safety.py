"""What must never go wrong: the float model, the input scale, configs and failures."""

import hashlib

import numpy as np
import pytest

from liteship.app.cli import main
from liteship.optimize import RecipeData, run_recipe
from liteship.optimize.run import optimize_run, resolve_configs
from liteship.tflite_file import io_specs, read_model, weight_sparsity
from liteship.errors import LiteshipError
from liteship.progress import Progress

QUIET = Progress(quiet=True)


def _weights_hash(model) -> str:
    h = hashlib.sha256()
    for w in model.get_weights():
        h.update(np.ascontiguousarray(w).tobytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def tiny(tf_available):
    """A tiny conv-BN-dense model and digits-like data at 12 px."""
    import tf_keras as keras

    from liteship.dataset import load_digits, split_indices
    from liteship.trainer.models import get_arch

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    ds = load_digits(12)
    split = split_indices(ds.labels, 0)
    model = get_arch("small_cnn").build(10, 12, 0.25, "none")
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(ds.pixels[split["train"]] / 255.0, ds.labels[split["train"]], epochs=1, verbose=0)
    data = RecipeData(ds.pixels[split["train"]], ds.labels[split["train"]], ds.pixels[split["val"]],
                      ds.labels[split["val"]], batch_size=64)
    return model, data


@pytest.mark.parametrize("name", ["prune_int8", "qat_int8", "pqat_int8", "cluster_int8"])
def test_recipes_leave_the_float_model_untouched(tiny, name):
    from liteship.optimize import get_recipe

    model, data = tiny
    before = _weights_hash(model), [layer.trainable for layer in model.layers], len(model.layers)
    cfg = get_recipe(name).config_cls(epochs=2, calibration_images=20) if name != "qat_int8" else \
        get_recipe(name).config_cls(epochs=1, calibration_images=20)
    run_recipe(name, model, data, cfg)
    assert (_weights_hash(model), [layer.trainable for layer in model.layers], len(model.layers)) == before
    assert all(type(layer).__module__.startswith("tf_keras") for layer in model.layers)


@pytest.mark.parametrize("low, high", [(0, 255), (60, 140), (128, 128)])
def test_input_scale_is_the_contract_whatever_the_calibration_range(tiny, low, high):
    from liteship.optimize.convert import int8_tflite

    model, data = tiny
    calib = np.clip(data.train_x[:40].astype(np.int32), low, high).astype(np.uint8)
    tflite = int8_tflite(model, calib, "uint8")
    (inp,), _ = io_specs(read_model(tflite))
    assert inp.dtype == "uint8" and inp.scale == (float(np.float32(1 / 255)),) and inp.zero_point == (0,)
    if (low, high) == (0, 255):
        from liteship.runtime import predict

        ref = model.predict(data.val_x / 255.0, verbose=0).argmax(1)
        assert np.mean(predict(tflite, data.val_x).argmax(1) == ref) >= 0.95


@pytest.mark.parametrize("io, dtype, zp", [("int8", "int8", -128), ("float", "float32", None)])
def test_other_io_types(tiny, io, dtype, zp):
    from liteship.optimize.convert import int8_tflite

    from liteship.runtime import predict

    model, data = tiny
    tflite = int8_tflite(model, data.train_x[:40], io)
    (inp,), (out,) = io_specs(read_model(tflite))
    assert inp.dtype == dtype and out.dtype == dtype
    if zp is not None:
        assert inp.zero_point == (zp,) and inp.scale == (float(np.float32(1 / 255)),)
    ref = model.predict(data.val_x / 255.0, verbose=0).argmax(1)
    assert np.mean(predict(tflite, data.val_x).argmax(1) == ref) >= 0.95


def test_sparsity_is_read_from_the_buffers(tf_available):
    import tensorflow as tf
    import tf_keras as keras

    keras.backend.clear_session()
    inp = keras.Input((8,))
    model = keras.Model(inp, keras.layers.Dense(4)(inp))
    kernel = np.arange(1, 33, dtype=np.float32).reshape(8, 4)
    kernel[:, :3] = 0  # 24 of 32 zeros
    model.layers[1].set_weights([kernel, np.ones(4, np.float32)])
    for types in ([], [tf.float16]):
        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        if types:
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
            conv.target_spec.supported_types = types
        measured = weight_sparsity(read_model(conv.convert()))
        assert measured["weights"] == 32 and measured["sparsity"] == 0.75, types


def test_higher_sparsity_target_compresses_further(digits_run):
    """At 0.85 the small_cnn digits model clears the 0.45 gzip ratio issue 3 names."""
    import tf_keras as keras

    from liteship.optimize.prune import PruneConfig
    from liteship.dataset import load_run_split

    out, result = digits_run
    splits = load_run_split(out, 32)
    data = RecipeData(*splits["train"], *splits["val"])
    model = keras.models.load_model(result.model_dir / "model.keras")
    _, int8 = run_recipe("int8", model, data)
    _, pruned = run_recipe("prune_int8", model, data, PruneConfig(target_sparsity=0.85, epochs=2, recovery_epochs=1))
    assert pruned["sparsity"] >= 0.84
    assert pruned["gzip_bytes"] <= 0.45 * int8["gzip_bytes"]


def test_config_errors_name_the_key_and_list_the_valid_ones(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[int8]\nio = 'uint8'\ncalibrate = 5\n")
    with pytest.raises(LiteshipError, match="calibrate = 5: there is no such key; valid keys: calibration_images, io"):
        resolve_configs(["int8"], cfg)
    cfg.write_text("[int9]\n")
    with pytest.raises(LiteshipError, match=r"\[int9\] = a table: there is no recipe of that name; the tables are recipe names: float32, float16"):
        resolve_configs(["int8"], cfg)
    cfg.write_text("[prune_int8]\ntarget_sparsity = 'lots'\n")
    with pytest.raises(LiteshipError, match='target_sparsity = "lots": it takes a number'):
        resolve_configs(["prune_int8"], cfg)
    cfg.write_text("[prune_int8]\nepochs = -1\n")
    with pytest.raises(LiteshipError, match="epochs = -1: -1 is out of range"):
        resolve_configs(["prune_int8"], cfg)
    cfg.write_text("[int8]\nio = 'int4'\n")
    with pytest.raises(LiteshipError, match='io = "int4": it takes one of "uint8", "int8", "float"'):
        resolve_configs(["int8"], cfg)
    cfg.write_text("[int8\n")
    with pytest.raises(LiteshipError, match="not valid TOML"):
        resolve_configs(["int8"], cfg)
    assert resolve_configs(["prune_int8"], None)["prune_int8"].target_sparsity == 0.75


def test_cli_exit_codes_for_config_and_recipe_errors(digits_run, tmp_path, capsys):
    out, _ = digits_run
    bad = tmp_path / "bad.toml"
    bad.write_text("[int8]\nbogus = 1\n")
    assert main(["optimize", str(out), "--recipes", "int8", "--config", str(bad), "--quiet"]) == 2
    assert "bogus = 1: there is no such key; valid keys: calibration_images, io" in capsys.readouterr().err
    assert main(["optimize", str(out), "--recipes", "int9", "--quiet"]) == 2
    assert '--recipes = "int9": int9: no such recipe' in capsys.readouterr().err
    assert main(["optimize", str(tmp_path), "--quiet"]) == 2  # a folder liteship did not make
    assert "it has no .liteship-run, so liteship did not make it" in capsys.readouterr().err
    from liteship.rundir import claim

    assert main(["optimize", str(claim(tmp_path / "empty_run")), "--quiet"]) == 2
    assert "it has no trained float model (float/)" in capsys.readouterr().err


def test_a_failing_recipe_is_recorded_and_the_others_still_run(digits_run, monkeypatch, capsys):
    import json

    from liteship.optimize import registry
    from liteship.optimize.convert import Int8Config

    out, _ = digits_run
    registry._load_all()

    def broken(model, data, config):
        raise RuntimeError("Layer conv9 cannot be quantized")

    monkeypatch.setitem(registry._RECIPES, "broken_int8",
                        registry.RecipeSpec("broken_int8", broken, Int8Config, "always fails"))
    code = main(["optimize", str(out), "--recipes", "float32,broken_int8", "--quiet"])
    assert code == 1
    printed = capsys.readouterr()
    assert "FAILED: RuntimeError: Layer conv9 cannot be quantized" in printed.out
    failed = [json.loads(p.read_text()) for p in (out / "variants").glob("*.json")]
    failed = [r for r in failed if r["recipe"] == "broken_int8"]
    assert len(failed) == 1 and failed[0]["status"] == "failed" and "conv9" in failed[0]["error"]
    assert not (out / "variants" / f"{failed[0]['id']}.tflite").exists()
    records = optimize_run(out, "float32", None, QUIET)
    assert records[0]["status"] == "ok"
