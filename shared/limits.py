"""Resource limits checked before any pixel is decoded."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_PIXELS = 100_000_000
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_FRAMES = 1000


@dataclass(frozen=True)
class Limits:
    """Upper bounds for one source image; exceeding any is an `ImageTooLarge`."""

    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = DEFAULT_MAX_BYTES
    max_frames: int = DEFAULT_MAX_FRAMES
