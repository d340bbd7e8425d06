"""A JPEG upload's own quality, read from its quantisation tables (DQT), and hostile tables.

The estimate must be exact for what libjpeg-based encoders write (every IJG quality), and no
table an uploader can craft (16-bit, missing, several, redefined, cut short, out of range) may
raise anything but the error taxonomy out of the engine.
"""

from __future__ import annotations

import io
import random
import struct

import numpy as np
import pytest
from PIL import Image

from shared.errors import PermanentError
from shared.variants import DEFAULT_VARIANTS
from tests.fixtures import images
from worker import engine
from worker.formats import jpeg
from worker.formats import jpeg_quality as quality

pytestmark = pytest.mark.unit

DQT, SOF0 = 0xDB, 0xC0
Table = tuple[int, int, list[int]]  # precision (0: 8 bits, 1: 16 bits), id, 64 values in zigzag order


def _pillow_jpeg(quality_factor: int, mode: str = "RGB") -> bytes:
    pixels = (np.random.default_rng(7).random((48, 64, 3)) * 255).astype(np.uint8)
    picture = Image.fromarray(pixels).convert(mode)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality_factor)
    return buffer.getvalue()


def _dqt(*tables: Table, length: int | None = None) -> bytes:
    body = b"".join(
        bytes([precision << 4 | ident]) + (bytes(values) if precision == 0 else struct.pack(">64H", *values))
        for precision, ident, values in tables
    )
    return b"\xff\xdb" + struct.pack(">H", length or len(body) + 2) + body


def _with_tables(data: bytes, *segments: bytes, selectors: tuple[int, ...] | None = None) -> bytes:
    """`data` with its DQT segments replaced by `segments` (where the first one stood) and,
    given `selectors`, its frame's components pointed at those table ids."""
    shape = jpeg.layout(data)
    dqts = [s for s in shape.header if s.marker == DQT]
    out = bytearray(data)
    for segment in reversed(dqts):
        del out[segment.start : segment.end]
    out[dqts[0].start : dqts[0].start] = b"".join(segments)
    if selectors is not None:
        frame = next(s for s in jpeg.layout(bytes(out)).header if s.marker == SOF0)
        for index, selector in enumerate(selectors):
            out[frame.start + 4 + 8 + 3 * index] = selector
    return bytes(out)


def _refused_or_rendered(data: bytes) -> str:
    """What the engine makes of `data`: anything raised but the taxonomy fails the test."""
    try:
        engine.render(data, DEFAULT_VARIANTS)
    except PermanentError:
        return "refused"
    return "rendered"


BASE = images.photo_jpeg(64, 48, quality=40)
Y40, C40 = quality.standard_tables(40)
Y10, C10 = quality.standard_tables(10)


@pytest.mark.parametrize("quality_factor", range(1, 101))
def test_every_ijg_quality_is_read_back_exactly(quality_factor: int) -> None:
    # Given a JPEG written by libjpeg-turbo (Pillow) at each quality, then its own quality comes back
    assert quality.estimate(_pillow_jpeg(quality_factor)) == quality_factor


@pytest.mark.parametrize("quality_factor", [12, 30, 55, 85, 97])
def test_libvips_and_greyscale_jpegs_are_read_back_exactly(quality_factor: int) -> None:
    assert quality.estimate(images.photo_jpeg(64, 48, quality=quality_factor)) == quality_factor
    assert quality.estimate(_pillow_jpeg(quality_factor, "L")) == quality_factor


def test_a_camera_table_gets_the_nearest_ijg_quality() -> None:
    # Given tables that are no IJG scaling (each entry of Q60's off by one, up or down)
    luminance, chrominance = quality.standard_tables(60)
    wobbly = [value + (1 if i % 2 else -1) for i, value in enumerate(luminance)]
    data = _with_tables(BASE, _dqt((0, 0, wobbly), (0, 1, chrominance)))
    # Then the estimate is the quality they are nearest to
    assert quality.estimate(data) == 60


