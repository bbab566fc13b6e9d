"""auto_int8: the search stops at the first step that meets the budget, judged on numbers the test measures itself.

The validation top-1 of each file is measured here with LiteRT's Interpreter
fed one image at a time, the float model's with Keras, and the paired
interval's claim is checked against SciPy's bound for what an unchanged answer on every image still allows.
"""

import numpy as np
import pytest

from liteship.dataset import load_run_split
from liteship.stats import paired


def _right(tflite: bytes, x, y) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=tflite)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    right = []
    for image, label in zip(x, y):
        interp.set_tensor(inp["index"], image[None])
        interp.invoke()
        right.append(int(np.argmax(interp.get_tensor(out["index"])[0]) == label))
    return np.array(right)


@pytest.fixture(scope="module")
def setup(digits_run):
    import tf_keras as keras

    from liteship.optimize import RecipeData

    out, result = digits_run
    splits = load_run_split(out, 32)
    data = RecipeData(*splits["train"], *splits["val"])
    model = keras.models.load_model(result.model_dir / "model.keras")
    float_right = (np.argmax(model.predict(data.val_x.astype(np.float32) / 255, verbose=0), axis=1)
                   == data.val_y).astype(int)
    return model, data, float_right


def test_a_split_too_small_for_the_budget_never_claims_it(all_recipes, setup):
    """The default budget is a 1 pt drop judged by the interval's upper end. On the digits' validation split
    (269 images) no step can show that, even with no answer changed: 0 differing images of 269 still allow
    up to 1.4 % of images to differ (SciPy's Wilson bound), more than 1 pt. A bootstrap said [0, 0] here and
    claimed the budget."""
    scipy_stats = pytest.importorskip("scipy.stats")
    _, data, float_right = setup
    out, records = all_recipes
    details = records["auto_int8"]["details"]
    n = len(data.val_y)
    bound = scipy_stats.binomtest(0, n).proportion_ci(method="wilson").high
    assert details["max_accuracy_drop"] == 0.01 and bound > 0.01
    int8_right = _right((out / records["int8"]["file"]).read_bytes(), data.val_x, data.val_y)
    first = details["steps"][0]
    assert first["step"] == "int8" and first["top1"] == pytest.approx(int8_right.mean(), abs=1e-6)
    if int(np.sum(int8_right != float_right)) == 0:  # nothing differs: still not shown within 1 pt
        assert first["drop_interval"][1] >= 0.01 and not first["met"]
    # no step could meet it: the search says so and stops, instead of trying steps that cannot succeed
    assert details["undecidable"] and [s["step"] for s in details["steps"]] == ["int8"]
    assert "no step can meet it" in first["why"]
    # The step's interval from right/wrong measured here (LiteRT image by image, Keras for the float model), with
    # the shared statistics (tests/core/test_stats.py checks them against published intervals): nothing read
    # back from the recipe's own numbers.
    measured = paired(float_right, int8_right)
    assert first["drop_interval"] == pytest.approx([measured.low, measured.high], abs=1e-6)
    assert first["met"] is details["met_budget"] is bool(measured.high <= 0.01)
    chosen = next(s for s in details["steps"] if s["step"] == details["chosen_step"])
    right = _right((out / records["auto_int8"]["file"]).read_bytes(), data.val_x, data.val_y)
    assert chosen["top1"] == pytest.approx(right.mean(), abs=1e-6)
    assert chosen["float_top1"] == pytest.approx(float_right.mean(), abs=1e-6)
    assert chosen["drop"] == pytest.approx(float_right.mean() - right.mean(), abs=1e-6)


def test_impossible_budget_walks_every_step_and_keeps_the_closest(setup):
    from liteship.optimize import run_recipe
    from liteship.optimize.auto import AutoInt8Config

    model, data, float_right = setup
    tflite, rec = run_recipe("auto_int8", model, data, AutoInt8Config(
        max_accuracy_drop=-0.5, judge_by="point", max_float_layers=1, qat_epochs=1, calibration_images=100))
    steps = rec["details"]["steps"]
    assert [s["step"] for s in steps] == ["int8", "int8 with 1 float layer(s)", "qat_int8"]
    assert not rec["details"]["met_budget"] and all(not s["met"] for s in steps)
    closest = min(steps, key=lambda s: (s["drop"], s["size_bytes"]))  # judged by the point, as asked
    assert not rec["details"]["undecidable"]  # a point budget is judged at every step
    assert rec["details"]["chosen_step"] == closest["step"] and len(tflite) == closest["size_bytes"]
    assert "> budget -50.00 pt" in steps[0]["why"]
    # Each step's top-1 is the file's, measured here (the chosen file is the one written).
    assert closest["top1"] == pytest.approx(_right(tflite, data.val_x, data.val_y).mean(), abs=1e-6)


def test_generous_budget_stops_at_full_int8(setup):
    from liteship.optimize import run_recipe
    from liteship.optimize.auto import AutoInt8Config
    from liteship.optimize.convert import Int8Config

    model, data, _ = setup
    tflite, rec = run_recipe("auto_int8", model, data, AutoInt8Config(max_accuracy_drop=1.0, calibration_images=100))
    int8, _ = run_recipe("int8", model, data, Int8Config(calibration_images=100))
    assert [s["step"] for s in rec["details"]["steps"]] == ["int8"] and tflite == int8


