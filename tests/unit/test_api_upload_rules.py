"""What an upload may be, decided before it exists (shared.uploads): the name a client sends is
reduced to a file name, its extension must fit a type the engine takes, and the name travels in
metadata exactly as the worker reads it back."""

from __future__ import annotations

from typing import get_args
from urllib.parse import quote

import pytest

from shared.errors import InvalidKey, UnsupportedFormat
from shared.keys import IMAGE_SUFFIXES
from shared.uploads import (
    CONTENT_TYPES,
    FORMAT_CONTENT_TYPES,
    MAX_ENCODED_FILENAME,
    base_name,
    decode_original_filename,
    encode_original_filename,
    upload_extension,
)
from worker.formats.sniff import SourceFormat
from worker.storage import original_filename

pytestmark = pytest.mark.unit


def test_every_format_the_engine_sniffs_has_a_content_type_and_nothing_else_does() -> None:
    assert set(FORMAT_CONTENT_TYPES) == set(get_args(SourceFormat))
    assert set(FORMAT_CONTENT_TYPES.values()) <= set(CONTENT_TYPES)


def test_the_accepted_extensions_are_the_image_suffixes_uploads_are_picked_by() -> None:
    extensions = {f".{ext}" for allowed in CONTENT_TYPES.values() for ext in allowed}
    assert extensions == IMAGE_SUFFIXES


@pytest.mark.parametrize(
    ("filename", "name"),
    [
        ("photo.jpg", "photo.jpg"),
        ("  photo.jpg  ", "photo.jpg"),
        ("C:\\fakepath\\photo.jpg", "photo.jpg"),  # what a browser's file input reports
        ("../../uploads/bob/x.jpg", "x.jpg"),  # a path never reaches the key or the metadata
        ("Sommer 2026 – ü.HEIC", "Sommer 2026 – ü.HEIC"),
    ],
)
def test_a_client_filename_is_reduced_to_the_files_own_name(filename: str, name: str) -> None:
    assert base_name(filename) == name


@pytest.mark.parametrize("filename", ["", "   ", "dir/", "a\\", "..", "x" * 256 + ".jpg"])
def test_a_filename_that_names_no_usable_file_is_refused(filename: str) -> None:
    with pytest.raises(InvalidKey):
        base_name(filename)


@pytest.mark.parametrize(
    ("name", "content_type", "extension"),
    [
        ("a.jpg", "image/jpeg", "jpg"),
        ("a.JPEG", "IMAGE/JPEG", "jpeg"),
        ("a.png", "image/png", "png"),
        ("a.webp", "image/webp", "webp"),
        ("a.gif", "image/gif", "gif"),
        ("a.tif", "image/tiff", "tif"),
        ("a.heic", "image/heic", "heic"),
        ("a.heif", "image/heic", "heif"),
        ("a.HEIC", "image/heif", "heic"),
        ("a.avif", "image/avif", "avif"),
    ],
)
def test_a_type_the_engine_takes_keeps_its_own_extension(
    name: str, content_type: str, extension: str
) -> None:
    assert upload_extension(name, content_type) == extension


@pytest.mark.parametrize("name", ["photo", "photo.", ".jpg", "photo.j_g", "photo.é"])
def test_a_name_without_a_usable_extension_is_refused(name: str) -> None:
    with pytest.raises(InvalidKey, match="no usable extension"):
        upload_extension(name, "image/jpeg")


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("a.svg", "image/svg+xml"),  # a type the engine never takes
        ("a.pdf", "application/pdf"),
        ("a.jpg", "image/jpg"),  # not a registered type
        ("a.jpg", "image/jpeg; charset=binary"),
        ("a.png", "image/jpeg"),  # the name and the type disagree
        ("a.svg", "image/png"),
    ],
)
def test_a_type_or_extension_the_engine_does_not_take_is_refused(name: str, content_type: str) -> None:
    with pytest.raises(UnsupportedFormat):
        upload_extension(name, content_type)


@pytest.mark.parametrize(
    "name", ["photo.jpg", "Strand & Meer – ü.jpg", "100% 'real' \"name\".png", "emoji 📷.webp", "a+b=c;d.gif"]
)
def test_the_worker_reads_back_the_name_the_api_encodes(name: str) -> None:
    # Given a name encoded as the pre-signed POST's metadata carries it
    encoded = encode_original_filename(name)
    # Then it is ASCII (S3 metadata), the same as `imgpipe upload` sends, and the worker decodes it
    assert encoded.isascii() and encoded == quote(name)
    assert original_filename({"original-filename": encoded}) == name
    assert decode_original_filename(encoded) == name


@pytest.mark.parametrize("name", ["é" * 250 + ".jpg", "📷" * 250 + ".heic", "x" * 10 + "." + "é" * 244])
def test_a_long_non_ascii_name_is_shortened_to_fit_s3_metadata(name: str) -> None:
    # Given a name whose quoted form is over S3's metadata budget (2 KB for all of it)
    assert len(quote(name)) > MAX_ENCODED_FILENAME
    # When it is encoded, then it fits, and what is left is the start of the name
    encoded = encode_original_filename(name)
    assert len(encoded) <= MAX_ENCODED_FILENAME
    decoded = decode_original_filename(encoded)
    assert decoded is not None and len(decoded) > 0
    stem, _, suffix = name.rpartition(".")
    if len(suffix) <= 10:
        assert decoded.endswith("." + suffix) and stem.startswith(decoded[: -len(suffix) - 1])


def test_no_metadata_means_no_name() -> None:
    assert decode_original_filename(None) is None and decode_original_filename("") is None
