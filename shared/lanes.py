"""The two lanes an upload's work can take, and the mark that carries a lane from the client API
to the router (docs/fairness.md).

S3's event notifications carry no object metadata, so the client API pins the lane into the
upload itself (`x-amz-meta-imgpipe-lane`, a field of the signed POST policy the client cannot
change) and the router reads it back with a HEAD before it picks the work queue.
"""

from __future__ import annotations

from typing import Literal

Lane = Literal["interactive", "bulk"]
INTERACTIVE: Lane = "interactive"
BULK: Lane = "bulk"
LANES: tuple[Lane, ...] = (INTERACTIVE, BULK)
LANE_METADATA = "imgpipe-lane"  # x-amz-meta-imgpipe-lane


def marked_lane(metadata: dict[str, str] | None) -> Lane | None:
    """The lane an object's user metadata names (S3 lower-cases the keys), or None for none or junk."""
    value = (metadata or {}).get(LANE_METADATA, "").strip().lower()
    return BULK if value == BULK else INTERACTIVE if value == INTERACTIVE else None
