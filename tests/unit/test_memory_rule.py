"""The memory rule: an upload's decode memory is estimated from its header, the estimate bounds
the real peak, and a worker admits renders only while their estimates fit its budget."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable

import pytest

from shared.errors import ConfigError
from shared.limits import Limits
from shared.settings import load_settings
from shared.variants import DEFAULT_VARIANTS
from tests.fixtures import edge_images, images
from worker import engine
from worker.gate import MemoryGate

pytestmark = pytest.mark.unit

MIB = 2**20

_MEASURE = textwrap.dedent(
    """
    import json, sys
    from shared.limits import Limits
    from shared.variants import DEFAULT_VARIANTS
    from worker import engine
    engine.set_threads(1)
    data = sys.stdin.buffer.read()
    def high_water():  # VmHWM: this process's own peak (ru_maxrss keeps the forking parent's)
        line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM"))
        return int(line.split()[1]) * 1024
    before = high_water()
    estimate = engine.estimate_memory(engine.probe(data, Limits()), DEFAULT_VARIANTS)
    engine.render(data, DEFAULT_VARIANTS, Limits())
    peak = high_water()
    print(json.dumps({"used": peak - before, "estimate": estimate}))
    """
)


def _measure(data: bytes) -> dict[str, int]:
    # A fresh process that only reads and renders, so its peak RSS is this render's alone.
    done = subprocess.run([sys.executable, "-c", _MEASURE], input=data, capture_output=True, check=True)
    figures: dict[str, int] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return figures


@pytest.mark.parametrize(
    "make",
    [
        lambda: edge_images.flat_avif(2500, 2500, 10),
        lambda: edge_images.flat_avif(2500, 2500, 8),
        lambda: images._photo_image(3000, 2000).webpsave_buffer(Q=80, effort=0),
        # 96 MB RGBA buffers: in glibc's heap they fragment it past the estimate (allocator.py)
        lambda: images._photo_image(6000, 4000).webpsave_buffer(Q=80, effort=0),
        lambda: images._photo_image(3000, 2000).pngsave_buffer(compression=1, interlace=True),
        lambda: images._photo_image(3000, 2000).jpegsave_buffer(Q=85, interlace=True),
        lambda: images._photo_image(3000, 2000).jpegsave_buffer(Q=85),
        lambda: images.oriented_photo_jpeg(3000, 2000, 6),
        lambda: edge_images.heic_photo(3000, 2000, x265_preset="ultrafast"),
        # x265's default preset, as phones' encoders choose more: 20 s to encode (`make test-slow`)
        pytest.param(lambda: edge_images.heic_photo(3000, 2000), marks=pytest.mark.slow),
    ],
    ids=[
        "avif-10-bit-6mp",
        "avif-8-bit-6mp",
        "webp-6mp",
        "webp-24mp",
        "png-interlaced-6mp",
        "jpeg-progressive-6mp",
        "jpeg-baseline-6mp",
        "jpeg-rotated-6mp",  # its original re-encoded: decoded whole at full size
        "heic-6mp-ultrafast",
        "heic-6mp",
    ],
)
def test_the_estimate_bounds_the_real_peak(make: Callable[[], bytes]) -> None:
    figures = _measure(make())
    assert 0 < figures["used"] <= figures["estimate"], figures
    assert figures["estimate"] < 3 * figures["used"] + 64 * MIB, figures  # not absurdly loose


@pytest.mark.slow
def test_a_100_mp_10_bit_avif_stays_within_its_estimate() -> None:
    figures = _measure(edge_images.flat_avif(10000, 10000, 10))
    assert figures["used"] <= figures["estimate"], figures


def test_a_tiny_100_mp_avif_is_estimated_far_above_a_jpeg_of_the_same_size() -> None:
    # Given a 100 MP 10-bit AVIF of a few KB: the pixel limit lets it in
    avif = edge_images.flat_avif(10000, 10000, 10)
    assert len(avif) < 10_000
    info = engine.probe(avif, Limits())
    # Then its estimate is over the budget a 2 GB function leaves, and far above a JPEG's
    estimate = engine.estimate_memory(info, DEFAULT_VARIANTS)
    jpeg_like = engine.estimate_memory(
        engine.SourceInfo("jpeg", 10000, 10000, 1, 10_000_000, 1, False), DEFAULT_VARIANTS
    )
    assert estimate > (2048 - 256) * MIB > jpeg_like
    assert estimate > 2 * jpeg_like


def test_a_resized_only_set_of_a_jpeg_needs_little() -> None:
    info = engine.probe(images.photo_jpeg(4000, 3000), Limits())
    assert engine.estimate_memory(info, DEFAULT_VARIANTS[1:]) < engine.estimate_memory(info, DEFAULT_VARIANTS)


# --------------------------------------------------------------------------- the gate


async def test_renders_that_do_not_fit_together_run_one_after_the_other() -> None:
    gate = MemoryGate(100)
    order: list[str] = []

    async def render(name: str, need: int) -> None:
        async with gate.reserve(need):
            order.append(f"{name} start")
            assert gate.in_use <= gate.budget
            await asyncio.sleep(0.01)
            order.append(f"{name} end")

    await asyncio.gather(render("a", 70), render("b", 60), render("c", 30))
    assert order.index("a end") < order.index("b start")  # 70 + 60 > 100
    assert gate.in_use == 0


async def test_a_need_over_the_whole_budget_is_refused_not_queued() -> None:
    with pytest.raises(ValueError, match="can never fit"):
        async with MemoryGate(100).reserve(101):
            pass


async def test_a_cancelled_waiter_gives_its_place_back() -> None:
    gate = MemoryGate(100)
    async with gate.reserve(80):
        waiter = asyncio.ensure_future(gate.reserve(50).__aenter__())
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    assert gate.in_use == 0
    async with gate.reserve(100):
        assert gate.in_use == 100


# --------------------------------------------------------------------------- the budget setting


@pytest.mark.parametrize(
    ("env", "budget_mb"),
    [
        ({}, 2048 - 256),
        ({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "3008"}, 3008 - 256),
        ({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024", "IMGPIPE_MEMORY_BUDGET_MB": "512"}, 512),
        ({"IMGPIPE_MEMORY_BUDGET_MB": ""}, 2048 - 256),
    ],
    ids=["default", "from-lambda", "override", "empty-means-default"],
)
def test_the_budget_comes_from_the_functions_memory(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], budget_mb: int
) -> None:
    monkeypatch.setenv("IMGPIPE_OUTPUT_BUCKET", "imgpipe-output")
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert load_settings().memory_budget_bytes == budget_mb * MIB


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lots", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE: Input should be"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "300", "leaves less than 64 MB"),
        ("IMGPIPE_MEMORY_BUDGET_MB", "10", "IMGPIPE_MEMORY_BUDGET_MB: Input should be greater"),
    ],
    ids=["not-a-number", "too-small-for-the-worker", "budget-too-small"],
)
def test_a_bad_memory_setting_is_named_at_cold_start(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv("IMGPIPE_OUTPUT_BUCKET", "imgpipe-output")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_settings()
