"""What the engine hands back: the header's facts and every encoded variant (no libvips types)."""

from __future__ import annotations

from dataclasses import dataclass, field

from worker.formats.sniff import SourceFormat

CONTENT_TYPES = {"jpeg": "image/jpeg", "webp": "image/webp", "avif": "image/avif", "png": "image/png"}


@dataclass(frozen=True)
class SourceInfo:
    """What the header says about the upload (stored size, before orientation).

    `bits` and `bands` feed the memory estimate; they are not part of the manifest's facts.
    """

    format: SourceFormat
    width: int
    height: int
    orientation: int
    bytes: int
    pages: int
    has_alpha: bool
    bits: int = field(default=8, compare=False)
    bands: int = field(default=3, compare=False)
    progressive: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Rendition:
    """One encoded variant."""

    name: str
    format: str
    width: int
    height: int
    data: bytes = field(repr=False)

    @property
    def content_type(self) -> str:
        """The MIME type to store the variant with."""
        return CONTENT_TYPES[self.format]


@dataclass(frozen=True)
class Placeholder:
    """What a page paints before any variant loads (`worker.engine.placeholder`): a ThumbHash of
    the picture (standard base64), its mean colour (`#rrggbb`) and the size of the pixels both
    were taken from (at most 100x100)."""

    thumbhash: str
    color: str
    width: int
    height: int


@dataclass(frozen=True)
class RenderResult:
    """Every variant of one source, with the source's header facts, step timings, the decoder
    warnings that did not stop the render and the picture's placeholder."""

    source: SourceInfo
    variants: tuple[Rendition, ...]
    timings_ms: dict[str, float]
    warnings: tuple[str, ...] = ()
    placeholder: Placeholder | None = None


class RenderCancelled(RuntimeError):
    """`should_stop` asked the render to stop (its caller gave up, e.g. at a deadline)."""
