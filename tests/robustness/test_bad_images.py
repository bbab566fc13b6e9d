"""Photo folders scraped from phones: every bad kind is skipped or converted, counted and listed."""

import io
import json
import struct
import zlib

import numpy as np
from PIL import Image

from liteship.app.cli import main
from tests.conftest import write_class_folder


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height pixels and holds none: a decompression bomb's calling card."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")


def plant(folder, rng):
    """Write every kind of bad or odd image; return {file: 'skipped'|'converted'}."""
    rgb = rng.integers(0, 256, (24, 36, 3), dtype=np.uint8)
    good_jpeg = io.BytesIO()
    Image.fromarray(rgb).save(good_jpeg, format="JPEG")
    good_png = io.BytesIO()
    Image.fromarray(rgb).save(good_png, format="PNG")
    kinds = {}

    def put(name, data, outcome):
        (folder / name).write_bytes(data)
        kinds[name] = outcome

    put("zero_byte.jpg", b"", "skipped")
    put("truncated.jpg", good_jpeg.getvalue()[: len(good_jpeg.getvalue()) // 3], "skipped")
    put("truncated.png", good_png.getvalue()[: len(good_png.getvalue()) // 2], "skipped")
    put("text.jpg", b"just a note, not a photo\n", "skipped")
    put("bomb.png", _png_header_only(40_000, 40_000), "skipped")
    Image.fromarray(rgb).convert("CMYK").save(folder / "cmyk.jpg")
    kinds["cmyk.jpg"] = "converted"
    Image.fromarray(rng.integers(0, 65536, (20, 20)).astype(np.uint16)).save(folder / "sixteen_bit.png")
    kinds["sixteen_bit.png"] = "converted"
    pal = Image.fromarray(rgb).convert("P")
    pal.save(folder / "palette_alpha.png", transparency=0)
    kinds["palette_alpha.png"] = "converted"
    Image.fromarray(rgb[:1, :1]).save(folder / "one_pixel.png")
    kinds["one_pixel.png"] = "converted"
    frames = [Image.fromarray(rgb), Image.fromarray(255 - rgb)]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    kinds["animated.gif"] = "converted"
    img = Image.fromarray(rgb)
    exif = img.getexif()
    exif[0x0112] = 6
    img.save(folder / "exif_rotated.jpg", exif=exif)
    kinds["exif_rotated.jpg"] = "converted"
    Image.fromarray(rgb).save(folder / "ünïcode näme with spaces.png")
    kinds["ünïcode näme with spaces.png"] = "converted"
    (folder / "loop.jpg").symlink_to("loop.jpg")
    kinds["loop.jpg"] = "skipped"
    (folder / "sub").mkdir()
    (folder / "sub" / "up").symlink_to("..", target_is_directory=True)  # a folder loop: not followed
    return kinds


def test_every_bad_kind_is_skipped_or_converted_and_training_goes_on(tmp_path, capsys, tf_available):
    rng = np.random.default_rng(0)
    data = write_class_folder(tmp_path / "data", per_class=8)
    kinds = plant(data / "one", rng)
    assert len(kinds) >= 12
    code = main(["train", "--data", str(data), "--arch", "small_cnn", "--size", "16", "--epochs", "1",
                 "--out", str(tmp_path / "run")])
    printed = capsys.readouterr()
    assert code == 0 and "Traceback" not in printed.err
    card = json.loads((tmp_path / "run" / "float" / "small_cnn_16" / "card.json").read_text())
    skipped = {item["file"].split("/", 1)[1]: item["reason"] for item in card["skipped"]}
    expected_skips = {k for k, v in kinds.items() if v == "skipped"}
    assert set(skipped) == expected_skips, skipped
    assert "decompression bomb" in skipped["bomb.png"]
    converted = [k for k, v in kinds.items() if v == "converted"]
    split = json.loads((tmp_path / "run" / "data" / "split.json").read_text())
    used = {item.split("/", 1)[1] for items in split["splits"].values() for item in items}
    assert set(converted) <= used
    assert card["counts_per_class"]["train"]["one"] + card["counts_per_class"]["val"]["one"] + \
        card["counts_per_class"]["test"]["one"] == 8 + len(converted)
    for name in expected_skips:
        assert f"skipped one/{name}" in printed.err
    print(f"bad images: {len(kinds)} kinds planted, {len(expected_skips)} skipped and listed, "
          f"{len(converted)} converted, training finished")


def test_animated_gif_uses_its_first_frame_and_exif_turns_the_photo(tmp_path):
    from liteship.dataset import load_folder

    rng = np.random.default_rng(1)
    data = write_class_folder(tmp_path / "data", per_class=2)
    plant(data / "one", rng)
    ds = load_folder(data, 12)
    gif = ds.pixels[ds.items.index("one/animated.gif")]
    with Image.open(data / "one" / "animated.gif") as im:
        first = np.asarray(im.convert("RGB").crop((6, 0, 30, 24)).resize((12, 12), Image.BILINEAR))
    np.testing.assert_array_equal(gif, first)
    assert ds.pixels[ds.items.index("one/exif_rotated.jpg")].shape == (12, 12, 3)
