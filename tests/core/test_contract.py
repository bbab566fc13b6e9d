import numpy as np
import pytest
from PIL import Image

from liteship.contract import InputContract, feed, pixels_to_float, to_model_pixels


def test_center_square_crop_keeps_the_middle():
    # 30 wide x 10 high: red | green | blue thirds; the centre square is the green third.
    arr = np.zeros((10, 30, 3), np.uint8)
    arr[:, :10, 0] = 255
    arr[:, 10:20, 1] = 255
    arr[:, 20:, 2] = 255
    out = to_model_pixels(Image.fromarray(arr), 10)
    assert out.shape == (10, 10, 3) and out.dtype == np.uint8
    assert (out[..., 1] == 255).all() and (out[..., 0] == 0).all() and (out[..., 2] == 0).all()


def test_resize_is_bilinear_and_float_is_bytes_over_255():
    arr = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (64, 1))
    img = Image.fromarray(arr, mode="L")
    out = to_model_pixels(img, 16)
    expected = np.asarray(img.convert("RGB").resize((16, 16), Image.BILINEAR))
    np.testing.assert_array_equal(out, expected)
    f = pixels_to_float(out)
    assert f.dtype == np.float32
    np.testing.assert_allclose(f, out.astype(np.float32) / 255.0)
    assert f.min() >= 0.0 and f.max() <= 1.0


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "CMYK", "I;16", "RGB"])
def test_every_mode_becomes_rgb(mode):
    rng = np.random.default_rng(1)
    rgb = Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8))
    if mode == "I;16":
        img = Image.fromarray(np.full((12, 12), 65535, np.uint16))
    else:
        img = rgb.convert(mode)
    out = to_model_pixels(img, 12)
    assert out.shape == (12, 12, 3)
    if mode == "I;16":
        assert (out == 255).all()  # full-scale 16-bit is white, not clipped garbage
    if mode == "RGB":
        np.testing.assert_array_equal(out, np.asarray(rgb))


def test_exif_rotation_is_applied():
    arr = np.zeros((10, 20, 3), np.uint8)
    arr[:, :10] = 255  # white left half
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 CW when shown
    import io

    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif, quality=100)
    shown = to_model_pixels(Image.open(io.BytesIO(buf.getvalue())), 10)
    # After a 90 degree clockwise turn the white half is on top.
    assert shown[:4].mean() > 200 and shown[-4:].mean() < 50


def test_contract_record_names_the_numbers():
    c = InputContract(96).to_dict()
    assert c["size"] == 96 and "1/255" in c["uint8_input"] and "bilinear" in c["resize"]


def test_each_input_type_is_fed_as_the_contract_says_by_hand():
    # Bytes 0, 1, 127, 128, 254, 255 fed to each input type the contract names (scale 1/255 for both quantized):
    pixels = np.array([0, 1, 127, 128, 254, 255], np.uint8)
    one_over_255 = float(np.float32(1 / 255))
    assert feed(pixels, np.uint8, one_over_255, 0).tolist() == [0, 1, 127, 128, 254, 255]  # the raw bytes
    assert feed(pixels, np.int8, one_over_255, -128).tolist() == [-128, -127, -1, 0, 126, 127]  # bytes - 128
    assert np.allclose(feed(pixels, np.float32), [0, 1 / 255, 127 / 255, 128 / 255, 254 / 255, 1.0])
    every = np.arange(256, dtype=np.uint8)
    assert (feed(every, np.int8, one_over_255, -128).astype(int) == np.arange(256) - 128).all()
    c = InputContract(96).to_dict()
    assert "- 128" in c["int8_input"] and "-128" in c["int8_input"] and "zero point" in c["output"]
