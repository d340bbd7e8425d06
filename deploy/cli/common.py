"""What every `imgpipe` command shares: the consoles, one-line failures, AWS clients, options.

Expected failures (an unreachable endpoint, a missing bucket, a bad path, a bad setting) end in
a one-line reason and a non-zero exit, never a traceback: 2 for usage (a bad or missing option or
setting, found before any request), 1 for a failure (whatever AWS answered or could not).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
)
from rich.console import Console
from rich.progress import Progress
from rich.text import Text
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from deploy.cli.aws_clients import CONNECT_TIMEOUT_S as CONNECT_TIMEOUT_S  # re-exported: tests pin them
from deploy.cli.aws_clients import MAX_ATTEMPTS as MAX_ATTEMPTS
from deploy.cli.aws_clients import make_clients
from deploy.cli.text import literal, shown
from shared.errors import ConfigError

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sqs import SQSClient

    from deploy.ops.uploads import Selection
    from shared.settings import Settings

CREDENTIALS = "AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"

console = Console()
err = Console(stderr=True)

InputBucket = Annotated[
    str, typer.Option("--bucket", envvar="IMGPIPE_INPUT_BUCKET", metavar="BUCKET", help="input bucket")
]
OutputBucket = Annotated[
    str,
    typer.Option("--output-bucket", envvar="IMGPIPE_OUTPUT_BUCKET", metavar="BUCKET", help="output bucket"),
]
QueueUrl = Annotated[
    str, typer.Option("--queue-url", envvar="IMGPIPE_QUEUE_URL", metavar="URL", help="work queue URL")
]
DlqUrl = Annotated[
    str, typer.Option("--dlq-url", envvar="IMGPIPE_DLQ_URL", metavar="URL", help="dead-letter queue URL")
]
User = Annotated[str, typer.Option("--user", metavar="USER", help="userId the uploads belong to")]
KmsKey = Annotated[
    str | None,
    typer.Option(envvar="IMGPIPE_KMS_KEY_ID", metavar="KEY", help="SSE-KMS key id or ARN (unset: aws/s3)"),
]
Json = Annotated[bool, typer.Option("--json", help="print one JSON document (shape in the help above)")]


class Command(TyperCommand):
    """A command whose help names things instead of typing them: `--json`, not `--json <bool>`;
    `PATH...`, not `<list[Path]>`. Typer 0.29 labels every parameter with its Python type."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            _bare(param)

    def get_help_option(self, ctx: Any) -> Any:
        """Typer's help option, without its `<bool>` label."""
        return _bare(super().get_help_option(ctx))


class Group(TyperGroup):
    """A command group whose `--help` option has no `<bool>` label either."""

    def get_help_option(self, ctx: Any) -> Any:
        """Typer's help option, without its `<bool>` label."""
        return _bare(super().get_help_option(ctx))


class _NamedArgument(TyperArgument):
    """An argument shown by its metavar alone (`PATH...`), without a type column."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None if self.metavar else super().display_type_rich(ctx)


def _bare(param: Any) -> Any:
    if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
        param.metavar = ""  # a flag takes no value: nothing to show after its name
    elif type(param) is TyperArgument:
        if param.metavar is None:
            param.metavar = (param.name or "value").upper()
        param.__class__ = _NamedArgument  # same state, other display methods
    return param


def say(text: str) -> None:
    """Plain text on stdout, never wrapped (a piped summary stays one line), never markup, and with
    the control characters of any key or file name in it escaped."""
    lines = "\n".join(shown(line) for line in text.split("\n"))
    console.print(lines, markup=False, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a one-line reason and return the exit to raise."""
    _tell(message, "red")
    return typer.Exit(code)


def warn(message: str) -> None:
    """A one-line warning on stderr; the command goes on."""
    _tell(message, "yellow")


def _tell(message: str, colour: str) -> None:
    # The message often names a key, a file or a reason from outside: literal, never markup.
    err.print(Text.assemble(("imgpipe:", colour), " ", literal(message)), highlight=False, soft_wrap=True)


@contextmanager
def aws_errors() -> Iterator[None]:
    """Turn the AWS failures a user can cause into one-line reasons."""
    try:
        yield
    except EndpointConnectionError as exc:
        hint = " (is `imgpipe local up` running?)" if os.environ.get("AWS_ENDPOINT_URL") else ""
        raise fail(f"cannot reach {exc.kwargs.get('endpoint_url', 'the AWS endpoint')}{hint}") from exc
    except NoCredentialsError as exc:  # found when signing, before the request: a missing setting
        raise fail(
            "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY", 2
        ) from exc
    except ParamValidationError as exc:  # botocore refused a name before sending: a bad option
        report = str(exc.kwargs.get("report", exc)).strip().replace("\n", "; ")
        raise fail(report, 2) from exc
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise fail(f"{exc.operation_name} failed: {error.get('Code')}: {error.get('Message', '')}") from exc
    except BotoCoreError as exc:
        raise fail(str(exc)) from exc


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def stop_on_signals() -> None:
    """Make Ctrl-C and SIGTERM both raise KeyboardInterrupt here, however the process was started,
    so `finally` blocks stop every process this command started.

    A shell starts a background job (`cmd &` without job control, as scripts, `nohup` setups and
    some CI runners do) with SIGINT ignored, and Python keeps an inherited SIG_IGN: a command that
    promises to stop on Ctrl-C would otherwise ignore it. Only commands that wait call this.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)


def clients() -> tuple[S3Client, SQSClient]:
    """S3 and SQS clients configured as the AWS CLI v2 would be (`aws_clients`); a bad or missing
    setting is a usage error naming the variable."""
    try:
        return make_clients()
    except ConfigError as exc:
        raise fail(str(exc), 2) from exc


def settings(**overrides: Any) -> Settings:
    """The worker's settings as the environment gives them (IMGPIPE_VARIANTS and the limits), or
    a usage error naming each bad variable; `overrides` stand in for what the command sets itself."""
    from shared.settings import load_settings

    try:
        return load_settings(**{"output_bucket": "imgpipe-output", **overrides})
    except ConfigError as exc:
        raise fail(str(exc), 2) from exc


def progress(enabled: bool = True) -> Progress:
    """A progress bar on stderr, so stdout carries only the command's output (tables or JSON)."""
    # Off when stderr is not a terminal: a CI log gets the summary, not bar frames.
    return Progress(console=err, transient=True, disable=not (enabled and err.is_terminal))


def collect_files(paths: list[Path], allow_empty: bool = False) -> Selection:
    """The image files named or found in folders, and the skipped ones; a missing path or (unless
    `allow_empty`) no image at all is a usage error."""
    from deploy.ops.uploads import select

    try:
        selection = select(paths)
    except FileNotFoundError as exc:
        raise fail(str(exc), 2) from exc
    if not selection.files and not allow_empty:
        raise nothing_to_do(paths, selection)
    return selection


def nothing_to_do(paths: list[Path], selection: Selection) -> typer.Exit:
    """The usage error for paths that hold no image file, naming what was skipped and why."""
    skipped = "; ".join(f"{s.path}: {s.reason}" for s in selection.skipped[:3])
    more = f" and {len(selection.skipped) - 3} more" if len(selection.skipped) > 3 else ""
    reason = f" (skipped {skipped}{more})" if skipped else ""
    return fail(f"no image files in {', '.join(map(str, paths))}{reason}", 2)
