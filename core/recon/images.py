"""Reading a photo file into an upright 8-bit sRGB array, or refusing it in one sentence.

``load_photo`` accepts JPEG (and camera MPO), PNG, WebP, TIFF, AVIF and iPhone HEIC/HEIF.
It applies the EXIF orientation, converts every pixel layout (16-bit, grayscale, palette,
CMYK, with or without alpha) to 8-bit RGB, converts embedded colour profiles (Display P3,
Adobe RGB, CMYK) to sRGB where Pillow's colour management can, and shrinks large photos.

Transparent pixels are composited over white: a transparent background is what cut-out
photos and renders have, and viewers show it as white, so white is what the user saw; on this
project's one RGBA photo (``stylized_3d_render_woman_01.png``) MediaPipe found the same
person, face and hands over white and black (mean landmark visibility 0.977 vs 0.965).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .errors import PhotoError

#: Pillow format names ``load_photo`` accepts (``HEIF`` once pillow-heif is registered).
SUPPORTED_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "TIFF", "AVIF", "HEIF")
_FORMAT_ADVICE = "use a JPEG, PNG, WebP, TIFF or HEIC photo"
_BACKGROUND = (255, 255, 255)  # transparent pixels become white (see the module docstring)
_ORIENTATION_TAG = 0x0112
_ISO_BMFF_BRANDS_HEIF = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


@dataclass(frozen=True)
class Photo:
    """An upright 8-bit sRGB photo, ready for perception.

    Attributes:
        rgb: (H, W, 3) uint8, read-only, C-contiguous; sRGB-encoded, upright (EXIF
            orientation applied), transparent pixels composited over white. A numpy array
            rather than a tensor because MediaPipe and OpenCV take uint8 RGB arrays;
            ``torch.from_numpy(photo.rgb)`` shares its memory.
        path: the file it was read from.
        original_size: (width, height) of the upright image stored in the file.
        scale: W / original width (<= 1); multiply file pixel coordinates by it to get
            coordinates in ``rgb``.
        format: Pillow's name of the file format ("JPEG", "PNG", "HEIF", ...).
    """

    rgb: np.ndarray
    path: Path
    original_size: tuple[int, int]
    scale: float
    format: str

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def load_photo(path: Path | str, max_side: int = 2048, min_side: int = 256) -> Photo:
    """Read ``path`` into a ``Photo`` whose longer side is at most ``max_side`` pixels.

    Raises:
        PhotoError: the file is missing, a folder, empty, unreadable, not an image, in an
            unsupported format, corrupt or truncated, too large to decode, or its shorter
            side is under ``min_side`` pixels.
        ValueError: ``max_side`` < ``min_side`` or ``min_side`` < 1 (a caller's mistake).
    """
    if min_side < 1 or max_side < min_side:
        raise ValueError(f"need 1 <= min_side <= max_side, got {min_side=} {max_side=}")
    path = Path(path)
    _check_file(path)
    image = _open(path)
    try:
        original_size = _upright_size(image)
        _check_min_side(path, original_size, min_side)
        scale = min(1.0, max_side / max(original_size))
        size = _scaled(original_size, scale)
        if scale < 1.0 and image.format in ("JPEG", "MPO"):
            # libjpeg decodes at 1/2, 1/4 or 1/8 size, never below the target: much faster.
            image.draft(None, size if original_size == image.size else size[::-1])
        rgb = _decode(path, image, size)
        fmt = image.format or "unknown"
    finally:
        image.close()
    rgb.setflags(write=False)
    return Photo(rgb=rgb, path=path, original_size=original_size, scale=scale, format=fmt)


def _check_file(path: Path) -> None:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise PhotoError(f"Photo '{path}' does not exist; check the path.") from None
    except OSError as err:
        raise PhotoError(
            f"Photo '{path}' cannot be read ({err.strerror}); check that you may read it."
        ) from None
    if path.is_dir():
        raise PhotoError(f"'{path}' is a folder, not a photo; pass the path of an image file.")
    if info.st_size == 0:
        raise PhotoError(
            f"Photo '{path}' is an empty file (0 bytes); copy the photo again or pick another."
        )


def _open(path: Path) -> Image.Image:
    """Open (header only) with the supported Pillow plugins; PhotoError if that fails."""
    try:
        if _is_heif(path):
            _register_heif(path)
        Image.init()
        formats = [name for name in SUPPORTED_FORMATS if name in Image.OPEN]
        return Image.open(path, formats=formats)
    except UnidentifiedImageError:
        raise _not_supported(path) from None
    except Image.DecompressionBombError as err:
        raise _too_large(path, err) from None
    except PermissionError as err:
        raise PhotoError(
            f"Photo '{path}' cannot be read ({err.strerror}); check that you may read it."
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise _corrupt(path, err) from None


def _is_heif(path: Path) -> bool:
    """True if the file is an ISO media file with a HEIF brand (iPhone HEIC and similar)."""
    with open(path, "rb") as handle:
        head = handle.read(12)
    return head[4:8] == b"ftyp" and head[8:12] in _ISO_BMFF_BRANDS_HEIF


def _register_heif(path: Path) -> None:
    try:
        import pillow_heif
    except ImportError:
        raise PhotoError(
            f"Photo '{path}' is a HEIC/HEIF image and reading it needs the pillow-heif package; "
            "install it (pip install pillow-heif==1.8.1) or save the photo as JPEG."
        ) from None
    pillow_heif.register_heif_opener()


def _not_supported(path: Path) -> PhotoError:
    """Tell an image in a format we do not take from a file that is no image at all."""
    try:
        with Image.open(path) as image:  # header only: names the format
            fmt = image.format
    except Exception:  # any failure: not an image we know
        fmt = None
    if fmt is None:
        return PhotoError(f"'{path}' is not an image file (or is badly damaged); {_FORMAT_ADVICE}.")
    return PhotoError(f"'{path}' is a {fmt} image, which is not supported; {_FORMAT_ADVICE}.")


def _corrupt(path: Path, err: BaseException) -> PhotoError:
    reason = str(err).strip().rstrip(".").replace("(", "").replace(")", "") or type(err).__name__
    reason = reason if len(reason) <= 80 else reason[:77] + "..."
    return PhotoError(
        f"Photo '{path}' is corrupt or truncated ({reason}); copy it again or export it anew."
    )


def _too_large(path: Path, err: BaseException) -> PhotoError:
    limit = 2 * Image.MAX_IMAGE_PIXELS / 1e6
    return PhotoError(
        f"Photo '{path}' has too many pixels to read safely (over {limit:.0f} megapixels); "
        "downscale it first."
    )


def _upright_size(image: Image.Image) -> tuple[int, int]:
    """(width, height) after the EXIF orientation is applied."""
    width, height = image.size
    try:
        orientation = image.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # unreadable EXIF: exif_transpose will not rotate either
        orientation = 1
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _check_min_side(path: Path, size: tuple[int, int], min_side: int) -> None:
    if min(size) < min_side:
        raise PhotoError(
            f"Photo '{path}' is too small ({size[0]}x{size[1]} pixels; the shorter side must be "
            f"at least {min_side}); use a larger photo."
        )


def _scaled(size: tuple[int, int], scale: float) -> tuple[int, int]:
    return (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))


def _decode(path: Path, image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """Decode, turn upright, convert to sRGB and resize to ``size`` (width, height)."""
    try:
        image.load()
        upright = _exif_transpose(image)
    except Image.DecompressionBombError as err:
        raise _too_large(path, err) from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise _corrupt(path, err) from None
    rgb = _to_rgb(path, upright)
    if rgb.size != size:
        rgb = rgb.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def _exif_transpose(image: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, KeyError, TypeError):
        return image  # EXIF too damaged to read its orientation: keep the stored pixels


def _to_rgb(path: Path, image: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit sRGB "RGB" (16-bit scaled, alpha over white, CMYK converted)."""
    mode = image.mode
    if mode == "F":
        raise PhotoError(
            f"Photo '{path}' has floating-point pixels, which are not supported; "
            "save it as an 8- or 16-bit image."
        )
    if mode.startswith("I"):  # I;16, I;16B, I;16L, I;16N and I (Pillow's 32-bit holder)
        return _sixteen_bit_to_rgb(image)
    if image.has_transparency_data:
        return _composite(_to_srgb(image, "RGBA"))
    return _to_srgb(image, "RGB")


def _sixteen_bit_to_rgb(image: Image.Image) -> Image.Image:
    """16-bit gray (0..65535) -> 8-bit RGB: value * 255 / 65535, rounded."""
    values = np.asarray(image).astype(np.float64)
    gray = np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8)
    return Image.fromarray(gray).convert("RGB")


def _to_srgb(image: Image.Image, mode: str) -> Image.Image:
    """Convert to ``mode`` ("RGB" or "RGBA"), through the embedded ICC profile when usable."""
    profile = image.info.get("icc_profile")
    if profile and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            target = ImageCms.createProfile("sRGB")
            converted = ImageCms.profileToProfile(image, source, target, outputMode=mode)
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: fall back to Pillow's plain conversion
    return image if image.mode == mode else image.convert(mode)


def _composite(rgba: Image.Image) -> Image.Image:
    background = Image.new("RGB", rgba.size, _BACKGROUND)
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background
