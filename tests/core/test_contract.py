import numpy as np
import pytest
from PIL import Image

from liteship.contract import InputContract, pixels_to_float, to_model_pixels


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
