"""`imgpipe dlq export | purge`: a complete backup of the DLQ, and deleting what was backed up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from deploy.cli.common import (
    DlqUrl,
    Json,
    aws_errors,
    clients,
    fail,
    say,
)
from deploy.cli.dlq import options as opt
from deploy.cli.output import print_json
from deploy.ops.dlq import (
    DlqReader,
)


def dlq_export(
    file: Annotated[Path, typer.Argument(metavar="FILE.jsonl", help="where to write the backup")],
    dlq_url: DlqUrl = "",
    error_type: opt.Types = None,
    user: opt.Users = None,
    older_than: opt.OlderThan = None,
    force: opt.Force = False,
    json_out: Json = False,
) -> None:
    """Back up quarantined messages to a JSON Lines file; they stay in the DLQ, visible again at once.

    Each line: {"messageId", "body", "messageAttributes": {NAME: {"DataType", "StringValue"}},
    "attributes"}. --json: {"file", "exported", "deleted": 0, "failed": 0, "failures": [], "read": READ}
    """
    from deploy.ops.dlq.export import export

    selection = opt.selection(error_type, user, older_than)
    opt.fresh(file, force)
    with aws_errors(), opt.file_errors(), DlqReader(clients()[1], opt.need(dlq_url)) as reader:
        result = export(reader, selection, file, force)
    opt.warn(result.read)
    if json_out:
        return print_json(result.as_json())
    say(f"exported {result.exported} message(s) to {file}")


def dlq_purge(
    dlq_url: DlqUrl = "",
    error_type: opt.Types = None,
    user: opt.Users = None,
    older_than: opt.OlderThan = None,
    export_to: Annotated[Path | None, typer.Option("--export", metavar="PATH", help="backup file")] = None,
    yes: opt.Yes = False,
    force: opt.Force = False,
    json_out: Json = False,
) -> None:
    """Delete the selected messages, after writing them to an export file (imgpipe-dlq-purge-TIME.jsonl).

    Needs --yes. --json: {"file", "exported", "deleted", "failed", "failures": [{"messageId", "reason"}],
    "read": READ}
    """
    from deploy.ops.dlq.export import default_purge_path, purge

    selection = opt.selection(error_type, user, older_than)
    if not yes:
        raise fail(f"purge deletes messages ({selection.describe()}): pass --yes", 2)
    path = export_to or default_purge_path()
    opt.fresh(path, force)
    with aws_errors(), opt.file_errors(), DlqReader(clients()[1], opt.need(dlq_url)) as reader:
        result = purge(reader, selection, path, force)
    opt.warn(result.read)
    if json_out:
        print_json(result.as_json())
    else:
        say(f"exported {result.exported} message(s) to {path}; deleted {result.deleted}")
    if result.failures:
        raise fail(f"{len(result.failures)} message(s) not deleted: {next(iter(result.failures.values()))}")
