"""The operator's DLQ tools against the moto server with 250 quarantined messages (far past ten).

Three error types (two tagged by the worker, one `Exhausted`: moved by SQS, no attributes) and two
users; every count is checked exactly against the generated data, every redrive against the
bodies that reached the work queue.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner, Result

from deploy import cli
from deploy.cli.dlq import options as dlq_options
from deploy.ops.dlq import READ_HOLD_S
from deploy.ops.status import queue_depth
from tests.child_process import Output, sigint
from tests.integration.conftest import Stack, s3_event_body

if TYPE_CHECKING:
    from types_boto3_sqs.type_defs import MessageAttributeValueTypeDef, SendMessageBatchRequestEntryTypeDef

pytestmark = pytest.mark.integration

runner = CliRunner()
TYPES = ("CorruptImage", "UnsupportedFormat", "Exhausted")
USERS = ("alice", "bob")
COUNT = 250


@dataclass(frozen=True)
class Seeded:
    """One generated DLQ message: what the test knows it is."""

    body: str
    key: str
    error_type: str
    user: str
    redrives: int


def quarantine_attributes(seeded: Seeded, n: int) -> dict[str, MessageAttributeValueTypeDef]:
    """What the worker attaches (nothing, for a message SQS moved itself)."""
    if seeded.error_type == "Exhausted":
        values = {}
    else:
        values = {
            "imgpipe-error-type": seeded.error_type,
            "imgpipe-error-message": f"{seeded.error_type}: generated failure {n}",
            "imgpipe-failed-at": f"2026-11-{1 + n % 28:02d}T10:00:{n % 60:02d}.000Z",
            "imgpipe-source-queue": "arn:aws:sqs:us-east-1:123456789012:it-work",
            "imgpipe-receive-count": "1",
            "imgpipe-object-key": seeded.key,
            "imgpipe-original-filename": f"holiday {n}.jpg",
        }
    if seeded.redrives:
        values["imgpipe-redrive-count"] = str(seeded.redrives)
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}


def seed(stack: Stack, count: int = COUNT, redriven: int = 0) -> list[Seeded]:
    """`count` messages in the DLQ, types and users in turn; the last `redriven` already redriven 3 times."""
    made = []
    for n in range(count):
        user = USERS[n % 2]
        key = f"uploads/{user}/img_{n:04d}.jpg"
        body = s3_event_body(stack.topology.input_bucket, key, f"etag{n:04d}")
        made.append(Seeded(body, key, TYPES[n % 3], user, 3 if n >= count - redriven else 0))
    for start in range(0, count, 10):
        entries: list[SendMessageBatchRequestEntryTypeDef] = [
            {"Id": str(i), "MessageBody": s.body, "MessageAttributes": quarantine_attributes(s, start + i)}
            for i, s in enumerate(made[start : start + 10])
        ]
        response = stack.sqs.send_message_batch(QueueUrl=stack.topology.dlq_url, Entries=entries)
        assert not response.get("Failed"), response
    return made


@pytest.fixture
def dlq(stack: Stack) -> Stack:
    """The stack, the CLI pointed at its queues, and the work queue emptied of moto's s3:TestEvent."""
    stack.monkeypatch.setenv("IMGPIPE_QUEUE_URL", stack.topology.queue_url)
    stack.take_all(stack.topology.queue_url, wait_s=1)
    return stack


def invoke(*args: str) -> Result:
    return runner.invoke(cli.app, list(args), prog_name="imgpipe")


def json_of(*args: str) -> Any:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def all_bodies(stack: Stack, url: str) -> Counter[str]:
    """Every body in a queue (received and deleted), counted."""
    return Counter(m["Body"] for m in stack.take_all(url, wait_s=1))


