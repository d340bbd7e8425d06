"""`--help` names things instead of typing them: no `<bool>` after a flag, no `<list[Path]>`.

Typer 0.29 labels every parameter with its Python type; the CLI's `Command` and `Group` classes
(deploy.cli.common) drop the label where it says nothing a user can act on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer

from deploy import cli
from deploy.cli.common import Command, Group
from tests.unit.test_cli import flat, invoke

pytestmark = pytest.mark.unit

TYPE_LABELS = ("<bool>", "<list[", "<int>", "<int range>", "<float>", "<float range>", "<path>", "<str>")


def command_paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command and group of the app, as the words that reach it."""
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from command_paths(sub, (*path, name))


ALL = list(command_paths(typer.main.get_command(cli.app)))
COMMANDS = [path for path in ALL if path]  # every command and sub-group; the root app is below


def test_every_command_is_checked() -> None:
    """An empty list would make the help check pass without looking at anything."""
    names = {" ".join(p) for p in COMMANDS}
    assert {
        "render",
        "upload",
        "reprocess",
        "sweep",
        "local",
        "local up",
        "presign upload",
        "status",
        "dlq",
        "dlq redrive",
    } <= names


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_help_has_no_python_type_labels(path: tuple[str, ...]) -> None:
    # Given a command of the app
    # When its help is shown
    result = invoke(*path, "--help")
    # Then it shows names (PATH, BUCKET) and bare flags, never a Python type
    assert result.exit_code == 0, result.output
    for label in TYPE_LABELS:
        assert label not in result.stdout, f"{' '.join(path)} --help shows {label}:\n{result.stdout}"


@pytest.mark.parametrize(
    ("path", "shown"),
    [(("render",), "{PATH}..."), (("upload",), "--bucket BUCKET"), (("presign", "upload"), "{FILENAME}"),
     (("presign", "download"), "{IMAGE_ID}"), (("local", "up"), "--logs DIR"),
     (("reprocess",), "--rate N"), (("sweep",), "--older-than DURATION")],
    ids=["render", "upload", "presign-upload", "presign-download", "local-up", "reprocess", "sweep"],
)  # fmt: skip
def test_help_names_what_an_argument_or_option_takes(path: tuple[str, ...], shown: str) -> None:
    result = invoke(*path, "--help")
    assert shown in flat(result.stdout)


def test_the_check_sees_a_type_label_where_typer_adds_one() -> None:
    """The test above can fail: typer's own classes do show the labels."""
    # Given an app built with typer's default classes, and the same with ours
    plain, ours = typer.Typer(), typer.Typer(cls=Group)
    for app, cls in ((plain, None), (ours, Command)):

        @app.command(cls=cls)
        def run(paths: list[str], dry_run: bool = False) -> None:
            """Run."""

        @app.command(cls=cls)
        def other() -> None:
            """Other."""

    # When each shows its help
    texts = [typer.testing.CliRunner().invoke(app, ["run", "--help"]).stdout for app in (plain, ours)]
    # Then only typer's shows them (the flag and list labels this tiny app has)
    assert all(label in texts[0] for label in ("<bool>", "<list["))
    assert not any(label in texts[1] for label in TYPE_LABELS)


def test_root_help_has_no_type_labels() -> None:
    result = invoke("--help")
    assert not any(label in result.stdout for label in TYPE_LABELS)
