"""Policy conformance: the requests our own clients send, held against the policies our Terraform
writes (issue 19, item 4's class of bug).

Each test runs one client for real against the moto server (which checks no policy): the CLI's
`imgpipe upload`, the pre-signed PUT and GET a browser makes, the worker's handler, the scheduled
sweep function, the redrive and the other operator commands. Every request botocore sends is
recorded as it leaves (`tests.policy.capture`), the emulator's names are replaced by the test
deployment's, and the IAM evaluator says what AWS would decide under the deployment's bucket,
queue, topic and key policies (and, for the functions, their role's policy, their only grant).
A refusal fails the test naming the client, the request, the policy and the statement Sid.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from deploy import cli
from deploy.local.esm import LocalContext
from tests.fixtures import images
from tests.integration.conftest import Stack
from tests.policy import Deployment, deployment
from tests.policy.capture import Recorder, Wire, recording
from tests.policy.conformance import Caller, operator, presigned_request, refusals, role

pytestmark = pytest.mark.integration

runner = CliRunner()


def _name(url_or_arn: str) -> str:
    return url_or_arn.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]


@dataclass
class Conformance:
    """The stack, the recorder on every client made from now on, and the name translation."""

    stack: Stack
    recorder: Recorder
    dep: Deployment
    names: dict[str, str]  # the emulator's bucket, queue and topic names and key ARN -> the deployment's
    emulated: dict[str, str]  # the deployment's names, URLs and ARNs -> the emulator's

    def rename(self, name: str) -> str:
        """The deployment's name for one of the emulator's; anything else is not ours to touch."""
        if name not in self.names:
            raise KeyError(f"{name!r} is not a resource of the deployment")
        return self.names[name]

    def run(self, client: str, *args: str) -> Any:
        """Run an `imgpipe` command as `client`, recording its requests; its --json output."""
        self.recorder.client = client
        try:
            result = runner.invoke(cli.app, [*args, "--json"], prog_name="imgpipe")
        finally:
            self.recorder.client = None
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def process(self, client: str | None, items: list[tuple[str, bytes]]) -> None:
        """Upload (with the harness's own client), then run the worker's handler on the events."""
        messages = [m for _, m in self.stack.upload_and_receive(items).values()]
        self.recorder.client = client
        try:
            assert self.stack.process(messages) == {"batchItemFailures": []}
        finally:
            self.recorder.client = None

    def refused(self, wires: list[Wire], caller: Caller) -> str:
        """Every refusal, one per line ("" when AWS would accept everything)."""
        return "\n".join(map(str, refusals(wires, caller, self.rename, self.dep)))

    def operations(self, client: str) -> Counter[str]:
        return Counter(w.operation for w in self.recorder.of(client))


def function_environment(dep: Deployment, emulated: dict[str, str], handler: str) -> dict[str, str]:
    """The IMGPIPE_* variables Terraform gives a function, its names swapped for the emulator's."""
    functions = dep.tf["resource"]["aws_lambda_function"].values()
    (function,) = [f for f in functions if f["handler"] == handler]
    environment = function["environment"]
    variables = dep.scope.resolve(
        (environment[0] if isinstance(environment, list) else environment)["variables"]
    )
    return {k: emulated.get(str(v), str(v)) for k, v in variables.items() if k.startswith("IMGPIPE_")}


@pytest.fixture
def conformance(stack: Stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Conformance]:
    monkeypatch.chdir(tmp_path)  # whatever a command writes beside itself stays out of the checkout
    dep, top = deployment(), stack.topology
    key = stack.session.client("kms").create_key(Description="aws_kms_key.main")["KeyMetadata"]["Arn"]
    names = {
        top.input_bucket: dep.value("module.input_bucket.id"),
        top.output_bucket: dep.value("module.output_bucket.id"),
        _name(top.queue_url): dep.value("aws_sqs_queue.work.name"),
        _name(top.dlq_url): dep.value("aws_sqs_queue.dlq.name"),
        _name(top.topic_arn): dep.value("aws_sns_topic.uploads.name"),
        key: dep.value("aws_kms_key.main.arn"),
    }
    emulated = {v: k for k, v in names.items()} | {
        dep.value("aws_sqs_queue.dlq.id"): top.dlq_url,
        dep.value("aws_sqs_queue.work.id"): top.queue_url,
    }
    # The worker runs as Terraform configures the function; the CLI as an operator exports the
    # deployment's outputs (deploy/terraform/envs/dev: IMGPIPE_KMS_KEY_ID is the key's ARN).
    stack.configure(**function_environment(dep, emulated, "worker.handler.handler"))
    for variable, value in {
        "IMGPIPE_INPUT_BUCKET": top.input_bucket,
        "IMGPIPE_QUEUE_URL": top.queue_url,
        "IMGPIPE_KMS_KEY_ID": key,
    }.items():
        monkeypatch.setenv(variable, value)
    with recording(monkeypatch) as recorder:
        yield Conformance(stack, recorder, dep, names, emulated)


def test_imgpipe_upload_sends_what_the_input_bucket_accepts(conformance: Conformance, tmp_path: Path) -> None:
    # Given two photos in a folder
    folder = tmp_path / "photos"
    folder.mkdir()
    for n in (1, 2):
        (folder / f"photo {n}.jpg").write_bytes(images.photo_jpeg(64, 48, seed=n))
    # When `imgpipe upload` sends them
    document = conformance.run("imgpipe upload", "upload", str(folder), "--user", "alice")
    assert len(document["uploaded"]) == 2
    assert conformance.operations("imgpipe upload")["s3.PutObject"] == 2
    # Then the input bucket's policy would let every request through
    assert conformance.refused(conformance.recorder.of("imgpipe upload"), operator()) == ""


@pytest.mark.parametrize("kms_key", [True, False], ids=["with-IMGPIPE_KMS_KEY_ID", "bucket-default-key"])
def test_a_presigned_put_asks_the_browser_for_what_the_input_bucket_accepts(
    conformance: Conformance, monkeypatch: pytest.MonkeyPatch, kms_key: bool
) -> None:
    if not kms_key:
        monkeypatch.delenv("IMGPIPE_KMS_KEY_ID")
    # Given a pre-signed PUT grant for a browser (for a file that is there)
    Path("holiday photo.jpg").write_bytes(images.photo_jpeg(64, 48, seed=1))
    grant = conformance.run(
        "imgpipe presign upload", "presign", "upload", "holiday photo.jpg", "--user", "alice"
    )
    (signed,) = [w for w in conformance.recorder.of("imgpipe presign upload") if w.presigned]
    # When the browser sends the headers the grant lists to the URL
    browser, gaps = presigned_request("browser PUT (imgpipe presign upload)", grant, signed)
    # Then they are the headers the signature covers, with the signed values
    assert gaps == [], gaps
    # And the bucket's policy would accept that request
    assert (
        conformance.refused([browser, *conformance.recorder.of("imgpipe presign upload")], operator()) == ""
    )


def test_a_presigned_get_and_the_manifest_read_behind_it_are_accepted(conformance: Conformance) -> None:
    # Given a processed image (neither upload nor worker recorded here)
    conformance.process(None, [("uploads/alice/pic.jpg", images.photo_jpeg(64, 48, seed=3))])
    # When an operator asks for a download URL and a browser GETs it
    grant = conformance.run("imgpipe presign download", "presign", "download", "pic", "--variant", "small")
    client = conformance.recorder.of("imgpipe presign download")
    (signed,) = [w for w in client if w.presigned]
    browser, gaps = presigned_request("browser GET (imgpipe presign download)", grant, signed)
    # Then the CLI read the manifest, the URL needs no header, and the output bucket accepts both
    assert "s3.GetObject" in {w.operation for w in client if not w.presigned}
    assert gaps == []
    assert conformance.refused([browser, *[w for w in client if not w.presigned]], operator()) == ""


def test_the_worker_reads_writes_deletes_and_quarantines_as_its_role_and_the_policies_allow(
    conformance: Conformance,
) -> None:
    # Given a good and a corrupt upload, processed; then a new version of the good one, processed
    good = "uploads/alice/good.jpg"
    conformance.process(
        "worker",
        [(good, images.photo_jpeg(96, 64, seed=4)), ("uploads/alice/bad.jpg", images.truncated_jpeg(96, 64))],
    )
    conformance.process("worker", [(good, images.photo_jpeg(96, 64, seed=5))])
    # Then the worker read sources and manifests, wrote variants and manifests, deleted the
    # superseded render and quarantined the corrupt upload
    done = conformance.operations("worker")
    assert {"s3.GetObject", "s3.PutObject", "s3.DeleteObjects", "sqs.SendMessage"} <= set(done), done
    written = {
        w.url.split("/")[4] for w in conformance.recorder.of("worker") if w.operation == "s3.PutObject"
    }
    assert written == {"processed", "metadata"}, written  # variants and manifests
    # And with its role's policy (its only grant) and the bucket, queue and key policies, AWS
    # would refuse none of it
    worker = role(conformance.dep, "aws_iam_role.worker.arn")
    assert conformance.refused(conformance.recorder.of("worker"), worker) == ""


def test_a_redrive_receives_sends_and_deletes_as_the_policies_allow(conformance: Conformance) -> None:
    # Given a corrupt upload the worker quarantined (not recorded here)
    conformance.process(None, [("uploads/alice/bad.jpg", images.truncated_jpeg(96, 64))])
    # When an operator redrives it
    document = conformance.run("imgpipe dlq redrive", "dlq", "redrive", "--yes")
    assert document["moved"] == 1
    done = conformance.operations("imgpipe dlq redrive")
    assert {"sqs.ReceiveMessage", "sqs.SendMessageBatch", "sqs.DeleteMessageBatch"} <= set(done), done
    # Then the queues' and the key's policies would let every request through
    assert conformance.refused(conformance.recorder.of("imgpipe dlq redrive"), operator()) == ""


def test_reprocess_sweep_and_status_are_accepted(conformance: Conformance) -> None:
    # Given a processed image
    conformance.process(None, [("uploads/alice/pic.jpg", images.photo_jpeg(64, 48, seed=6))])
    # When an operator re-queues it, looks for garbage and asks for the status
    assert conformance.run("imgpipe reprocess", "reprocess")["queued"] == 1
    conformance.run("imgpipe sweep", "sweep", "--dry-run")
    conformance.run("imgpipe status", "status")
    # Then each command did its reading and sending, and none of it would be refused
    assert conformance.operations("imgpipe reprocess")["sqs.SendMessageBatch"] == 1
    assert conformance.operations("imgpipe sweep")["s3.ListObjectsV2"] >= 1
    clients = ("imgpipe reprocess", "imgpipe sweep", "imgpipe status")
    wires = [w for c in clients for w in conformance.recorder.of(c)]
    assert conformance.refused(wires, operator()) == ""


def test_a_worker_without_the_terraform_key_setting_would_be_refused(conformance: Conformance) -> None:
    # Given the worker without IMGPIPE_KMS_KEY_ID (so writing SSE-S3), unlike the function Terraform deploys
    conformance.stack.configure(IMGPIPE_KMS_KEY_ID=None)
    conformance.process("worker", [("uploads/alice/pic.jpg", images.photo_jpeg(64, 48, seed=7))])
    # Then every write to the output bucket would meet its Deny, and the test says which and why
    worker = role(conformance.dep, "aws_iam_role.worker.arn")
    refused = conformance.refused(conformance.recorder.of("worker"), worker).splitlines()
    writes = conformance.operations("worker")["s3.PutObject"]
    assert writes >= 2 and len(refused) == writes, refused
    assert all("statement 'DenyUnencryptedUploads'" in line for line in refused)
    assert all("'s3:x-amz-server-side-encryption': 'AES256'" in line for line in refused)


@pytest.fixture
def scheduled_sweep(conformance: Conformance, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`worker.sweep` configured as Terraform configures the sweep function, its clock two hours
    ahead (so the orphans a test makes are old enough), built afresh so its client is recorded."""
    env = function_environment(conformance.dep, conformance.emulated, "worker.sweep.handler")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    from worker import sweep
    from worker.orphans import sweeper

    monkeypatch.setattr(sweeper, "utcnow", lambda: datetime.now(UTC) + timedelta(hours=2))
    sweep.sweep_settings.cache_clear()
    sweep.s3_client.cache_clear()
    yield sweep
    sweep.sweep_settings.cache_clear()
    sweep.s3_client.cache_clear()


def test_the_scheduled_sweep_lists_reads_deletes_and_keeps_its_place_as_its_role_allows(
    conformance: Conformance, scheduled_sweep: Any
) -> None:
    # Given a processed image and an orphan render beside it
    conformance.process(None, [("uploads/alice/pic.jpg", images.photo_jpeg(64, 48, seed=8))])
    output = conformance.stack.topology.output_bucket
    conformance.stack.s3.put_object(Bucket=output, Key="processed/alice/gone/r1/large.jpg", Body=b"x")
    # When the schedule invokes the sweep function
    conformance.recorder.client = "scheduled sweep"
    try:
        result = scheduled_sweep.handler({}, LocalContext(60))
    finally:
        conformance.recorder.client = None
    # Then it listed processed/, read the manifest, removed the orphan and saved its place
    assert result["removed"]["objects"] == 1, result
    done = conformance.operations("scheduled sweep")
    assert {"s3.ListObjectsV2", "s3.GetObject", "s3.DeleteObjects", "s3.PutObject"} <= set(done), done
    # And under the sweep role's policy (its only grant) and the bucket and key policies, AWS
    # would refuse none of it
    sweeper = role(conformance.dep, "aws_iam_role.sweep.arn")
    assert conformance.refused(conformance.recorder.of("scheduled sweep"), sweeper) == ""
