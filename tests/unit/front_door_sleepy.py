"""A handler for the front door's environment tests: it holds each invocation a moment and says
which copy of this module (which execution environment) answered."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

ENVIRONMENT = uuid.uuid4().hex  # made anew each time the module is executed
HOLD_S = 0.4


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer 200 with this environment's id, after HOLD_S."""
    time.sleep(HOLD_S)
    return {"statusCode": 200, "body": json.dumps({"environment": ENVIRONMENT})}
