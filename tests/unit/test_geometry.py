"""Pure geometry: variant sizes, the cascade plan and the shrink-on-load factor."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.variants import DEFAULT_VARIANTS, VariantSpec, Watermark
from worker.formats.geometry import JPEG_SHRINKS, Size, VariantPlan, load_shrink, plan_variant, plan_variants

pytestmark = pytest.mark.unit


def spec(
    name: str = "v", width: int | None = None, height: int | None = None, fit: str = "inside", **kw: object
) -> VariantSpec:
    return VariantSpec(name=name, width=width, height=height, fit=fit, **kw)


# --------------------------------------------------------------------------- Size


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (Size(10, 10), Size(10, 10), True),
        (Size(11, 10), Size(10, 10), True),
        (Size(10, 9), Size(10, 10), False),
        (Size(9, 11), Size(10, 10), False),
        (Size(1, 1), Size(2, 1), False),
    ],
)
def test_size_covers(a: Size, b: Size, expected: bool) -> None:
    assert a.covers(b) is expected


def test_size_transposed_swaps_dimensions() -> None:
    assert Size(3000, 2000).transposed() == Size(2000, 3000)
    assert Size(5, 5).transposed() == Size(5, 5)


# --------------------------------------------------------------------------- plan_variant


@pytest.mark.parametrize(
    ("upright", "variant", "scaled", "final"),
    [
        # default variants on a 3:2 landscape photo
        (Size(3000, 2000), spec(), Size(3000, 2000), Size(3000, 2000)),
        (Size(3000, 2000), spec(width=1600, height=1600), Size(1600, 1067), Size(1600, 1067)),
        (Size(3000, 2000), spec(width=800, height=800), Size(800, 533), Size(800, 533)),
        (Size(3000, 2000), spec(width=320, height=320), Size(320, 213), Size(320, 213)),
        (Size(3000, 2000), spec(width=150, height=150, fit="cover"), Size(225, 150), Size(150, 150)),
        # portrait: the height is the binding side
        (Size(2000, 3000), spec(width=1600, height=1600), Size(1067, 1600), Size(1067, 1600)),
        (Size(2000, 3000), spec(width=150, height=150, fit="cover"), Size(150, 225), Size(150, 150)),
        # panorama
        (Size(9000, 500), spec(width=1600, height=1600), Size(1600, 89), Size(1600, 89)),
        (Size(9000, 500), spec(width=150, height=150, fit="cover"), Size(2700, 150), Size(150, 150)),
        # tiny sources are never enlarged, in either fit
        (Size(12, 9), spec(width=1600, height=1600), Size(12, 9), Size(12, 9)),
        (Size(12, 9), spec(width=150, height=150, fit="cover"), Size(12, 9), Size(12, 9)),
        # cover on a source larger than the box in one dimension only: crop without scaling
        (Size(100, 400), spec(width=150, height=150, fit="cover"), Size(100, 400), Size(100, 150)),
        # one-sided boxes
        (Size(3000, 2000), spec(width=600), Size(600, 400), Size(600, 400)),
        (Size(3000, 2000), spec(height=500), Size(750, 500), Size(750, 500)),
        (Size(3000, 2000), spec(width=6000), Size(3000, 2000), Size(3000, 2000)),
        # extreme aspect: the short side never rounds to zero
        (Size(20000, 10), spec(width=100, height=100), Size(100, 1), Size(100, 1)),
        (Size(10, 20000), spec(width=100, height=100), Size(1, 100), Size(1, 100)),
        # exact fit and square box on square source
        (Size(1600, 1600), spec(width=1600, height=1600), Size(1600, 1600), Size(1600, 1600)),
        (Size(1000, 1000), spec(width=150, height=150, fit="cover"), Size(150, 150), Size(150, 150)),
    ],
    ids=lambda v: f"{v.width}x{v.height}" if isinstance(v, Size) else None,
)
def test_plan_variant_sizes(upright: Size, variant: VariantSpec, scaled: Size, final: Size) -> None:
    assert plan_variant(upright, variant) == (scaled, final)


# --------------------------------------------------------------------------- plan_variants


def test_default_variants_cascade_largest_first_from_smallest_cover() -> None:
    # Given the default variants on a 3000x2000 photo
    plans = plan_variants(Size(3000, 2000), DEFAULT_VARIANTS)
    # Then they are ordered largest first and each feeds from the previous uncropped one
    assert [p.spec.name for p in plans] == ["original", "large", "medium", "small", "thumbnail"]
    assert [p.source for p in plans] == [-1, 0, 1, 2, 3]
    assert [(p.final.width, p.final.height) for p in plans] == [
        (3000, 2000),
        (1600, 1067),
        (800, 533),
        (320, 213),
        (150, 150),
    ]


def test_cropped_variant_is_never_a_cascade_source() -> None:
    # Given a cover variant larger than a later inside variant
    specs = [spec("cover", 400, 400, "cover"), spec("inside", 100, 100)]
    plans = plan_variants(Size(1000, 500), specs)
    # Then the inside one is decoded from the source, not from the cropped square
    assert [p.spec.name for p in plans] == ["cover", "inside"]
    assert plans[0].final != plans[0].scaled
    assert plans[1].source == -1


def test_watermarked_variant_is_never_a_cascade_source() -> None:
    specs = [spec("big", 800, 800, watermark=Watermark(text="(c)")), spec("small", 200, 200)]
    plans = plan_variants(Size(2000, 1000), specs)
    assert [p.spec.name for p in plans] == ["big", "small"]
    assert plans[1].source == -1


def test_cascade_picks_the_smallest_covering_source() -> None:
    specs = [spec("a", 2000, 2000), spec("b", 1000, 1000), spec("c", 300, 300)]
    plans = plan_variants(Size(4000, 4000), specs)
    assert {p.spec.name: p.source for p in plans} == {"a": -1, "b": 0, "c": 1}


def test_equal_sizes_cascade_from_the_first_equal() -> None:
    # Given a 12x9 source, every inside variant plans the same 12x9 size
    plans = plan_variants(Size(12, 9), DEFAULT_VARIANTS)
    assert all(p.final == Size(12, 9) for p in plans)
    assert plans[0].source == -1
    assert all(0 <= p.source < i for i, p in enumerate(plans) if i > 0)


@pytest.mark.parametrize(
    ("upright", "specs", "twins"),
    [
        # on a 12x9 source every inside default renders the same bytes as the original
        (
            Size(12, 9),
            DEFAULT_VARIANTS,
            {"original": -1, "large": 0, "medium": 0, "small": 0, "thumbnail": -1},
        ),
        # a big source: all sizes differ
        (Size(3000, 2000), DEFAULT_VARIANTS, dict.fromkeys([s.name for s in DEFAULT_VARIANTS], -1)),
        # same size but another format, quality, fit or watermark is a different output
        (Size(12, 9), (spec("a"), spec("b", format="webp")), {"a": -1, "b": -1}),
        (Size(12, 9), (spec("a"), spec("b", quality=50)), {"a": -1, "b": -1}),
        (Size(12, 9), (spec("a"), spec("b", watermark=Watermark(text="x"))), {"a": -1, "b": -1}),
        (Size(12, 9), (spec("a", 10, 10), spec("b", 10, 10, "cover")), {"a": -1, "b": -1}),
        # same everything but name and box: twins
        (Size(100, 50), (spec("a", 60, 60), spec("b", 60, 70)), {"a": -1, "b": 0}),
    ],
    ids=["tiny-defaults", "big-defaults", "format", "quality", "watermark", "fit", "box-only"],
)
def test_twins_share_one_encode(upright: Size, specs: Sequence[VariantSpec], twins: dict[str, int]) -> None:
    plans = plan_variants(upright, specs)
    assert {p.spec.name: p.twin for p in plans} == twins


# --------------------------------------------------------------------------- load_shrink


def _plans(upright: Size, *specs: VariantSpec) -> list[VariantPlan]:
    return plan_variants(upright, specs)


@pytest.mark.parametrize(
    ("stored", "specs", "transposed", "expected"),
    [
        # the original variant needs full resolution
        (Size(3000, 2000), DEFAULT_VARIANTS, False, 1),
        # only medium (800x533) is decoded from the source: 3000/2=1500 covers, /4=750 does not
        (Size(3000, 2000), (spec(width=800, height=800),), False, 2),
        (Size(4000, 3000), (spec(width=800, height=800),), False, 4),
        (Size(8000, 6000), (spec(width=800, height=800),), False, 8),
        (Size(8000, 6000), (spec(width=150, height=150, fit="cover"),), False, 8),
        # a cover thumbnail needs its scaled, uncropped size (2700x150), not just the box
        (Size(9000, 500), (spec(width=150, height=150, fit="cover"),), False, 2),
        # cascaded plans do not count, only the ones decoded from the source
        (Size(4000, 3000), (spec("m", 800, 800), spec("s", 200, 200)), False, 4),
        # a portrait-stored source shown landscape: needs are transposed back to stored axes
        (Size(2000, 3000), (spec(width=1600, height=1600),), True, 1),
        (Size(3000, 6000), (spec(width=1400, height=1400),), True, 4),
        # nothing fits a shrink: 1
        (Size(12, 9), DEFAULT_VARIANTS, False, 1),
    ],
)
def test_load_shrink(stored: Size, specs: tuple[VariantSpec, ...], transposed: bool, expected: int) -> None:
    upright = stored.transposed() if transposed else stored
    plans = plan_variants(upright, specs)
    assert load_shrink(stored, plans, transposed) == expected


def test_load_shrink_accounts_for_the_decoder_rounding_down() -> None:
    plans = plan_variants(Size(1001, 1001), [spec(width=501, height=501)])
    assert plans[0].scaled == Size(501, 501)
    assert load_shrink(Size(1001, 1001), plans, False) == 1


def test_load_shrink_without_plans_is_the_largest_factor() -> None:
    assert load_shrink(Size(1000, 1000), [], False) == max(JPEG_SHRINKS)


# --------------------------------------------------------------------------- properties

sizes = st.builds(Size, st.integers(1, 20000), st.integers(1, 20000))
box_side = st.one_of(st.none(), st.integers(1, 16384))


@st.composite
def variant_specs(draw: st.DrawFn, name: str = "v") -> VariantSpec:
    fit = draw(st.sampled_from(["inside", "cover"]))
    width: int | None
    height: int | None
    if fit == "cover":
        width, height = draw(st.integers(1, 16384)), draw(st.integers(1, 16384))
    else:
        width, height = draw(box_side), draw(box_side)
    watermark = Watermark(text="wm") if draw(st.booleans()) and draw(st.booleans()) else None
    return VariantSpec(name=name, width=width, height=height, fit=fit, watermark=watermark)


@settings(max_examples=300, deadline=None)
@given(upright=sizes, variant=variant_specs())
def test_plan_variant_properties(upright: Size, variant: VariantSpec) -> None:
    scaled, final = plan_variant(upright, variant)
    box_w = variant.width or math.inf
    box_h = variant.height or math.inf
    # never enlarges, never empty
    assert 1 <= scaled.width <= upright.width and 1 <= scaled.height <= upright.height
    assert scaled.covers(final) and final.width >= 1 and final.height >= 1
    if variant.fit == "inside":
        # fits the box, is not cropped, and either keeps the source or touches the box
        assert scaled.width <= box_w and scaled.height <= box_h
        assert final == scaled
        assert scaled == upright or scaled.width == box_w or scaled.height == box_h
    else:
        # final is the box clipped to the scaled size; scaled covers the box unless unscaled
        assert final == Size(min(int(box_w), scaled.width), min(int(box_h), scaled.height))
        assert scaled == upright or (scaled.width >= box_w and scaled.height >= box_h)
    # aspect ratio kept within rounding (the max(1, ...) clamp adds at most one pixel)
    assert (
        abs(scaled.width * upright.height - scaled.height * upright.width) <= upright.width + upright.height
    )


@st.composite
def spec_lists(draw: st.DrawFn) -> list[VariantSpec]:
    count = draw(st.integers(1, 7))
    return [draw(variant_specs(name=f"v{i}")) for i in range(count)]


@settings(max_examples=200, deadline=None)
@given(upright=sizes, specs=spec_lists(), transposed=st.booleans())
def test_plan_variants_cascade_properties(upright: Size, specs: list[VariantSpec], transposed: bool) -> None:
    plans = plan_variants(upright, specs)
    # every spec planned exactly once, with plan_variant's sizes, largest area first
    assert sorted(p.spec.name for p in plans) == sorted(s.name for s in specs)
    for plan in plans:
        assert (plan.scaled, plan.final) == plan_variant(upright, plan.spec)
    areas = [p.scaled.width * p.scaled.height for p in plans]
    assert areas == sorted(areas, reverse=True)
    for index, plan in enumerate(plans):
        if plan.source == -1:
            continue
        source = plans[plan.source]
        # a cascade source comes earlier, is uncropped, unwatermarked and covers its dependant
        assert 0 <= plan.source < index
        assert source.scaled == source.final
        assert source.spec.watermark is None
        assert source.final.covers(plan.scaled)

    # a twin is the first earlier plan rendering identical output; a non-twin has none
    def same_output(a: VariantPlan, b: VariantPlan) -> bool:
        fields = ("fit", "format", "quality", "crop", "watermark")
        return (a.scaled, a.final) == (b.scaled, b.final) and all(
            getattr(a.spec, f) == getattr(b.spec, f) for f in fields
        )

    for index, plan in enumerate(plans):
        earlier = [i for i in range(index) if same_output(plans[i], plan)]
        assert plan.twin == (earlier[0] if earlier else -1)
    # the shrink factor's decode (as modelled here: ceil-rounded) covers every plan decoded from the source
    stored = upright.transposed() if transposed else upright
    factor = load_shrink(stored, plans, transposed)
    assert factor in JPEG_SHRINKS
    decoded = Size(math.ceil(stored.width / factor), math.ceil(stored.height / factor))
    for plan in plans:
        if plan.source == -1:
            assert decoded.covers(plan.scaled.transposed() if transposed else plan.scaled)
