"""Whatever a decoder raises on given bytes ends as a `PermanentError` with the decoder's words.

Decoding is deterministic: an exception that escaped the taxonomy made the worker retry the
record until SQS dead-lettered it without a reason (6 of 1,440 public test files did, HEIFs
whose libheif error pi-heif raises as `SyntaxError`). A failed allocation is the file's
(`ImageTooLarge`): see `worker.engine.reasons`.
"""

from __future__ import annotations

import json
import random
import struct
import subprocess
import sys
import textwrap
from collections.abc import Callable

import pi_heif
import pytest
import pyvips
import simplejpeg  # type: ignore[import-untyped]  # ships no types, as in worker.engine.turbo

from shared.errors import CorruptImage, ImageTooLarge, PermanentError, UnsupportedFormat
from shared.variants import DEFAULT_VARIANTS
from tests.fixtures import decoder_edges, edge_images, images
from worker import engine

pytestmark = pytest.mark.unit


def _unicode_error() -> UnicodeDecodeError:
    return UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")


# What pi-heif and the parsers under it raise, and the class each must end as.
RAISED = [
    pytest.param(SyntaxError("Unsupported feature: Unsupported codec"), UnsupportedFormat, id="SyntaxError"),
    pytest.param(ValueError("Invalid input: No 'ftyp' box"), CorruptImage, id="ValueError"),
    pytest.param(
        RuntimeError("Memory allocation error: Invalid image size"), CorruptImage, id="RuntimeError"
    ),
    pytest.param(EOFError("Decoder plugin generated an error: end of file"), CorruptImage, id="EOFError"),
    pytest.param(OSError("cannot read the box"), CorruptImage, id="OSError"),
    pytest.param(struct.error("unpack requires a buffer of 4 bytes"), CorruptImage, id="struct.error"),
    pytest.param(IndexError("invalid image index: 0"), CorruptImage, id="IndexError"),
    pytest.param(KeyError("exif"), CorruptImage, id="KeyError"),
    pytest.param(_unicode_error(), CorruptImage, id="UnicodeDecodeError"),
    pytest.param(MemoryError(), ImageTooLarge, id="MemoryError"),
]


def _raiser(exc: Exception):  # type: ignore[no-untyped-def]
    def raise_it(*_args: object, **_kwargs: object) -> None:
        raise exc

    return raise_it


@pytest.mark.parametrize(("raised", "expected"), RAISED)
def test_whatever_pi_heif_raises_reading_the_header_is_permanent(
    monkeypatch: pytest.MonkeyPatch, raised: Exception, expected: type[PermanentError]
) -> None:
    # Given pi-heif raising `raised` while it reads a HEIC's boxes
    monkeypatch.setattr(pi_heif, "open_heif", _raiser(raised))
    # When the upload is probed, then the error is permanent, of its class, with the words
    with pytest.raises(PermanentError) as caught:
        engine.render(edge_images.heic_photo(), DEFAULT_VARIANTS)
    assert type(caught.value) is expected, repr(caught.value)
    assert (str(raised).strip() or "out of memory") in str(caught.value)
    assert caught.value.__cause__ is raised


@pytest.mark.parametrize(("raised", "expected"), RAISED)
def test_whatever_pi_heif_raises_decoding_the_picture_is_permanent(
    monkeypatch: pytest.MonkeyPatch, raised: Exception, expected: type[PermanentError]
) -> None:
    # Given a HEIC whose header reads, and a decode that raises `raised`
    monkeypatch.setattr(pi_heif.HeifImage, "data", property(_raiser(raised)))
    with pytest.raises(PermanentError) as caught:
        engine.render(edge_images.heic_photo(), DEFAULT_VARIANTS)
    assert type(caught.value) is expected, repr(caught.value)
    assert (str(raised).strip() or "out of memory") in str(caught.value)


