"""``liteship bench MODEL.tflite --data FOLDER`` (no run directory) scores from a temporary image cache read a
batch at a time, as a run's bench does, so its memory does not grow with the folder; the cache is removed when
the bench ends. The streamed rows are checked against Pillow and the contract's resize applied in the test, the
top-1 against LiteRT's interpreter driven by the test itself."""

import io
import tempfile

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

from liteship.bench import BenchOptions, bench_file
from liteship.contract import to_model_pixels
from liteship.errors import LiteshipError
from liteship.progress import Progress
from tests.conftest import model_and_digit_photos

OPTIONS = BenchOptions(backends=("xnnpack",), runs=3, rounds=1, warmup=1)


@pytest.fixture
def folder(optimized_run, tmp_path):
    """A float32 digits model and a folder of 24 of the digits, as photos 3x their size, 4 classes."""
    model, data = model_and_digit_photos(optimized_run, tmp_path, classes=("1", "3", "7", "8"), per_class=6,
                                         shape=(96, 80))
    return model, data


def _top1_by_hand(model, data) -> float:
    """Pillow → the contract → float / 255 → LiteRT, one image at a time, scored against the folder names."""
    interpreter = Interpreter(model_path=str(model))
    interpreter.allocate_tensors()
    inp, outp = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    hits = total = 0
    for path in sorted(data.rglob("*.png")):
        with Image.open(path) as image:
            pixels = np.asarray(to_model_pixels(image, inp["shape"][1]), dtype=np.float32) / 255.0
        interpreter.set_tensor(inp["index"], pixels[None])
        interpreter.invoke()
        hits += int(np.argmax(interpreter.get_tensor(outp["index"])[0])) == int(path.parent.name)
        total += 1
    return hits / total


def test_streamed_rows_are_pillows_and_the_top1_is_litert_by_hand(folder, tmp_path, monkeypatch):
    import liteship.bench.single as single
    from liteship.image_rows import ImageRows

    model, data = folder
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    seen = {}
    real = single.bench_target

    def spy(target, options, evalset, *rest):
        seen["pixels"] = evalset.pixels
        seen["cache"] = [p.relative_to(scratch).parts[1:] for p in scratch.rglob("*px.u8")]
        return real(target, options, evalset, *rest)

    monkeypatch.setattr(single, "bench_target", spy)
    stream = io.StringIO()
    records = bench_file(model, OPTIONS, str(data), tmp_path / "labels.txt", Progress(stream=stream, bar=False))
    assert "reading images" in stream.getvalue()  # the progress of the pass is shown
    assert isinstance(seen["pixels"], ImageRows) and seen["cache"] == [("cache", "32px.u8")]
    paths = sorted(data.rglob("*.png"))  # the data set's order: class folders sorted, files sorted in each
    rows = seen["pixels"][np.arange(len(paths))]
    for row, path in zip(rows, paths):
        with Image.open(path) as image:
            assert np.array_equal(row, np.asarray(to_model_pixels(image, 32)))
    assert records[0].images == 24
    assert records[0].top1 == pytest.approx(_top1_by_hand(model, data))
    assert not any(p.name.startswith("liteship-bench-") for p in scratch.iterdir())  # removed


def test_too_little_room_for_the_cache_names_tmpdir(folder, tmp_path, monkeypatch):
    import shutil

    import liteship.image_cache as image_cache

    model, data = folder
    free = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(image_cache.shutil, "disk_usage", lambda _: free._replace(free=1024))
    with pytest.raises(LiteshipError) as caught:
        bench_file(model, OPTIONS, str(data), tmp_path / "labels.txt")
    assert caught.value.what == f"Not enough free disk space in {tempfile.gettempdir()} (TMPDIR) for the decoded " \
        "images"
    assert "1 kB are free" in caught.value.why  # 1,024 bytes, not "0 MB"
    assert "TMPDIR" in caught.value.fix and "--out" not in caught.value.fix


def test_a_disk_that_fills_up_while_the_cache_is_written_names_tmpdir(folder, tmp_path, monkeypatch):
    import errno
    import os

    import liteship.cache_files as cache_files

    model, data = folder

    def full(fd, data, error):
        raise error(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))

    monkeypatch.setattr(cache_files, "write_all", full)
    monkeypatch.setattr("liteship.image_cache.write_all", full)
    with pytest.raises(LiteshipError) as caught:
        bench_file(model, OPTIONS, str(data), tmp_path / "labels.txt")
    assert "(TMPDIR)" in caught.value.what and "No space left on device" in caught.value.why
    assert "set TMPDIR to a folder on a disk with more room" in caught.value.fix


