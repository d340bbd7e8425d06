"""The operator's view of the dead-letter queue: what is in it, and putting it back to work.

Every command reads through `DlqReader`, which sees each message once however many there are
(`reader`, counting against SQS's own figures in `report`); `message` says what one quarantined
message means; `Selection` says which of them a command acts on (`selection`), `lookup` finds
them by what an operator has in hand; `redrive` sends them back, send first and delete after,
paced by `redrive_rate`; `redrive_native` hands the job to SQS on AWS; `export` backs messages
up to a file before anything is purged. The `--json` shapes live in `view`. This module
re-exports those names and holds the whole-queue reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deploy.ops.dlq.message import EXHAUSTED, Quarantined, known_error_types
from deploy.ops.dlq.reader import DlqReader
from deploy.ops.dlq.redrive import REDRIVE_LIMIT, RedrivePlan, RedriveResult, redrive
from deploy.ops.dlq.report import QueueDepth, ReadReport, queue_depth
from deploy.ops.dlq.selection import Selection, SelectionError, canonical_types, parse_duration

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient

READ_SECONDS = 300.0  # a whole-queue read for a listing stops here and says it may be incomplete
READ_HOLD_S = 30  # a listing is quick and renews its holds; a reader killed mid-read hides less

__all__ = [
    "EXHAUSTED",
    "READ_HOLD_S",
    "READ_SECONDS",
    "REDRIVE_LIMIT",
    "DlqReader",
    "QueueDepth",
    "Quarantined",
    "ReadReport",
    "RedrivePlan",
    "RedriveResult",
    "Selection",
    "SelectionError",
    "canonical_types",
    "known_error_types",
    "parse_duration",
    "queue_depth",
    "read",
    "redrive",
]


def read(
    sqs: SQSClient, url: str, selection: Selection | None = None, max_seconds: float | None = READ_SECONDS
) -> tuple[list[Quarantined], ReadReport]:
    """Every message (that `selection` matches), oldest failure first; all visible again on return."""
    chosen = selection or Selection()
    with DlqReader(sqs, url, hold_s=READ_HOLD_S, max_seconds=max_seconds) as reader:
        messages = [m for m in reader if chosen.matches(m)]
    return sorted(messages, key=lambda m: m.when or ""), reader.report
