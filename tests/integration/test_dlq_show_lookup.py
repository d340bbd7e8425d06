"""`dlq list` shows an id `dlq show` takes back, and `dlq show` finds messages by what `list` shows
(the object key) and by what `upload` printed (the imageId), against the moto server."""

from __future__ import annotations

import pytest
from typer.testing import Result

from tests.integration.conftest import Stack, s3_event_body
from tests.integration.test_dlq_operator import (
    dlq,  # noqa: F401  (the fixture: the stack with the CLI pointed at its queues)
    invoke,
    json_of,
    seed,
)

pytestmark = pytest.mark.integration


def table_rows(result: Result) -> list[list[str]]:
    """The cells of each body row of the table on stdout (piped: one line a row, never cut)."""
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("│")]
    return [[cell.strip() for cell in line.strip("│").split("│")] for line in lines]


def test_every_id_dlq_list_shows_is_one_dlq_show_takes(dlq: Stack) -> None:  # noqa: F811
    # Given 12 quarantined messages
    seed(dlq, count=12)
    by_key = {m["objectKey"]: m["messageId"] for m in json_of("dlq", "list")["messages"]}
    # When the table is listed
    rows = table_rows(invoke("dlq", "list"))
    # Then its first column is a short id, and `dlq show` given it shows that message, and it alone
    assert len(rows) == 12
    for short, key, *_ in rows:
        assert 8 <= len(short) < 36 and by_key[key].startswith(short)
        shown = invoke("dlq", "show", short)
        assert shown.exit_code == 0, shown.output
        assert shown.stdout.count(f"message {by_key[key]}") == 1 and "messages match" not in shown.stdout


def test_show_finds_messages_by_image_id_and_by_key(dlq: Stack) -> None:  # noqa: F811
    # Given quarantined messages, and one upload whose key was quarantined twice
    seed(dlq, count=6)
    key = "uploads/alice/img_0002.jpg"
    dlq.sqs.send_message(QueueUrl=dlq.topology.dlq_url, MessageBody=s3_event_body("b", key, "again"))
    # When the operator asks by the imageId `upload` printed, and by the key `dlq list` shows
    by_image = json_of("dlq", "show", "img_0002")
    by_key = invoke("dlq", "show", key)
    # Then both messages are found, and the table shows each in full
    assert by_image["objectKey"] == key
    assert [m["objectKey"] for m in by_image["matches"]] == [key, key]
    assert len({m["messageId"] for m in by_image["matches"]}) == 2
    assert by_key.exit_code == 0, by_key.output
    assert f"2 messages match '{key}'" in by_key.stdout
    for match in by_image["matches"]:
        assert f"message {match['messageId']}" in by_key.stdout
    # And a message id still gives its one message, the document as before plus "matches"
    one = json_of("dlq", "show", by_image["matches"][0]["messageId"])
    assert [m["messageId"] for m in one["matches"]] == [one["messageId"]]


def test_show_of_something_no_message_has_says_what_was_looked_for(dlq: Stack) -> None:  # noqa: F811
    seed(dlq, count=3)
    result = invoke("dlq", "show", "img_nosuch")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "imgpipe: no message in the DLQ has the message id (or id prefix), imageId or object key"
        " 'img_nosuch' (read 3 messages)"
    ]
