"""What `make bench` prints: the table of medians over rounds, the per-round ratios, the memory
probes, and the one-line summary that scripts read.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from loadtest.bench.rounds import PAIRS, SEQUENTIAL, STRATEGIES, Run, paired_ratio, round_ratios


@dataclass(frozen=True)
class Memory:
    """Peak-RSS probes, each in a fresh process."""

    largest: Path
    largest_mp: float
    largest_run: Run
    batch_run: Run


def report(console: Console, runs: dict[str, list[Run]], mean_mp: float, memory: Memory) -> None:
    """The table, the per-round ratios, the memory probes and the summary line."""
    rate = {name: statistics.median(r.rate for r in rs) for name, rs in runs.items()}
    console.print(_table(runs, rate, mean_mp))
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


def _table(runs: dict[str, list[Run]], rate: dict[str, float], mean_mp: float) -> Table:
    table = Table(title="imgpipe benchmark (medians over rounds)")
    columns = ("strategy", "cores", "images/s", "MP/s", "median ms", "p95 ms", "peak RSS MB", "vs pillow")
    for column in columns:
        table.add_column(column, justify="left" if column == "strategy" else "right")
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
    return table
