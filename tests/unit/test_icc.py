"""ICC profile sniffing: the description text and the "already sRGB" shortcut."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from PIL import ImageCms

from tests.fixtures import images
from worker.formats.icc import is_srgb, profile_description

pytestmark = pytest.mark.unit


def desc_v2(text: str) -> bytes:
    """An ICC v2 textDescriptionType tag (ASCII part, then empty Unicode and ScriptCode parts)."""
    ascii_text = text.encode("latin-1") + b"\x00"
    return (
        b"desc" + b"\x00" * 4 + struct.pack(">I", len(ascii_text)) + ascii_text + b"\x00" * 8 + b"\x00" * 70
    )


def mluc(*records: tuple[str, str]) -> bytes:
    """An ICC v4 multiLocalizedUnicodeType tag with (language+country, text) records."""
    head = b"mluc" + b"\x00" * 4 + struct.pack(">II", len(records), 12)
    strings = [text.encode("utf-16-be") for _, text in records]
    offset = len(head) + 12 * len(records)
    table = b""
    for (locale, _), encoded in zip(records, strings, strict=True):
        table += locale.encode("ascii") + struct.pack(">II", len(encoded), offset)
        offset += len(encoded)
    return head + table + b"".join(strings)


def profile(
    tags: list[tuple[bytes, bytes]], colour_space: bytes = b"RGB ", declared: int | None = None
) -> bytes:
    """A minimal ICC profile: 128-byte header, tag table, 4-aligned tag data."""
    header = bytearray(128)
    header[8:12] = b"\x04\x40\x00\x00"
    header[12:16] = b"mntr"
    header[16:20] = colour_space
    header[20:24] = b"XYZ "
    header[36:40] = b"acsp"
    data_start = 128 + 4 + 12 * len(tags)
    entries, data = b"", b""
    for signature, payload in tags:
        entries += signature + struct.pack(">II", data_start + len(data), len(payload))
        data += payload + b"\x00" * (-len(payload) % 4)
    count = len(tags) if declared is None else declared
    body = bytes(header) + struct.pack(">I", count) + entries + data
    return struct.pack(">I", len(body)) + body[4:]


XYZ_TAG = b"XYZ " + b"\x00" * 16
TEXT_TAG = b"text" + b"\x00" * 4 + b"Copyright nobody\x00"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(profile([(b"desc", desc_v2("sRGB IEC61966-2.1"))]), "sRGB IEC61966-2.1", id="v2-desc"),
        pytest.param(
            profile([(b"desc", mluc(("enUS", "sRGB IEC61966-2.1")))]), "sRGB IEC61966-2.1", id="v4-mluc"
        ),
        pytest.param(
            profile([(b"desc", mluc(("enUS", "Display P3"), ("deDE", "Anzeige P3")))]),
            "Display P3",
            id="mluc-first-record",
        ),
        pytest.param(
            profile([(b"cprt", TEXT_TAG), (b"wtpt", XYZ_TAG), (b"desc", desc_v2("Adobe RGB (1998)"))]),
            "Adobe RGB (1998)",
            id="desc-not-first",
        ),
        pytest.param(
            profile([(b"desc", desc_v2("Gray Gamma 2.2"))], b"GRAY"), "Gray Gamma 2.2", id="grey-profile"
        ),
        pytest.param(profile([(b"cprt", TEXT_TAG), (b"wtpt", XYZ_TAG)]), None, id="no-desc-tag"),
        pytest.param(profile([(b"desc", TEXT_TAG)]), None, id="desc-of-unknown-type"),
        pytest.param(profile([(b"desc", b"desc\x00\x00")]), None, id="desc-tag-too-short"),
        pytest.param(profile([(b"wtpt", XYZ_TAG)], declared=50), None, id="count-larger-than-table"),
        pytest.param(profile([(b"wtpt", XYZ_TAG)], declared=0xFFFFFFFF), None, id="absurd-tag-count"),
        pytest.param(b"", None, id="empty"),
        pytest.param(b"\x00" * 131, None, id="header-only"),
    ],
)
def test_profile_description_synthetic(data: bytes, expected: str | None) -> None:
    assert profile_description(data) == expected


def test_v4_description_stops_at_the_first_nul() -> None:
    # sharp's Landscape_9.jpg fixture carries an "sRGB" v4 profile whose record counts the NUL
    described = profile([(b"desc", mluc(("enUS", "sRGB\x00")))])
    assert profile_description(described) == "sRGB"
    assert is_srgb(described)


def test_v2_description_stops_at_the_first_nul() -> None:
    tag = b"desc" + b"\x00" * 4 + struct.pack(">I", 16) + b"sRGB\x00garbage!!!\x00\x00\x00"
    assert profile_description(profile([(b"desc", tag)])) == "sRGB"


@pytest.mark.parametrize(
    ("factory", "expected"),
    [
        pytest.param(lambda: images.icc_profile("srgb"), "sRGB", id="libvips-srgb-v4"),
        pytest.param(lambda: images.icc_profile("p3"), "sP3C", id="libvips-p3-v4"),
        pytest.param(lambda: images.icc_profile("cmyk"), "Chemical proof", id="libvips-cmyk-v2"),
        pytest.param(
            lambda: ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
            "sRGB built-in",
            id="lcms-srgb",
        ),
        pytest.param(
            lambda: ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes(),
            "Lab identity built-in",
            id="lcms-lab",
        ),
    ],
)
def test_profile_description_real_profiles(factory: Callable[[], bytes], expected: str) -> None:
    assert profile_description(factory()) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(profile([(b"desc", desc_v2("sRGB IEC61966-2.1"))]), True, id="srgb-v2"),
        pytest.param(profile([(b"desc", mluc(("enUS", "sRGB")))]), True, id="srgb-v4"),
        pytest.param(profile([(b"desc", desc_v2("  srgb built-in"))]), True, id="case-and-space-insensitive"),
        pytest.param(profile([(b"desc", desc_v2("Display P3"))]), False, id="display-p3"),
        pytest.param(profile([(b"desc", desc_v2("Adobe RGB (1998)"))]), False, id="adobe-rgb"),
        pytest.param(profile([(b"desc", desc_v2("ProPhoto RGB"))]), False, id="prophoto"),
        pytest.param(profile([(b"desc", desc_v2("not sRGB"))]), False, id="srgb-not-at-start"),
        pytest.param(profile([(b"desc", desc_v2("sRGB-elle-V2-g10.icc"))]), False, id="linear-srgb-variant"),
        pytest.param(profile([(b"desc", mluc(("enUS", "sRGB linear")))]), False, id="srgb-linear-v4"),
        pytest.param(profile([(b"desc", desc_v2("sRGB"))], b"CMYK"), False, id="cmyk-space-named-srgb"),
        pytest.param(profile([(b"desc", desc_v2("sRGB"))], b"GRAY"), False, id="grey-space-named-srgb"),
        pytest.param(profile([(b"wtpt", XYZ_TAG)]), False, id="rgb-without-desc"),
        pytest.param(b"", False, id="empty"),
        pytest.param(b"junk", False, id="junk"),
        pytest.param(lambda: images.icc_profile("srgb"), True, id="libvips-srgb"),
        pytest.param(lambda: images.icc_profile("p3"), False, id="libvips-p3"),
        pytest.param(lambda: images.icc_profile("cmyk"), False, id="libvips-cmyk"),
        pytest.param(
            lambda: ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(), True, id="lcms-srgb"
        ),
        pytest.param(
            lambda: ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes(), False, id="lcms-lab"
        ),
    ],
)
def test_is_srgb(data: bytes | Callable[[], bytes], expected: bool) -> None:
    assert is_srgb(data() if callable(data) else data) is expected
