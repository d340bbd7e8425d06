"""A failed manifest follows the success path's order: read the manifest, then check the upload.

Run A quarantines a corrupt v2 while v3 of the same key is uploaded and fully processed by
instance B. Wherever in A's quarantine v3 lands (before A reads the manifest, between its read
and its check of the key, or just before its write), v3's complete result must stay: A may only
write a failure over what it read if, after that read, the key still held v2. And this must hold
even when A dies before it could catch up with v3, since v3's own event was already acknowledged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.fixtures import images
from tests.integration.conftest import Stack, redelivered
from tests.integration.interleave import Before, Crash, Instance, crash, dlq_reasons, invariant_violations
from tests.integration.staging import instances, output, run, source

pytestmark = pytest.mark.integration

KEY = "uploads/u1/order.jpg"
# Where in A's quarantine v3 lands: the request A is about to send, and which one of its kind.
POINTS = {
    "before A reads the manifest": ("GetObject", "metadata/", 2),  # the first was the run's own
    "before A checks the key": ("HeadObject", KEY, 1),
    "before A writes its failure": ("PutObject", "metadata/", 1),
}


@pytest.fixture
def instance(stack: Stack) -> Iterator[Callable[[], Instance]]:
    yield from instances(stack)


def _point(stack: Stack, point: str) -> tuple[str, Callable[[str], bool], int]:
    operation, where, nth = POINTS[point]
    return operation, source(stack, where) if where == KEY else output(stack, where), nth


@pytest.mark.parametrize("ending", ["A finishes", "A dies before its catch-up"])
@pytest.mark.parametrize("point", list(POINTS))
def test_a_failure_of_an_older_upload_never_replaces_a_newer_complete_result(
    stack: Stack, instance: Callable[[], Instance], point: str, ending: str
) -> None:
    # Given run A of a corrupt v2, and v3 uploaded and processed by instance B at `point`
    ((_, event2),) = stack.upload_and_receive([(KEY, images.truncated_jpeg())]).values()
    a, b, later = instance(), instance(), instance()
    newer: dict[str, str] = {}

    async def v3_lands_and_commits() -> None:
        newer["etag"] = stack.upload(KEY, images.photo_jpeg(480, 640, seed=21))
        assert await b.run(stack.drain(1)) == []

    async def scenario() -> list[str]:
        operation, match, nth = _point(stack, point)
        await a.hook("s3", f"before-send.s3.{operation}", Before(match, v3_lands_and_commits, nth=nth))
        if ending == "A dies before its catch-up":
            await a.hook("sqs", "before-send.sqs.SendMessage", Before(lambda _: True, crash))
        return await a.run([event2])

    # When A's quarantine ends, or A dies at its DLQ send and v2's event is delivered again
    if ending == "A dies before its catch-up":
        with pytest.raises(Crash):
            run(stack, scenario())
        assert run(stack, later.run([redelivered(event2)])) == []
    else:
        assert run(stack, scenario()) == []

    # Then v3's complete result is the manifest, with every variant it lists
    assert invariant_violations(stack) == []
    stack.assert_consistent("order", "u1", newer["etag"])
    assert dlq_reasons(stack) == ([(KEY, "CorruptImage")] if ending == "A finishes" else [])
