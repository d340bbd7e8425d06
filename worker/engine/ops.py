"""libvips' process-wide setup, and the one way every engine module calls an operation.

Untrusted loaders are blocked process-wide and the operation cache is off, so a long-lived
worker neither parses SVG/PDF/matrix files nor grows without bound. libvips' INFO messages stay
out of the logs.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pyvips

_LOADER_CLASSES = ("Jpeg", "Png", "Webp", "Nsgif", "Heif", "Tiff")


def lock_down() -> None:
    """Block every loader but the allowed formats' and turn the operation cache off; libvips'
    INFO messages are dropped."""
    # libvips tells GLib each resize's plan ("residual reducev by 0.625", twenty-odd lines an
    # image) at INFO, and pyvips passes GLib's messages to Python's logging: a consumer logging
    # at INFO formatted and wrote every one. Its warnings still reach the logs.
    logging.getLogger("pyvips").setLevel(logging.WARNING)
    pyvips.cache_set_max(0)
    pyvips.block_untrusted_set(True)
    pyvips.operation_block_set("VipsForeignLoad", True)
    for name in _LOADER_CLASSES:
        pyvips.operation_block_set(f"VipsForeignLoad{name}", False)


def op(name: str, *args: object, **options: object) -> Any:
    """Run the libvips operation `name`. Every call goes through here, not `image.name(...)`.

    pyvips resolves `image.resize` by probing for a property of that name, and a miss clears
    libvips' process-wide error buffer: with renders on several threads, a failing one then
    lost its reason ("unable to copy to memory" instead of "premature end of JPEG image").
    """
    return pyvips.Operation.call(name, *args, **options)


def in_memory(image: pyvips.Image) -> bool:
    """True when no sequential loader is under `image`: it was decoded whole into memory
    (libjpeg-turbo, pi-heif), so it can be read in any order without a copy first."""
    return not image.get_typeof("vips-loader")


def int_field(image: pyvips.Image, name: str, default: int) -> int:
    """An integer metadata field, or `default` when the image has none."""
    return int(image.get(name)) if image.get_typeof(name) else default


def ms(since: float) -> float:
    """Milliseconds since `since` (a `perf_counter` reading), rounded for manifests."""
    return round((time.perf_counter() - since) * 1000, 2)
