"""A function for the front door's process tests: each invocation leaves a mark in a meeting
folder (`?meeting=NAME`, under the folder `SLEEPY_MEETING` names), waits (up to MEET_S) until it
sees `?until=N` marks there (2: its own and another's), then says which process (which execution environment)
answered and how many invocations it met."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

MEET_S = 20.0  # far beyond any scheduling delay, even on a loaded machine


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer 200 with this process's id and how many invocations were running beside it."""
    meeting = Path(os.environ["SLEEPY_MEETING"]) / event["queryStringParameters"]["meeting"]
    meeting.mkdir(exist_ok=True)
    (meeting / uuid.uuid4().hex).touch()
    deadline = time.monotonic() + MEET_S
    until = int(event["queryStringParameters"].get("until", "2"))
    while len(list(meeting.iterdir())) < until and time.monotonic() < deadline:
        time.sleep(0.01)
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"pid": os.getpid(), "met": len(list(meeting.iterdir()))}),
    }
