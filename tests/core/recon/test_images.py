"""load_photo: every kind of image, built synthetically, and every refusal."""

import dataclasses

import numpy as np
import pytest
from PIL import Image, features

from core.errors import LcaError
from core.recon.errors import PhotoError
from core.recon.images import Photo, load_photo

# A 6-block test card: every block a different saturated colour, so any wrong rotation, flip
# or channel order moves a colour to the wrong place.
COLOURS = np.array(
    [[[255, 0, 0], [0, 255, 0], [0, 0, 255]], [[255, 255, 0], [0, 255, 255], [255, 0, 255]]],
    dtype=np.uint8,
)


def card(width: int = 390, height: int = 280) -> np.ndarray:
    """(height, width, 3) uint8: COLOURS as a 2 x 3 grid of blocks."""
    rows = np.arange(height) * 2 // height
    cols = np.arange(width) * 3 // width
    return COLOURS[rows[:, None], cols[None, :]]


def assert_close(actual: np.ndarray, expected: np.ndarray, tolerance: float = 6.0) -> None:
    assert actual.shape == expected.shape
    diff = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
    assert diff.mean() < tolerance, f"mean difference {diff.mean():.1f}"


def assert_one_sentence(err: BaseException, path, *words: str) -> None:
    message = str(err)
    assert isinstance(err, LcaError)
    assert str(path) in message
    assert "\n" not in message and message.endswith(".")
    for word in words:
        assert word in message


# --- formats -----------------------------------------------------------------------------


def _save_heic(image: Image.Image, path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    if not pillow_heif.libheif_info()["encoders"]:
        pytest.skip("this libheif build cannot encode HEIC; only decoding would be testable")
    pillow_heif.from_pillow(image).save(path, quality=95)


@pytest.mark.parametrize(
    ("suffix", "fmt", "tolerance"),
    [
        (".jpg", "JPEG", 6.0),
        (".png", "PNG", 0.0001),
        (".webp", "WEBP", 6.0),
        (".tif", "TIFF", 0.0001),
        (".heic", "HEIF", 6.0),
        (".avif", "AVIF", 8.0),
    ],
)
def test_formats_load_upright_rgb(tmp_path, suffix, fmt, tolerance):
    path = tmp_path / f"card{suffix}"
    image = Image.fromarray(card())
    if fmt == "HEIF":
        _save_heic(image, path)
    elif fmt == "AVIF" and not features.check("avif"):
        pytest.skip("this Pillow build has no AVIF support")
    else:
        image.save(path, quality=95) if fmt in ("JPEG", "WEBP", "AVIF") else image.save(path)
    photo = load_photo(path)
    assert isinstance(photo, Photo)
    assert photo.format == fmt and photo.path == path
    assert photo.rgb.dtype == np.uint8 and photo.rgb.flags.c_contiguous
    assert not photo.rgb.flags.writeable
    assert (photo.width, photo.height) == photo.original_size == (390, 280)
    assert photo.scale == 1.0
    assert_close(photo.rgb, card(), tolerance)


def test_photo_is_frozen(tmp_path):
    Image.fromarray(card()).save(tmp_path / "a.png")
    photo = load_photo(tmp_path / "a.png")
    with pytest.raises(dataclasses.FrozenInstanceError):
        photo.scale = 2.0  # type: ignore[misc]


# --- EXIF orientation --------------------------------------------------------------------

# What a viewer shows for each EXIF Orientation value, given the stored pixels.
DISPLAYED = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, k=-1),  # rotate 90 degrees clockwise
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, k=1),  # rotate 90 degrees anticlockwise
}


def _save_with_orientation(array: np.ndarray, path, orientation: int) -> None:
    image = Image.fromarray(array)
    exif = image.getexif()
    exif[0x0112] = orientation
    image.save(path, quality=95, exif=exif)


@pytest.mark.parametrize("orientation", sorted(DISPLAYED))
def test_exif_orientation_is_applied(tmp_path, orientation):
    path = tmp_path / f"o{orientation}.jpg"
    _save_with_orientation(card(), path, orientation)
    photo = load_photo(path)
    expected = np.ascontiguousarray(DISPLAYED[orientation](card()))
    assert photo.original_size == (expected.shape[1], expected.shape[0])
    assert_close(photo.rgb, expected)


def test_orientation_6_puts_the_top_left_block_at_the_top_right(tmp_path):
    # Written out by hand, independently of DISPLAYED: the stored top-left block is red; a
    # camera held rotated writes Orientation 6 (turn 90 degrees clockwise to view).
    path = tmp_path / "rotated.jpg"
    _save_with_orientation(card(390, 280), path, 6)
    rgb = load_photo(path).rgb
    assert rgb.shape == (390, 280, 3)
    top_right = rgb[:40, -40:].reshape(-1, 3).mean(axis=0)
    assert np.allclose(top_right, [255, 0, 0], atol=12)
    bottom_right = rgb[-40:, -40:].reshape(-1, 3).mean(axis=0)
    assert np.allclose(bottom_right, [0, 0, 255], atol=12)  # stored top-right block


