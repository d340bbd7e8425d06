"""`imgpipe reprocess | sweep`: bringing stored results up to date after a change, and clearing
what no manifest lists. Thin commands over `deploy.ops.reprocess` and `deploy.ops.sweep`."""

from __future__ import annotations

import sys
import time
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from deploy.cli.common import (
    Command,
    InputBucket,
    Json,
    OutputBucket,
    QueueUrl,
    aws_errors,
    clients,
    err,
    fail,
    progress,
    say,
    settings,
    warn,
)
from deploy.cli.output import print_json, show
from deploy.cli.text import DataTable
from deploy.ops.refused import Refused
from shared.errors import ImgpipeError

if TYPE_CHECKING:
    from collections.abc import Callable

    from types_boto3_s3 import S3Client

    from deploy.ops.sweep import Plan
    from shared.manifest import Manifest

DryRun = Annotated[bool, typer.Option("--dry-run", help="show what would be done; change nothing")]
IN_FLIGHT_S = 15 * 60  # the longest a run can take between its variant writes and its commit


def reprocess(
    bucket: InputBucket = "imgpipe-input",
    output_bucket: OutputBucket = "imgpipe-output",
    queue_url: QueueUrl = "",
    user: Annotated[str | None, typer.Option(metavar="USER", help="only this user's uploads")] = None,
    stale: Annotated[
        bool, typer.Option("--stale", help="only uploads whose manifest is missing or of other variants")
    ] = False,
    rate: Annotated[float, typer.Option(metavar="N", help="messages per second, at most")] = 50.0,
    dry_run: DryRun = False,
    json_output: Json = False,
) -> None:
    """Re-queue existing uploads as S3 ObjectCreated events, so the worker renders them again.

    Events go straight to the work queue (SendMessageBatch, every entry checked), paced by
    --rate. The worker skips an upload whose complete manifest has the same ETag and variant
    configuration, so --stale (manifest missing, for another upload, or configHash differing
    from IMGPIPE_VARIANTS's) selects exactly what will be rendered. Exits 1 if SQS refused any.

    --json prints {"bucket", "queueUrl", "user", "stale", "dryRun", "configHash" (null without
    --stale), "rate", "listed", "selected", "queued", "elapsedS", "uploads": [{"key", "imageId",
    "userId", "etag", "bytes", "reason"}], "failed": [{"key", "code", "message"}],
    "invalidKeys": [...]}.
    """
    from deploy.ops import reprocess as ops

    _check_reprocess(rate, queue_url, user, dry_run)
    current = _current_hash() if stale else None
    started = time.monotonic()
    with aws_errors(), progress(not json_output) as bar:
        s3, sqs = clients()
        listing = ops.list_uploads(s3, bucket, user)
        uploads = listing.uploads
        hashes: Counter[str] = Counter()
        if current is not None:
            task = bar.add_task("reading manifests", total=len(uploads))
            uploads = ops.only_stale(s3, output_bucket, uploads, current, lambda _: bar.advance(task), hashes)
            if hashes and current not in hashes:
                _warn_foreign_config(current, hashes)
        failed: list[Refused] = []
        if uploads and not dry_run:
            task = bar.add_task(f"queueing at {rate:g}/s", total=len(uploads))
            bodies = [(u, ops.event_body(bucket, u, sqs.meta.region_name)) for u in uploads]
            failed = ops.send_events(sqs, queue_url, bodies, ops.Pacer(rate), lambda n: bar.advance(task, n))
    document = ops.report(
        bucket, queue_url, user, current, rate, dry_run, listing, uploads, failed, time.monotonic() - started
    )
    if json_output:
        print_json(document)
    else:
        _reprocess_summary(document)
    if failed:
        raise fail(f"{len(failed)} of {len(uploads)} events were not queued: {failed[0].code}")


def _warn_foreign_config(current: str, hashes: Counter[str]) -> None:
    # Events for images the workers rendered under their own configuration are duplicates to
    # them: a CLI whose IMGPIPE_VARIANTS differs from the deployed one selects work that never
    # happens, run after run.
    common, count = hashes.most_common(1)[0]
    err.print(
        f"imgpipe: warning: no manifest was rendered under this IMGPIPE_VARIANTS (config {current});"
        f" {count} were rendered under {common}. If the workers run that configuration, these"
        " events are duplicates to them: set IMGPIPE_VARIANTS as the workers have it.",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def _check_reprocess(rate: float, queue_url: str, user: str | None, dry_run: bool) -> None:
    from deploy.ops.uploads import check_user

    if rate <= 0:
        raise fail(f"--rate must be above 0, not {rate:g}", 2)
    if not dry_run and not queue_url:
        raise fail("set --queue-url (or IMGPIPE_QUEUE_URL), or use --dry-run", 2)
    if user is not None:
        try:
            check_user(user)
        except ImgpipeError as exc:
            raise fail(str(exc), 2) from exc


def _current_hash() -> str:
    """The variant-config hash the workers have, from IMGPIPE_VARIANTS as the worker reads it."""
    from shared.variants import config_hash

    return config_hash(settings().variants)


def _reprocess_summary(doc: dict[str, Any]) -> None:
    if doc["dryRun"] and doc["uploads"]:
        table = DataTable("upload key", "imageId", "why")  # keys are the uploaders': literal
        for upload in doc["uploads"]:
            table.add_row(upload["key"], upload["imageId"], upload["reason"])
        show(table)
    scope = f"{doc['user']}'s" if doc["user"] else "all"
    which = f"{doc['selected']} of {scope} {doc['listed']} uploads" + (" (stale)" if doc["stale"] else "")
    if doc["dryRun"]:
        say(f"would queue {which}; nothing was sent")
    elif not doc["selected"]:
        say(f"nothing to reprocess: {which}")
    else:
        speed = doc["queued"] / doc["elapsedS"] if doc["elapsedS"] else 0.0
        say(
            f"queued {doc['queued']} events for {which} to {doc['queueUrl']}"
            f" in {doc['elapsedS']:.1f} s ({speed:.0f}/s)"
        )
    if doc["invalidKeys"]:
        say(f"left out {len(doc['invalidKeys'])} keys the worker would refuse")


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
    """Add `imgpipe reprocess` and `imgpipe sweep` to the app."""
    app.command(cls=Command)(reprocess)
    app.command(cls=Command)(sweep)
