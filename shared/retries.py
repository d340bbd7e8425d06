"""botocore's retries for every client imgpipe makes in Lambda: standard mode, unless the
environment chooses.

An explicit `retries` in a client's config overrides `AWS_RETRY_MODE` and `AWS_MAX_ATTEMPTS`, so
it is given only when neither is set; then it is botocore's `standard` mode (3 attempts, jittered
backoff, throttling and transient errors retried) instead of `legacy`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.config import _RetryDict

CHOSEN_BY = frozenset({"AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"})


def standard_retries(environ: Mapping[str, str] = os.environ) -> _RetryDict | None:
    """`{"mode": "standard"}`, or None when the environment sets the retry mode or attempts."""
    return None if CHOSEN_BY & set(environ) else {"mode": "standard"}
