"""One upload's bytes in, every variant's bytes out: the pipeline's steps in order.

The fast path, measured in DESIGN.md and kept honest by `make bench`: decode once with
shrink-on-load to the smallest size that still covers the largest variant, scale before
colour-managing and rotating (so those run on the small image), colour-manage only when the
profile is not already sRGB, then cascade every smaller variant from a larger one held in RAM.
A web-ready JPEG's `original` is its own stream without metadata (`original`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace

import pyvips

from shared.errors import CorruptImage
from shared.limits import Limits
from shared.variants import VariantSpec
from worker.engine import colour, encode, load, ordering, placeholder, resize
from worker.engine.ops import in_memory, ms, op
from worker.engine.original import lossless
from worker.engine.results import RenderCancelled, RenderResult, Rendition, SourceInfo
from worker.engine.watermark import watermark
from worker.formats import jpeg_quality as quality
from worker.formats.geometry import JPEG_SHRINKS, Size, VariantPlan, load_shrink, plan_variants, source_needs
from worker.formats.sniff import sniff_format

StopCheck = Callable[[], bool]


@dataclass(frozen=True)
class Probed:
    """An upload whose header has been read and every limit checked: what `render` starts from,
    so a caller that probed first (to weigh the decode's memory) does not read the header twice."""

    data: bytes
    limits: Limits
    source: load.Opened
    info: SourceInfo


def open_upload(data: bytes, limits: Limits | None = None, fail_on: str = load.STRICT) -> Probed:
    """Read the header and enforce every limit without decoding a pixel."""
    limits = limits or Limits()
    fmt = sniff_format(data, limits)
    with load.decoding(fmt):
        source = load.open_source(data, fmt, fail_on)
        return Probed(data, limits, source, load.inspect(source, len(data), limits))


def probe(data: bytes, limits: Limits) -> SourceInfo:
    """The header's facts, every limit checked, without decoding a pixel."""
    return open_upload(data, limits).info


def render(
    upload: bytes | Probed,
    specs: Sequence[VariantSpec],
    limits: Limits | None = None,
    should_stop: StopCheck = lambda: False,
) -> RenderResult:
    """Make every variant in `specs` from one source (its bytes, or its `open_upload`); raises a
    `PermanentError` for bad input.

    `should_stop` is asked before each variant: a thread cannot be interrupted, so a caller that
    gave up can at least keep the rest of the work from running on.
    """
    started = time.perf_counter()
    probed: Probed | None = None
    if isinstance(upload, Probed):
        probed, data, limits = upload, upload.data, upload.limits  # the limits it was checked against
    else:
        data, limits = upload, limits or Limits()
    try:
        return _render(probed or open_upload(data, limits), specs, should_stop, started)
    except CorruptImage as strict:
        tolerant = load.TOLERANT.get(sniff_format(data, limits))
        if tolerant is None:
            raise
        # A warning stopped the strict decode; if nothing worse does, the picture is whole.
        result = _render(open_upload(data, limits, tolerant), specs, should_stop, started)
        warning = str(strict).split(": ", 1)[-1]
        return replace(result, warnings=(*result.warnings, warning))


def _render(
    probed: Probed, specs: Sequence[VariantSpec], should_stop: StopCheck, started: float
) -> RenderResult:
    timings: dict[str, float] = {}
    source, info = probed.source, probed.info
    # No JPEG variant is encoded above a JPEG upload's own quality (`quality`).
    specs = quality.capped(specs, quality.estimate(source.data) if source.fmt == "jpeg" else None)
    with load.decoding(source.fmt):
        kept = _kept_streams(source, info, specs, timings)
        rest = [spec for spec in specs if spec.name not in kept]
        rendered = _render_decoded(source, info, rest, timings, should_stop, started)
        renditions = ordering.in_order(kept.values(), rendered, timings)
        hint = placeholder.of_render(info, kept.values(), rendered, timings)
    timings["total"] = ms(started)
    by_name = {r.name: r for r in [*renditions, *kept.values()]}
    return RenderResult(info, tuple(by_name[spec.name] for spec in specs), timings, source.warnings, hint)


def _kept_streams(
    source: load.Opened, info: SourceInfo, specs: Sequence[VariantSpec], timings: dict[str, float]
) -> dict[str, Rendition]:
    kept = {}
    for spec in specs:
        started = time.perf_counter()
        rendition = lossless(source, info, spec)
        if rendition is not None:
            kept[spec.name] = rendition
            timings[f"variant.{spec.name}"] = ms(started)
    return kept


def _render_decoded(
    source: load.Opened,
    info: SourceInfo,
    specs: list[VariantSpec],
    timings: dict[str, float],
    should_stop: StopCheck,
    started: float,
) -> list[ordering.Encoded]:
    stored = Size(info.width, info.height)
    transposed = info.orientation >= 5
    plans = plan_variants(stored.transposed() if transposed else stored, specs)
    if not plans:
        # Every variant kept its stream: still decode it all (at 1/8 scale, or as small as keeps
        # a pixel) so damage is refused.
        smallest = next(f for f in JPEG_SHRINKS if info.width >= f and info.height >= f)
        op("avg", load.decoded(source, smallest))
        timings["probe"] = ms(started)
        return []
    shrink = load_shrink(stored, plans, transposed) if source.fmt in ("jpeg", "webp") else 1
    base = load.decoded(source, shrink, source_needs(plans, transposed))
    if _flattens_first(base, plans):
        base = colour.flatten(base, plans[0].spec.background_rgb)
    replayable = in_memory(base)  # its pixels can be read again, to encode a variant again
    if sum(plan.source == -1 for plan in plans) > 1 and not replayable:
        base, replayable = base.copy_memory(), True
    timings["probe"] = ms(started)
    return _render_plans(base, replayable, plans, transposed, timings, should_stop)


def _render_plans(
    base: pyvips.Image,
    replayable: bool,
    plans: list[VariantPlan],
    transposed: bool,
    timings: dict[str, float],
    should_stop: StopCheck,
) -> list[ordering.Encoded]:
    images: list[pyvips.Image] = []
    readable: list[bool] = []  # each image can be read again (to encode it again, `ordering`)
    encodes: list[Future[Rendition] | None] = []
    hinted = placeholder.plan_index(plans)  # its pixels are read again, for the placeholder
    for index, plan in enumerate(plans):
        if should_stop():
            raise RenderCancelled(f"stopped before variant {plan.spec.name!r}")
        if plan.twin >= 0:  # identical output: encoded once, below
            images.append(images[plan.twin])
            readable.append(readable[plan.twin])
            encodes.append(None)
            continue
        started = time.perf_counter()
        if plan.source == -1:
            scaled = resize.scale(base, plan.scaled.transposed() if transposed else plan.scaled)
            whole = scaled is base and in_memory(base)
            image = colour.upright_srgb(colour.without_opaque_alpha(scaled), whole)
        else:
            image = resize.scale(images[plan.source], plan.scaled)
        image = resize.crop(image, plan)
        if plan.spec.watermark is not None:
            image = watermark(image, plan.spec.watermark)
        # Only a variant read straight off a streaming decode, and not copied, cannot be read twice.
        readable.append(replayable or plan.source != -1)
        if index == hinted or any(later.source == index for later in plans):
            image, readable[-1] = image.copy_memory(), True
        images.append(image)
        encodes.append(encode.submit(image, plan.spec, started, timings))
    encoded: list[ordering.Encoded] = []
    for plan, image, again, pending in zip(plans, images, readable, encodes, strict=True):
        done = pending.result() if pending is not None else encoded[plan.twin].rendition
        rendition = replace(done, name=plan.spec.name)
        encoded.append(ordering.Encoded(plan.spec, image if again else None, rendition))
    return encoded


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
        and not colour.needs_transform(image)
    )
