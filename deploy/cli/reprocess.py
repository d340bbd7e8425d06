"""`imgpipe reprocess`: bringing stored results up to date after a change (new variants, a fixed
engine) by queueing the uploads again. A thin command over `deploy.ops.reprocess`."""

from __future__ import annotations

import time
from collections import Counter
from typing import Annotated, Any

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
)
from deploy.cli.output import print_json, show
from deploy.cli.text import DataTable
from deploy.ops.refused import Refused
from shared.errors import ImgpipeError

DryRun = Annotated[bool, typer.Option("--dry-run", help="show what would be done; change nothing")]


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
    "invalidKeys": [...], "deleted": [key of each upload left out because its owner deleted the image]}.
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
        # an image its owner deleted stays deleted: its upload is named, never re-queued
        uploads, deleted = ops.without_deleted(s3, output_bucket, uploads)
        failed: list[Refused] = []
        if uploads and not dry_run:
            task = bar.add_task(f"queueing at {rate:g}/s", total=len(uploads))
            bodies = [(u, ops.event_body(bucket, u, sqs.meta.region_name)) for u in uploads]
            failed = ops.send_events(sqs, queue_url, bodies, ops.Pacer(rate), lambda n: bar.advance(task, n))
    document = ops.report(
        bucket,
        queue_url,
        user,
        current,
        rate,
        dry_run,
        listing,
        uploads,
        failed,
        time.monotonic() - started,
        deleted,
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
    if doc["deleted"]:
        say(f"left out {len(doc['deleted'])} uploads whose owner deleted the image (they stay deleted)")


def register(app: typer.Typer) -> None:
    """Add `imgpipe reprocess` to the app."""
    app.command(cls=Command)(reprocess)
