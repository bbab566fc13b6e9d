"""The release fed as apps feed it, on scenarios whose answers are known by hand.

The model is built here, op by op: the mean colour of the image, then one dense layer that says "red" when red
outweighs blue and "blue" otherwise. So a photo's class is the colour that covers most of what the model is
shown, and each path's answer can be worked out from the picture alone:

- a 3:1 photo whose centre square is one colour and whose two side squares are the other: the centre square
  (the app's region of interest) shows the centre's colour, the whole photo stretched shows the sides';
- a square photo of blue with a sparse red grid exactly where a plain (non-antialiased) bilinear resize by 8
  samples: plain bilinear sees red, antialiased bilinear (which averages) sees blue.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
from PIL import Image

from liteship import task_api
from liteship.contract import plain_bilinear
from liteship.dataset import load_dataset, split_record
from liteship.judge.app_inputs import app_inputs, roi_of, split_photos
from liteship.tflite_file import write_model

SIZE = 32
BLUE, RED = (20, 30, 230), (230, 30, 20)
needs_mediapipe = pytest.mark.skipif(not task_api.installed(), reason="the MediaPipe environment is not installed: "
                                     f"`{task_api.INSTALL}`")


def colour_model(size: int = SIZE) -> bytes:
    """float32 [1, size, size, 3] in [0, 1] -> MEAN over the pixels -> dense -> softmax over (blue, red)."""
    def tensor(shape, dtype, buffer, name):
        t = schema.TensorT()
        t.shape, t.type, t.buffer, t.name = list(shape), dtype, buffer, name
        return t

    def buffer(arr=None):
        b = schema.BufferT()
        b.data = None if arr is None else list(np.ascontiguousarray(arr).tobytes())
        return b

    def op(code, inputs, outputs, kind, options):
        o = schema.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs, o.builtinOptionsType, o.builtinOptions = code, inputs, outputs, kind, options
        return o

    weights = np.asarray([[-10.0, 0.0, 10.0], [10.0, 0.0, -10.0]], np.float32)  # rows: blue, red
    f32, i32 = schema.TensorType.FLOAT32, schema.TensorType.INT32
    graph = schema.SubGraphT()
    graph.tensors = [tensor([1, size, size, 3], f32, 0, "image"), tensor([2], i32, 1, "axes"),
                     tensor([1, 3], f32, 0, "mean"), tensor([2, 3], f32, 2, "weights"), tensor([2], f32, 3, "bias"),
                     tensor([1, 2], f32, 0, "logits"), tensor([1, 2], f32, 0, "probabilities")]
    graph.inputs, graph.outputs = [0], [6]
    reducer, dense, soft = schema.ReducerOptionsT(), schema.FullyConnectedOptionsT(), schema.SoftmaxOptionsT()
    reducer.keepDims, soft.beta = False, 1.0
    graph.operators = [op(0, [0, 1], [2], schema.BuiltinOptions.ReducerOptions, reducer),
                       op(1, [2, 3, 4], [5], schema.BuiltinOptions.FullyConnectedOptions, dense),
                       op(2, [5], [6], schema.BuiltinOptions.SoftmaxOptions, soft)]
    codes = []
    for builtin in (schema.BuiltinOperator.MEAN, schema.BuiltinOperator.FULLY_CONNECTED,
                    schema.BuiltinOperator.SOFTMAX):
        c = schema.OperatorCodeT()
        c.builtinCode = c.deprecatedBuiltinCode = builtin
        codes.append(c)
    model = schema.ModelT()
    model.version, model.operatorCodes, model.subgraphs, model.description = 3, codes, [graph], "colour"
    model.buffers = [buffer(), buffer(np.asarray([1, 2], np.int32)), buffer(weights), buffer(np.zeros(2, np.float32))]
    return write_model(model)


def sides_photo(centre, sides, wide: bool, shade: int) -> np.ndarray:
    """A 3:1 photo: its centre square one colour, the two squares beside it another."""
    photo = np.empty((SIZE, 3 * SIZE, 3), np.uint8)
    photo[:] = sides
    photo[:, SIZE:2 * SIZE] = centre
    photo = np.clip(photo.astype(int) + shade, 0, 255).astype(np.uint8)
    return photo if wide else np.ascontiguousarray(photo.transpose(1, 0, 2))


def grid_photo(shade: int) -> np.ndarray:
    """256x256 blue, with red where a plain bilinear resize to 32 samples (rows and columns 8k+3 and 8k+4)."""
    photo = np.empty((256, 256, 3), np.uint8)
    photo[:] = BLUE
    hit = np.isin(np.arange(256) % 8, (3, 4))
    photo[np.ix_(hit, hit)] = RED
    return np.clip(photo.astype(int) + shade, 0, 255).astype(np.uint8)


def make_run(tmp_path, photos: dict[str, list[np.ndarray]]):
    """A run directory whose data/split.json tests on every photo (PNG files in class folders)."""
    data, run = tmp_path / "data", tmp_path / "run"
    for name, images in photos.items():
        (data / name).mkdir(parents=True)
        for i, img in enumerate(images):
            Image.fromarray(img).save(data / name / f"{i:02d}.png")
    dataset = load_dataset(str(data), SIZE)
    record = split_record(dataset, {"train": np.asarray([], np.int64), "val": np.asarray([], np.int64),
                                    "test": np.arange(len(dataset.items))}, 0, {"val": 0.0, "test": 1.0})
    (run / "data").mkdir(parents=True)
    (run / "data" / "split.json").write_text(json.dumps(record.to_dict()), encoding="utf-8")
    return run, dataset


def test_plain_bilinear_samples_where_the_hand_count_says():
    """By hand: 256 -> 32 maps output pixel i to source 8i + 3.5, halfway between 8i + 3 and 8i + 4."""
    out = plain_bilinear(grid_photo(0), 32)
    assert (out == np.asarray(RED, np.uint8)).all()
    small = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3) * 5
    up = plain_bilinear(small, 8)  # 4 -> 8: output 1 sits at source 0.25, output 2 at 0.75
    expect = np.floor(small[0, 0] * 0.75 ** 2 + small[0, 1] * 0.75 * 0.25 + small[1, 0] * 0.25 * 0.75
                      + small[1, 1] * 0.25 ** 2 + 0.5)
    assert (up[1, 1] == expect).all() and (up[0, 0] == small[0, 0]).all()


@needs_mediapipe
def test_plain_bilinear_is_opencvs_inter_linear(tmp_path):
    """Another project's runtime: OpenCV's INTER_LINEAR (in MediaPipe's environment) on the same arrays, within
    its fixed-point rounding (1 level)."""
    import subprocess

    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, shape, dtype=np.uint8) for shape in ((64, 96, 3), (8, 8, 3), (300, 200, 3))]
    for i, a in enumerate(arrays):
        np.save(tmp_path / f"{i}.npy", a)
    code = ("import sys, numpy as np, cv2\nfor i in range(3):\n    a = np.load(f'{sys.argv[1]}/{i}.npy')\n"
            "    np.save(f'{sys.argv[1]}/cv{i}.npy', cv2.resize(a, (32, 32), interpolation=cv2.INTER_LINEAR))\n")
    subprocess.run([str(task_api.env_dir() / "bin" / "python"), "-c", code, str(tmp_path)], check=True, timeout=120)
    for i, a in enumerate(arrays):
        diff = np.abs(plain_bilinear(a, 32).astype(int) - np.load(tmp_path / f"cv{i}.npy").astype(int))
        assert diff.max() <= 1, i


def test_a_kernel_that_changes_the_class_is_warned(tmp_path):
    """Grid photos, all labelled blue (what the contract's antialiased resize shows): antialiased top-1 1.0, plain
    bilinear 0.0, far beyond the paired interval: a warning naming both kernels."""
    run, _ = make_run(tmp_path, {"blue": [grid_photo(s) for s in range(0, 24, 2)],
                                 "red": [sides_photo(RED, RED, True, s) for s in range(0, 8, 4)]})
    (tmp_path / "m.tflite").write_bytes(colour_model())
    kernels, found = app_inputs(run, tmp_path / "m.tflite", SIZE, None)
    assert found is None
    assert kernels["antialiased"]["top1"] == 1.0
    assert kernels["plain"]["top1"] == pytest.approx(2 / 14)  # only the two all-red photos
    assert kernels["change"]["beyond_interval"] and kernels["change"]["interval"][1] < 0
    assert "plain bilinear" in kernels["warning"] and "antialiased bilinear" in kernels["warning"]


@pytest.mark.parametrize("batch", [32, 3])
def test_smooth_photos_give_no_kernel_warning(tmp_path, monkeypatch, batch):
    """Batches of 3 (the last one short) give the numbers one batch gives: every photo scored once."""
    from liteship.judge import app_inputs as module

    monkeypatch.setattr(module, "BATCH", batch)
    run, _ = make_run(tmp_path, {"blue": [sides_photo(BLUE, RED, w, s) for w in (True, False) for s in (0, 9)],
                                 "red": [sides_photo(RED, BLUE, w, s) for w in (True, False) for s in (0, 9)]})
    (tmp_path / "m.tflite").write_bytes(colour_model())
    kernels, _ = app_inputs(run, tmp_path / "m.tflite", SIZE, None)
    assert kernels["antialiased"]["top1"] == kernels["plain"]["top1"] == 1.0 and kernels["warning"] is None
    assert kernels["images"] == 8


def test_the_region_of_interest_is_the_contracts_centre_square():
    assert roi_of(96, 32) == [1 / 3, 0.0, 2 / 3, 1.0]
    assert roi_of(32, 96) == [0.0, 1 / 3, 1.0, 2 / 3]
    assert roi_of(5, 2) == [0.2, 0.0, 0.6, 1.0]  # (5 - 2) // 2 = 1: left 1 of 5, right 3 of 5
    assert roi_of(7, 7) == [0.0, 0.0, 1.0, 1.0]


@needs_mediapipe
def test_mediapipe_is_fed_the_photo_with_the_centre_square_and_the_stretched_number_is_beside(tmp_path):
    """Photos 96x32 and 32x96 whose centre square is their class's colour and whose sides are the other: with the
    centre square as region of interest MediaPipe must get every one right (top-1 1.0, as liteship's contract
    path); stretched, the sides cover two thirds and it must get every one wrong (0.0), and that is the number
    reported beside."""
    photos = {"blue": [sides_photo(BLUE, RED, w, s) for w in (True, False) for s in (0, 7, 14)],
              "red": [sides_photo(RED, BLUE, w, s) for w in (True, False) for s in (0, 7, 14)]}
    run, dataset = make_run(tmp_path, photos)
    with task_api.Worker() as worker:
        model = task_api.add_metadata(worker, colour_model(), dataset.class_names, "colour", "test", "1", "float32")
        (tmp_path / "m.tflite").write_bytes(model)
        kernels, found = app_inputs(run, tmp_path / "m.tflite", SIZE, None, worker)
    assert found["loaded"], found
    assert found["images"] == 12 and found["non_square"] == 12 and found["region"] == "centre square"
    assert found["contract_top1"] == 1.0
    assert found["top1"] == 1.0 and found["agreement"] == 1.0
    assert found["stretched"]["top1"] == 0.0 and found["stretched"]["region"] == "whole photo"
    assert found["stretched"]["change_vs_contract"]["beyond_interval"]
    assert kernels["warning"] is None
    # MODEL.md: the Swift passes the centre square as region of interest; the stretched number is said beside
    from liteship.judge.release_docs import kernels_md, mediapipe_md

    text = "\n".join(mediapipe_md({"runtime": "mediapipe", **found}) + kernels_md(kernels))
    assert "classifier.classify(image: try MPImage(uiImage: photo), regionOfInterest: square)" in text
    assert "centre square as region of interest, as above, top-1 100.00 %" in text
    assert "Without `regionOfInterest` MediaPipe stretches the whole photo to the input size: top-1 0.00 %" in text


def test_a_cmyk_jpeg_is_read_by_pillow(tmp_path):
    """MediaPipe's own file reader cannot read CMYK JPEGs; the photos are decoded by Pillow, as the contract is."""
    photos = {"blue": [sides_photo(BLUE, RED, True, s) for s in (0, 9)],
              "red": [sides_photo(RED, BLUE, True, s) for s in (0, 9)]}
    run, dataset = make_run(tmp_path, photos)
    cmyk = tmp_path / "data" / "blue" / "00.jpg"
    Image.fromarray(photos["blue"][0]).convert("CMYK").save(cmyk, quality=95)
    (tmp_path / "data" / "blue" / "00.png").unlink()
    dataset = load_dataset(str(tmp_path / "data"), SIZE)
    record = split_record(dataset, {"train": np.asarray([], np.int64), "val": np.asarray([], np.int64),
                                    "test": np.arange(len(dataset.items))}, 0, {"val": 0.0, "test": 1.0})
    (run / "data" / "split.json").write_text(json.dumps(record.to_dict()), encoding="utf-8")
    got, _ = split_photos(run, None)
    first = next(got)
    assert first.shape == (SIZE, 3 * SIZE, 3) and first.dtype == np.uint8
    assert np.abs(first.astype(int) - photos["blue"][0].astype(int)).mean() < 8  # JPEG's loss, not another image


def test_the_digits_are_fed_as_their_8x8_source_images(tmp_path):
    """The built-in digits have no photo files: the photos are the 8x8 images, square (so the region is the whole
    image), and the contract makes the run's own pixels of them."""
    from liteship.contract import to_model_pixels
    from liteship.dataset import load_digits

    digits = load_digits(SIZE)
    items = [digits.items[i] for i in (0, 5, 1796)]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "split.json").write_text(json.dumps({
        "source": "digits", "content_hash": digits.content_hash, "classes": digits.class_names,
        "splits": {"train": [], "val": [], "test": items}}), encoding="utf-8")
    photos, fed = split_photos(tmp_path, None)
    got = list(photos)
    assert "no photo files" in fed and all(p.shape == (8, 8, 3) for p in got)
    for photo, i in zip(got, (0, 5, 1796)):
        assert np.array_equal(to_model_pixels(Image.fromarray(photo), SIZE), digits.pixels[i])
        assert roi_of(*photo.shape[:2]) == [0.0, 0.0, 1.0, 1.0]