@pytest.mark.parametrize("inside", ["", "7"])
def test_a_tmpdir_inside_the_data_is_refused_before_any_work(folder, tmp_path, monkeypatch, capsys, inside):
    """TMPDIR the data folder itself (its cache folder would be listed as a class) or one of its class folders."""
    from liteship.app.cli import main

    model, data = folder
    monkeypatch.setattr(tempfile, "tempdir", str(data / inside) if inside else str(data))
    before = sorted(p.relative_to(data) for p in data.rglob("*"))
    assert main(["bench", str(model), "--data", str(data), "--labels", str(tmp_path / "labels.txt"),
                 "--backends", "xnnpack"]) == 2
    said = " ".join(capsys.readouterr().err.split())
    assert "(TMPDIR) is inside it" in said and "set TMPDIR to a folder outside the data" in said, said
    assert sorted(p.relative_to(data) for p in data.rglob("*")) == before  # nothing written among the photos


def test_files_it_cannot_read_are_said_beside_the_top1(folder, tmp_path, capsys):
    model, data = folder
    (data / "3" / "broken.jpg").write_bytes(b"not a jpeg")
    (data / "8" / "notes.png").write_text("hello")
    records = bench_file(model, OPTIONS, str(data), tmp_path / "labels.txt")
    assert records[0].images == 24  # the 24 photos the fixture wrote, counted by hand
    note = next(n for n in records[0].notes if "skipped" in n)
    assert "2 of 26 files skipped, the top-1 is of the 24 images read" in note
    assert "3/broken.jpg" in note and "8/notes.png" in note
    assert "2 of 26 files skipped" in capsys.readouterr().err


def test_other_data_errors_keep_their_own_fix(folder, tmp_path):
    model, _ = folder
    with pytest.raises(LiteshipError) as caught:
        bench_file(model, OPTIONS, str(tmp_path / "no-such-folder"), tmp_path / "labels.txt")
    assert "does not exist" in caught.value.what and "TMPDIR" not in caught.value.fix


def test_an_interrupted_bench_of_one_file_offers_no_resume(folder, tmp_path, monkeypatch, capsys):
    """A bench of one .tflite writes no run directory: Ctrl-C says so without "re-run to continue"; a run's does."""
    import liteship.app.cli as cli

    model, _ = folder

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_run", interrupted)
    assert cli.main(["bench", str(model), "--backends", "xnnpack"]) == 130
    assert capsys.readouterr().err.strip() == "liteship bench: interrupted"
    (tmp_path / "run").mkdir()
    assert cli.main(["bench", str(tmp_path / "run")]) == 130
    assert "re-run the same command to continue" in capsys.readouterr().err


def test_a_class_of_one_image_is_scored_an_empty_one_refused_in_scoring_words(folder, tmp_path):
    """Scoring splits nothing: one photo in a class is enough (training needs 2). A class folder with no photo at
    all is refused, in words about scoring, not training's split."""
    import shutil

    model, data = folder
    for extra in sorted((data / "8").iterdir())[1:]:
        extra.unlink()
    records = bench_file(model, OPTIONS, str(data), tmp_path / "labels.txt")
    assert records[0].images == 6 + 6 + 6 + 1  # counted by hand: three classes of 6, one of 1
    assert records[0].top1 == pytest.approx(_top1_by_hand(model, data))
    shutil.rmtree(data / "8")
    (data / "8").mkdir()
    (data / "8" / "notes.txt").write_text("not a photo")
    with pytest.raises(LiteshipError) as caught:
        bench_file(model, OPTIONS, str(data), tmp_path / "labels.txt")
    assert caught.value.what == "Too few usable images in class 8 (0)"
    assert "scores nothing" in caught.value.why and "training" not in caught.value.why


def test_the_command_scores_a_class_of_one_photo_and_refuses_an_empty_one_up_front(folder, tmp_path, capsys):
    """The same through `liteship bench`, whose checks run before any work: they count image files per class as
    training's do, with scoring's threshold and words."""
    import json

    from liteship.app.cli import main

    model, data = folder
    for extra in sorted((data / "8").iterdir())[1:]:
        extra.unlink()
    out = tmp_path / "records.json"
    assert main(["bench", str(model), "--data", str(data), "--labels", str(tmp_path / "labels.txt"), "--backends",
                 "xnnpack", "--runs", "2", "--json", str(out), "--quiet"]) == 0
    assert json.loads(out.read_text())[0]["images"] == 19  # 6 + 6 + 6 + 1, counted by hand
    (data / "8" / next(iter(sorted((data / "8").iterdir()))).name).unlink()
    capsys.readouterr()
    assert main(["bench", str(model), "--data", str(data), "--labels", str(tmp_path / "labels.txt"), "--backends",
                 "xnnpack", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "too few image files in class 8 (0)" in err and "scores nothing" in err, err
    assert "training" not in err
