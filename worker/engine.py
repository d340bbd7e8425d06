"""The only module that touches libvips: one upload's bytes in, every variant's bytes out.

The fast path, measured in DESIGN.md and kept honest by `make bench`: decode once with
shrink-on-load to the smallest size that still covers the largest variant, scale before
colour-managing and rotating (so those run on the small image), colour-manage only when the
profile is not already sRGB, then cascade every smaller variant from a larger one held in RAM.
Untrusted loaders are blocked process-wide and the operation cache is off, so a long-lived
worker neither parses SVG/PDF/matrix files nor grows without bound.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyvips

from shared.errors import CorruptImage, ImageTooLarge, UnsupportedFormat
from shared.limits import Limits
from shared.variants import RESIZE_GAP, WEBP_EFFORT, VariantSpec, Watermark
from worker.geometry import Size, VariantPlan, load_shrink, plan_variants
from worker.icc import is_srgb
from worker.sniff import SourceFormat, sniff_format

_LOADER_CLASSES = ("Jpeg", "Png", "Webp", "Nsgif", "Heif", "Tiff")
_LOADER_NICKS: dict[SourceFormat, str] = {
    "jpeg": "jpegload",
    "png": "pngload",
    "webp": "webpload",
    "gif": "gifload",
    "heif": "heifload",
    "avif": "heifload",
    "tiff": "tiffload",
}
_SAVE_SUFFIX = {"jpeg": ".jpg", "webp": ".webp", "avif": ".avif", "png": ".png"}
CONTENT_TYPES = {"jpeg": "image/jpeg", "webp": "image/webp", "avif": "image/avif", "png": "image/png"}
Rgb = tuple[int, int, int]
# Decoder warnings are failures: libjpeg only *warns* about corrupt entropy-coded data and then
# fills the damage with grey. Every photo of the benchmark corpus decodes cleanly at this level.
FAIL_ON = "warning"


def _lock_down() -> None:
    pyvips.cache_set_max(0)
    pyvips.block_untrusted_set(True)
    pyvips.operation_block_set("VipsForeignLoad", True)
    for name in _LOADER_CLASSES:
        pyvips.operation_block_set(f"VipsForeignLoad{name}", False)


_lock_down()


@dataclass(frozen=True)
class SourceInfo:
    """What the header says about the upload (stored size, before orientation)."""

    format: SourceFormat
    width: int
    height: int
    orientation: int
    bytes: int
    pages: int
    has_alpha: bool


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
class RenderResult:
    """Every variant of one source, with the source's header facts and step timings."""

    source: SourceInfo
    variants: tuple[Rendition, ...]
    timings_ms: dict[str, float]


_encoders: ThreadPoolExecutor | None = None


def set_threads(threads: int, encoders: int = 0) -> None:
    """Threads per libvips pipeline, and a pool that encodes one image's variants side by side.

    With `encoders` = 0 every variant is encoded on the calling thread. A worker running one image
    per core sets it to the core count, so the last, biggest image of a batch (often encode-bound,
    like a full-size WebP) uses every core instead of one while the others idle.
    """
    global _encoders
    pyvips.concurrency_set(threads)
    if _encoders is not None:
        _encoders.shutdown(wait=False)
    _encoders = ThreadPoolExecutor(encoders, thread_name_prefix="vips-encode") if encoders > 0 else None


def probe(data: bytes, limits: Limits) -> SourceInfo:
    """Read the header and enforce every limit without decoding a pixel."""
    fmt = sniff_format(data, limits)
    with _decoding(fmt):
        return _inspect(_open(data, fmt), fmt, len(data), limits)


class RenderCancelled(RuntimeError):
    """`should_stop` asked the render to stop (its caller gave up, e.g. at a deadline)."""


