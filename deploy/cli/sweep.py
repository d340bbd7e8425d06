"""`imgpipe sweep`: clearing the variant objects no manifest lists. A thin command over
`deploy.ops.sweep`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from deploy.cli.common import (
    Command,
    Json,
    OutputBucket,
    aws_errors,
    clients,
    fail,
    progress,
    say,
    warn,
)
from deploy.cli.output import print_json, show
from deploy.cli.text import DataTable
from deploy.ops.refused import Refused

if TYPE_CHECKING:
    from collections.abc import Callable

    from types_boto3_s3 import S3Client

    from deploy.ops.sweep import Plan
    from shared.manifest import Manifest

DryRun = Annotated[bool, typer.Option("--dry-run", help="show what would be done; change nothing")]
IN_FLIGHT_S = 15 * 60  # the longest a run can take between its variant writes and its commit


def sweep(
    output_bucket: OutputBucket = "imgpipe-output",
    older_than: Annotated[
        str, typer.Option(metavar="DURATION", help="only objects older than this: 90s, 30m, 1h, 2d")
    ] = "1h",
    dry_run: DryRun = False,
    yes: Annotated[bool, typer.Option("--yes", help="delete without asking")] = False,
    json_output: Json = False,
) -> None:
    """Remove variant objects under processed/ that no manifest lists, once older than --older-than.

    Orphan renders (a run killed before its commit), legacy fixed-key variants of images whose
    manifest lists other keys, and variants of images without a manifest. A key any manifest
    lists is never removed; if a manifest cannot be read, nothing is. The cut-off is taken at the
    start, before anything is read, and a render is judged by its newest object, so a render
    committed while the sweep runs is never removed. Asks first unless --yes.

    --json prints {"bucket", "olderThanS", "cutoff", "dryRun", "manifests", "removed": {"objects",
    "bytes"} (what would be, with --dry-run), "kept": {"objects", "bytes", "listed", "recent"},
    "objects": [{"key", "bytes", "lastModified", "reason"}], "failed": [{"key", "code", "message"}]}.
    """
    from deploy.ops import sweep as ops
    from deploy.ops.durations import DurationError, parse_duration

    try:
        seconds = parse_duration(older_than)
    except DurationError as exc:
        raise fail(f"--older-than: {exc}", 2) from exc
    interactive = sys.stdin.isatty() and not json_output
    if not (dry_run or yes or interactive):
        raise fail("sweep deletes objects: pass --yes to go ahead, or --dry-run to look first", 2)
    if seconds < IN_FLIGHT_S:
        warn(f"warning: --older-than {older_than} may remove renders still in flight")
    # The cut-off is taken before anything is read: a render committed while the sweep reads is
    # younger than it, however long the reading takes (see deploy.ops.sweep).
    cutoff = _cutoff(seconds)
    with aws_errors(), progress(not json_output) as bar:
        s3, _ = clients()
        task = bar.add_task("reading manifests", total=None)
        manifests = _read_manifests(s3, output_bucket, lambda: bar.advance(task))
        plan = ops.plan(manifests, ops.list_processed(s3, output_bucket), cutoff)
    removing = bool(plan.remove) and not dry_run
    if removing and not yes and not _confirm(plan):
        raise fail("cancelled: nothing was removed")
    failed: list[Refused] = []
    if removing:
        with aws_errors(), progress(not json_output) as bar:
            task = bar.add_task("removing", total=len(plan.remove))
            failed = ops.delete(s3, output_bucket, plan.remove, lambda n: bar.advance(task, n))
    document = ops.report(output_bucket, seconds, dry_run, plan, failed, cutoff)
    if json_output:
        print_json(document)
    else:
        _sweep_summary(document, older_than)
    if failed:
        raise fail(f"{len(failed)} objects were not removed: {failed[0].key}: {failed[0].code}")


def _read_manifests(s3: S3Client, bucket: str, on_read: Callable[[], None]) -> list[Manifest]:
    from deploy.ops.sweep import SweepError, read_manifests

    try:
        return read_manifests(s3, bucket, on_read)
    except SweepError as exc:
        raise fail(str(exc)) from exc


def _cutoff(seconds: float) -> datetime:
    from deploy.ops.sweep import cutoff

    return cutoff(seconds, datetime.now(UTC))


def _confirm(plan: Plan) -> bool:
    size = sum(o.stored.bytes for o in plan.remove)
    return typer.confirm(f"remove {len(plan.remove)} objects ({_size(size)}) that no manifest lists?")


def _sweep_summary(doc: dict[str, Any], older_than: str) -> None:
    if doc["dryRun"] and doc["objects"]:
        table = DataTable("object key", "bytes", "last modified", "why")  # keys are anyone's: literal
        for obj in doc["objects"]:
            table.add_row(obj["key"], str(obj["bytes"]), obj["lastModified"], obj["reason"])
        show(table)
    verb = "would remove" if doc["dryRun"] else "removed"
    kept = doc["kept"]
    say(
        f"{verb} {doc['removed']['objects']} objects ({_size(doc['removed']['bytes'])}) no manifest lists;"
        f" kept {kept['listed']} listed by {doc['manifests']} manifests"
        f" and {kept['recent']} newer than {older_than}"
    )


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 1e6 else f"{count / 1e3:.1f} kB"


def register(app: typer.Typer) -> None:
    """Add `imgpipe sweep` to the app."""
    app.command(cls=Command)(sweep)
