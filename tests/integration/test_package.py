"""The Lambda artifact carries everything the worker needs, and nothing of the CLI's.

Built for this interpreter (the arm64 build differs only in the wheels pip picks), unzipped, and
imported in an isolated interpreter that cannot see the checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from deploy.packaging.lambda_zip import LAMBDA_UNZIPPED_LIMIT, build

pytestmark = pytest.mark.integration

INVOKE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import worker.handler as module
assert module.__file__.startswith(sys.argv[1]), module.__file__
event = {"Records": [{
    "messageId": "m-1", "receiptHandle": "r", "md5OfBody": "x", "eventSource": "aws:sqs",
    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1",
    "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
    "body": json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}),
}]}
class Context:
    function_name = "f"; memory_limit_in_mb = 128; invoked_function_arn = "arn"; aws_request_id = "id"
    def get_remaining_time_in_millis(self): return 60000
result = module.handler(event, Context())
# The engine's libraries load from the tree: libvips, and libjpeg-turbo with its numpy
import pyvips
from shared.variants import DEFAULT_VARIANTS
from worker import engine
from worker.engine import load, turbo
photo = pyvips.Image.black(640, 480, bands=3).jpegsave_buffer()
assert turbo.decode(photo, load.open_source(photo, "jpeg").header, 2) is not None
assert len(engine.render(photo, DEFAULT_VARIANTS).variants) == len(DEFAULT_VARIANTS)
# The pruned botocore still has the models of every client the worker makes
import botocore.session
session = botocore.session.get_session()
for name in ("s3", "sqs", "sns", "sts"):
    session.create_client(name, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
# The scheduled sweep's entry point (worker.sweep.handler) cold-starts from the same tree
import worker.sweep as sweep
assert sweep.__file__.startswith(sys.argv[1]) and callable(sweep.handler)
assert sweep.sweep_settings().output_bucket == "imgpipe-output"
print(json.dumps(result))
"""


def test_artifact_imports_and_handles_a_batch_in_isolation(tmp_path: Path) -> None:
    # Given the artifact built for this interpreter and unzipped
    artifact = build(tmp_path / "dist", arch=None)
    tree = tmp_path / "tree"
    with zipfile.ZipFile(artifact) as archive:
        archive.extractall(tree)
        names = archive.namelist()
    # Then it holds the worker, libvips and the runtime dependencies, but not the CLI's
    assert "worker/handler.py" in names and "shared/settings.py" in names
    assert any(name.startswith("pyvips/") for name in names)
    assert not any(name.startswith(("typer/", "rich/", "deploy/", "tests/", "loadtest/")) for name in names)
    assert not any(name.startswith("botocore/data/ec2/") for name in names)  # models nothing calls
    assert sum(p.stat().st_size for p in tree.rglob("*") if p.is_file()) < LAMBDA_UNZIPPED_LIMIT
    # When an isolated interpreter (no site-packages of ours, no checkout on sys.path) runs it
    env = {"PATH": os.environ["PATH"], "IMGPIPE_OUTPUT_BUCKET": "imgpipe-output", "AWS_REGION": "us-east-1"}
    done = subprocess.run(
        [sys.executable, "-I", "-c", INVOKE, str(tree)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Then the handler imports from the tree and acknowledges an s3:TestEvent batch
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"batchItemFailures": []}