def render(
    data: bytes,
    specs: Sequence[VariantSpec],
    limits: Limits | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> RenderResult:
    """Make every variant in `specs` from one source; raises a `PermanentError` for bad input.

    `should_stop` is asked before each variant: a thread cannot be interrupted, so a caller that
    gave up can at least keep the rest of the work from running on.
    """
    started = time.perf_counter()
    limits = limits or Limits()
    fmt = sniff_format(data, limits)
    timings: dict[str, float] = {}
    with _decoding(fmt):
        header = _open(data, fmt)
        info = _inspect(header, fmt, len(data), limits)
        stored = Size(info.width, info.height)
        transposed = info.orientation >= 5
        plans = plan_variants(stored.transposed() if transposed else stored, specs)
        shrink = load_shrink(stored, plans, transposed) if fmt in ("jpeg", "webp") else 1
        base = header if shrink == 1 else _open(data, fmt, shrink)
        if _flattens_first(base, plans):
            base = _flatten(base, plans[0].spec.background_rgb)
        if sum(plan.source == -1 for plan in plans) > 1:
            base = base.copy_memory()
        timings["probe"] = _ms(started)
        renditions = _render_plans(base, plans, transposed, timings, should_stop)
    timings["total"] = _ms(started)
    by_name = {r.name: r for r in renditions}
    return RenderResult(info, tuple(by_name[spec.name] for spec in specs), timings)


def _render_plans(
    base: pyvips.Image,
    plans: list[VariantPlan],
    transposed: bool,
    timings: dict[str, float],
    should_stop: Callable[[], bool],
) -> list[Rendition]:
    images: list[pyvips.Image] = []
    encodes: list[Future[Rendition] | None] = []
    for index, plan in enumerate(plans):
        if should_stop():
            raise RenderCancelled(f"stopped before variant {plan.spec.name!r}")
        if plan.twin >= 0:  # identical output: encoded once, below
            images.append(images[plan.twin])
            encodes.append(None)
            continue
        started = time.perf_counter()
        if plan.source == -1:
            scaled = _scale(base, plan.scaled.transposed() if transposed else plan.scaled)
            image = _upright_srgb(_without_opaque_alpha(scaled))
        else:
            image = _scale(images[plan.source], plan.scaled)
        image = _crop(image, plan)
        if plan.spec.watermark is not None:
            image = _watermark(image, plan.spec.watermark)
        if any(later.source == index for later in plans):
            image = image.copy_memory()
        images.append(image)
        encodes.append(_submit(image, plan.spec, started, timings))
    renditions: list[Rendition] = []
    for plan, encode in zip(plans, encodes, strict=True):
        done = encode.result() if encode is not None else renditions[plan.twin]
        renditions.append(Rendition(plan.spec.name, done.format, done.width, done.height, done.data))
    return renditions


def _submit(
    image: pyvips.Image, spec: VariantSpec, started: float, timings: dict[str, float]
) -> Future[Rendition]:
    def encode() -> Rendition:
        rendition = _encode(image, spec)
        timings[f"variant.{spec.name}"] = _ms(started)
        return rendition

    if _encoders is not None:
        return _encoders.submit(encode)
    inline: Future[Rendition] = Future()
    inline.set_result(encode())
    return inline


def _open(data: bytes, fmt: SourceFormat, shrink: int = 1) -> pyvips.Image:
    options: dict[str, object] = {"access": "sequential", "fail_on": FAIL_ON}
    if shrink > 1:
        options.update({"shrink": shrink} if fmt == "jpeg" else {"scale": 1 / shrink})
    image = pyvips.Image.new_from_buffer(data, "", **options)
    loader = str(image.get("vips-loader"))
    if not loader.startswith(_LOADER_NICKS[fmt]):
        raise UnsupportedFormat(f"content sniffed as {fmt} but libvips chose {loader}")
    return image


def _inspect(header: pyvips.Image, fmt: SourceFormat, size: int, limits: Limits) -> SourceInfo:
    pages = _int_field(header, "n-pages", 1)
    pixels = header.width * header.height
    if pixels > limits.max_pixels:
        raise ImageTooLarge(
            f"{header.width}x{header.height} is {pixels} pixels, over the limit of {limits.max_pixels}"
        )
    if pages > limits.max_frames:
        raise ImageTooLarge(f"{pages} frames, over the limit of {limits.max_frames}")
    orientation = _int_field(header, "orientation", 1)
    return SourceInfo(
        format=fmt,
        width=header.width,
        height=header.height,
        orientation=orientation if 1 <= orientation <= 8 else 1,
        bytes=size,
        pages=pages,
        has_alpha=bool(header.hasalpha()),
    )


def _op(name: str, *args: object, **options: object) -> Any:
    """Run the libvips operation `name`. Every call goes through here, not `image.name(...)`.

    pyvips resolves `image.resize` by probing for a property of that name, and a miss clears
    libvips' process-wide error buffer: with renders on several threads, a failing one then
    lost its reason ("unable to copy to memory" instead of "premature end of JPEG image").
    """
    return pyvips.Operation.call(name, *args, **options)


def _scale(image: pyvips.Image, target: Size) -> pyvips.Image:
    if (image.width, image.height) == (target.width, target.height):
        return image
    hscale, vscale = target.width / image.width, target.height / image.height
    if not image.hasalpha():
        return _op("resize", image, hscale, vscale=vscale, gap=RESIZE_GAP)
    # Scaling straight alpha bleeds transparent pixels' colour into the edges. Premultiplying
    # in 8 bits (as Pillow does) keeps the resize in uchar, 3x faster than libvips' float path.
    premultiplied = _op("cast", _op("premultiply", image), image.format)
    scaled = _op("resize", premultiplied, hscale, vscale=vscale, gap=RESIZE_GAP)
    return _op("cast", _op("unpremultiply", scaled), image.format)


def _flattens_first(image: pyvips.Image, plans: list[VariantPlan]) -> bool:
    # When every output is JPEG on one background, flattening once before scaling gives the same
    # picture ("over" a background commutes with a linear resize) and spares the premultiplied
    # resize of a fourth band per variant. Only for 8-bit input without a colour transform
    # ahead, where the background's values mean the same before and after.
    return (
        image.hasalpha()
        and image.format == "uchar"
        and all(plan.spec.format == "jpeg" for plan in plans)
        and len({plan.spec.background_rgb for plan in plans}) == 1
        and not _needs_transform(image)
    )


def _without_opaque_alpha(image: pyvips.Image) -> pyvips.Image:
    # GIFs always decode with alpha and many PNGs carry an alpha band that is opaque everywhere;
    # dropping it lets `auto` choose JPEG and JPEG skip flattening.
    if not image.hasalpha():
        return image
    image = image.copy_memory()
    alpha = _op("extract_band", image, image.bands - 1)
    opaque = 65535 if image.format == "ushort" else 255
    return _op("extract_band", image, 0, n=image.bands - 1) if _op("min", alpha) >= opaque else image


def _needs_transform(image: pyvips.Image) -> bool:
    return image.interpretation == "cmyk" or bool(
        image.get_typeof("icc-profile-data") and not is_srgb(image.get("icc-profile-data"))
    )


def _upright_srgb(image: pyvips.Image) -> pyvips.Image:
    if _needs_transform(image):
        # libvips' own CMYK profile stands in when a CMYK file embeds none
        fallback = {"input_profile": "cmyk"} if image.interpretation == "cmyk" else {}
        image = _op("icc_transform", image, "srgb", embedded=True, **fallback)
    if image.format != "uchar":
        image = _op("colourspace", image, "srgb" if image.bands >= 3 else "b-w")
        image = _op("cast", image, "uchar") if image.format != "uchar" else image
    if _int_field(image, "orientation", 1) != 1:
        # Rotating reads pixels out of order, which a sequential decode cannot serve.
        image = _op("autorot", image.copy_memory())
    return image


def _crop(image: pyvips.Image, plan: VariantPlan) -> pyvips.Image:
    if plan.final == plan.scaled:
        return image
    width, height = plan.final.width, plan.final.height
    if plan.spec.crop == "attention":
        # smartcrop reads the image more than once, which a sequential decode cannot serve.
        return _op("smartcrop", image.copy_memory(), width, height, interesting="attention")
    return _op("crop", image, (image.width - width) // 2, (image.height - height) // 2, width, height)


def _watermark(image: pyvips.Image, mark: Watermark) -> pyvips.Image:
    opaque = not image.hasalpha()
    if image.bands < 3:
        image = _op("colourspace", image, "srgb")
    overlay = _overlay(mark, max(1, round(image.width * mark.scale)), max(1, image.height // 4))
    x, y = _position(mark.gravity, image, overlay)
    marked = _op("cast", _op("composite2", image, overlay, "over", x=x, y=y), image.format)
    # composite2 always adds alpha; an opaque photo must stay opaque (and JPEG under `auto`).
    return _op("extract_band", marked, 0, n=marked.bands - 1) if opaque else marked


def _position(gravity: str, image: pyvips.Image, overlay: pyvips.Image) -> tuple[int, int]:
    margin = max(1, image.width // 50)
    x, y = (image.width - overlay.width) // 2, (image.height - overlay.height) // 2
    if gravity.endswith("west"):
        x = margin
    elif gravity.endswith("east"):
        x = image.width - overlay.width - margin
    if gravity.startswith("north"):
        y = margin
    elif gravity.startswith("south"):
        y = image.height - overlay.height - margin
    return max(0, x), max(0, y)


def _overlay(mark: Watermark, width: int, height: int) -> pyvips.Image:
    if mark.text is not None:
        alpha = _op("text", mark.text, width=width, height=height, font="sans bold")
        white = _op("black", alpha.width, alpha.height, bands=3)
        colour = _op("copy", _op("linear", white, [1.0], [255.0], uchar=True), interpretation="srgb")
        return _op("bandjoin", [colour, _op("linear", alpha, [mark.opacity], [0.0], uchar=True)])
    assert mark.image is not None
    picture = _watermark_image(mark.image)
    picture = _op("resize", picture, min(1.0, width / picture.width, height / picture.height))
    if not picture.hasalpha():
        picture = _op("bandjoin_const", picture, [255.0])
    return _op("linear", picture, [1.0, 1.0, 1.0, mark.opacity], [0.0], uchar=True)


@functools.lru_cache(maxsize=8)
def _watermark_image(path: Path) -> pyvips.Image:
    data = path.read_bytes()
    fmt = sniff_format(data, Limits())
    with _decoding(fmt):
        return _op("colourspace", _open(data, fmt), "srgb").copy_memory()


def _encode(image: pyvips.Image, spec: VariantSpec) -> Rendition:
    fmt = spec.format if spec.format != "auto" else ("webp" if image.hasalpha() else "jpeg")
    options: dict[str, object] = {"keep": "none"}
    if fmt == "jpeg":
        image = _flatten(image, spec.background_rgb) if image.hasalpha() else image
        options.update(Q=spec.quality, optimize_coding=False)
    elif fmt == "webp":
        options.update(Q=spec.quality, effort=WEBP_EFFORT)
    elif fmt == "avif":
        options.update(Q=spec.quality)
    data = image.write_to_buffer(_SAVE_SUFFIX[fmt], **options)
    return Rendition(spec.name, fmt, image.width, image.height, data)


def _flatten(image: pyvips.Image, background: Rgb) -> pyvips.Image:
    colour = 1 if image.bands <= 2 else 3
    if image.bands > colour + 1:  # extra samples between colour and alpha, as TIFFs may carry
        colour_bands = _op("extract_band", image, 0, n=colour)
        image = _op("bandjoin", [colour_bands, _op("extract_band", image, image.bands - 1)])
    if colour == 1 and len(set(background)) > 1:
        image = _op("colourspace", image, "srgb")  # a coloured background needs colour channels
    flat = _op("flatten", image, background=list(background[: image.bands - 1]))
    return _op("cast", flat, image.format)


@contextmanager
def _decoding(fmt: SourceFormat) -> Iterator[None]:
    # libvips is lazy: a damaged file often fails only when pixels are pulled (in resize,
    # copy_memory or the encoder), so the whole render runs inside this translation.
    try:
        yield
    except pyvips.Error as exc:
        reason = _reason(exc)
        # libheif names codecs it lacks (e.g. HEVC) "unsupported"; elsewhere that word means damage,
        # as in libjpeg's "Unsupported marker type".
        if fmt in ("heif", "avif") and "unsupported" in reason.lower():
            raise UnsupportedFormat(f"{fmt} variant is not supported: {reason}") from exc
        raise CorruptImage(f"{fmt} image cannot be decoded: {reason}") from exc


def _reason(exc: pyvips.Error) -> str:
    lines = [line.strip() for line in f"{exc.detail or ''}\n{exc.message}".splitlines()]
    return next((line for line in lines if line), "unknown libvips error")[:300]


def _int_field(image: pyvips.Image, name: str, default: int) -> int:
    return int(image.get(name)) if image.get_typeof(name) else default


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
