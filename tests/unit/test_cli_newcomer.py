"""What a newcomer trying the README on a fresh clone tripped on: each a one-line reason, exit 2.

A setting that is missing or malformed is the user's input, as a bad option is: every command that
reaches AWS names the variable and what is wrong with it, before any request, never a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deploy.cli import common
from tests.unit.test_cli import (
    assert_failure,
    hermetic,  # noqa: F401  (autouse: no AWS configuration from the machine)
    invoke,
    write_photo,
)

pytestmark = pytest.mark.unit

# Every command that builds AWS clients, with the arguments that get it that far.
REACHES_AWS = {
    "status": ("status",),
    "upload": ("upload", "photo.jpg"),
    "presign-upload": ("presign", "upload", "photo.jpg"),
    "presign-download": ("presign", "download", "img_x"),
    "reprocess": ("reprocess", "--dry-run"),
    "sweep": ("sweep", "--dry-run"),
    "dlq-stats": ("dlq", "stats"),
    "dlq-list": ("dlq", "list"),
    "dlq-show": ("dlq", "show", "some-id"),
    "dlq-export": ("dlq", "export", "out.jsonl"),
    "dlq-purge": ("dlq", "purge", "--yes"),
    "dlq-redrive": ("dlq", "redrive", "--dry-run"),
    "dlq-tasks": ("dlq", "tasks"),
    "dlq-cancel": ("dlq", "cancel", "handle"),
}


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """Everything a command needs set well (credentials, region, queues, a photo); each test breaks one."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "IMGPIPE_QUEUE_URL": "http://127.0.0.1:9/123456789012/work",
        "IMGPIPE_DLQ_URL": "http://127.0.0.1:9/123456789012/dlq",
    }.items():
        monkeypatch.setenv(name, value)
    write_photo(tmp_path / "photo.jpg")
    return monkeypatch


