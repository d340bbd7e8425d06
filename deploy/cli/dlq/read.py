"""`imgpipe dlq stats | list | show`: what is quarantined, whose, and why; nothing moves."""

from __future__ import annotations

from typing import Annotated

import typer

from deploy.cli.common import (
    DlqUrl,
    Json,
    aws_errors,
    clients,
    fail,
    say,
)
from deploy.cli.dlq import options as opt
from deploy.cli.output import print_json
from deploy.ops.dlq import view


def dlq_stats(dlq_url: DlqUrl = "", json_out: Json = False) -> None:
    """Quarantined messages by error type and by user, with the oldest and newest failure.

    --json: {"total", "byErrorType": {TYPE: n}, "byUser": {USER: n}, "byQueue": {QUEUE: n}, "oldest",
    "newest", "read": READ} (messages SQS moved after maxReceiveCount count as Exhausted; QUEUE is the
    queue a message failed on: a lane, or the work queue in the router's DLQ; oldest/newest are
    failed-at times).
    """
    from deploy.ops.dlq import read

    with aws_errors():
        messages, report = read(clients()[1], opt.need(dlq_url))
    stats = view.stats_json(messages)
    opt.warn(report)
    if json_out:
        return print_json({**stats, "read": report.as_json()})
    by_type = [[t, str(n)] for t, n in stats["byErrorType"].items()]
    opt.table(f"DLQ: {stats['total']} messages", ("error type", "messages"), by_type)
    opt.table("by user", ("user", "messages"), [[u, str(n)] for u, n in stats["byUser"].items()])
    opt.table("by queue", ("failed on", "messages"), [[q, str(n)] for q, n in stats["byQueue"].items()])
    say(f"oldest failure: {stats['oldest'] or '-'}   newest: {stats['newest'] or '-'}")


def dlq_list(
    dlq_url: DlqUrl = "",
    error_type: opt.Types = None,
    user: opt.Users = None,
    older_than: opt.OlderThan = None,
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="most messages to show")] = 50,
    json_out: Json = False,
) -> None:
    """Quarantined messages, oldest failure first: id, key, filename, error type, reason, when; nothing moves.

    The id is the shortest start of the message id no other matched message shares; `dlq show` takes it.

    --json: {"messages": [{"messageId", "objectKey", "user", "originalFilename", "errorType", "reason",
    "failedAt", "sentAt", "receiveCount", "redriveCount"}], "matched", "shown", "read": READ}
    """
    from deploy.ops.dlq import read

    selection = opt.selection(error_type, user, older_than)
    with aws_errors():
        messages, report = read(clients()[1], opt.need(dlq_url), selection)
    shown = messages[:limit]
    opt.warn(report)
    if json_out:
        items = [view.item_json(m) for m in shown]
        return print_json(
            {"messages": items, "matched": len(messages), "shown": len(shown), "read": report.as_json()}
        )
    title = f"{len(shown)} of {len(messages)} quarantined ({selection.describe()})"
    opt.table(title, view.LIST_COLUMNS, view.list_rows(shown, among=messages))


def dlq_show(
    wanted: Annotated[
        str,
        typer.Argument(
            metavar="MESSAGE",
            help="a message id, or the start of one (the id `dlq list` shows), an imageId or an object key",
        ),
    ],
    dlq_url: DlqUrl = "",
    json_out: Json = False,
) -> None:
    """Quarantined messages in full: their attributes, and the body decoded (SNS envelope, S3 event).

    MESSAGE is a message id or its start (as `dlq list` shows it), an imageId or an object key;
    every message it matches is shown, oldest failure first. Exits 1 when none matches.

    --json: the `dlq list` item of the first match plus "sourceQueue", "messageAttributes": {NAME: value},
    "attributes" (SQS's), "body" (as stored), "decoded": {"sns": envelope or null, "event", "records":
    [{"eventName", "eventTime", "bucket", "key", "size", "eTag", "versionId"}], "error"}, and "matches":
    every message matched, as `dlq list` items
    """
    from deploy.ops.dlq.lookup import Wanted, lookup

    with aws_errors():
        found, report = lookup(clients()[1], opt.need(dlq_url), Wanted(wanted))
    opt.warn(report)
    if not found:
        raise fail(f"no message in the DLQ has {Wanted(wanted).describe()} (read {report.seen} messages)")
    if json_out:
        return print_json(view.lookup_json(found))
    if len(found) > 1:
        say(f"{len(found)} messages match {wanted!r}, oldest failure first")
    for message in found:
        rows = [list(row) for row in view.show_rows(message)]
        opt.table(f"message {message.message_id}", ("field", "value"), rows)