@pytest.mark.parametrize("raised", [RuntimeError("decode failed"), MemoryError(), OSError("no")], ids=repr)
def test_whatever_libjpeg_turbo_raises_libvips_decodes_again(
    monkeypatch: pytest.MonkeyPatch, raised: Exception
) -> None:
    # Given libjpeg-turbo failing on a JPEG libvips decodes
    monkeypatch.setattr(simplejpeg, "decode_jpeg", _raiser(raised))  # the module turbo calls
    # When it is rendered, then libvips decoded it instead
    result = engine.render(images.photo_jpeg(640, 480), DEFAULT_VARIANTS)
    assert len(result.variants) == len(DEFAULT_VARIANTS)


_CHILD = textwrap.dedent(
    """
    import json, sys
    from shared.variants import DEFAULT_VARIANTS
    from tests.fixtures import decoder_edges
    from worker import engine

    try:
        engine.render(decoder_edges.heic_item_text_not_utf8(sys.argv[1]), DEFAULT_VARIANTS)
        print(json.dumps(["rendered", ""]))
    except Exception as exc:
        print(json.dumps([type(exc).__name__, str(exc)]))
    """
)


@pytest.mark.parametrize("where", ["type", "content"])
def test_item_text_that_would_crash_pi_heif_is_refused_before_it_reads_it(where: str) -> None:
    # Given a HEIC whose item list holds a byte that is not UTF-8 (pi-heif 1.4 segfaults on it),
    # rendered in a child process so that a crash fails this test instead of ending the run
    child = subprocess.run([sys.executable, "-c", _CHILD, where], capture_output=True, text=True, timeout=60)
    # Then the process lives, and the file is refused as damaged, naming the text
    assert child.returncode == 0, (
        f"the render crashed the process ({child.returncode}): {child.stderr[-500:]}"
    )
    error_type, message = json.loads(child.stdout.splitlines()[-1])
    assert error_type == "CorruptImage" and "is not UTF-8" in message, message


def test_a_picture_no_pixels_wide_is_corrupt() -> None:
    # Given a HEIC whose clean aperture rounds to 0 pixels wide (it once divided by zero)
    with pytest.raises(CorruptImage, match="0x48: a picture has no pixels"):
        engine.render(decoder_edges.heic_zero_width_aperture(), DEFAULT_VARIANTS)


def test_a_variant_wider_than_its_format_holds_is_too_large() -> None:
    # Given a valid 70000x20 panorama (1.4 MP, within the pixel limit); JPEG holds 65500 a side
    panorama = (pyvips.Image.black(70000, 20, bands=3) + [90, 140, 200]).cast("uchar").pngsave_buffer()
    # When its full-size original would be a JPEG, then that is refused, permanently, with numbers
    with pytest.raises(ImageTooLarge, match="'original' would be 70000x20: jpeg holds at most 65500"):
        engine.render(panorama, DEFAULT_VARIANTS)


def _mutants(data: bytes, span: int, count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        mutant = bytearray(data)
        for _ in range(rng.choice((1, 1, 2))):
            mutant[rng.randrange(min(span, len(data)))] = rng.choice(
                (0, 1, 2, 9, 0x80, 0xFF, rng.randrange(256))
            )
        out.append(bytes(mutant))
    return out


@pytest.mark.parametrize(
    ("fixture", "span"),
    [(lambda: edge_images.heic_photo(64, 48), 700), (lambda: edge_images.flat_avif(64, 48, 8), 400)],
    ids=["heic", "avif"],
)
def test_damaged_box_headers_end_in_the_taxonomy(fixture: Callable[[], bytes], span: int) -> None:
    # Given 400 copies of a HEIF file with one or two bytes of its boxes changed (seeded)
    for index, mutant in enumerate(_mutants(fixture(), span, 400, seed=19)):
        # When each is rendered, then it renders or is refused permanently: nothing else escapes
        try:
            engine.render(mutant, DEFAULT_VARIANTS)
        except PermanentError:
            pass
        except Exception as exc:  # noqa: BLE001 - the point of the test
            pytest.fail(f"mutant {index} escaped the taxonomy: {exc!r}")
