"""Every rejection carries the codec's own reason, in the class that tells an operator what to do:
`UnsupportedFormat` (valid, but a codec or layout this build cannot decode: convert it) or
`CorruptImage` (damaged: fix or replace the file). Never a seek, copy or call message."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shared.errors import CorruptImage, PermanentError, UnsupportedFormat
from shared.variants import DEFAULT_VARIANTS
from tests.fixtures import decoder_edges, edge_images, images
from worker import engine
from worker.engine import heif, reasons

pytestmark = pytest.mark.unit

MEANINGLESS = ("bad seek", "unable to copy to memory", "unable to call", "unable to load from")


def _refusal(data: bytes) -> PermanentError:
    with pytest.raises(PermanentError) as caught:
        engine.render(data, DEFAULT_VARIANTS)
    return caught.value


UNSUPPORTED = [
    pytest.param(edge_images.jpeg_12bit, "data precision 12", id="jpeg-12-bit"),
    pytest.param(lambda: edge_images.tiff_compression(6), "Old-style JPEG", id="tiff-old-style-jpeg"),
    pytest.param(lambda: edge_images.tiff_compression(34925), "LZMA", id="tiff-lzma"),
    pytest.param(edge_images.tiff_cielab, "CIELab", id="tiff-cielab"),
    pytest.param(decoder_edges.tiff_tiled_separate_planes, "tiled separate planes", id="tiff-tiled-planar"),
    # libheif's "Unsupported feature", which pi-heif raises as SyntaxError: in the header ...
    pytest.param(decoder_edges.heic_box_version, "iloc box data version 9", id="heic-iloc-version"),
    pytest.param(lambda: decoder_edges.heic_box_version(b"ispe"), "ispe box", id="heic-ispe-version"),
    # ... and in the decode
    pytest.param(decoder_edges.heic_monochrome_over_colour, "color conversion", id="heic-colour-conversion"),
]


@pytest.mark.parametrize(("fixture", "reason"), UNSUPPORTED)
def test_valid_files_in_codecs_the_build_lacks_are_unsupported(
    fixture: Callable[[], bytes], reason: str
) -> None:
    error = _refusal(fixture())
    assert type(error) is UnsupportedFormat, repr(error)
    assert reason in str(error) and "cannot decode" in str(error)
    assert not any(noise in str(error).lower() for noise in MEANINGLESS), str(error)


def test_heic_without_an_hevc_decoder_names_the_missing_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a build without pi-heif: HEIC goes to libvips' libheif, which has no HEVC decoder
    monkeypatch.setattr(heif, "pi_heif", None)
    error = _refusal(edge_images.heic_photo())
    assert type(error) is UnsupportedFormat, repr(error)
    assert "HEVC" in str(error) and "bad seek" not in str(error)


CORRUPT = [
    pytest.param(images.truncated_jpeg, "Premature end of JPEG file", id="jpeg-truncated"),
    pytest.param(edge_images.bitflipped_jpeg, "premature end of data segment", id="jpeg-bit-flipped"),
    pytest.param(lambda: edge_images.heic_photo()[:3000], "end of file", id="heic-truncated"),
    pytest.param(lambda: edge_images.flat_avif(640, 480)[:300], "meta", id="avif-truncated"),
    pytest.param(edge_images.truncated_tiff, "truncated or damaged", id="tiff-truncated"),
    pytest.param(lambda: images.PNG_SIGNATURE + images.random_bytes(), "damaged", id="png-magic-then-junk"),
    pytest.param(lambda: images.photo_png()[: len(images.photo_png()) // 2], "", id="png-truncated"),
]


@pytest.mark.parametrize(("fixture", "reason"), CORRUPT)
def test_damaged_files_are_corrupt_with_the_codecs_reason(fixture: Callable[[], bytes], reason: str) -> None:
    error = _refusal(fixture())
    assert type(error) is CorruptImage, repr(error)
    assert reason in str(error)
    assert not any(noise in str(error).lower() for noise in MEANINGLESS), str(error)
    assert str(error).split(": ", 1)[1].strip()  # more than the prefix


@pytest.mark.parametrize(
    ("log", "line"),
    [
        (
            "source: bad seek to 1024\nsource: bad seek to 512\nheif: Unsupported codec\n",
            "heif: Unsupported codec",
        ),
        (
            "tiff2vips: read error\ntiff2vips: LZMA compression support is not configured\n",
            "tiff2vips: LZMA compression support is not configured",
        ),
        ("unable to call VipsForeignLoadPngBuffer\nunable to copy to memory\n", None),
        (
            "VipsJpeg: premature end of JPEG image\nVipsJpeg: Invalid JPEG file structure\n",
            "VipsJpeg: premature end of JPEG image",
        ),
    ],
    ids=["seek-noise", "codec-line-wins", "only-noise", "first-meaningful"],
)
def test_the_meaningful_line_is_chosen(log: str, line: str | None) -> None:
    assert reasons.meaningful_line(log) == line


def test_unsupported_marker_is_damage_not_a_missing_codec() -> None:
    # libjpeg's "Unsupported marker type" means a damaged stream, not a codec this build lacks
    error = reasons.classify("jpeg", "VipsJpeg: Unsupported marker type 0x73\n")
    assert type(error) is CorruptImage


def test_another_codecs_lines_in_the_shared_error_buffer_are_never_the_reason() -> None:
    # Given a tolerant TIFF render that succeeded but left libtiff's warnings in libvips'
    # process-wide error buffer (pyvips clears it only when it raises)
    assert engine.render(edge_images.tiff_bogus_tag(), DEFAULT_VARIANTS).warnings
    # When a damaged JPEG that libvips decodes (libjpeg-turbo declines it) fails next, then its
    # reason is libjpeg's, not libtiff's
    error = _refusal(edge_images.bitflipped_jpeg())
    expected = "VipsJpeg: Corrupt JPEG data: premature end of data segment"
    assert str(error) == f"jpeg image cannot be decoded: {expected}"


def test_a_line_of_another_codec_is_dropped_and_a_neutral_one_kept() -> None:
    log = "tiff2vips: Unknown field with tag 65000\nVipsForeignLoad: something neutral\n"
    assert reasons.meaningful_line(log, "png") == "VipsForeignLoad: something neutral"
    assert reasons.meaningful_line(log, "tiff") == "tiff2vips: Unknown field with tag 65000"
