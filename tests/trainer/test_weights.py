"""--weights imagenet without a network: exit 2 saying what failed and what to do; the size's own file is asked for."""

from liteship.app.cli import main


def test_no_network_is_a_clear_exit_2_and_the_96_px_file_is_the_one_fetched(tf_available, class_folder, tmp_path,
                                                                              monkeypatch, capsys):
    from tf_keras.src.utils import data_utils

    asked = []

    def offline(fname, origin=None, **kwargs):
        asked.append((fname, origin))
        # What Keras raises when the host cannot be reached (seen here without network).
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(data_utils, "get_file", offline)
    code = main(["train", "--data", str(class_folder), "--arch", "mobilenet_v2", "--size", "96", "--epochs", "1",
                 "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and "Could not download the ImageNet weights" in err
    assert "--weights none" in err and "--weights PATH" in err
    assert asked and asked[0][1].endswith("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5")
    assert "0.35_96_no_top.h5" in err
    assert not (tmp_path / "run" / "float").exists()