def test_stats_and_list_count_every_message(dlq: Stack) -> None:
    # Given 250 quarantined messages of three error types and two users
    made = seed(dlq)
    # When an operator asks for the stats and the lists
    stats = json_of("dlq", "stats")
    listed = json_of("dlq", "list", "--limit", "1000")
    corrupt_bob = json_of("dlq", "list", "--type", "CORRUPTIMAGE", "--user", "bob", "--limit", "1000")
    # Then every count is exact
    assert stats["total"] == COUNT and stats["read"]["complete"] is True
    assert stats["byErrorType"] == dict(Counter(s.error_type for s in made))
    assert stats["byUser"] == dict(Counter(s.user for s in made))
    assert stats["oldest"] == "2026-11-01T10:00:00.000Z" and stats["newest"] is not None
    assert listed["matched"] == listed["shown"] == COUNT
    assert sorted(m["objectKey"] for m in listed["messages"]) == sorted(s.key for s in made)
    expected = {s.key for s in made if s.error_type == "CorruptImage" and s.user == "bob"}
    assert {m["objectKey"] for m in corrupt_bob["messages"]} == expected and len(expected) > 10
    # And the messages are all visible again afterwards
    assert queue_depth(dlq.sqs, dlq.topology.dlq_url).visible == COUNT


def test_list_shows_filename_reason_and_counts_and_limits(dlq: Stack) -> None:
    # Given 60 messages
    made = seed(dlq, count=60)
    # When the tagged ones of one type are listed, five at a time
    listed = json_of("dlq", "list", "--type", "unsupportedformat", "--limit", "5")
    # Then five of the 20 are shown, oldest first, each with its filename, reason and counts
    assert (listed["matched"], listed["shown"]) == (sum(s.error_type == "UnsupportedFormat" for s in made), 5)
    first = listed["messages"][0]
    assert first["errorType"] == "UnsupportedFormat" and first["originalFilename"].startswith("holiday ")
    assert first["reason"].startswith("UnsupportedFormat: generated failure")
    assert (first["receiveCount"], first["redriveCount"]) == (1, 0)
    assert [m["failedAt"] for m in listed["messages"]] == sorted(m["failedAt"] for m in listed["messages"])


def test_show_decodes_one_message(dlq: Stack) -> None:
    # Given 30 messages, and the id of one Exhausted message
    made = seed(dlq, count=30)
    listed = json_of("dlq", "list", "--type", "Exhausted", "--limit", "1")
    (item,) = listed["messages"]
    # When it is shown
    shown = json_of("dlq", "show", item["messageId"])
    # Then its body is decoded down to the S3 record, its key is the one in the body
    (record,) = shown["decoded"]["records"]
    assert record["key"] == item["objectKey"] and record["bucket"] == dlq.topology.input_bucket
    assert shown["body"] in {s.body for s in made} and shown["errorType"] == "Exhausted"
    assert invoke("dlq", "show", "no-such-id").exit_code == 1


def test_export_is_complete_and_leaves_every_message_visible(dlq: Stack, tmp_path: Path) -> None:
    # Given the 250 messages
    made = seed(dlq)
    target = tmp_path / "backup.jsonl"
    # When they are exported
    document = json_of("dlq", "export", str(target))
    # Then the file has every message with its body and attributes, and none is hidden
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert document["exported"] == len(lines) == COUNT
    assert sorted(line["body"] for line in lines) == sorted(s.body for s in made)
    tagged = [line for line in lines if line["messageAttributes"]]
    assert len(tagged) == sum(s.error_type != "Exhausted" for s in made) and all(
        "imgpipe-error-type" in line["messageAttributes"] for line in tagged
    )
    assert all("SentTimestamp" in line["attributes"] for line in lines)
    assert queue_depth(dlq.sqs, dlq.topology.dlq_url).visible == COUNT
    # And a second export does not overwrite it unless forced
    assert invoke("dlq", "export", str(target)).exit_code == 2
    forced = json_of("dlq", "export", str(target), "--type", "Exhausted", "--force")
    assert forced["exported"] == sum(s.error_type == "Exhausted" for s in made)


