import numpy as np
import pytest

from liteship.errors import LiteshipError
from liteship.trainer.models import backbone_layers, get_arch, list_archs, register


def test_registry_lists_both_and_refuses_duplicates():
    assert [s.name for s in list_archs()] == ["mobilenet_v2", "small_cnn"]
    with pytest.raises(ValueError, match="registered twice"):
        register("small_cnn", summary="x", default_size=8, min_size=8)(lambda *a: None)


def test_unknown_arch_and_bad_sizes_are_clear_errors():
    with pytest.raises(LiteshipError, match="Valid architectures are: mobilenet_v2, small_cnn"):
        get_arch("resnet9000")
    with pytest.raises(LiteshipError, match="from 32 to 1024 px"):
        get_arch("mobilenet_v2").check(16, 0.35, "none")
    with pytest.raises(LiteshipError, match="ImageNet weights only for 96, 128"):
        get_arch("mobilenet_v2").check(100, 0.35, "imagenet")
    with pytest.raises(LiteshipError, match="width multipliers"):
        get_arch("mobilenet_v2").check(96, 0.6, "none")
    get_arch("small_cnn").check(13, None, "none")  # any size from 8 up


def test_mobilenet_v2_is_one_flat_graph(tf_available):
    import tf_keras as keras

    keras.backend.clear_session()
    model = get_arch("mobilenet_v2").build(5, 32, 0.35, "none")
    assert not any(isinstance(layer, keras.Model) for layer in model.layers)
    assert model.output_shape == (None, 5)
    names = [layer.name for layer in model.layers]
    assert names[:2] == ["image", "to_minus1_1"] and names[-1] == "probs"
    assert len(backbone_layers(model)) == len(names) - 5
    # The [0, 1] -> [-1, 1] normalisation lives inside the graph.
    rescale = model.get_layer("to_minus1_1")
    np.testing.assert_allclose(rescale(np.array([[0.0, 0.5, 1.0]])).numpy(), [[-1.0, 0.0, 1.0]])


def test_weights_file_goes_through_the_keras_loading_path(tf_available, tmp_path):
    import tf_keras as keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(3)
    donor = keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False, weights=None, alpha=0.35)
    path = tmp_path / "mobilenet_v2_0.35_no_top.h5"
    donor.save_weights(path)
    model = get_arch("mobilenet_v2").build(3, 32, 0.35, str(path))
    for name in ("Conv1", "block_5_depthwise", "Conv_1"):
        for got, want in zip(model.get_layer(name).get_weights(), donor.get_layer(name).get_weights()):
            np.testing.assert_array_equal(got, want)


def test_missing_or_wrong_weights_file_is_a_clear_error(tf_available, tmp_path):
    with pytest.raises(LiteshipError, match="no such file"):
        get_arch("mobilenet_v2").build(3, 32, 0.35, str(tmp_path / "nope.h5"))
    import tf_keras as keras

    other = keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False, weights=None, alpha=0.5)
    path = tmp_path / "alpha05.h5"
    other.save_weights(path)
    with pytest.raises(LiteshipError, match="same alpha"):
        get_arch("mobilenet_v2").build(3, 32, 0.35, str(path))
