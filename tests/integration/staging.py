"""What the staged interleaving tests share: Lambda instances made per test, and request matchers.

Tests stage a race by pausing one instance at a precise request (`interleave.Before`) and letting
S3 change, or another instance run, in that pause. These helpers name the requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from tests.integration.conftest import Stack, redelivered
from tests.integration.interleave import Instance

REDRIVE_COUNT = "imgpipe-redrive-count"


def instances(stack: Stack) -> Iterator[Callable[[], Instance]]:
    """Body of an `instance` fixture: makes Lambda instances and closes each one at the end."""
    made: list[Instance] = []

    def make() -> Instance:
        made.append(Instance(stack))
        return made[-1]

    yield make
    for one in made:
        run(stack, one.close())


def run(stack: Stack, work: Awaitable[Any]) -> Any:
    """Run `work` on the test's event loop (the one every instance's clients live on)."""
    return stack.loop.run_until_complete(work)


def output(stack: Stack, under: str) -> Callable[[str], bool]:
    """Matches requests for keys under `under` in the output bucket."""
    prefix = f"/{stack.topology.output_bucket}/{under}"
    return lambda url: prefix in url


def source(stack: Stack, key: str) -> Callable[[str], bool]:
    """Matches requests for the upload `key` in the input bucket."""
    path = f"/{stack.topology.input_bucket}/{key}"
    return lambda url: url.split("?")[0].endswith(path)


def redriven(quarantined: dict[str, Any], count: int = 1) -> dict[str, Any]:
    """A DLQ message as `imgpipe dlq redrive` puts it back: body and attributes kept, count + 1."""
    attributes = dict(quarantined.get("MessageAttributes", {}))
    attributes[REDRIVE_COUNT] = {"DataType": "String", "StringValue": str(count)}
    return {**redelivered(quarantined), "MessageAttributes": attributes}


def delete_source(stack: Stack, key: str) -> None:
    """The upload is gone: lifecycle expiry, or the app deleting its original."""
    stack.s3.delete_object(Bucket=stack.topology.input_bucket, Key=key)
