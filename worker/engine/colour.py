"""Colour steps: to sRGB only when the profile is not already sRGB (or the image is CMYK), 8 bits,
EXIF orientation applied, alpha dropped where it is opaque and flattened where JPEG needs it."""

from __future__ import annotations

import pyvips

from worker.engine.ops import int_field, op
from worker.formats.icc import is_srgb

Rgb = tuple[int, int, int]


def needs_transform(image: pyvips.Image) -> bool:
    """True when converting to sRGB would change the pixels (CMYK, or a non-sRGB profile)."""
    return image.interpretation == "cmyk" or bool(
        image.get_typeof("icc-profile-data") and not is_srgb(image.get("icc-profile-data"))
    )


def upright_srgb(image: pyvips.Image, whole: bool = False) -> pyvips.Image:
    """sRGB (or grey), 8 bits a sample, EXIF orientation applied; `whole` when `image` is a
    picture decoded into memory, which rotates without a copy first."""
    if needs_transform(image):
        # libvips' own CMYK profile stands in when a CMYK file embeds none
        fallback = {"input_profile": "cmyk"} if image.interpretation == "cmyk" else {}
        image = op("icc_transform", image, "srgb", embedded=True, **fallback)
    if image.format != "uchar":
        image = op("colourspace", image, "srgb" if image.bands >= 3 else "b-w")
        image = op("cast", image, "uchar") if image.format != "uchar" else image
    if int_field(image, "orientation", 1) != 1:
        # Rotating reads pixels out of order, which a sequential decode cannot serve.
        # A small resized variant is better copied first than rotated through its resize.
        image = op("autorot", image if whole else image.copy_memory())
    return image


def without_opaque_alpha(image: pyvips.Image) -> pyvips.Image:
    """The image without its alpha band when that band is opaque everywhere."""
    # GIFs always decode with alpha and many PNGs carry an alpha band that is opaque everywhere;
    # dropping it lets `auto` choose JPEG and JPEG skip flattening.
    if not image.hasalpha():
        return image
    image = image.copy_memory()
    alpha = op("extract_band", image, image.bands - 1)
    opaque = 65535 if image.format == "ushort" else 255
    return op("extract_band", image, 0, n=image.bands - 1) if op("min", alpha) >= opaque else image


def flatten(image: pyvips.Image, background: Rgb) -> pyvips.Image:
    """Alpha composited onto `background`, in the image's own sample format."""
    colour = 1 if image.bands <= 2 else 3
    if image.bands > colour + 1:  # extra samples between colour and alpha, as TIFFs may carry
        colour_bands = op("extract_band", image, 0, n=colour)
        image = op("bandjoin", [colour_bands, op("extract_band", image, image.bands - 1)])
    if colour == 1 and len(set(background)) > 1:
        image = op("colourspace", image, "srgb")  # a coloured background needs colour channels
    flat = op("flatten", image, background=list(background[: image.bands - 1]))
    return op("cast", flat, image.format)