def test_filtered_redrive_at_a_rate_moves_exactly_the_selection_at_that_rate(dlq: Stack) -> None:
    # Given the 250 messages
    made = seed(dlq)
    chosen = [s for s in made if s.user == "alice"]
    # When alice's (125, of all three types) are redriven at 20 a second
    started = time.monotonic()
    document = json_of("dlq", "redrive", "--user", "alice", "--rate", "20/s", "--yes")
    elapsed = time.monotonic() - started
    # Then exactly those moved and the command ended, at the rate asked (one batch of 10 goes at once)
    assert (document["moved"], document["skipped"], document["failed"]) == (
        len(chosen),
        COUNT - len(chosen),
        0,
    )
    floor = (len(chosen) - 10) / 20
    assert floor * 0.95 <= document["elapsedSeconds"] <= elapsed < floor + 10, (
        document["elapsedSeconds"],
        elapsed,
    )
    # And the work queue received them spread out in time, never more than a second's worth plus a batch
    received = dlq.take_all(dlq.topology.queue_url, wait_s=1)
    sent_ms = sorted(int(m["Attributes"]["SentTimestamp"]) for m in received)
    assert (sent_ms[-1] - sent_ms[0]) / 1000 >= floor * 0.95
    assert max(sum(1 for t in sent_ms if s <= t < s + 1000) for s in sent_ms) <= 20 + 10
    # And the bodies are exactly the selection, counted as redriven once; the rest stay in the DLQ
    assert Counter(m["Body"] for m in received) == Counter(s.body for s in chosen)
    assert {m["MessageAttributes"]["imgpipe-redrive-count"]["StringValue"] for m in received} == {"1"}
    tagged = [m for m in received if "imgpipe-error-type" in m["MessageAttributes"]]
    assert len(tagged) == sum(s.error_type != "Exhausted" for s in chosen)
    assert all_bodies(dlq, dlq.topology.dlq_url) == Counter(s.body for s in made if s.user != "alice")


def test_dry_run_moves_nothing_and_max_stops_there(dlq: Stack) -> None:
    # Given 100 messages
    made = seed(dlq, count=100)
    # When a dry run is asked for one user, then a redrive of at most 7
    dry = json_of("dlq", "redrive", "--user", "alice", "--dry-run")
    limited = json_of("dlq", "redrive", "--max", "7", "--yes")
    # Then the dry run would have moved alice's 50 and moved nothing
    assert (dry["dryRun"], dry["wouldMove"], dry["moved"]) == (True, 50, 0)
    assert {m["user"] for m in dry["messages"]} == {"alice"}
    # And the limited one moved 7 without reading the whole DLQ
    assert limited["moved"] == 7 and limited["read"]["seen"] <= 10
    moved = all_bodies(dlq, dlq.topology.queue_url)
    assert sum(moved.values()) == 7
    assert all_bodies(dlq, dlq.topology.dlq_url) + moved == Counter(s.body for s in made)


def test_the_poison_loop_guard_holds_back_messages_redriven_too_often(dlq: Stack) -> None:
    # Given 30 messages, the last 12 already redriven three times
    made = seed(dlq, count=30, redriven=12)
    # When they are redriven, then redriven again with --force
    first = invoke("dlq", "redrive", "--yes")
    forced = json_of("dlq", "redrive", "--yes", "--force")
    # Then the first run moved 18, held back 12 and said so; --force moved those 12, counted up to 4
    assert first.exit_code == 0, first.output
    assert "moved 18 message(s)" in first.stdout and "held back 12 message(s)" in first.stdout
    assert (forced["moved"], forced["heldBack"]) == (12, 0)
    received = dlq.take_all(dlq.topology.queue_url, wait_s=1)
    counts = Counter(m["MessageAttributes"]["imgpipe-redrive-count"]["StringValue"] for m in received)
    assert counts == {"1": 18, "4": 12}
    assert Counter(m["Body"] for m in received) == Counter(s.body for s in made)


def test_a_redrive_longer_than_the_hold_still_ends_with_exact_counts(dlq: Stack) -> None:
    # Given 100 messages, and a 5 s hold with 40 selected at 5 a second (8 s, longer than the hold)
    made = seed(dlq, count=100)
    chosen = Counter(s.body for s in made if s.user == "bob" and s.error_type != "Exhausted")
    # When they are redriven
    filters = ("--user", "bob", "--type", "CorruptImage", "--type", "UnsupportedFormat")
    document = json_of("dlq", "redrive", *filters, "--rate", "5", "--hold", "5", "--yes")
    # Then it ended having moved exactly the selection, once each, and the rest are all still there
    assert document["moved"] == sum(chosen.values()) and document["elapsedSeconds"] > 5
    assert all_bodies(dlq, dlq.topology.queue_url) == chosen
    assert all_bodies(dlq, dlq.topology.dlq_url) == Counter(s.body for s in made) - chosen


