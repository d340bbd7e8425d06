"""The `imgpipe` command: the operator's and the new user's way in.

Thin commands only, one module per group: `local` (demo, render, the local stack, the worker),
`pipeline` (upload, presign), `status`, `dlq`; the shared pieces are in `common`. The work they
call lives in `deploy.local` and `deploy.ops`.
"""

from __future__ import annotations

import typer

from deploy.cli import dlq, local, maintenance, pipeline, status
from deploy.cli.common import Group, console, err

app = typer.Typer(
    cls=Group,
    help="imgpipe: every uploaded image turned into web-ready size variants, with libvips.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for group in (local, pipeline, maintenance, status, dlq):
    group.register(app)

__all__ = ["app", "console", "err", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