@pytest.mark.parametrize("args", REACHES_AWS.values(), ids=REACHES_AWS.keys())
@pytest.mark.parametrize(
    ("unset", "needles"),
    [(("AWS_REGION",), ("no AWS region", "AWS_REGION")),
     (("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), ("no AWS credentials", "AWS_ACCESS_KEY_ID"))],
    ids=["no-region", "no-credentials"],
)  # fmt: skip
def test_a_missing_aws_setting_exits_2_from_every_command(
    configured: pytest.MonkeyPatch, args: tuple[str, ...], unset: tuple[str, ...], needles: tuple[str, ...]
) -> None:
    # Given a shell without the region (or without credentials), as on a fresh machine
    for name in unset:
        configured.delenv(name)
    # When any command that reaches AWS runs
    result = invoke(*args)
    # Then it is a usage error, as a missing queue URL is: one line saying what to set, exit 2
    assert_failure(result, 2, *needles)


BAD_SETTINGS = {
    "profile": ({"AWS_PROFILE": "nowhere"}, ("AWS_PROFILE=nowhere", "no such profile")),
    "region": ({"AWS_REGION": "us east 1"}, ("AWS_REGION=us east 1", "not a region name")),
    "default-region": (
        {"AWS_REGION": "", "AWS_DEFAULT_REGION": "us_east_1!"},
        ("AWS_DEFAULT_REGION=us_east_1!", "not a region name"),
    ),
    "attempts-text": ({"AWS_MAX_ATTEMPTS": "three"}, ("AWS_MAX_ATTEMPTS=three", "not a whole number")),
    "attempts-zero": ({"AWS_MAX_ATTEMPTS": "0"}, ("AWS_MAX_ATTEMPTS=0", "1 or more")),
    "retry-mode": ({"AWS_RETRY_MODE": "fast"}, ("AWS_RETRY_MODE=fast", "legacy, standard, adaptive")),
    "half-credentials": ({"AWS_SECRET_ACCESS_KEY": ""}, ("AWS_SECRET_ACCESS_KEY",)),
    "queue-url": ({"IMGPIPE_QUEUE_URL": ""}, ("IMGPIPE_QUEUE_URL",)),
    "dlq-url": ({"IMGPIPE_DLQ_URL": ""}, ("IMGPIPE_DLQ_URL",)),
}
# One reading command, one moving (dry) and one that only signs; `status` needs both queue URLs.
SOME = {"status": REACHES_AWS["status"], "dlq-redrive": REACHES_AWS["dlq-redrive"]}


@pytest.mark.parametrize("args", SOME.values(), ids=SOME.keys())
@pytest.mark.parametrize(("env", "needles"), BAD_SETTINGS.values(), ids=BAD_SETTINGS.keys())
def test_every_bad_setting_exits_2_naming_it(
    configured: pytest.MonkeyPatch, args: tuple[str, ...], env: dict[str, str], needles: tuple[str, ...]
) -> None:
    # Given one setting that is wrong (or empty), everything else in order
    for name, value in env.items():
        configured.setenv(name, value)
    # When a command that reaches AWS runs
    result = invoke(*args)
    # Then it is exit 2 with one line naming the setting and what is wrong with it, before any request
    assert_failure(result, 2, *needles)


@pytest.mark.parametrize(
    ("env", "needles"),
    [(env, needles) for key, (env, needles) in BAD_SETTINGS.items() if not key.endswith("-url")],
    ids=[key for key in BAD_SETTINGS if not key.endswith("-url")],
)
def test_a_signing_only_command_names_a_bad_setting_too(
    configured: pytest.MonkeyPatch, env: dict[str, str], needles: tuple[str, ...]
) -> None:
    # Given one AWS setting that is wrong, When a URL is signed (no request at all)
    for name, value in env.items():
        configured.setenv(name, value)
    # Then the same one line, exit 2
    assert_failure(invoke("presign", "upload", "photo.jpg"), 2, *needles)


@pytest.mark.parametrize("args", REACHES_AWS.values(), ids=REACHES_AWS.keys())
@pytest.mark.parametrize(
    ("variable", "value", "needles"),
    [
        ("AWS_ENDPOINT_URL", "127.0.0.1:4566", ("no scheme", "http://127.0.0.1:4566")),
        ("AWS_ENDPOINT_URL", "localhost:4566", ("no scheme", "http://localhost:4566")),
        ("AWS_ENDPOINT_URL", "htp://127.0.0.1:4566", ("http:// or https://",)),
        ("AWS_ENDPOINT_URL_SQS", "127.0.0.1:4566", ("no scheme",)),
    ],
    ids=["ip-port", "host-port", "typo-scheme", "sqs-only"],
)
def test_an_endpoint_without_a_scheme_is_one_line_naming_the_variable(
    configured: pytest.MonkeyPatch, args: tuple[str, ...], variable: str, value: str, needles: tuple[str, ...]
) -> None:
    # Given the local stack's endpoint pasted without its scheme
    configured.setenv(variable, value)
    # When any command that reaches AWS runs (an S3-only one too, for the SQS-only variable: it builds both)
    result = invoke(*args)
    # Then it is a bad setting: one line naming the variable and its value, and what is wrong
    assert_failure(result, 2, f"{variable}={value}", *needles)


def test_a_profile_endpoint_without_a_scheme_names_the_profile(
    configured: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a profile whose endpoint_url has no scheme, and no endpoint in the environment
    config = tmp_path / "aws-config"
    config.write_text("[profile local]\nendpoint_url = 127.0.0.1:4566\n")
    configured.setenv("AWS_CONFIG_FILE", str(config))
    configured.setenv("AWS_PROFILE", "local")
    # When a command reaches AWS
    result = invoke("dlq", "stats")
    # Then the one line names the profile's key and what is wrong with it
    assert_failure(result, 2, "endpoint_url in the AWS config (profile local)=127.0.0.1:4566", "no scheme")


def test_a_good_endpoint_in_the_environment_wins_over_a_bad_one_in_the_profile(
    configured: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a bad endpoint_url in the profile that AWS_ENDPOINT_URL overrides, as botocore does
    config = tmp_path / "aws-config"
    config.write_text("[profile local]\nendpoint_url = 127.0.0.1:4566\n")
    configured.setenv("AWS_CONFIG_FILE", str(config))
    configured.setenv("AWS_PROFILE", "local")
    configured.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    # When the clients are built, Then they point where the environment says
    s3, sqs = common.clients()
    assert (s3.meta.endpoint_url, sqs.meta.endpoint_url) == ("http://127.0.0.1:4566",) * 2


@pytest.mark.parametrize(
    "args",
    [("upload", "photo.jpg", "--bucket", "bad/name"),
     ("presign", "download", "img_x", "--output-bucket", "bad/name"),
     ("sweep", "--dry-run", "--output-bucket", "bad/name")],
    ids=["upload", "presign-download", "sweep"],
)  # fmt: skip
def test_a_bucket_name_botocore_refuses_before_sending_is_a_usage_error(
    configured: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    # Given a bucket name no bucket can have (botocore refuses it before any request)
    configured.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    # When a command uses it
    result = invoke(*args)
    # Then it is a bad option, as the README says: one line naming it, exit 2
    assert_failure(result, 2, 'Invalid bucket name "bad/name"')


@pytest.mark.parametrize("what", ["missing", "folder", "pipe"])
def test_presign_upload_refuses_what_is_not_a_file_here(
    configured: pytest.MonkeyPatch, tmp_path: Path, what: str
) -> None:
    # Given a path with an image suffix that is no file to upload: missing, a folder or a named pipe
    path = tmp_path / f"{what}.jpg"
    if what == "folder":
        path.mkdir()
    elif what == "pipe":
        os.mkfifo(path)
    # When a PUT URL is asked for it
    result = invoke("presign", "upload", str(path))
    # Then it is the user's input that is wrong: one line naming the path, exit 2, no URL
    reason = "no such file" if what == "missing" else "not a regular file"
    assert_failure(result, 2, reason, str(path))
    assert result.stdout == ""


def test_presign_upload_refuses_a_file_it_cannot_read(configured: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Given a photo this user may not read (tests may run as root, for whom modes do not apply)
    def denied(self: Path, *args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied", str(self))

    configured.setattr(Path, "open", denied)
    # When a PUT URL is asked for it
    result = invoke("presign", "upload", "photo.jpg")
    # Then one line says it cannot be read, exit 2, no URL
    assert_failure(result, 2, "cannot read photo.jpg", "Permission denied")
    assert result.stdout == ""