def test_purge_writes_the_export_then_deletes_only_the_selection(dlq: Stack, tmp_path: Path) -> None:
    # Given 60 messages
    made = seed(dlq, count=60)
    backup = tmp_path / "purged.jsonl"
    # When the Exhausted ones are purged
    document = json_of("dlq", "purge", "--type", "exhausted", "--export", str(backup), "--yes")
    # Then they are in the export file and gone from the DLQ; the others all remain
    exhausted = Counter(s.body for s in made if s.error_type == "Exhausted")
    assert (document["exported"], document["deleted"], document["failed"]) == (20, 20, 0)
    assert Counter(json.loads(line)["body"] for line in backup.read_text().splitlines()) == exhausted
    assert all_bodies(dlq, dlq.topology.dlq_url) == Counter(s.body for s in made) - exhausted


def test_status_breaks_down_the_whole_dlq(dlq: Stack) -> None:
    # Given 60 messages
    made = seed(dlq, count=60)
    # When the status is asked for
    document = json_of("status", "--output-bucket", dlq.topology.output_bucket)
    # Then the DLQ breakdown covers all 60, not a sample of ten
    assert document["dlq"]["total"] == 60 and document["dlq"]["visible"] == 60
    assert document["dlq"]["byErrorType"] == dict(Counter(s.error_type for s in made))
    assert document["dlq"]["read"]["complete"] is True


def test_an_interactive_redrive_of_many_asks_first(dlq: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given 30 messages and an operator at a terminal
    seed(dlq, count=30)
    monkeypatch.setattr(dlq_options, "interactive", lambda: True)
    # When they decline the confirmation
    result = runner.invoke(cli.app, ["dlq", "redrive"], input="n\n", prog_name="imgpipe")
    # Then nothing moved
    assert result.exit_code == 1 and "nothing moved" in result.stderr
    assert "(~30 messages)?" in result.stderr
    assert queue_depth(dlq.sqs, dlq.topology.queue_url).visible == 0
    assert queue_depth(dlq.sqs, dlq.topology.dlq_url).visible == 30


@pytest.mark.parametrize(
    ("stop", "sigint_at_start"),
    [
        (signal.SIGINT, signal.SIG_DFL),
        # started in the background by a script (`cmd &`), by nohup setups or CI runners
        (signal.SIGINT, signal.SIG_IGN),
        (signal.SIGTERM, signal.SIG_DFL),
    ],
    ids=["ctrl-c", "ctrl-c-started-with-sigint-ignored", "sigterm"],
)
def test_status_watch_refreshes_until_stopped_and_stops_cleanly(
    dlq: Stack, tmp_path: Path, stop: signal.Signals, sigint_at_start: signal.Handlers
) -> None:
    # Given a few quarantined messages and `status --watch` running in its own process, its
    # output taken for a terminal's (so every refresh is written as it happens)
    seed(dlq, count=12)
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "TTY_COMPATIBLE": "1",
        "TTY_INTERACTIVE": "1",
        "COLUMNS": "120",
    }
    command = [sys.executable, "-m", "deploy.cli", "status", "--watch", "--interval", "1"]
    with (tmp_path / "stderr").open("w") as errors_file:
        process = subprocess.Popen(
            command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=errors_file, text=True,
            preexec_fn=sigint(sigint_at_start),
        )  # fmt: skip
    output = Output(process)
    try:
        # When it has drawn its table and refreshed it, and is then interrupted
        assert output.wait_for("imgpipe status", times=2, timeout_s=60), output.text
        process.send_signal(stop)
        process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    out, errors = output.rest(timeout_s=15), (tmp_path / "stderr").read_text()
    # Then it ends at once with exit 0, no traceback, the last table shown
    assert process.returncode == 0, errors
    assert "Traceback" not in errors and "imgpipe status" in out and "CorruptImage" in out
    # And the DLQ is visible again (at once, unless a receive was cut short: then after its hold)
    deadline = time.monotonic() + READ_HOLD_S + 5
    while queue_depth(dlq.sqs, dlq.topology.dlq_url).visible < 12 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert queue_depth(dlq.sqs, dlq.topology.dlq_url).visible == 12


