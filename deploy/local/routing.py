"""The router as a process of the local stack: `python -m deploy.local.routing --queue-url URL`.

The same poller that feeds the workers (`deploy.local.poller`, Lambda's event source mapping
reproduced) feeds `worker.router.handler.handler` from the work queue, one batch at a time, as
one concurrency slot of the router's mapping. SIGTERM and Ctrl-C stop it after the batch in flight.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from types import FrameType

import boto3

from deploy.local.poller import Poller, PollerConfig
from shared.errors import ConfigError


def main(argv: list[str] | None = None) -> int:
    """Poll the work queue and route each batch until signalled; 2 for a bad setting."""
    parser = argparse.ArgumentParser(prog="python -m deploy.local.routing", description=__doc__)
    parser.add_argument("--queue-url", required=True, help="the work queue the router consumes")
    parser.add_argument("--batch-size", type=int, default=10, help="records per invocation")
    parser.add_argument("--timeout", type=float, default=30.0, help="the router's function timeout, s")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, request_stop)
    os.environ.setdefault("IMGPIPE_QUEUE_URL", args.queue_url)  # its failed records are retried sooner
    try:
        from worker.router.handler import handler  # the cold start: settings validated here
    except ConfigError as exc:
        print(f"imgpipe: {exc}", file=sys.stderr)
        return 2
    session = boto3.Session(region_name=os.environ.get("AWS_REGION") or None)
    sqs = session.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=args.queue_url, AttributeNames=["QueueArn"])["Attributes"]
    config = PollerConfig(
        queue_url=args.queue_url,
        queue_arn=str(arn["QueueArn"]),
        region=session.region_name or "us-east-1",
        batch_size=args.batch_size,
        function_timeout_s=args.timeout,
    )
    Poller(sqs, handler, config).run(stop.is_set)
    return 0


if __name__ == "__main__":
    sys.exit(main())