def test_huge_rotated_jpeg_is_downscaled_upright(tmp_path):
    path = tmp_path / "huge.jpg"
    _save_with_orientation(card(3900, 2800), path, 6)
    photo = load_photo(path, max_side=1024)
    assert photo.original_size == (2800, 3900)
    assert (photo.width, photo.height) == (round(2800 * 1024 / 3900), 1024)
    assert photo.scale == pytest.approx(1024 / 3900)
    expected = np.asarray(
        Image.fromarray(np.rot90(card(3900, 2800), k=-1)).resize(photo.rgb.shape[1::-1])
    )
    assert_close(photo.rgb, expected, tolerance=8.0)


# --- size --------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_huge_photos_are_downscaled_to_max_side(tmp_path, suffix):
    path = tmp_path / f"big{suffix}"
    Image.fromarray(card(5000, 3000)).save(path)
    photo = load_photo(path)
    assert photo.original_size == (5000, 3000)
    assert (photo.width, photo.height) == (2048, 1229)
    assert photo.scale == pytest.approx(2048 / 5000)
    assert_close(photo.rgb, card(2048, 1229), tolerance=8.0)


def test_tiny_photo_is_refused(tmp_path):
    path = tmp_path / "tiny.png"
    Image.fromarray(card(400, 200)).save(path)
    with pytest.raises(PhotoError) as err:
        load_photo(path)
    assert_one_sentence(err.value, path, "too small", "400x200", "256")
    assert load_photo(path, min_side=200).original_size == (400, 200)


def test_bad_limits_are_a_programming_error(tmp_path):
    with pytest.raises(ValueError):
        load_photo(tmp_path / "x.png", max_side=100, min_side=200)


# --- pixel layouts -----------------------------------------------------------------------

SIXTEEN_BIT = np.array([[0, 257, 32896, 32767, 65535, 1000]], dtype=np.uint16)  # one row
SIXTEEN_TO_EIGHT = np.array([0, 1, 128, 127, 255, 4], dtype=np.uint8)  # value * 255 / 65535


@pytest.mark.parametrize(("suffix", "dtype"), [(".png", "<u2"), (".tif", "<u2"), (".tif", ">u2")])
def test_sixteen_bit_gray_is_scaled_to_eight_bits(tmp_path, suffix, dtype):
    path = tmp_path / f"gray16{suffix}"
    values = np.repeat(np.repeat(SIXTEEN_BIT, 300, axis=0), 50, axis=1).astype(dtype)
    image = Image.fromarray(values)
    assert image.mode.startswith("I;16")
    image.save(path)
    rgb = load_photo(path).rgb
    assert rgb.shape == (300, 300, 3)
    expected = np.repeat(SIXTEEN_TO_EIGHT, 50)
    for channel in range(3):
        assert np.array_equal(rgb[150, :, channel], expected)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_sixteen_bit_rgb_is_scaled_to_eight_bits(tmp_path, suffix):
    cv2 = pytest.importorskip("cv2")
    rgb16 = np.empty((260, 300, 3), dtype=np.uint16)
    rgb16[...] = (65535, 32896, 2570)
    path = tmp_path / f"rgb16{suffix}"
    assert cv2.imwrite(str(path), rgb16[..., ::-1])  # OpenCV writes BGR
    rgb = load_photo(path).rgb
    assert np.array_equal(rgb[100, 100], [255, 128, 10])


def test_rgba_is_composited_over_white(tmp_path):
    rgba = np.zeros((300, 300, 4), dtype=np.uint8)
    rgba[:, :100] = (255, 0, 0, 255)  # opaque red
    rgba[:, 100:200] = (255, 0, 0, 0)  # fully transparent red
    rgba[:, 200:] = (0, 0, 0, 128)  # half-transparent black
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    rgb = load_photo(path).rgb
    assert np.array_equal(rgb[0, 0], [255, 0, 0])
    assert np.array_equal(rgb[0, 150], [255, 255, 255])
    assert np.abs(rgb[0, 250].astype(int) - 127).max() <= 1


@pytest.mark.parametrize(("mode", "suffix"), [("LA", ".png"), ("P", ".png"), ("RGBA", ".webp")])
def test_other_transparent_layouts_are_composited_over_white(tmp_path, mode, suffix):
    # Left half: opaque dark gray (40); right half: transparent red.
    index = np.zeros((300, 300), dtype=np.uint8)
    index[:, 150:] = 1
    paletted = Image.fromarray(index, mode="P")
    paletted.putpalette([40, 40, 40, 255, 0, 0])
    path = tmp_path / f"{mode}{suffix}"
    if mode == "P":
        paletted.save(path, transparency=1)
    else:
        rgba = paletted.convert("RGBA")
        rgba.putalpha(Image.fromarray(np.where(index == 1, 0, 255).astype(np.uint8)))
        (rgba.convert("LA") if mode == "LA" else rgba).save(path, lossless=True)
    assert Image.open(path).mode == mode
    rgb = load_photo(path).rgb
    assert np.abs(rgb[0, 0].astype(int) - 40).max() <= 1
    assert np.array_equal(rgb[0, 299], [255, 255, 255])


