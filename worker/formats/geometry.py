"""Pure geometry of a render: output sizes, the shrink-on-load factor and the resize cascade.

Kept apart from the libvips module so the arithmetic that decides speed (how small to decode)
and correctness (never enlarge, exact cover boxes) is tested without decoding anything.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from shared.variants import VariantSpec

JPEG_SHRINKS = (8, 4, 2, 1)


@dataclass(frozen=True)
class Size:
    """Width and height in pixels."""

    width: int
    height: int

    def covers(self, other: Size) -> bool:
        """True when this size is at least `other` in both dimensions."""
        return self.width >= other.width and self.height >= other.height

    def transposed(self) -> Size:
        """The same size turned by 90 degrees."""
        return Size(self.height, self.width)


@dataclass(frozen=True)
class VariantPlan:
    """How one variant is made: scale the upright source to `scaled`, then crop to `final`."""

    spec: VariantSpec
    scaled: Size
    final: Size
    source: int  # index of an earlier plan to cascade from, or -1 for the decoded source
    twin: int = -1  # index of an earlier plan whose output is identical, so it is encoded once


def plan_variant(upright: Size, spec: VariantSpec) -> tuple[Size, Size]:
    """Scaled and final size of one variant of an upright source; never enlarges."""
    box_w = spec.width or math.inf
    box_h = spec.height or math.inf
    ratios = (box_w / upright.width, box_h / upright.height)
    scale = min(1.0, max(ratios) if spec.fit == "cover" else min(ratios))
    scaled = Size(max(1, round(upright.width * scale)), max(1, round(upright.height * scale)))
    if spec.fit == "cover":
        return scaled, Size(min(scaled.width, int(box_w)), min(scaled.height, int(box_h)))
    return scaled, scaled


def plan_variants(upright: Size, specs: Sequence[VariantSpec]) -> list[VariantPlan]:
    """Plans largest first, each cascading from the smallest earlier uncropped result that covers it."""
    sized = [(spec, *plan_variant(upright, spec)) for spec in specs]
    sized.sort(key=lambda item: item[1].width * item[1].height, reverse=True)
    plans: list[VariantPlan] = []
    first_with_output: dict[tuple[Size, Size, VariantSpec], int] = {}
    for spec, scaled, final in sized:
        candidates = [
            i
            for i, p in enumerate(plans)
            if p.scaled == p.final and p.spec.watermark is None and p.final.covers(scaled)
        ]
        source = min(candidates, key=lambda i: plans[i].final.width, default=-1)
        # Specs that differ only in name (and in box size, once the sizes agree) render the same bytes.
        output = (scaled, final, spec.model_copy(update={"name": "", "width": None, "height": None}))
        twin = first_with_output.setdefault(output, len(plans))
        plans.append(VariantPlan(spec, scaled, final, source, twin if twin < len(plans) else -1))
    return plans


def source_needs(plans: Sequence[VariantPlan], transposed: bool) -> Size:
    """The smallest decoded size (stored orientation) that covers every plan fed from the source."""
    needed = [p.scaled.transposed() if transposed else p.scaled for p in plans if p.source == -1]
    return Size(max((s.width for s in needed), default=1), max((s.height for s in needed), default=1))


def load_shrink(stored: Size, plans: Sequence[VariantPlan], transposed: bool) -> int:
    """Largest JPEG/WebP shrink-on-load factor whose decoded image still covers every plan fed from it."""
    needed = source_needs(plans, transposed)
    for factor in JPEG_SHRINKS:
        # libvips rounds shrink-on-load sizes down (jpegload shrink=, webpload scale=).
        if Size(stored.width // factor, stored.height // factor).covers(needed):
            return factor
    return 1
