"""A folder of photos uploaded from the browser on the local stack, timed by the page itself: how
fast it went up (photos/s, MB/s, to the overall bar's 100%) and how long until the last thumbnail
was drawn, from the page's own progress and card states (web_page's recorder, the page's clock).

    .venv/bin/python -m tests.e2e.web_throughput [--photos 300] [--profile photos] [--json]

The photos are the load test's payloads (`loadtest.load.payloads`, a phone camera roll by
default), linked under new names; the CPU each process of the stack used says what limited it.
Exit 0 when every file reached its final state, 1 when not (with a one-line reason), 2 on usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from playwright.sync_api import Page
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from loadtest.load import payloads
from shared.keys import manifest_key
from tests.e2e.support import processes_using_port
from tests.e2e.web_figures import Cpu, Figures, figures, sample_cpu
from tests.e2e.web_page import changes, record_cards
from tests.e2e.web_support import ServedUploader, build_web, chromium, served_uploader, sign_in, user_page

_IDS = """() => Object.fromEntries([...document.querySelectorAll('ul[aria-label="Uploads"] > li')]
  .filter((c) => c.dataset.status === 'complete').map((c) => [c.dataset.fileName, c.dataset.imageId]))"""
_COUNTS = """() => {
  const cards = [...document.querySelectorAll('ul[aria-label="Uploads"] > li')]
  const overall = document.getElementById('overall')?.dataset ?? {}
  return {
    cards: cards.length,
    sent: Number(overall.filesDone ?? 0),
    final: cards.filter((c) => ['complete', 'failed', 'refused'].includes(c.dataset.status)
      && (c.dataset.status !== 'complete' || c.dataset.thumbnail)).length,
  }
}"""


def write_folder(folder: Path, count: int, profile: str, poison_share: float) -> Path:
    """`count` files of the profile's mix, linked from one generated pool under names of their own."""
    pool_dir = payloads.generate(folder / "pool", profile, poison_share)
    pool = payloads.load(pool_dir)
    roll = folder / "roll"
    roll.mkdir()
    for index in range(count):
        name, _ = pool.pick(index)
        os.link(pool_dir / name, roll / f"{index + 1:03d}_{name}")
    return roll


def stack_pids(served: ServedUploader) -> dict[str, int | None]:
    """The stack's processes by role."""
    stack = served.stack
    moto = [line for line in processes_using_port(stack.server.port) if "moto" in line]
    pids: dict[str, int | None] = {"moto": int(moto[0].split(":", 1)[0]) if moto else None}
    pids["front door"] = stack.front_door.pid if stack.front_door else None
    lanes = stack.lane_queues
    names = {lanes.bulk_url: "bulk", lanes.interactive_url: "interactive"} if lanes else {}
    for index, (pid, slot) in enumerate(zip(stack.worker_pids(), stack.slots(), strict=True)):
        pids[f"worker {index} ({names.get(slot.config.queue_url, 'work')}, nice {slot.nice})"] = pid
    for index, router in enumerate(stack.routers):
        pids[f"router {index}"] = router.pid
    return pids


def watch(page: Page, files: int, deadline_s: float, console: Console, pids: dict[str, int | None]) -> Cpu:
    """Show the page's own counts until every card is final; the CPU sample taken when the bar
    first showed every file sent. RuntimeError when `deadline_s` passes first."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    at_100: Cpu | None = None
    with Progress(*columns, console=console, transient=True) as progress:
        sent = progress.add_task("sent to S3", total=files)
        final = progress.add_task("thumbnail or reason", total=files)
        ends = time.monotonic() + deadline_s
        while time.monotonic() < ends:
            counts = page.evaluate(_COUNTS)
            if at_100 is None and counts["sent"] == files:
                at_100 = sample_cpu(pids)
            progress.update(sent, completed=counts["sent"])
            progress.update(final, completed=counts["final"])
            if counts["cards"] == files and counts["final"] == files:
                return at_100 or sample_cpu(pids)
            page.wait_for_timeout(1000)  # the display's refresh, not a wait for an outcome
    raise RuntimeError(f"not every file reached its final state within {deadline_s:g} s")


def run(args: argparse.Namespace, console: Console) -> Figures:
    """Upload the folder through the page and measure it."""
    with tempfile.TemporaryDirectory(prefix="web-throughput-") as scratch:
        roll = write_folder(Path(scratch), args.photos, args.profile, args.poison_share)
        build_web()
        with (
            served_uploader(Path(scratch) / "logs", workers=args.workers) as served,
            chromium() as browser,
            user_page(browser) as page,
        ):
            record_cards(page)
            calls: list[str] = []
            page.on("request", lambda r: calls.append(r.url) if r.url.startswith(served.api_url) else None)
            sign_in(page, served.url, "roll")
            pids = stack_pids(served)
            before = sample_cpu(pids)
            page.get_by_label("Choose a folder").set_input_files(roll)
            at_100 = watch(page, args.photos, args.deadline, console, pids)
            after = sample_cpu(pids)
            sent = int(page.locator("#overall").get_attribute("data-bytes-sent") or 0)
            origin = float(page.evaluate("performance.timeOrigin"))
            stamps = processed_at(page, served)
            return figures(
                changes(page), origin, stamps, sent, (before, at_100, after), len(calls), args.workers
            )


def processed_at(page: Page, served: ServedUploader) -> dict[str, str]:
    """Each complete card's manifest processedAt, by file name (read from S3, behind the page)."""
    ids = page.evaluate(_IDS)
    s3, bucket = served.s3(), served.stack.topology.output_bucket
    stamps = {}
    for name, image_id in ids.items():
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key(image_id))["Body"].read())
        stamps[name] = str(manifest["processedAt"])
    return stamps


def table(result: Figures) -> Table:
    """The figures for people."""
    out = Table(title=f"{result.files} files from the browser, {result.workers} workers")
    out.add_column("measure")
    out.add_column("value", justify="right")
    for name, value in asdict(result).items():
        if isinstance(value, dict):
            for role, seconds in value.items():
                out.add_row(f"{name.replace('_', ' ')}, {role}", f"{seconds:g}")
        else:
            out.add_row(name.replace("_", " "), f"{value:g}" if isinstance(value, float) else str(value))
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.e2e.web_throughput`: see the module's docstring."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.e2e.web_throughput", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--photos", type=int, default=300, help="files in the folder (default 300)")
    parser.add_argument("--profile", choices=sorted(payloads.PROFILES), default="photos")
    parser.add_argument(
        "--poison-share", type=float, default=0.0, metavar="S", help="share of broken files (0)"
    )
    parser.add_argument("--workers", type=int, default=max(1, os.cpu_count() or 1))
    parser.add_argument("--deadline", type=float, default=1800, metavar="S", help="give up after S seconds")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    if args.photos < 1 or args.workers < 1:
        parser.error("--photos and --workers must be at least 1")
    console = Console(stderr=True)
    try:
        result = run(args, console)
    except (RuntimeError, AssertionError) as exc:
        console.print(f"web_throughput: {exc}")
        return 1
    if args.json:
        print(json.dumps(asdict(result)))
    else:
        Console().print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