@pytest.mark.parametrize("suffix", [".jpg", ".tif"])
def test_cmyk_is_converted_to_rgb(tmp_path, suffix):
    path = tmp_path / f"cmyk{suffix}"
    cmyk = Image.fromarray(card()).convert("CMYK")
    cmyk.save(path, quality=95) if suffix == ".jpg" else cmyk.save(path)
    assert Image.open(path).mode == "CMYK"
    assert_close(load_photo(path).rgb, card(), tolerance=6.0)


@pytest.mark.parametrize(("mode", "suffix"), [("L", ".jpg"), ("L", ".png"), ("1", ".png")])
def test_grayscale_and_bilevel_become_three_equal_channels(tmp_path, mode, suffix):
    gray = np.zeros((300, 300), dtype=np.uint8)
    gray[:, 150:] = 255
    path = tmp_path / f"gray{suffix}"
    Image.fromarray(gray).convert(mode).save(path)
    rgb = load_photo(path).rgb
    assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])
    assert rgb[150, 10, 0] < 10 and rgb[150, 290, 0] > 245


def test_palette_image_keeps_its_colours(tmp_path):
    path = tmp_path / "palette.png"
    Image.fromarray(card()).quantize(8).save(path)
    assert Image.open(path).mode == "P"
    assert_close(load_photo(path).rgb, card(), tolerance=1.0)


def test_embedded_srgb_profile_and_a_broken_profile_both_load(tmp_path):
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(card()).save(tmp_path / "srgb.png", icc_profile=srgb)
    Image.fromarray(card()).save(tmp_path / "broken.png", icc_profile=b"not a profile")
    assert_close(load_photo(tmp_path / "srgb.png").rgb, card(), tolerance=2.0)
    assert_close(load_photo(tmp_path / "broken.png").rgb, card(), tolerance=0.0001)
    rgba = np.zeros((300, 300, 4), dtype=np.uint8)
    rgba[:, :150] = (255, 0, 0, 255)
    rgba[:, 150:] = (0, 0, 255, 0)
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "rgba.png", icc_profile=srgb)
    rgb = load_photo(tmp_path / "rgba.png").rgb  # colour-managed, then over white
    assert np.array_equal(rgb[0, [0, 299]], [[255, 0, 0], [255, 255, 255]])


# --- refusals ----------------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.jpg"
    with pytest.raises(PhotoError) as err:
        load_photo(path)
    assert_one_sentence(err.value, path, "does not exist")


def test_directory(tmp_path):
    path = tmp_path / "folder.jpg"
    path.mkdir()
    with pytest.raises(PhotoError) as err:
        load_photo(path)
    assert_one_sentence(err.value, path, "folder")


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(PhotoError) as err:
        load_photo(path)
    assert_one_sentence(err.value, path, "empty")


def test_text_file_renamed_jpg(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("These are my notes, not a photo.\n")
    with pytest.raises(PhotoError) as err:
        load_photo(path)
    assert_one_sentence(err.value, path, "not an image")


@pytest.mark.parametrize(("suffix", "fmt"), [(".gif", "GIF"), (".bmp", "BMP")])
def test_unsupported_format(tmp_path, suffix, fmt):
    path = tmp_path / f"card{suffix}"
    Image.fromarray(card()).save(path)
    with pytest.raises(PhotoError) as err:
        load_photo(path)
    assert_one_sentence(err.value, path, f"{fmt} image", "not supported", "JPEG")


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".heic"])
def test_truncated_file(tmp_path, suffix):
    whole = tmp_path / f"whole{suffix}"
    image = Image.fromarray(card(600, 400))
    _save_heic(image, whole) if suffix == ".heic" else image.save(whole)
    data = whole.read_bytes()
    path = tmp_path / f"truncated{suffix}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(PhotoError) as err:
        load_photo(path)
    assert_one_sentence(err.value, path)
    assert "corrupt or truncated" in str(err.value) or "not an image" in str(err.value)


def test_damaged_jpeg_header(tmp_path):
    path = tmp_path / "damaged.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8)
    with pytest.raises(PhotoError) as err:
        load_photo(path)
    assert_one_sentence(err.value, path)


def test_float_tiff_is_refused(tmp_path):
    path = tmp_path / "float.tif"
    Image.fromarray(np.ones((300, 300), dtype=np.float32)).save(path)
    with pytest.raises(PhotoError) as err:
        load_photo(path)
    assert_one_sentence(err.value, path, "floating-point")
