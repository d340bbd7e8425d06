"""The rounds of `make bench`: each strategy in a fresh child process per round, the two sides of
each headline ratio back to back and in swapped order every other round (A-B, B-A), so a noisy
neighbour slows both alike; the per-round ratios; and `--against`, the same alternation between
two checkouts.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from loadtest.bench import handler as bench_handler
from shared.variants import Format

# The two sides of the headline ratio first and back to back (in swapped order every other
# round, see order), so a change in the shared machine's load between them is as small as it can be.
STRATEGIES = {
    "engine": "engine, 4 resized, 1 thread",
    "pillow": "Pillow draft(), 4 resized, 1 thread",
    "full": "engine, full set, 1 thread",
    "pillow_full": "Pillow, full set, 1 thread",
    "parallel": "engine, full set, 1 image per core",
    "handler": "handler + moto S3/SQS, full set",
}
SEQUENTIAL = ("engine", "full", "pillow", "pillow_full")
# Each pair runs back to back (in swapped order every other round) for its per-round ratio.
PAIRS = {"engine_vs_pillow": ("engine", "pillow"), "full_set_vs_pillow": ("full", "pillow_full")}
BATCH = bench_handler.BATCH_SIZE


@dataclass(frozen=True)
class Run:
    """One strategy's timings in one child process: per image (sequential) or per batch."""

    images: int
    seconds: list[float]
    rss_mb: float
    cores: int

    @property
    def rate(self) -> float:
        """Images per second."""
        return self.images / sum(self.seconds)


def spawn(
    strategy: str, files: list[Path], fmt: Format | None, pin: bool = True, tree: Path | None = None
) -> Run:
    """Run one strategy in a fresh child process (in `tree`, another checkout, when given)."""
    command = [sys.executable, "-m", "loadtest.bench", "--child", strategy, *map(str, files)]
    command += ["--format", fmt] if fmt else []
    core = one_core() if pin and strategy in SEQUENTIAL else None
    command += ["--core", str(core)] if core is not None else []
    # `tree`: another checkout (e.g. a `git worktree` of an older commit), whose code the child runs.
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=tree)
    if done.returncode != 0:
        raise SystemExit(f"bench: {strategy} failed:\n{done.stderr.strip()}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return Run(figures["images"], figures["seconds"], figures["rss_mb"], figures["cores"])


def one_core() -> int | None:
    """The core the one-thread strategies are held to, or None where affinity cannot be set.

    "One thread each" then means one core each: Pillow is a single thread either way, while a
    libvips pipeline at concurrency 1 hands strips between its worker and its writer thread,
    and the scheduler spreading those over both cores only adds cross-core wake-ups and noise.
    The last core: the first usually takes most of the interrupts.
    """
    if not hasattr(os, "sched_setaffinity"):
        return None
    return max(os.sched_getaffinity(0))


def order(round_number: int) -> list[str]:
    """Engine then Pillow in odd rounds, Pillow then engine in even ones (A-B, B-A), for each
    pair, so neither always runs right after the handler's moto server or in the same slot of a
    load swing."""
    names = [name for pair in PAIRS.values() for name in (pair if round_number % 2 else pair[::-1])]
    return [*names, *(name for name in STRATEGIES if name not in names)]


def round_ratios(runs: dict[str, list[Run]], pair: str = "engine_vs_pillow") -> list[float]:
    """The pair's engine/Pillow ratio of each round, from that round's two runs."""
    ours, theirs = PAIRS[pair]
    return [e.rate / p.rate for e, p in zip(runs[ours], runs[theirs], strict=True)]


def paired_ratio(runs: dict[str, list[Run]], pair: str = "engine_vs_pillow") -> tuple[float, float]:
    """Median and lowest of the rounds' engine/Pillow ratios for `pair`."""
    ratios = round_ratios(runs, pair)
    return statistics.median(ratios), min(ratios)


def is_checkout(folder: Path) -> bool:
    """Whether `folder` holds this project's bench: `loadtest/bench/` now, `loadtest/bench.py` before
    the split by tool (both run as `python -m loadtest.bench`)."""
    bench = folder / "loadtest"
    return (bench / "bench" / "__main__.py").is_file() or (bench / "bench.py").is_file()


def against(console: Console, other: Path, files: list[Path], rounds: int, fmt: Format | None) -> None:
    """This checkout's `full` strategy against `other`'s, round by round, and the ratio."""
    # On a shared machine two `make bench` runs minutes apart differ by more than most changes;
    # alternating the two checkouts' children round by round (A-B, B-A) cancels the drift.
    if not is_checkout(other):
        raise SystemExit(f"bench: {other} is not a checkout of this project")
    theirs: list[float] = []
    ours: list[float] = []
    for round_number in range(1, rounds + 1):
        turns = [(other, theirs), (None, ours)] if round_number % 2 else [(None, ours), (other, theirs)]
        for tree, rates in turns:
            rates.append(spawn("full", files, fmt, tree=tree).rate)
        console.print(
            f"  round {round_number}/{rounds}: {other.name} {theirs[-1]:.2f}, this {ours[-1]:.2f} images/s"
        )
    ratios = [mine / other_rate for mine, other_rate in zip(ours, theirs, strict=True)]
    this, that = statistics.median(ours), statistics.median(theirs)
    print(
        f"against: full_set_images_per_s this={this:.2f} other={that:.2f}"
        f" ratio={statistics.median(ratios):.2f}x (rounds {min(ratios):.2f}-{max(ratios):.2f}x)"
    )
