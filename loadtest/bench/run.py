"""`make bench`: the engine against a Pillow baseline, side by side in one run.

Each strategy runs in its own fresh child process per round (so its peak RSS is its own) and the
strategies alternate round by round, so a noisy neighbour slows all of them alike. Every child
uses one thread. Figures are medians over rounds; the headline engine/Pillow ratio is the median
of the rounds' own ratios, each from two runs back to back.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from deploy.local import samples
from loadtest.bench import handler as bench_handler
from shared.keys import IMAGE_SUFFIXES
from shared.limits import Limits
from shared.variants import DEFAULT_VARIANTS, Format, VariantSpec

# The formats the Pillow baseline encodes at the engine's settings (PNG and AVIF it would not).
FORMATS = ("jpeg", "webp", "auto")
# The two sides of the headline ratio first and back to back (in swapped order every other
# round, see _order), so a change in the shared machine's load between them is as small as it can be.
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


def _spawn(
    strategy: str, files: list[Path], fmt: Format | None, pin: bool = True, tree: Path | None = None
) -> Run:
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


def _hold_to(core: int) -> None:
    # Every thread the process has so far; threads started later inherit the mask.
    for task in Path("/proc/self/task").iterdir():
        os.sched_setaffinity(int(task.name), {core})


def _order(round_number: int) -> list[str]:
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


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def _corpus(folder: Path | None, scratch: Path) -> list[Path]:
    if folder is None:
        return samples.write(samples.bench_set(), scratch)
    if not folder.is_dir():
        raise SystemExit(f"bench: corpus folder not found: {folder}")
    # Absolute: `--against` runs children in the other checkout, where a relative path breaks.
    files = sorted(p.resolve() for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise SystemExit(f"bench: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}")
    return files


def _megapixels(files: list[Path]) -> list[float]:
    from worker import engine

    return [
        (info.width * info.height) / 1e6 for info in (engine.probe(f.read_bytes(), Limits()) for f in files)
    ]


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table and the one-line summary."""
    parser = argparse.ArgumentParser(prog="python -m loadtest.bench", description=__doc__)
    parser.add_argument("--corpus", type=Path, help="folder of images (default: generated photos)")
    parser.add_argument("--rounds", type=_positive, default=5, help="fresh processes per strategy (5)")
    parser.add_argument(
        "--format", choices=FORMATS, help="encode every variant in this format (default: the defaults', JPEG)"
    )
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="let the one-thread strategies' processes use every core (default: one core each)",
    )
    parser.add_argument(
        "--against",
        type=Path,
        metavar="DIR",
        help="another checkout: run its `full` strategy and this one's in turn, round by round (ABBA)",
    )
    parser.add_argument("--child", choices=sorted(STRATEGIES), help=argparse.SUPPRESS)
    parser.add_argument("--core", type=int, help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.files, args.format, args.core)
        return
    console = Console(width=120)
    with tempfile.TemporaryDirectory(prefix="imgpipe-bench-") as scratch:
        files = _corpus(args.corpus, Path(scratch))
        if args.against is not None:
            _against(console, args.against, files, args.rounds, args.format)
            return
        megapixels = _megapixels(files)
        core = one_core() if args.pin else None
        console.print(
            f"corpus: {len(files)} images, {sum(megapixels):.1f} MP, {args.rounds} rounds, "
            f"format {args.format or 'as the defaults (jpeg)'}, one-thread strategies "
            + (f"held to core {core}" if core is not None else "free to use every core")
        )
        runs: dict[str, list[Run]] = {name: [] for name in STRATEGIES}
        for round_number in range(1, args.rounds + 1):
            for name in _order(round_number):
                console.print(f"  round {round_number}/{args.rounds}: {STRATEGIES[name]}", style="dim")
                runs[name].append(_spawn(name, files, args.format, args.pin))
        by_size = sorted(range(len(files)), key=megapixels.__getitem__, reverse=True)
        console.print(
            "  memory: largest image, full set, fresh process; batch of 10 largest via handler", style="dim"
        )
        memory = Memory(
            files[by_size[0]],
            megapixels[by_size[0]],
            _spawn("full", [files[by_size[0]]], args.format, args.pin),
            _spawn("handler", [files[i] for i in by_size[:BATCH]], args.format),
        )
    _report(console, runs, sum(megapixels) / len(megapixels), memory)


