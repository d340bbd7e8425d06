"""Finding DLQ messages by what an operator has in hand: a message id, the short id `dlq list`
shows, an imageId or an object key.

A message id is SQS's, 36 characters nobody types; `dlq list` shows the shortest prefix of each
(8 characters at least) that no other message listed shares, the way git shortens commits, and
`dlq show` takes that prefix back. Operators also arrive with an imageId (from `imgpipe upload`)
or a key (from a log line or the list itself), and one upload can have several messages (a key
uploaded twice, a redriven message quarantined again), so a lookup answers with every match.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from deploy.ops.dlq import READ_HOLD_S, READ_SECONDS
from deploy.ops.dlq.message import Quarantined
from deploy.ops.dlq.reader import DlqReader
from deploy.ops.dlq.report import ReadReport
from shared.errors import InvalidKey
from shared.keys import parse_upload_key

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient

SHORT_ID = 8  # the shortest id a listing shows: 32 bits of a UUID, rarely shared in one DLQ
MIN_PREFIX = 4  # a shorter prefix than this is taken for a typo, not for an id


def short_ids(message_ids: Iterable[str]) -> dict[str, str]:
    """Each id's shortest prefix (`SHORT_ID` long at least) that no other of `message_ids` starts with."""
    ordered = sorted(set(message_ids))
    shortest = {}
    for index, message_id in enumerate(ordered):
        neighbours = ordered[max(0, index - 1) : index] + ordered[index + 1 : index + 2]
        length = max([SHORT_ID, *(_common(message_id, other) + 1 for other in neighbours)])
        shortest[message_id] = message_id[:length]
    return shortest


def _common(first: str, second: str) -> int:
    length = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        length += 1
    return length


@dataclass(frozen=True)
class Wanted:
    """What `dlq show` was given, and which messages it denotes."""

    text: str

    def is_id(self, message: Quarantined) -> bool:
        """True for the message with exactly this id (only one can have it)."""
        return message.message_id == self.text

    def matches(self, message: Quarantined) -> bool:
        """True when this is the message's id or a prefix of it, its imageId or its object key."""
        text = self.text
        if self.is_id(message) or (len(text) >= MIN_PREFIX and message.message_id.startswith(text)):
            return True
        key = message.object_key
        return key is not None and (text in (key, _image_id(key)) or _key_of_uri(text) == key)

    def describe(self) -> str:
        """What was looked for, in words, for the line that says nothing matched."""
        return f"the message id (or id prefix), imageId or object key {self.text!r}"


def _image_id(key: str) -> str | None:
    try:
        return parse_upload_key(key).image_id
    except InvalidKey:
        return None


def _key_of_uri(text: str) -> str | None:
    """The key of `s3://bucket/key` (as `dlq show` prints an S3 event's object), else None."""
    if not text.startswith("s3://"):
        return None
    _, _, key = text.removeprefix("s3://").partition("/")
    return key or None


def lookup(sqs: SQSClient, url: str, wanted: Wanted) -> tuple[list[Quarantined], ReadReport]:
    """Every message `wanted` denotes, oldest failure first; all visible again on return.

    A whole message id stops the read where it turns up (no other message can have it); anything
    else reads the whole queue, since an imageId or a key may have several messages.
    """
    found: list[Quarantined] = []
    with DlqReader(sqs, url, hold_s=READ_HOLD_S, max_seconds=READ_SECONDS) as reader:
        for message in reader:
            if wanted.is_id(message):
                found = [message]
                break
            if wanted.matches(message):
                found.append(message)
    return sorted(found, key=lambda m: m.when or ""), reader.report
