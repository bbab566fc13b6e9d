"""``liteship bench MODEL.tflite --data FOLDER`` (no run directory) scores from a temporary image cache read a
batch at a time, as a run's bench does, so its memory does not grow with the folder; the cache is removed when
the bench ends. The pixels and the top-1 are checked against Pillow and LiteRT driven by the test itself."""

import tempfile

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

from liteship.bench import BenchOptions, bench_file
from liteship.contract import to_model_pixels
from liteship.errors import LiteshipError

OPTIONS = BenchOptions(backends=("xnnpack",), runs=3, rounds=1, warmup=1)


@pytest.fixture
def folder(optimized_run, tmp_path):
    """A float32 digits model and a folder of 24 of the digits, as photos 3x their size, 4 classes."""
    from liteship.dataset import load_digits

    out, variants = optimized_run
    model = tmp_path / "m.tflite"
    model.write_bytes((out / variants["float32"]["file"]).read_bytes())
    (tmp_path / "labels.txt").write_text("\n".join(str(i) for i in range(10)) + "\n")
    ds = load_digits(32)
    data = tmp_path / "data"
    for c in ("1", "3", "7", "8"):
        (data / c).mkdir(parents=True)
        for i in np.flatnonzero(ds.labels == int(c))[:6]:
            Image.fromarray(ds.pixels[i]).resize((96, 80)).save(data / c / f"{i}.png")
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
        seen["cache"] = sorted(p.name for p in scratch.rglob("*px.u8"))
        return real(target, options, evalset, *rest)

    monkeypatch.setattr(single, "bench_target", spy)
    records = bench_file(model, OPTIONS, str(data), tmp_path / "labels.txt")
    assert isinstance(seen["pixels"], ImageRows) and seen["cache"] == ["32px.u8"]
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
    assert "Not enough free disk space for the image cache" in caught.value.what
    assert "TMPDIR" in caught.value.fix and "--out" not in caught.value.fix
