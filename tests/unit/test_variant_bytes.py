"""A smaller picture never costs more bytes than a bigger one from the same upload (issue 20).

A heavily compressed JPEG used to get a `large` re-encoded at Q85 that cost more than its whole
lossless `original`. JPEG variants are now encoded at no more than the upload's own quality, and
a variant that still costs more than one with more pixels is encoded again smaller.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pytest

from shared.variants import DEFAULT_VARIANTS, VariantSpec
from tests.fixtures import images
from worker import engine
from worker.engine import ordering, turbo
from worker.formats import jpeg
from worker.formats import jpeg_quality as quality

pytestmark = pytest.mark.unit

LARGE = DEFAULT_VARIANTS[1]


def out_of_order(variants: Sequence[engine.Rendition]) -> list[str]:
    """Every variant that costs more bytes than one with more pixels."""
    return [
        f"{small.name} {len(small.data)} B > {big.name} {len(big.data)} B"
        for small in variants
        for big in variants
        if small.width * small.height < big.width * big.height and len(small.data) > len(big.data)
    ]


def just_over_large(quality_factor: int = 40) -> bytes:
    """An upload a little over `large`'s box with Huffman tables fitted to it (mozjpeg, editors)."""
    picture = images._photo_image(1679, 1259)
    return bytes(picture.jpegsave_buffer(Q=quality_factor, keep="none", optimize_coding=True, interlace=True))


@pytest.mark.parametrize("quality_factor", [10, 30, 50])
def test_a_heavily_compressed_jpeg_costs_less_at_every_smaller_size(quality_factor: int) -> None:
    # Given a heavily compressed 3 MP JPEG, whose `large` at Q85 cost more than the whole upload
    upload = images.photo_jpeg(2000, 1500, quality=quality_factor)
    # When the default variants are made
    result = engine.render(upload, DEFAULT_VARIANTS)
    # Then no variant costs more than one with more pixels, and `original` is still the upload's stream
    assert out_of_order(result.variants) == []
    assert result.variants[0].data == jpeg.stripped(upload, jpeg.layout(upload))


@pytest.mark.parametrize("quality_factor", [30, 60, 85, 95])
def test_no_jpeg_variant_is_encoded_above_the_upload_quality(quality_factor: int) -> None:
    upload = images.photo_jpeg(2000, 1500, quality=quality_factor)
    original, *resized = engine.render(upload, DEFAULT_VARIANTS).variants
    assert quality.estimate(original.data) == quality_factor  # its own stream
    assert {v.name: quality.estimate(v.data) for v in resized} == {
        v.name: min(85, quality_factor) for v in resized
    }


def test_a_spec_quality_under_the_upload_quality_stands() -> None:
    upload = images.photo_jpeg(2000, 1500, quality=95)
    (large,) = engine.render(upload, [LARGE.model_copy(update={"quality": 50})]).variants
    assert quality.estimate(large.data) == 50


@pytest.mark.parametrize(("fmt", "size"), [("webp", 1600), ("avif", 320)])
def test_webp_and_avif_keep_their_own_quality_scale(fmt: str, size: int) -> None:
    # Given a Q30 JPEG, and a WebP or AVIF variant asked for at Q85 and at Q30
    upload = images.photo_jpeg(2000, 1500, quality=30)
    spec = VariantSpec(name="v", width=size, height=size, format=fmt)
    (asked,) = engine.render(upload, [spec]).variants
    (at_30,) = engine.render(upload, [spec.model_copy(update={"quality": 30})]).variants
    # Then the JPEG's quality does not cap it: Q30 on their scales is another picture
    assert asked.format == fmt and len(asked.data) > len(at_30.data)


def test_an_upload_just_over_a_box_with_fitted_huffman_tables_stays_the_biggest() -> None:
    # Given an upload 5% over `large` at Q40 whose Huffman tables were fitted to it: `large` at
    # the same quality with the standard tables costs more than the whole upload
    upload = just_over_large()
    # When the default variants are made
    result = engine.render(upload, DEFAULT_VARIANTS)
    # Then `large` was encoded again, with its own Huffman tables at the same quality
    assert out_of_order(result.variants) == []
    assert "reencode.large" in result.timings_ms
    assert quality.estimate(result.variants[1].data) == 40