def _against(console: Console, other: Path, files: list[Path], rounds: int, fmt: Format | None) -> None:
    # On a shared machine two `make bench` runs minutes apart differ by more than most changes;
    # alternating the two checkouts' children round by round (A-B, B-A) cancels the drift.
    if not (other / "loadtest" / "bench.py").is_file():
        raise SystemExit(f"bench: {other} is not a checkout of this project")
    theirs: list[float] = []
    ours: list[float] = []
    for round_number in range(1, rounds + 1):
        order = [(other, theirs), (None, ours)] if round_number % 2 else [(None, ours), (other, theirs)]
        for tree, rates in order:
            rates.append(_spawn("full", files, fmt, tree=tree).rate)
        console.print(
            f"  round {round_number}/{rounds}: {other.name} {theirs[-1]:.2f}, this {ours[-1]:.2f} images/s"
        )
    ratios = [mine / other_rate for mine, other_rate in zip(ours, theirs, strict=True)]
    this, that = statistics.median(ours), statistics.median(theirs)
    print(
        f"against: full_set_images_per_s this={this:.2f} other={that:.2f}"
        f" ratio={statistics.median(ratios):.2f}x (rounds {min(ratios):.2f}-{max(ratios):.2f}x)"
    )


@dataclass(frozen=True)
class Memory:
    """Peak-RSS probes, each in a fresh process."""

    largest: Path
    largest_mp: float
    largest_run: Run
    batch_run: Run


def _report(console: Console, runs: dict[str, list[Run]], mean_mp: float, memory: Memory) -> None:
    table = Table(title="imgpipe benchmark (medians over rounds)")
    columns = ("strategy", "cores", "images/s", "MP/s", "median ms", "p95 ms", "peak RSS MB", "vs pillow")
    for column in columns:
        table.add_column(column, justify="left" if column == "strategy" else "right")
    rate = {name: statistics.median(r.rate for r in rs) for name, rs in runs.items()}
    for name, rs in runs.items():
        per_image = sorted(s * 1000 for r in rs for s in r.seconds)
        p95 = per_image[min(len(per_image) - 1, round(0.95 * (len(per_image) - 1)))]
        sequential = name in SEQUENTIAL
        table.add_row(
            STRATEGIES[name],
            str(max(r.cores for r in rs)),
            f"{rate[name]:.2f}",
            f"{rate[name] * mean_mp:.1f}",
            f"{statistics.median(per_image):.1f}" if sequential else "-",
            f"{p95:.1f}" if sequential else "-",
            f"{max(r.rss_mb for r in rs):.0f}",
            f"{rate[name] / rate['pillow' if name in PAIRS['engine_vs_pillow'] else 'pillow_full']:.2f}x",
        )
    console.print(table)
    for pair, (ours, theirs) in PAIRS.items():
        per_round = ", ".join(f"{ratio:.2f}x" for ratio in round_ratios(runs, pair))
        median, lowest = paired_ratio(runs, pair)
        console.print(f"{ours} vs {theirs} round by round (the spread is this machine's noise): {per_round}")
        console.print(f"{ours} vs {theirs}, median of the rounds: {median:.2f}x (lowest {lowest:.2f}x)")
    median_ratio = paired_ratio(runs)[0]
    full_ratio = paired_ratio(runs, "full_set_vs_pillow")[0]
    console.print(
        f"largest image {memory.largest.name} ({memory.largest_mp:.1f} MP), full set, fresh process: "
        f"{memory.largest_run.seconds[0] * 1000:.0f} ms, peak RSS {memory.largest_run.rss_mb:.0f} MB"
    )
    console.print(
        f"batch of {memory.batch_run.images} largest images through the handler (concurrency default): "
        f"peak RSS {memory.batch_run.rss_mb:.0f} MB"
    )
    console.print(
        f"handler vs the engine alone on the same variants (one thread, as above): "
        f"{rate['handler'] / rate['full']:.2f}x; on the same cores: {rate['handler'] / rate['parallel']:.2f}x"
    )
    print(
        f"bench: engine_vs_pillow={median_ratio:.2f}x"
        f" full_set_vs_pillow={full_ratio:.2f}x"
        f" engine_images_per_s={rate['engine']:.2f} full_set_images_per_s={rate['full']:.2f}"
        f" peak_rss_mb={memory.largest_run.rss_mb:.0f}"
        f" handler_vs_engine={rate['handler'] / rate['full']:.2f}x"
        f" handler_vs_engine_same_cores={rate['handler'] / rate['parallel']:.2f}x"
    )


if __name__ == "__main__":
    main()
