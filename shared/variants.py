"""Variant specs: what sizes and formats each upload becomes, and a stable hash of that choice.

The hash goes into every manifest so a change of variant configuration is never mistaken for
work already done.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Fit = Literal["inside", "cover"]
Format = Literal["jpeg", "webp", "avif", "png", "auto"]
Gravity = Literal["north-west", "north-east", "south-west", "south-east", "centre"]

PIPELINE_VERSION = "1"

# Encoder policy, shared with the benchmark's Pillow baseline so both do the same job.
# libwebp effort 3 vs its default 4, measured on 26 photos at Q85: same size (-0.2%) and speed,
# and 30% faster on alpha-heavy images, where the lossless alpha plane dominates.
WEBP_EFFORT = 3
# Box-shrink by whole factors until within 2x of the target, then lanczos3: libvips' default and
# Pillow's `thumbnail()` default, visually equal to a full lanczos3 at a fraction of the cost.
RESIZE_GAP = 2.0


class Watermark(BaseModel):
    """A text or image overlay; exactly one of `text` and `image` is set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str | None = Field(default=None, min_length=1, max_length=200)
    image: Path | None = None
    opacity: float = Field(default=0.5, gt=0, le=1)
    gravity: Gravity = "south-east"
    scale: float = Field(default=0.25, gt=0, le=1, description="overlay width / image width")

    @model_validator(mode="after")
    def _one_source(self) -> Watermark:
        if (self.text is None) == (self.image is None):
            raise ValueError("a watermark needs exactly one of 'text' or 'image'")
        return self


class VariantSpec(BaseModel):
    """One output size; `width`/`height` of None mean unbounded (the `original` variant)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    width: int | None = Field(default=None, ge=1, le=16384)
    height: int | None = Field(default=None, ge=1, le=16384)
    fit: Fit = "inside"
    # JPEG by default (DESIGN.md: "JPEG quality 85"), so a variant's key is known without reading
    # the manifest; `auto` (WebP where there is alpha) is one setting away in IMGPIPE_VARIANTS.
    format: Format = "jpeg"
    quality: int = Field(default=85, ge=1, le=100)
    background: str = Field(
        default="#ffffff",
        pattern=r"^#[0-9a-fA-F]{6}$",
        description="colour under transparent pixels for formats without alpha (JPEG), #rrggbb",
    )
    crop: Literal["centre", "attention"] = "centre"
    watermark: Watermark | None = None

    @field_validator("background")
    @classmethod
    def _lower_case(cls, value: str) -> str:
        return value.lower()  # "#FFFFFF" and "#ffffff" are one colour and one config hash

    @property
    def background_rgb(self) -> tuple[int, int, int]:
        """`background` as (red, green, blue), 0-255."""
        value = int(self.background[1:], 16)
        return (value >> 16, (value >> 8) & 0xFF, value & 0xFF)

    @model_validator(mode="after")
    def _cover_needs_box(self) -> VariantSpec:
        if self.fit == "cover" and (self.width is None or self.height is None):
            raise ValueError(f"variant {self.name!r}: fit 'cover' needs both width and height")
        return self


DEFAULT_VARIANTS: tuple[VariantSpec, ...] = (
    VariantSpec(name="original"),
    VariantSpec(name="large", width=1600, height=1600),
    VariantSpec(name="medium", width=800, height=800),
    VariantSpec(name="small", width=320, height=320),
    VariantSpec(name="thumbnail", width=150, height=150, fit="cover"),
)


def validate_variants(specs: Sequence[VariantSpec]) -> tuple[VariantSpec, ...]:
    """Refuse an empty list or repeated names, which would overwrite each other's keys."""
    if not specs:
        raise ValueError("at least one variant is needed")
    names = [spec.name for spec in specs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"variant names repeat: {', '.join(repeated)}")
    return tuple(specs)


def config_hash(specs: Sequence[VariantSpec]) -> str:
    """A short stable digest of the variant configuration and pipeline version."""
    canonical = json.dumps(
        {"pipeline": PIPELINE_VERSION, "variants": [s.model_dump(mode="json") for s in specs]},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
