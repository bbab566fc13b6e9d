"""Training end to end: the numbers issue 2 promises, on the bundled digits."""

import json

import numpy as np
import pytest

from liteship.trainer import TrainConfig, train
from liteship.trainer.models import backbone_layers
from liteship.progress import Progress

QUIET = Progress(quiet=True)


def test_small_cnn_on_digits_reaches_095(digits_run):
    _, result = digits_run
    assert result.test_top1 >= 0.95
    assert result.val_top1 >= 0.93
    assert result.card["counts"] == {"train": 1259, "val": 269, "test": 269}


def test_float_outputs_are_complete(digits_run):
    out, result = digits_run
    d = out / "float" / "small_cnn_32"
    assert result.model_dir == d
    assert (d / "labels.txt").read_text().splitlines() == [str(i) for i in range(10)]
    card = json.loads((d / "card.json").read_text())
    for key in ("val_top1", "test_top1", "params", "multiply_adds", "history", "skipped", "counts_per_class",
                "input_contract", "versions", "data"):
        assert key in card, key
    assert card["params"] == 95210 and card["multiply_adds"] == 10323200
    assert len(card["history"]) == 20 and card["history"][-1]["accuracy"] > 0.95
    assert (d / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    split = json.loads((out / "data" / "split.json").read_text())
    assert split["counts"] == card["counts"] and split["classes"] == card["classes"]
    assert len(set(split["splits"]["train"]) & set(split["splits"]["test"])) == 0
    assert json.loads((out / "run.json").read_text())["config"]["arch"] == "small_cnn"
    assert not [p for p in out.rglob(".liteship-tmp-*")]  # no temp files left


def test_float_tflite_matches_keras_fed_per_contract(digits_run):
    import tf_keras as keras
    from ai_edge_litert.interpreter import Interpreter

    from liteship.dataset import load_digits

    out, _ = digits_run
    d = out / "float" / "small_cnn_32"
    model = keras.models.load_model(d / "model.keras")
    pixels = load_digits(32).pixels[:64]
    x = pixels.astype(np.float32) / 255.0
    interp = Interpreter(model_path=str(d / "model.tflite"))
    inp = interp.get_input_details()[0]
    interp.resize_tensor_input(inp["index"], x.shape)
    interp.allocate_tensors()
    interp.set_tensor(inp["index"], x)
    interp.invoke()
    lite = interp.get_tensor(interp.get_output_details()[0]["index"])
    np.testing.assert_allclose(lite, model.predict(x, verbose=0), atol=1e-4)


def test_same_seed_same_split_same_accuracy(tf_available, class_folder, tmp_path):
    from tensorflow.python.framework import config as tf_config

    cfg = TrainConfig(arch="small_cnn", size=16, epochs=3, seed=5)
    assert not tf_config.is_op_determinism_enabled()
    a = train(str(class_folder), cfg, tmp_path / "a", QUIET, deterministic=True)
    # Determinism is an option of the call, not a switch left on for the rest of the process.
    assert not tf_config.is_op_determinism_enabled()
    b = train(str(class_folder), cfg, tmp_path / "b", QUIET, deterministic=True)
    sa = json.loads((tmp_path / "a" / "data" / "split.json").read_text())
    sb = json.loads((tmp_path / "b" / "data" / "split.json").read_text())
    assert sa["splits"] == sb["splits"]
    assert a.test_top1 == b.test_top1 and a.card["history"] == b.card["history"]
    assert a.card["weights_sha256"] == b.card["weights_sha256"]


@pytest.mark.slow
def test_transfer_freezes_the_base_then_fine_tunes_from_the_named_layer(tf_available, class_folder, tmp_path):
    import tf_keras as keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(1)
    donor = keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False, weights=None, alpha=0.35)
    weights = tmp_path / "base.h5"
    donor.save_weights(weights)

    frozen = train(str(class_folder), TrainConfig(arch="mobilenet_v2", alpha=0.35, size=32, weights=str(weights),
                                                  epochs=1, fine_tune_epochs=0), tmp_path / "frozen", QUIET)
    m = keras.models.load_model(frozen.model_dir / "model.keras")
    np.testing.assert_array_equal(m.get_layer("Conv_1").get_weights()[0], donor.get_layer("Conv_1").get_weights()[0])
    assert [r["phase"] for r in frozen.card["history"]] == ["head"]

    tuned = train(str(class_folder), TrainConfig(arch="mobilenet_v2", alpha=0.35, size=32, weights=str(weights),
                                                 epochs=1, fine_tune_epochs=1, fine_tune_at="block_16_expand"),
                  tmp_path / "tuned", QUIET)
    m = keras.models.load_model(tuned.model_dir / "model.keras")
    assert [r["phase"] for r in tuned.card["history"]] == ["head", "fine-tune"]
    assert tuned.card["history"][1]["lr"] == pytest.approx(1e-4)
    # Before block 16: untouched. From it on (not BatchNorm): fine-tuned.
    np.testing.assert_array_equal(m.get_layer("block_15_project").get_weights()[0],
                                  donor.get_layer("block_15_project").get_weights()[0])
    assert not np.array_equal(m.get_layer("Conv_1").get_weights()[0], donor.get_layer("Conv_1").get_weights()[0])
    bn = m.get_layer("Conv_1_bn").get_weights()
    for got, want in zip(bn, donor.get_layer("Conv_1_bn").get_weights()):
        np.testing.assert_array_equal(got, want)
    assert all(layer.trainable for layer in backbone_layers(m))  # saved fully trainable for optimize
