"""The `imgpipe` command: the operator's and the new user's way in.

Thin commands only, one module per group: `local` (demo, render, the local stack, the worker),
`pipeline` (upload, presign), `status`, `dlq`, `loadtest` (a runner of its own); the shared
pieces are in `common`. The work they call lives in `deploy.local` and `deploy.ops`.
"""

from __future__ import annotations

import sys

import typer

try:  # typer >= 0.24 carries its own copy of click and does not re-export its exceptions
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older typer runs on click itself
    from click import exceptions as click_errors  # type: ignore[no-redef]

from deploy.cli import dlq, loadtest, local, login, pipeline, reprocess, status, sweep
from deploy.cli.common import Group, console, err, fail

app = typer.Typer(
    cls=Group,
    help="imgpipe: every uploaded image turned into web-ready size variants, with libvips.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for group in (local, login, pipeline, reprocess, sweep, status, dlq, loadtest):
    group.register(app)

__all__ = ["app", "console", "err", "main"]


def main() -> None:
    """Console-script entry point: a usage error is one line naming the problem, and exits 2."""
    try:
        code = app(prog_name="imgpipe", standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click_errors.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "imgpipe"
        fail(f"{exc.format_message()} (see `{where} --help`)", 2)
        sys.exit(2)
    except click_errors.ClickException as exc:
        fail(exc.format_message(), exc.exit_code)
        sys.exit(exc.exit_code)
    except typer.Abort:
        fail("aborted", 130)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
