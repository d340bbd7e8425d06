"""Geometry steps on pixels: scale to a planned size and crop to the variant's box.

The arithmetic (which sizes, which shrink-on-load factor, which variant feeds which) is pure
and lives in `worker.formats.geometry`; this module only applies it.
"""

from __future__ import annotations

import pyvips

from shared.variants import RESIZE_GAP
from worker.engine.ops import op
from worker.formats.geometry import Size, VariantPlan


def scale(image: pyvips.Image, target: Size) -> pyvips.Image:
    """`image` resized to exactly `target` (lanczos3, the reducing gap of the defaults)."""
    if (image.width, image.height) == (target.width, target.height):
        return image
    hscale, vscale = target.width / image.width, target.height / image.height
    if not image.hasalpha():
        return op("resize", image, hscale, vscale=vscale, gap=RESIZE_GAP)
    # Scaling straight alpha bleeds transparent pixels' colour into the edges. Premultiplying
    # in 8 bits (as Pillow does) keeps the resize in uchar, 3x faster than libvips' float path.
    premultiplied = op("cast", op("premultiply", image), image.format)
    scaled = op("resize", premultiplied, hscale, vscale=vscale, gap=RESIZE_GAP)
    return op("cast", op("unpremultiply", scaled), image.format)


def crop(image: pyvips.Image, plan: VariantPlan) -> pyvips.Image:
    """The variant's final box out of its scaled image: centre, or libvips' attention crop."""
    if plan.final == plan.scaled:
        return image
    width, height = plan.final.width, plan.final.height
    if plan.spec.crop == "attention":
        # smartcrop reads the image more than once, which a sequential decode cannot serve.
        return op("smartcrop", image.copy_memory(), width, height, interesting="attention")
    return op("crop", image, (image.width - width) // 2, (image.height - height) // 2, width, height)