def test_16_bit_tables_are_read_as_16_bit() -> None:
    # Given 16-bit tables past 255, as libjpeg writes them for Q5 without force_baseline (SOF1)
    coarse = [
        quality.scaled_table(quality._LUMINANCE, 5, 32767),
        quality.scaled_table(quality._CHROMINANCE, 5, 32767),
    ]
    buffer = io.BytesIO()
    Image.open(io.BytesIO(_pillow_jpeg(50))).save(buffer, "JPEG", qtables=coarse)
    data = buffer.getvalue()
    assert any(s.marker == DQT and data[s.start + 4] >> 4 == 1 for s in jpeg.layout(data).header)
    # Then the quality is read, and the upload renders
    assert quality.estimate(data) == 5
    assert _refused_or_rendered(data) == "rendered"


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("two tables in one segment", 40),
        ("16-bit precision, 8-bit values", 40),
        ("tables 2 and 3", 40),
        ("a later definition wins", 40),
        ("luminance and chrominance share a table", 40),
    ],
)
def test_tables_however_laid_out_give_the_same_quality(case: str, expected: int) -> None:
    data = {
        "two tables in one segment": lambda: _with_tables(BASE, _dqt((0, 0, Y40), (0, 1, C40))),
        "16-bit precision, 8-bit values": lambda: _with_tables(BASE, _dqt((1, 0, Y40)), _dqt((1, 1, C40))),
        "tables 2 and 3": lambda: _with_tables(BASE, _dqt((0, 2, Y40), (0, 3, C40)), selectors=(2, 3, 3)),
        "a later definition wins": lambda: _with_tables(
            BASE, _dqt((0, 0, Y10), (0, 1, C10)), _dqt((0, 0, Y40), (0, 1, C40))
        ),
        "luminance and chrominance share a table": lambda: _with_tables(
            BASE, _dqt((0, 0, Y40)), selectors=(0, 0, 0)
        ),
    }[case]()
    assert quality.estimate(data) == expected
    assert _refused_or_rendered(data) == "rendered"


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("no tables", (None, "refused")),  # "Quantization table 0x00 was not defined"
        ("a table cut short", (None, "refused")),  # "Bogus marker length"
        ("precision and id out of range", (None, "refused")),  # "Bogus DQT index 5"
        ("the segment runs past the end of the file", (None, "refused")),
        ("only the luminance table", (40, "refused")),  # "Quantization table 0x01 was not defined"
        ("zero entries", (100, "rendered")),  # nearest to Q100's ones; libjpeg decodes it
        ("a frame without components", (None, "refused")),
    ],
)
def test_hostile_tables_never_raise_outside_the_taxonomy(case: str, expected: tuple[int | None, str]) -> None:
    data = {
        "no tables": lambda: _with_tables(BASE),
        "a table cut short": lambda: _with_tables(BASE, _dqt((0, 0, Y40), length=2 + 1 + 30)[: 4 + 1 + 30]),
        "precision and id out of range": lambda: _with_tables(BASE, b"\xff\xdb\x00\x43\x25" + bytes(Y40)),
        "the segment runs past the end of the file": lambda: BASE[: _first_dqt(BASE) + 30],
        "only the luminance table": lambda: _with_tables(BASE, _dqt((0, 0, Y40))),
        "zero entries": lambda: _with_tables(BASE, _dqt((0, 0, [0] * 64), (0, 1, [0] * 64))),
        "a frame without components": lambda: _frame_cut_short(BASE),
    }[case]()
    assert (quality.estimate(data), _refused_or_rendered(data)) == expected


def _frame_cut_short(data: bytes) -> bytes:
    frame = next(s for s in jpeg.layout(data).header if s.marker == SOF0)
    # The frame says 3 components, its length holds none of them
    return (
        data[: frame.start]
        + b"\xff\xc0\x00\x08"
        + data[frame.start + 4 : frame.start + 10]
        + data[frame.end :]
    )


def test_randomly_damaged_tables_never_raise_outside_the_taxonomy() -> None:
    # Given 300 uploads whose DQT segments (length fields included) have random bytes changed
    rng = random.Random(20)
    dqts = [s for s in jpeg.layout(BASE).header if s.marker == DQT]
    damaged = []
    for _ in range(300):
        data = bytearray(BASE)
        segment = rng.choice(dqts)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(segment.start + 2, segment.end)] = rng.randrange(256)
        damaged.append(bytes(data))
    # Then every estimate is a quality or None, and the engine renders or refuses each one
    for mutant in damaged:
        estimate = quality.estimate(mutant)
        assert estimate is None or 1 <= estimate <= 100
    assert {_refused_or_rendered(data) for data in damaged[:60]} <= {"refused", "rendered"}


def _first_dqt(data: bytes) -> int:
    return next(s.start for s in jpeg.layout(data).header if s.marker == DQT)
