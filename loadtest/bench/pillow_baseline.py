"""The Pillow baseline `make bench` compares the engine against.

It does the same job as the engine's four resized default variants, the way a careful Pillow
user would: `draft()` so libjpeg decodes at a reduced scale, one decode, EXIF transpose, ICC to
sRGB only when a non-sRGB profile is embedded, then each smaller size resized from the previous
one with the engine's reducing gap (Pillow's `thumbnail()` default), alpha flattened onto white
for JPEG and kept for WebP, JPEG Q85 without `optimize` (never above a JPEG upload's own quality,
as the engine caps it), WebP at the engine's effort: the same job at the same settings.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageCms, ImageOps

from shared.variants import RESIZE_GAP, WEBP_EFFORT, VariantSpec
from worker.formats import jpeg_quality
from worker.formats.geometry import Size, plan_variant
from worker.formats.icc import is_srgb

_SRGB = ImageCms.createProfile("sRGB")


def render(data: bytes, specs: Sequence[VariantSpec]) -> list[tuple[str, int, int, bytes]]:
    """Encode every variant; returns (name, width, height, encoded bytes) per variant."""
    image: Image.Image = Image.open(io.BytesIO(data))
    if image.format == "JPEG":
        specs = jpeg_quality.capped(specs, jpeg_quality.estimate(data))
    upright = _upright_size(image)
    largest = max((plan_variant(upright, spec)[0] for spec in specs), key=lambda s: s.width)
    if image.format == "JPEG":
        transposed = _orientation(image) >= 5
        target = largest.transposed() if transposed else largest
        image.draft(image.mode if image.mode != "CMYK" else "CMYK", (target.width, target.height))
    image = _to_srgb(ImageOps.exif_transpose(image))
    backgrounds = {spec.background_rgb for spec in specs}
    if "A" in image.getbands() and all(s.format == "jpeg" for s in specs) and len(backgrounds) == 1:
        image = _flatten(image, backgrounds.pop())  # once, before resizing, as the engine does
    results = []
    current = image
    for spec in sorted(specs, key=lambda s: -(s.width or 10**9)):
        scaled, final = plan_variant(upright, spec)
        current = _resize(current, scaled)
        out = current
        if final != scaled:
            left, top = (scaled.width - final.width) // 2, (scaled.height - final.height) // 2
            out = current.crop((left, top, left + final.width, top + final.height))
        results.append((spec.name, *out.size, _encode(out, spec)))
    return results


def _orientation(image: Image.Image) -> int:
    return int(image.getexif().get(0x0112, 1))


def _upright_size(image: Image.Image) -> Size:
    size = Size(*image.size)
    return size.transposed() if _orientation(image) >= 5 else size


def _to_srgb(image: Image.Image) -> Image.Image:
    profile = image.info.get("icc_profile")
    if image.mode == "CMYK" or (profile and not is_srgb(profile)):
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile)) if profile else None
        if source is not None:
            mode = "RGBA" if "A" in image.getbands() else "RGB"
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=mode)
            assert converted is not None  # None only with inPlace=True
            return converted
        return image.convert("RGB")
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        # A palette's transparent entry (GIF, PNG tRNS) becomes alpha, as libvips decodes it.
        transparent = "A" in image.getbands() or "transparency" in image.info
        return image.convert("RGBA" if transparent else "RGB")
    return image


def _resize(image: Image.Image, target: Size) -> Image.Image:
    if image.size == (target.width, target.height):
        return image
    return image.resize((target.width, target.height), Image.Resampling.LANCZOS, reducing_gap=RESIZE_GAP)


def _encode(image: Image.Image, spec: VariantSpec) -> bytes:
    buffer = io.BytesIO()
    has_alpha = "A" in image.getbands()
    fmt = spec.format if spec.format != "auto" else ("webp" if has_alpha else "jpeg")
    if fmt == "jpeg":
        image = _flatten(image, spec.background_rgb) if has_alpha else image
        image = image.convert("RGB") if image.mode not in ("RGB", "L") else image
        image.save(buffer, "JPEG", quality=spec.quality, optimize=False)
    else:
        image.save(buffer, fmt.upper(), quality=spec.quality, method=WEBP_EFFORT)
    return buffer.getvalue()


def _flatten(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    grey = image.mode == "LA" and len(set(background)) == 1
    flat = Image.new("L" if grey else "RGB", image.size, background[0] if grey else background)
    flat.paste(image.convert("LA" if grey else "RGBA"), mask=image.getchannel("A"))
    return flat
