"""Photo-like sample images the project makes itself, so the demo and `make bench` run on a
fresh clone without anyone's photos.

Drawn with Pillow (not the engine's libvips) so the inputs are written by an independent
encoder. The content is smooth colour fields plus fine grain, which compresses like a real
photo (about 2 bits per pixel at Q90), so decode costs are realistic.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageCms, ImageDraw

_ORIENTATION_TAG = 0x0112


@dataclass(frozen=True)
class Sample:
    """One generated file: its name and bytes."""

    name: str
    data: bytes


def photo(width: int, height: int, seed: int) -> Image.Image:
    """An RGB image with large soft shapes and sensor-like grain."""
    rng = random.Random(seed)
    small = Image.new("RGB", (8, 6))
    small.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(48)])
    image = small.resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(max(2, min(width, height) // 12), max(3, min(width, height) // 4))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    grain = Image.effect_noise((width, height), 24).convert("RGB")
    return Image.blend(image, grain, 0.18)


def jpeg(image: Image.Image, quality: int = 90, orientation: int = 1, icc: bytes | None = None) -> bytes:
    """Encode as JPEG, optionally tagging an EXIF orientation or embedding an ICC profile."""
    buffer = io.BytesIO()
    exif = Image.Exif()
    if orientation != 1:
        exif[_ORIENTATION_TAG] = orientation
    options: dict[str, object] = {"quality": quality, "exif": exif.tobytes()}
    if icc is not None:
        options["icc_profile"] = icc
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def with_alpha(image: Image.Image) -> bytes:
    """PNG with a transparent surround and a soft-edged opaque middle."""
    mask = Image.new("L", image.size, 0)
    w, h = image.size
    ImageDraw.Draw(mask).ellipse((w // 8, h // 8, w * 7 // 8, h * 7 // 8), fill=255)
    rgba = image.copy()
    rgba.putalpha(mask)
    buffer = io.BytesIO()
    rgba.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def bench_set() -> list[Sample]:
    """A mix like a phone-camera upload: large and mid JPEGs, a rotated one, ICC, alpha."""
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return [
        Sample("12mp_landscape.jpg", jpeg(photo(4000, 3000, 1))),
        Sample("12mp_portrait_exif6.jpg", jpeg(photo(4032, 3024, 2), orientation=6)),
        Sample("8mp_icc.jpg", jpeg(photo(3264, 2448, 3), icc=srgb)),
        Sample("3mp_landscape.jpg", jpeg(photo(2048, 1536, 4))),
        Sample("2mp_exif3.jpg", jpeg(photo(1800, 1200, 5), orientation=3)),
        Sample("1mp_small.jpg", jpeg(photo(1024, 768, 6))),
        Sample("alpha_1600.png", with_alpha(photo(1600, 1200, 7))),
        Sample("vga.jpg", jpeg(photo(640, 480, 8))),
    ]


def demo_set() -> list[Sample]:
    """The bench mix plus what a demo should show failing: a truncated JPEG and a text file."""
    good = bench_set()
    truncated = jpeg(photo(1200, 900, 9))
    return [
        *good,
        Sample("truncated.jpg", truncated[: len(truncated) // 2]),
        Sample("notes_named_as.png", b"this is a text file, not an image\n"),
    ]


def write(samples: list[Sample], folder: Path) -> list[Path]:
    """Write samples into `folder` (created if needed) and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for sample in samples:
        path = folder / sample.name
        path.write_bytes(sample.data)
        paths.append(path)
    return paths
