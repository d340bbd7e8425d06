"""One way to reach AWS from the CLI: the region, profile and endpoint the AWS CLI v2 would use,
and short timeouts, so a stopped stack fails in about a second with a one-line reason."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from deploy.cli import common
from deploy.local.motoserver import free_port
from tests.unit.test_cli import (
    assert_failure,
    hermetic,  # noqa: F401  (autouse: no AWS configuration from the machine)
    invoke,
    write_photo,
)

pytestmark = pytest.mark.unit

# Measured at 0.7-1.0 s in process (one retry, backoff under 1 s); botocore's legacy mode, the
# old default, makes five attempts with an expected 7.5 s of backoff.
STOPPED_STACK_BUDGET_S = 3.0


def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def write_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    config = tmp_path / "aws-config"
    config.write_text(body)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))


@pytest.mark.parametrize(
    ("env", "region"),
    [
        ({"AWS_REGION": "eu-west-3"}, "eu-west-3"),
        ({"AWS_DEFAULT_REGION": "eu-north-1"}, "eu-north-1"),
        ({"AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "eu-north-1"}, "eu-west-3"),
        ({"AWS_REGION": "", "AWS_DEFAULT_REGION": "eu-north-1"}, "eu-north-1"),
    ],
    ids=["AWS_REGION-alone", "AWS_DEFAULT_REGION-alone", "AWS_REGION-wins", "empty-AWS_REGION-ignored"],
)
def test_region_comes_from_the_environment_as_for_the_aws_cli(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], region: str
) -> None:
    # Given region variables as a shell (or ECS, or `imgpipe local up`'s exports) sets them
    credentials(monkeypatch)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # When the CLI builds its clients
    s3, sqs = common.clients()
    # Then both use the region the AWS CLI v2 would: AWS_REGION, then AWS_DEFAULT_REGION
    assert (s3.meta.region_name, sqs.meta.region_name) == (region, region)


def test_profile_gives_region_and_endpoint_unless_the_environment_does(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a named profile with a region and an endpoint
    credentials(monkeypatch)
    write_profile(
        tmp_path, monkeypatch, "[profile ops]\nregion = ap-south-1\nendpoint_url = http://127.0.0.1:4566\n"
    )
    monkeypatch.setenv("AWS_PROFILE", "ops")
    # When clients are built from the profile alone, then with AWS_REGION and AWS_ENDPOINT_URL set
    from_profile = common.clients()
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    from_env = common.clients()
    # Then the profile's values apply until the environment names others, which win
    assert [(c.meta.region_name, c.meta.endpoint_url) for c in from_profile] == [
        ("ap-south-1", "http://127.0.0.1:4566")
    ] * 2
    assert [(c.meta.region_name, c.meta.endpoint_url) for c in from_env] == [
        ("eu-west-1", "http://127.0.0.1:5000")
    ] * 2


@pytest.mark.parametrize(
    ("env", "retries"),
    [
        ({}, {"mode": "standard", "total_max_attempts": common.MAX_ATTEMPTS}),
        ({"AWS_MAX_ATTEMPTS": "7"}, {"mode": "standard", "total_max_attempts": 7}),
        ({"AWS_RETRY_MODE": "adaptive"}, {"mode": "adaptive", "total_max_attempts": common.MAX_ATTEMPTS}),
    ],
    ids=["interactive-default", "AWS_MAX_ATTEMPTS-wins", "AWS_RETRY_MODE-wins"],
)
def test_retries_are_few_unless_the_environment_asks_for_more(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], retries: dict[str, object]
) -> None:
    # Given retry settings (or none) in the environment
    credentials(monkeypatch)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # When the clients are built
    s3, sqs = common.clients()
    # Then they retry as asked, else once in standard mode, and give up connecting quickly
    # (botocore-stubs declare Config's options only as arguments; botocore sets each as an attribute)
    for client in (s3, sqs):
        assert {k: client.meta.config.retries[k] for k in retries} == retries  # type: ignore[attr-defined]
        assert client.meta.config.connect_timeout == common.CONNECT_TIMEOUT_S  # type: ignore[attr-defined]


def test_a_missing_profile_is_a_one_line_reason(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Given AWS_PROFILE naming a profile no config file has
    write_photo(tmp_path / "photo.jpg")
    monkeypatch.setenv("AWS_PROFILE", "nowhere")
    # When a command needs AWS
    result = invoke("upload", "photo.jpg")
    # Then it names the variable and the profile, in one line: a bad setting, exit 2
    assert_failure(result, 2, "AWS_PROFILE=nowhere", "no such profile")


def test_only_aws_region_set_is_enough(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Given AWS_REGION alone (what many shells and CI set) and an endpoint nothing listens on
    credentials(monkeypatch)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    write_photo(tmp_path / "photo.jpg")
    # When an upload is attempted
    line = assert_failure(invoke("upload", "photo.jpg"), 1, "cannot reach", endpoint)
    # Then it got as far as the endpoint: no "You must specify a region"
    assert "region" not in line.lower()


@pytest.mark.parametrize(
    "args",
    [("upload", "photo.jpg"), ("presign", "download", "img_x"), ("reprocess", "--dry-run"),
     ("sweep", "--dry-run")],
    ids=["upload", "presign-download", "reprocess", "sweep"],
)  # fmt: skip
def test_a_stopped_stack_fails_in_about_a_second(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: tuple[str, ...]
) -> None:
    # Given the local stack's exports but no stack (a closed port), and no retry settings
    credentials(monkeypatch)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    write_photo(tmp_path / "photo.jpg")
    # When a command runs against it
    started = time.monotonic()
    result = invoke(*args)
    elapsed = time.monotonic() - started
    # Then it fails quickly, saying what it could not reach and what to check
    assert_failure(result, 1, "cannot reach", endpoint, "imgpipe local up")
    assert elapsed < STOPPED_STACK_BUDGET_S, f"{' '.join(args)} took {elapsed:.1f} s to fail"
