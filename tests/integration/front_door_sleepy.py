"""A function for the front door's process tests: it holds each invocation a moment, then says
which process (which execution environment) answered."""

from __future__ import annotations

import json
import os
import time
from typing import Any

HOLD_S = 0.5


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer 200 with this process's id, after HOLD_S."""
    time.sleep(HOLD_S)
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"pid": os.getpid()}),
    }
