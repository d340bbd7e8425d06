"""Magic-byte sniffing: the content decides the format, never the name."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shared.errors import CorruptImage, ImageTooLarge, PermanentError, UnsupportedFormat
from shared.limits import Limits
from tests.fixtures import images
from worker.formats.sniff import sniff_format

pytestmark = pytest.mark.unit

LIMITS = Limits()


def ftyp(brand: bytes) -> bytes:
    return b"\x00\x00\x00\x1c" + b"ftyp" + brand + b"\x00\x00\x00\x00" + brand + b"mif1miaf"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(b"\xff\xd8\xff\xe0" + b"\x00" * 16, "jpeg", id="jpeg-jfif-magic"),
        pytest.param(b"\xff\xd8\xff\xe1" + b"\x00" * 16, "jpeg", id="jpeg-exif-magic"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16, "png", id="png-magic"),
        pytest.param(b"RIFF\x10\x00\x00\x00WEBPVP8 ", "webp", id="webp-magic"),
        pytest.param(b"GIF87a" + b"\x00" * 10, "gif", id="gif87a"),
        pytest.param(b"GIF89a" + b"\x00" * 10, "gif", id="gif89a"),
        pytest.param(b"II*\x00" + b"\x08\x00\x00\x00", "tiff", id="tiff-little-endian"),
        pytest.param(b"MM\x00*" + b"\x00\x00\x00\x08", "tiff", id="tiff-big-endian"),
        pytest.param(ftyp(b"avif"), "avif", id="avif"),
        pytest.param(ftyp(b"avis"), "avif", id="avif-sequence"),
        pytest.param(ftyp(b"heic"), "heif", id="heic"),
        pytest.param(ftyp(b"heix"), "heif", id="heix"),
        pytest.param(ftyp(b"mif1"), "heif", id="heif-mif1"),
        pytest.param(ftyp(b"msf1"), "heif", id="heif-msf1"),
    ],
)
def test_magic_bytes(data: bytes, expected: str) -> None:
    assert sniff_format(data, LIMITS) == expected


@pytest.mark.parametrize(
    ("factory", "expected"),
    [
        (lambda: images.photo_jpeg(64, 48), "jpeg"),
        (images.metadata_jpeg, "jpeg"),
        (images.rgba_png, "png"),
        (images.rgb16_png, "png"),
        (lambda: images.photo_webp(64, 48), "webp"),
        (images.animated_webp, "webp"),
        (images.animated_gif, "gif"),
        (lambda: images.photo_tiff(64, 48), "tiff"),
        (images.png_header_bomb, "png"),
        (images.jpeg_header_bomb, "jpeg"),
        (images.truncated_jpeg, "jpeg"),
    ],
    ids=[
        "jpeg",
        "jpeg-exif",
        "png-rgba",
        "png-16",
        "webp",
        "webp-anim",
        "gif",
        "tiff",
        "png-bomb",
        "jpeg-bomb",
        "jpeg-cut",
    ],
)
def test_real_files(factory: Callable[[], bytes], expected: str) -> None:
    # Sniffing only looks at the magic: a bomb or a truncated file still sniffs as its format.
    assert sniff_format(factory(), LIMITS) == expected


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(images.svg_document(), "SVG", id="svg"),
        pytest.param(b"   \n" + images.svg_document(), "SVG", id="svg-leading-space"),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"/>', "SVG", id="svg-no-prolog"),
        pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF", id="pdf"),
        pytest.param(images.text_document(), "text", id="text-named-png"),
        pytest.param(images.random_bytes(), "starts with bytes", id="random"),
        pytest.param(b"RIFF\x10\x00\x00\x00WAVEfmt ", "starts with bytes", id="riff-wave"),
        pytest.param(b"GIF88a" + b"\x00" * 10, "starts with bytes", id="gif-bad-version"),
        pytest.param(ftyp(b"mp42"), "starts with bytes", id="mp4"),
        pytest.param(b"\xff\xd8", "starts with bytes", id="jpeg-soi-only"),
        pytest.param(b"\x89PNG", "starts with bytes", id="png-short-signature"),
        pytest.param(b"BM" + b"\x00" * 30, "starts with bytes", id="bmp"),
        pytest.param(b"\x00", "starts with bytes", id="one-zero-byte"),
    ],
)
def test_unsupported_content(data: bytes, reason: str) -> None:
    with pytest.raises(UnsupportedFormat) as excinfo:
        sniff_format(data, LIMITS)
    assert reason in str(excinfo.value)


def test_random_bytes_message_shows_the_leading_bytes() -> None:
    data = images.random_bytes()
    with pytest.raises(UnsupportedFormat, match=data[:8].hex()):
        sniff_format(data, LIMITS)


def test_empty_is_corrupt() -> None:
    with pytest.raises(CorruptImage, match="0 bytes"):
        sniff_format(b"", LIMITS)


@pytest.mark.parametrize(
    ("data", "max_bytes", "outcome"),
    [
        (b"\xff\xd8\xff" + b"\x00" * 97, 100, "jpeg"),  # exactly at the limit is allowed
        (b"\xff\xd8\xff" + b"\x00" * 98, 100, ImageTooLarge),
        (b"not an image at all, and too big" * 10, 100, ImageTooLarge),  # size is checked first
    ],
    ids=["at-limit", "one-over", "junk-over"],
)
def test_byte_limit(data: bytes, max_bytes: int, outcome: str | type[PermanentError]) -> None:
    limits = Limits(max_bytes=max_bytes)
    if isinstance(outcome, str):
        assert sniff_format(data, limits) == outcome
    else:
        with pytest.raises(outcome, match=str(len(data))):
            sniff_format(data, limits)


@pytest.mark.parametrize("error", [CorruptImage, UnsupportedFormat, ImageTooLarge])
def test_every_refusal_is_permanent(error: type[Exception]) -> None:
    assert issubclass(error, PermanentError)