# ---------------------------------------------------------------- text from uploaders, in tables

HOSTILE_KEY = "uploads/u1/[/x].jpg"
HOSTILE_NAME = "[link=https://evil.example]click me[/link] [bold].jpg"
HOSTILE_REASON = "CorruptImage: [bold]not a jpeg[/bold] \u202egpj.exe\r\nforged line"
# Only an Exhausted message's key comes from the body, where the S3 event %-encodes it: the one
# place an ESC (a terminal hyperlink, here) can reach a table, as SQS refuses it in attributes.
FORGED_TYPE = {"imgpipe-error-type": "[red]Forged[/red]"}
ESCAPING_KEY = "uploads/u3/\x1b]8;;https://evil.example\x07x\x1b]8;;\x07.jpg"


def seed_hostile(stack: Stack) -> None:
    """Three quarantined uploads whose key, file name and reason are written to fool a terminal."""
    tagged = {
        "imgpipe-error-type": "CorruptImage",
        "imgpipe-error-message": HOSTILE_REASON,
        "imgpipe-failed-at": "2026-11-01T10:00:00.000Z",
        "imgpipe-object-key": HOSTILE_KEY,
        "imgpipe-original-filename": HOSTILE_NAME,
    }
    bucket = stack.topology.input_bucket
    other = "uploads/[bold]/y.jpg"
    entries = [
        (s3_event_body(bucket, HOSTILE_KEY, "etag1"), tagged),
        (s3_event_body(bucket, other, "etag2"), {**tagged, "imgpipe-object-key": other, **FORGED_TYPE}),
        (s3_event_body(bucket, ESCAPING_KEY, "etag3"), {}),
    ]
    for body, attributes in entries:
        stack.sqs.send_message(
            QueueUrl=stack.topology.dlq_url,
            MessageBody=body,
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )


def shown_verbatim(result: Result, *texts: str) -> str:
    """The command succeeded and printed each text as it is, with no escape sequence of its own."""
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "\x1b" not in result.stdout, result.output
    for text in texts:
        assert text in result.stdout, (text, result.stdout)
    return result.stdout


ESCAPED_KEY = "uploads/u3/\\x1b]8;;https://evil.example\\x07x\\x1b]8;;\\x07.jpg"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (("dlq", "list"), (HOSTILE_KEY, HOSTILE_NAME, "\\u202egpj.exe\\r\\nforged line", ESCAPED_KEY)),
        (
            ("dlq", "redrive", "--dry-run"),
            (HOSTILE_KEY, HOSTILE_NAME, ESCAPED_KEY, "would move 3 message(s)"),
        ),
        (("dlq", "stats"), ("[bold]", "u1", "u3", "[red]Forged[/red]")),
        (("status",), ("[red]Forged[/red]", "Exhausted")),
    ],
    ids=["list", "redrive-dry-run", "stats", "status"],
)
def test_keys_names_and_reasons_are_shown_as_text_never_as_markup(
    dlq: Stack, command: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    # Given quarantined uploads whose key, file name and reason are markup and terminal escapes
    seed_hostile(dlq)
    # When an operator lists, dry-runs a redrive of, counts or asks the status of them
    where = ("--output-bucket", dlq.topology.output_bucket) if command == ("status",) else ()
    result = invoke(*command, *where)
    # Then each is printed as the characters it is, control characters as escapes
    shown_verbatim(result, *expected)


def test_show_prints_one_hostile_message_as_text(dlq: Stack) -> None:
    # Given the hostile uploads, and the id of the one whose key carries a terminal hyperlink
    seed_hostile(dlq)
    listed = json_of("dlq", "list", "--type", "Exhausted")
    (item,) = listed["messages"]
    assert item["objectKey"] == ESCAPING_KEY  # the JSON keeps the key exactly
    # When it is shown, and a tagged one too
    shown_verbatim(invoke("dlq", "show", item["messageId"]), ESCAPED_KEY)
    tagged = next(m for m in json_of("dlq", "list")["messages"] if m["objectKey"] == HOSTILE_KEY)
    # Then every field is its text
    shown_verbatim(invoke("dlq", "show", tagged["messageId"]), HOSTILE_KEY, HOSTILE_NAME, "[bold]not a jpeg")
