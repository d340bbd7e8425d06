"""`make bench`: the engine against a Pillow baseline, side by side in one run.

Each strategy runs in its own fresh child process per round (so its peak RSS is its own) and the
strategies alternate round by round, so a noisy neighbour slows all of them alike. Every child
uses one thread. Figures are medians over rounds; the headline engine/Pillow ratio is the median
of the rounds' own ratios, each from two runs back to back.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from rich.console import Console

from deploy.local import samples
from loadtest.bench.child import FORMATS, child
from loadtest.bench.report import Memory, report
from loadtest.bench.rounds import BATCH, STRATEGIES, Run, against, one_core, order, spawn
from shared.keys import IMAGE_SUFFIXES
from shared.limits import Limits


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
    args = _parser().parse_args(argv)
    if args.child:
        child(args.child, args.files, args.format, args.core)
        return
    console = Console(width=120)
    with tempfile.TemporaryDirectory(prefix="imgpipe-bench-") as scratch:
        files = _corpus(args.corpus, Path(scratch))
        if args.against is not None:
            against(console, args.against, files, args.rounds, args.format)
            return
        megapixels = _megapixels(files)
        runs = _rounds(console, args, files, megapixels)
        memory = _memory(console, args, files, megapixels)
    report(console, runs, sum(megapixels) / len(megapixels), memory)


def _parser() -> argparse.ArgumentParser:
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
    return parser


def _rounds(
    console: Console, args: argparse.Namespace, files: list[Path], megapixels: list[float]
) -> dict[str, list[Run]]:
    core = one_core() if args.pin else None
    console.print(
        f"corpus: {len(files)} images, {sum(megapixels):.1f} MP, {args.rounds} rounds, "
        f"format {args.format or 'as the defaults (jpeg)'}, one-thread strategies "
        + (f"held to core {core}" if core is not None else "free to use every core")
    )
    runs: dict[str, list[Run]] = {name: [] for name in STRATEGIES}
    for round_number in range(1, args.rounds + 1):
        for name in order(round_number):
            console.print(f"  round {round_number}/{args.rounds}: {STRATEGIES[name]}", style="dim")
            runs[name].append(spawn(name, files, args.format, args.pin))
    return runs


def _memory(console: Console, args: argparse.Namespace, files: list[Path], megapixels: list[float]) -> Memory:
    by_size = sorted(range(len(files)), key=megapixels.__getitem__, reverse=True)
    console.print(
        "  memory: largest image, full set, fresh process; batch of 10 largest via handler", style="dim"
    )
    return Memory(
        files[by_size[0]],
        megapixels[by_size[0]],
        spawn("full", [files[by_size[0]]], args.format, args.pin),
        spawn("handler", [files[i] for i in by_size[:BATCH]], args.format),
    )


if __name__ == "__main__":
    main()