def test_a_webp_variant_beside_a_kept_jpeg_original_costs_less_than_it() -> None:
    upload = images.photo_jpeg(2000, 1500, quality=30)
    specs = [DEFAULT_VARIANTS[0], LARGE.model_copy(update={"format": "webp"})]
    result = engine.render(upload, specs)
    original, large = result.variants
    assert large.format == "webp" and len(large.data) <= len(original.data) == len(
        jpeg.stripped(upload, jpeg.layout(upload))
    )
    assert "reencode.large" in result.timings_ms


def test_a_variant_read_straight_off_a_streaming_decode_is_left_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the decode libvips streams (libjpeg-turbo declines), feeding `large` alone: its
    # pixels cannot be read a second time
    monkeypatch.setattr(turbo, "decode", lambda *args, **kwargs: None)
    upload = just_over_large()
    # When `large` costs more than the kept `original`, then the render still succeeds
    original, large = engine.render(upload, [DEFAULT_VARIANTS[0], LARGE]).variants
    assert (large.width, large.height) == (1600, 1200) and len(original.data) == len(
        jpeg.stripped(upload, jpeg.layout(upload))
    )


# --------------------------------------------------------------------------- the search, alone


def _curve(sizes: dict[int, int]) -> tuple[list[int], Callable[[int], engine.Rendition]]:
    """An encoder whose output at quality q is `sizes[q]` bytes, and the calls it was given."""
    calls: list[int] = []

    def at(quality_factor: int) -> engine.Rendition:
        calls.append(quality_factor)
        return engine.Rendition("v", "webp", 1, 1, bytes(sizes[quality_factor]))

    return calls, at


SMOOTH = {q: round(1000 * math.exp(0.035 * q)) for q in range(1, 101)}
# AVIF-like: flat steps, and a collapse to a fifth below Q45
STEPPY = {q: round((200 if q < 45 else 1000) * math.exp(0.03 * (q - q % 3))) for q in range(1, 101)}


@pytest.mark.parametrize("curve", [SMOOTH, STEPPY], ids=["smooth", "steppy"])
@pytest.mark.parametrize("overshoot", [1.01, 1.03, 1.3, 1.8, 2.5, 4.0, 8.0])
def test_the_search_fits_in_at_most_four_encodes(curve: dict[int, int], overshoot: float) -> None:
    # Given a variant `overshoot` times over its limit at Q85
    limit = round(curve[85] / overshoot)
    calls, at = _curve(curve)
    # When it is encoded again, then the result fits, in four encodes at most, each a new quality
    found = ordering._highest_fitting(at, 85, curve[85], limit)
    assert len(found.data) <= limit
    assert len(calls) <= 4 and len(set(calls)) == len(calls), calls
    # And on a smooth curve it is close: within 5% of the limit or 2 qualities of the best fit
    best = max(q for q in range(1, 86) if curve[q] <= limit)
    chosen = next(q for q in calls if curve[q] == len(found.data))
    assert curve is STEPPY or len(found.data) >= 0.95 * limit or chosen >= best - 2


def test_the_search_ends_at_quality_1_when_nothing_fits() -> None:
    calls, at = _curve(SMOOTH)
    found = ordering._highest_fitting(at, 85, SMOOTH[85], 10)
    assert len(found.data) == SMOOTH[1] and calls[-1] == 1 and len(calls) == len(set(calls))


def test_an_avif_variant_is_never_encoded_again() -> None:
    # Given a small Q20 JPEG kept as `original`, and an AVIF variant asked for at Q100 (more bytes)
    upload = images.photo_jpeg(480, 360, quality=20)
    specs = [DEFAULT_VARIANTS[0], VariantSpec(name="v", width=400, height=400, format="avif", quality=100)]
    result = engine.render(upload, specs)
    original, avif = result.variants
    # Then the AVIF stands as encoded once: a search of AVIF encodes would spend a record's budget
    assert avif.format == "avif" and len(avif.data) > len(original.data)
    assert "reencode.v" not in result.timings_ms