def test_point_estimate_when_asked(setup):
    """A drop of exactly zero meets a zero budget by its point, never by an interval that is wider than zero."""
    from liteship.optimize import run_recipe
    from liteship.optimize.auto import AutoInt8Config

    from liteship.optimize.convert import Int8Config

    model, data, float_right = setup
    tflite, rec = run_recipe("auto_int8", model, data, AutoInt8Config(
        max_accuracy_drop=0.0, judge_by="point", max_float_layers=0, qat_epochs=1, calibration_images=100))
    first = rec["details"]["steps"][0]
    measured = float_right.mean() - _right(run_recipe("int8", model, data, Int8Config(calibration_images=100))[0],
                                           data.val_x, data.val_y).mean()
    assert first["met"] is bool(measured <= 0.0)  # the drop measured here, not the recipe's own number
    assert "point drop" in first["why"]


def test_the_qat_step_is_the_qat_recipe_made_once(setup):
    """In one optimize call, auto_int8's QAT step reuses qat_int8's variant of the same settings."""
    from liteship.optimize import RecipeData, run_recipe
    from liteship.optimize.auto import AutoInt8Config
    from liteship.optimize.qat import QatConfig

    model, shared_data, _ = setup
    data = RecipeData(shared_data.train_x, shared_data.train_y, shared_data.val_x, shared_data.val_y)
    qat, _ = run_recipe("qat_int8", model, data, QatConfig(epochs=1, calibration_images=100))
    assert len(data.shared) == 1
    _, rec = run_recipe("auto_int8", model, data, AutoInt8Config(
        max_accuracy_drop=-0.5, judge_by="point", max_float_layers=0, qat_epochs=1, calibration_images=100))
    step = rec["details"]["steps"][-1]
    qats = [k for k in data.shared if isinstance(k, QatConfig)]
    assert step["step"] == "qat_int8" and step["size_bytes"] == len(qat) and len(qats) == 1
    assert step["top1"] == pytest.approx(_right(qat, data.val_x, data.val_y).mean(), abs=1e-6)


def test_the_first_step_is_the_int8_recipes_file_converted_once(setup, monkeypatch):
    """In one optimize call, auto_int8's int8 step is the int8 recipe's quantization: the quantizer runs once."""
    import liteship.optimize.quantizer as quantizer_module
    from liteship.optimize import RecipeData, run_recipe
    from liteship.optimize.auto import AutoInt8Config
    from liteship.optimize.convert import Int8Config

    model, d, _ = setup
    calls = []
    real = quantizer_module.quantize
    monkeypatch.setattr(quantizer_module, "quantize", lambda *a: calls.append(1) or real(*a))
    data = RecipeData(d.train_x, d.train_y, d.val_x, d.val_y)
    int8, _ = run_recipe("int8", model, data, Int8Config(calibration_images=100))
    _, rec = run_recipe("auto_int8", model, data, AutoInt8Config(max_accuracy_drop=0.5, judge_by="point",
                                                                 calibration_images=100))
    first = rec["details"]["steps"][0]
    assert first["step"] == "int8" and first["size_bytes"] == len(int8) and rec["details"]["chosen_step"] == "int8"
    assert len(calls) == 1
    assert first["top1"] == pytest.approx(_right(int8, data.val_x, data.val_y).mean(), abs=1e-6)


@pytest.mark.slow  # three fine-tunings: about a minute
def test_pqat_reuses_prune_int8s_pruned_model_and_no_byte_changes(setup, monkeypatch):
    """pqat_int8 prunes with prune_int8's settings: in one optimize call the pruning is done once, and the pqat
    variant is the same bytes as pqat_int8 made alone (fine-tuning is seeded and deterministic)."""
    import liteship.optimize.prune as prune_module
    from liteship.optimize import RecipeData, run_recipe
    from liteship.optimize.prune import PruneConfig
    from liteship.optimize.qat import PqatConfig

    model, d, _ = setup
    calls = []
    real = prune_module.prune
    monkeypatch.setattr(prune_module, "prune", lambda *a: calls.append(1) or real(*a))
    pruning = dict(epochs=2, recovery_epochs=1, target_sparsity=0.5)
    pqat = PqatConfig(**pruning, qat_epochs=1, calibration_images=50)

    alone = RecipeData(d.train_x, d.train_y, d.val_x, d.val_y, deterministic=True)
    made_alone, _ = run_recipe("pqat_int8", model, alone, pqat)
    assert len(calls) == 1

    both = RecipeData(d.train_x, d.train_y, d.val_x, d.val_y, deterministic=True)
    run_recipe("prune_int8", model, both, PruneConfig(**pruning, calibration_images=80, io="float"))
    made_after, _ = run_recipe("pqat_int8", model, both, pqat)
    assert len(calls) == 2  # one pruning for both recipes of the second call
    assert made_after == made_alone
