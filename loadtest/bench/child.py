"""What one bench child process does: time one strategy over the files, one thread, and print the
figures as one JSON line for the parent (`rounds.spawn`), so each strategy's peak RSS is its own.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

from loadtest.bench import handler as bench_handler
from shared.variants import DEFAULT_VARIANTS, Format, VariantSpec

# The formats the Pillow baseline encodes at the engine's settings (PNG and AVIF it would not).
FORMATS = ("jpeg", "webp", "auto")


def variants(fmt: Format | None) -> tuple[VariantSpec, ...]:
    """The default variants, every one encoded as `fmt` when given (the defaults are JPEG)."""
    if fmt is None:
        return DEFAULT_VARIANTS
    return tuple(spec.model_copy(update={"format": fmt}) for spec in DEFAULT_VARIANTS)


def _renderer(strategy: str, specs: tuple[VariantSpec, ...]) -> Callable[[bytes], object]:
    resized = specs[1:]  # all but `original`
    if strategy in ("pillow", "pillow_full"):
        from loadtest.bench import pillow_baseline

        chosen_by_pillow = resized if strategy == "pillow" else specs
        return lambda data: pillow_baseline.render(data, chosen_by_pillow)
    from worker import engine

    engine.set_threads(1)
    chosen = resized if strategy == "engine" else specs
    return lambda data: engine.render(data, chosen)


def child(strategy: str, files: list[str], fmt: Format | None = None, core: int | None = None) -> None:
    """Time one strategy over `files` and print the figures as JSON (runs in a fresh process)."""
    if core is not None:
        _hold_to(core)
    specs = variants(fmt)
    if strategy == "handler":
        seconds = bench_handler.through_handler([Path(f) for f in files], specs)
    elif strategy == "parallel":
        seconds = bench_handler.engine_parallel([Path(f).read_bytes() for f in files], specs)
    else:
        seconds = _sequential(_renderer(strategy, specs), [Path(f).read_bytes() for f in files])
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    print(json.dumps({"images": len(files), "seconds": seconds, "rss_mb": rss_mb, "cores": cores}))


def _sequential(render: Callable[[bytes], object], inputs: list[bytes]) -> list[float]:
    render(inputs[0])  # warm-up: library initialisation is not per-image work
    seconds = []
    for data in inputs:
        started = time.perf_counter()
        render(data)
        seconds.append(time.perf_counter() - started)
    return seconds


def _hold_to(core: int) -> None:
    # Every thread the process has so far; threads started later inherit the mask.
    for task in Path("/proc/self/task").iterdir():
        os.sched_setaffinity(int(task.name), {core})
