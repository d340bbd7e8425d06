"""Variant specs: validation, the defaults, and the configuration hash."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared import variants as variants_module
from shared.variants import DEFAULT_VARIANTS, VariantSpec, Watermark, config_hash, validate_variants

pytestmark = pytest.mark.unit


# --------------------------------------------------------------------------- VariantSpec


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "original"},
        {"name": "a"},
        {"name": "0"},
        {"name": "thumb_2x-webp"},
        {"name": "a" * 32},
        {"name": "w", "width": 1},
        {"name": "w", "width": 16384, "height": 16384},
        {"name": "c", "width": 150, "height": 150, "fit": "cover"},
        {"name": "q", "quality": 1},
        {"name": "q", "quality": 100},
        {"name": "f", "format": "avif"},
        {"name": "a", "width": 100, "height": 100, "fit": "cover", "crop": "attention"},
    ],
)
def test_valid_specs(fields: dict[str, object]) -> None:
    spec = VariantSpec(**fields)
    assert spec.name == fields["name"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "Large"}, "name"),
        ({"name": "_x"}, "name"),
        ({"name": "-x"}, "name"),
        ({"name": "a" * 33}, "name"),
        ({"name": "a/b"}, "name"),
        ({"name": "../x"}, "name"),
        ({"name": "w", "width": 0}, "width"),
        ({"name": "w", "width": 16385}, "width"),
        ({"name": "h", "height": -1}, "height"),
        ({"name": "q", "quality": 0}, "quality"),
        ({"name": "q", "quality": 101}, "quality"),
        ({"name": "f", "format": "gif"}, "format"),
        ({"name": "f", "fit": "fill"}, "fit"),
        ({"name": "c", "crop": "entropy"}, "crop"),
        ({"name": "x", "colour": "red"}, "colour"),
        ({"name": "b", "background": "white"}, "background"),
        ({"name": "b", "background": "#fff"}, "background"),
        ({"name": "b", "background": "#gg0000"}, "background"),
    ],
)
def test_invalid_spec_fields(fields: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        VariantSpec(**fields)
    assert [error["loc"][0] for error in excinfo.value.errors()] == [field]


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "c", "fit": "cover"},
        {"name": "c", "fit": "cover", "width": 100},
        {"name": "c", "fit": "cover", "height": 100},
    ],
)
def test_cover_needs_a_full_box(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="'cover' needs both width and height"):
        VariantSpec(**fields)


def test_spec_defaults_and_immutability() -> None:
    spec = VariantSpec(name="v")
    assert (spec.width, spec.height, spec.fit, spec.format, spec.quality, spec.crop, spec.watermark) == (
        None,
        None,
        "inside",
        "jpeg",
        85,
        "centre",
        None,
    )
    assert spec.background_rgb == (255, 255, 255)
    with pytest.raises(ValidationError):
        spec.width = 10  # type: ignore[misc]
    assert hash(spec) == hash(VariantSpec(name="v"))


def test_background_is_one_colour_whatever_its_case() -> None:
    upper, lower = VariantSpec(name="v", background="#FFAA00"), VariantSpec(name="v", background="#ffaa00")
    assert upper.background == "#ffaa00"
    assert config_hash([upper]) == config_hash([lower])


@pytest.mark.parametrize(
    ("text", "rgb"), [("#000000", (0, 0, 0)), ("#FF8000", (255, 128, 0)), ("#0a0b0c", (10, 11, 12))]
)
def test_background_parses_to_rgb(text: str, rgb: tuple[int, int, int]) -> None:
    assert VariantSpec(name="v", background=text).background_rgb == rgb


# --------------------------------------------------------------------------- Watermark


@pytest.mark.parametrize(
    "fields",
    [
        {"text": "(c) imgpipe"},
        {"image": Path("/tmp/logo.png")},
        {"text": "x", "opacity": 1.0},
        {"text": "x", "opacity": 0.01, "scale": 1.0, "gravity": "centre"},
        {"text": "x" * 200},
    ],
)
def test_valid_watermarks(fields: dict[str, object]) -> None:
    assert Watermark(**fields)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "x" * 201}, "text"),
        ({"text": "x", "opacity": 0}, "opacity"),
        ({"text": "x", "opacity": 1.5}, "opacity"),
        ({"text": "x", "scale": 0}, "scale"),
        ({"text": "x", "scale": 2}, "scale"),
        ({"text": "x", "gravity": "top-left"}, "gravity"),
        ({"text": "x", "font": "serif"}, "font"),
    ],
)
def test_invalid_watermark_fields(fields: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        Watermark(**fields)
    assert [error["loc"][0] for error in excinfo.value.errors()] == [field]


@pytest.mark.parametrize(
    "fields", [{}, {"text": "x", "image": Path("/tmp/logo.png")}], ids=["neither", "both"]
)
def test_watermark_needs_exactly_one_source(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="exactly one of 'text' or 'image'"):
        Watermark(**fields)


# --------------------------------------------------------------------------- defaults


def test_default_variants() -> None:
    table = [(s.name, s.width, s.height, s.fit, s.format, s.watermark) for s in DEFAULT_VARIANTS]
    assert table == [
        ("original", None, None, "inside", "jpeg", None),
        ("large", 1600, 1600, "inside", "jpeg", None),
        ("medium", 800, 800, "inside", "jpeg", None),
        ("small", 320, 320, "inside", "jpeg", None),
        ("thumbnail", 150, 150, "cover", "jpeg", None),
    ]
    assert validate_variants(DEFAULT_VARIANTS) == DEFAULT_VARIANTS


# --------------------------------------------------------------------------- validate_variants


def test_validate_variants_returns_a_tuple() -> None:
    specs = [VariantSpec(name="a"), VariantSpec(name="b")]
    assert validate_variants(specs) == tuple(specs)


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ([], "at least one"),
        (["a", "a"], "repeat: a"),
        (["b", "a", "b", "a", "c"], "repeat: a, b"),
    ],
)
def test_validate_variants_refuses(names: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_variants([VariantSpec(name=n) for n in names])


# --------------------------------------------------------------------------- config_hash


def test_config_hash_is_short_hex_and_deterministic() -> None:
    digest = config_hash(DEFAULT_VARIANTS)
    assert re.fullmatch(r"[0-9a-f]{16}", digest)
    rebuilt = tuple(VariantSpec(**s.model_dump()) for s in DEFAULT_VARIANTS)
    assert config_hash(rebuilt) == digest
    assert config_hash(list(DEFAULT_VARIANTS)) == digest


def test_config_hash_ignores_how_defaults_were_spelled() -> None:
    assert config_hash([VariantSpec(name="v")]) == config_hash(
        [VariantSpec(name="v", fit="inside", format="jpeg", quality=85, crop="centre")]
    )


BASE = VariantSpec(name="v", width=100, height=100)


@pytest.mark.parametrize(
    "changed",
    [
        BASE.model_copy(update={"name": "w"}),
        BASE.model_copy(update={"width": 101}),
        BASE.model_copy(update={"height": None}),
        BASE.model_copy(update={"fit": "cover"}),
        BASE.model_copy(update={"format": "webp"}),
        BASE.model_copy(update={"quality": 84}),
        BASE.model_copy(update={"crop": "attention"}),
        BASE.model_copy(update={"watermark": Watermark(text="x")}),
    ],
    ids=["name", "width", "height", "fit", "format", "quality", "crop", "watermark"],
)
def test_config_hash_changes_with_every_field(changed: VariantSpec) -> None:
    assert config_hash([changed]) != config_hash([BASE])


def test_config_hash_changes_with_watermark_details() -> None:
    hashes = {
        config_hash([BASE.model_copy(update={"watermark": mark})])
        for mark in (
            Watermark(text="x"),
            Watermark(text="y"),
            Watermark(text="x", opacity=0.6),
            Watermark(text="x", gravity="centre"),
            Watermark(image=Path("/a.png")),
            Watermark(image=Path("/b.png")),
        )
    }
    assert len(hashes) == 6


def test_config_hash_depends_on_order_and_count() -> None:
    a, b = VariantSpec(name="a"), VariantSpec(name="b")
    assert len({config_hash([a, b]), config_hash([b, a]), config_hash([a])}) == 3


def test_config_hash_changes_with_pipeline_version(monkeypatch: pytest.MonkeyPatch) -> None:
    before = config_hash(DEFAULT_VARIANTS)
    monkeypatch.setattr(variants_module, "PIPELINE_VERSION", variants_module.PIPELINE_VERSION + "-next")
    assert config_hash(DEFAULT_VARIANTS) != before
