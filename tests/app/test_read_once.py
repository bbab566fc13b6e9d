"""A sweep reads each image file once: the driver's one pass makes the fingerprint planning compares and each
model's rows of the run's image cache, which its training and variant jobs are handed and its bench reads; a
second sweep over the same run reads them once more (its fingerprint), and decodes nothing."""

import os

from liteship import image_files
from tests.core.test_image_cache import photo_folder
from tests.trainer.test_streaming import count_opens

CONFIG = """
[train]
epochs = 1
seed = 0
[[models]]
arch = "small_cnn"
size = 16
[[models]]
arch = "small_cnn"
size = 20
[optimize]
recipes = ["float32", "int8"]
[bench]
backends = ["xnnpack"]
threads = [1]
runs = 5
rounds = 2
warmup = 1
instructions = false
arm64 = false
"""


def test_each_image_file_is_opened_once_per_sweep(tf_available, tmp_path, capsys, monkeypatch):
    from liteship.app.cli import main

    root = photo_folder(tmp_path / "photos", 24)
    (tmp_path / "sweep.toml").write_text(CONFIG)
    files = sorted(os.path.realpath(p) for p in root.rglob("*") if p.is_file())
    args = ["sweep", "--data", str(root), "--config", str(tmp_path / "sweep.toml"), "--out", str(tmp_path / "run"),
            "--workers", "1", "--quiet"]
    counts, decoded, real = count_opens(root), [], image_files.decode
    monkeypatch.setattr(image_files, "decode", lambda raw, sizes: decoded.append(sizes) or real(raw, sizes))
    for again in (False, True):
        decoded.clear()
        image_files._KNOWN.clear()  # a new command: nothing known of the files
        counts.update({f: 0 for f in files}, armed=True)
        try:
            code = main(args)
        finally:
            counts["armed"] = False
        assert code == 0, capsys.readouterr().err
        assert {f: counts.get(f, 0) for f in files} == {f: 1 for f in files}
        assert decoded == ([] if again else [(16, 20)] * 24)  # every size at once; then all from the cache
    assert sorted(p.name for p in (tmp_path / "run" / "data" / "cache").glob("*.u8")) == ["16px.u8", "20px.u8"]
