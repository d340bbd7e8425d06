"""`python -m loadtest.hostile`: every hostile file through the worker's render step, one
subprocess each, under an address-space limit and a time limit (`sandbox`); then the table of
outcomes and peak memory per file class, and every defect by name.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from deploy.local import samples
from loadtest.hostile.corpus import corpus
from loadtest.hostile.sandbox import BUDGET_MB, MIN_BUDGET_MB, TIME_LIMIT_S, Ending, run_all

GOOD = ("complete", "quarantined")


def peaks_by_kind(endings: list[Ending]) -> dict[str, tuple[int, float, float, float]]:
    """Per file class: files, median and max peak RSS, and max peak address space (MB)."""
    by_kind: dict[str, list[Ending]] = defaultdict(list)
    for ending in endings:
        by_kind[ending.kind].append(ending)
    return {
        kind: (len(group), statistics.median(e.peak_mb for e in group), max(e.peak_mb for e in group),
               max(e.peak_vm_mb for e in group))
        for kind, group in sorted(by_kind.items())
    }  # fmt: skip


def report(endings: list[Ending]) -> list[str]:
    """The table lines: outcomes, then peak memory per file class."""
    counts: dict[str, int] = defaultdict(int)
    for ending in endings:
        counts[ending.outcome if ending.outcome != "quarantined" else f"quarantined {ending.error_type}"] += 1
    lines = [f"{name:32} {n}" for name, n in sorted(counts.items())]
    lines.append(f"{'class':12} {'files':>5} {'RSS median MB':>14} {'RSS peak MB':>12} {'VM peak MB':>11}")
    lines += [f"{k:12} {n:5} {med:14.0f} {top:12.0f} {vm:11.0f}"
              for k, (n, med, top, vm) in peaks_by_kind(endings).items()]  # fmt: skip
    widest = max(endings, key=lambda e: e.peak_vm_mb)
    lines.append(f"largest address space: {widest.name} {widest.peak_vm_mb:.0f} MB")
    slowest = max(endings, key=lambda e: e.seconds)
    lines.append(f"slowest: {slowest.name} {slowest.seconds:.2f}s; "
                 f"defects: {sum(e.outcome not in GOOD for e in endings)}")  # fmt: skip
    return lines


def main(argv: list[str] | None = None) -> None:
    """Generate the corpus, process every file, print the table; exit 1 on any defect."""
    parser = argparse.ArgumentParser(prog="python -m loadtest.hostile", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("out/hostile"))
    parser.add_argument("--budget-mb", type=int, default=BUDGET_MB)
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT_S)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="children at a time")
    args = parser.parse_args(argv)
    if args.budget_mb < MIN_BUDGET_MB:
        parser.error(f"--budget-mb must be at least {MIN_BUDGET_MB} (the interpreter alone needs that)")
    if args.time_limit <= 0 or args.jobs < 1:
        parser.error("--time-limit must be above 0 seconds and --jobs at least 1")
    files: list[samples.Sample] = [*corpus()]
    paths = samples.write(files, args.out / "files")
    endings = run_all(paths, args.budget_mb, args.time_limit, args.jobs)
    with (args.out / "endings.jsonl").open("w") as file:
        file.writelines(json.dumps(e.__dict__) + "\n" for e in endings)
    print("\n".join(report(endings)))
    for ending in endings:
        if ending.outcome not in GOOD:
            print(f"defect: {ending.name}: {ending.outcome} {ending.error_type}: {ending.message}")
    raise SystemExit(0 if all(e.outcome in GOOD for e in endings) else 1)


if __name__ == "__main__":
    main(sys.argv[1:])
