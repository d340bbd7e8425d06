"""`python -m loadtest.load.reconcile DIR`: the ledger of a distributed run whose workers ran elsewhere.

Locust workers on several machines each write their own `uploads.<index>.jsonl`; gather them into
one folder and this reconciles them against the stack the environment names, as the runner does
for a run on one machine. Exits 1 when an upload was lost, a poison file was not quarantined
with a reason, or a valid photo was not complete.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import boto3

from loadtest.load.ledger import reconcile
from loadtest.load.tracker import read_all

NEEDS = ("IMGPIPE_OUTPUT_BUCKET", "IMGPIPE_DLQ_URL")


def main(argv: list[str] | None = None) -> None:
    """Read the ledgers in the folder, reconcile, print the ledger line and what went wrong."""
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.load.reconcile", description=__doc__.splitlines()[0]
    )
    parser.add_argument("folder", type=Path, help="where the uploads*.jsonl ledgers are")
    args = parser.parse_args(argv)
    if missing := [name for name in NEEDS if not os.environ.get(name)]:
        parser.error(f"set {', '.join(missing)} (and AWS_* for the account)")
    uploads = read_all(args.folder / "uploads.jsonl")
    if not uploads:
        parser.error(f"no uploads*.jsonl ledger in {args.folder}")
    session = boto3.Session(region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    s3, sqs = session.client("s3"), session.client("sqs")
    bucket, dlq = os.environ["IMGPIPE_OUTPUT_BUCKET"], os.environ["IMGPIPE_DLQ_URL"]
    ledger = reconcile(s3, sqs, bucket, dlq, uploads)
    print(ledger.line())
    for line in ledger.problem_lines():
        print(line)
    sys.exit(0 if ledger.ok else 1)


if __name__ == "__main__":
    main()
