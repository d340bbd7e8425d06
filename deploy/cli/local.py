"""`imgpipe local up | worker`: the commands that run the pipeline on this machine (`demo` and
`render`, in modules of their own, are registered from here too).

Settings the workers would refuse (IMGPIPE_VARIANTS, limits, the record budget) are checked
here, before anything starts, so a bad one is a usage error naming the variable rather than a
worker that dies in the background.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from deploy.cli.common import (
    Command,
    Group,
    QueueUrl,
    aws_errors,
    console,
    fail,
    say,
    stop_on_signals,
)
from deploy.cli.text import literal
from deploy.local.cpu_cap import BULK_CPU_SHARE, usable_cores
from deploy.local.front_door.process import API_PORT_VARIABLE
from deploy.local.motoserver import DEFAULT_PORT, PORT_VARIABLE
from deploy.local.web import WEB_PORT_VARIABLE
from shared.errors import ConfigError, ImgpipeError

local_app = typer.Typer(
    cls=Group, help="The embedded local stack (moto server + workers).", no_args_is_help=True
)
Workers = Annotated[int, typer.Option(metavar="N", help="worker processes, 1 or more")]
DEFAULT_WORKERS = max(1, os.cpu_count() or 1)


@local_app.command("up", cls=Command)
def local_up(
    port: Annotated[
        int,
        typer.Option(
            min=0,
            max=65535,
            envvar=PORT_VARIABLE,
            metavar="PORT",
            help="port for the moto server, the same every start (0: any free one)",
        ),
    ] = DEFAULT_PORT,
    api_port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            envvar=API_PORT_VARIABLE,
            metavar="PORT",
            help="port for the client API (IMGPIPE_API_URL); default: the moto port + 1, or any free one"
            " if that is taken (0: any free one)",
        ),
    ] = None,
    web_port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            envvar=WEB_PORT_VARIABLE,
            metavar="PORT",
            help="port for the web uploader; default: the moto port + 2, or any free one if that is"
            " taken (0: any free one)",
        ),
    ] = None,
    workers: Workers = DEFAULT_WORKERS,
    logs: Annotated[Path, typer.Option(metavar="DIR", help="folder for worker logs")] = Path("out/logs"),
    timeout: Annotated[
        int, typer.Option(min=1, max=900, metavar="SECONDS", help="the workers' function timeout, 1-900 s")
    ] = 60,
    bulk_cpu_share: Annotated[
        float,
        typer.Option(
            min=0,
            max=1,
            metavar="SHARE",
            help="the bulk lane's workers' CPU ceiling, a share of the cores (0: none, only their low"
            " priority; docs/fairness.md)",
        ),
    ] = BULK_CPU_SHARE,
) -> None:
    """Start the moto server, create the topology and the user pool, serve the client API and the
    web uploader, run workers until Ctrl-C.

    The stack keeps everything in memory: Ctrl-C discards every upload, result and DLQ message,
    and the next start is empty, on the same port (so the export lines stay valid).
    """
    from deploy.local.front_door.process import FrontDoorError
    from deploy.local.lanes import LanePlan
    from deploy.local.motoserver import MotoServerError
    from deploy.local.stack import LocalStack
    from deploy.local.topology import QueueSettings
    from deploy.local.web import WebServerError, WebServerProcess, reserve_web, with_origin

    check_workers(workers)
    queue = QueueSettings.for_timeout(timeout, QueueSettings().batching_window_s)
    check_config(queue)
    chosen, fallback = api_port_for(port, api_port)
    try:  # the page's port is taken first, as the API's is: nothing the stack starts can take it
        web_socket = reserve_web(*web_port_for(port, web_port))
    except WebServerError as exc:
        raise fail(str(exc)) from exc
    web = WebServerProcess(web_socket, log=logs / "web.log")
    os.environ.update(with_origin(os.environ, web.url))  # an explicit CORS list lets the page in
    stack = LocalStack(
        port=port or None,
        api_port=chosen,
        api_port_fallback=fallback,
        workers=workers,
        log_dir=logs,
        queue=queue,
        lanes=LanePlan(bulk_cpu_share=bulk_cpu_share or None),
    )
    stop_on_signals()
    try:
        stack.start()
        web.start(
            stack.user_pool, stack.environment()["IMGPIPE_API_URL"], {**os.environ, **stack.environment()}
        )
    except (MotoServerError, FrontDoorError, WebServerError) as exc:
        web.stop()
        stack.stop()
        raise fail(str(exc)) from exc
    try:
        _announce(stack, web, workers, logs, fixed_port=port != 0)
        while stack.alive() and web.running():
            time.sleep(0.5)
        raise fail(
            stack.failure() if not stack.alive() else f"the web server on {web.url} exited; see {web.log}"
        )
    except KeyboardInterrupt:
        console.print("stopping: workers finish their batch, then the server stops")
    finally:
        web.stop()
        stack.stop()
    console.print("stopped; the stack's state (buckets, queues, results) went with it")


def _announce(stack: Any, web: Any, workers: int, logs: Path, fixed_port: bool) -> None:
    """Where the stack is, how to reach it, and what a restart keeps: nothing."""
    console.print(
        Text.assemble(
            "local stack up at ", (stack.server.endpoint, "bold"), f" with {workers} workers; logs in ",
            literal(f"{logs}/"),
        )
    )  # fmt: skip
    if (cap := getattr(stack, "bulk_cap", None)) is not None:
        say(f"the bulk lane's workers use at most {cap.cores:g} of {usable_cores():g} cores, leaving the"
            " interactive lane room (--bulk-cpu-share, docs/fairness.md)")  # fmt: skip
    console.print("in another shell:")
    for name, value in {**stack.environment(), "IMGPIPE_WEB_URL": web.url}.items():
        console.print(f"  export {name}={value}", markup=False, highlight=False, soft_wrap=True)
    where = (
        f"on port {stack.server.port} again, so these exports stay valid"
        if fixed_port
        else "on another free port: export its lines again"
    )
    say(
        "state is in memory only: stopping this stack discards every upload, result and DLQ message;"
        f" the next `imgpipe local up` starts empty, {where}"
    )
    if "IMGPIPE_API_URL" in stack.environment():
        say('the client API takes a token: TOKEN=$(imgpipe login --user alice), then send'
            ' "Authorization: Bearer $TOKEN"')  # fmt: skip
    _announce_web(web)
    console.print("then: imgpipe upload PHOTOS... ; imgpipe status   (Ctrl-C here stops everything)")


def _announce_web(web: Any) -> None:
    """Where the web uploader is (and how to build it when it is not built)."""
    if not web.built():
        say(f"the web uploader is not built: run `make web`, then open {web.url}")
    console.print(f"open {web.url}   (the web uploader: sign in with any user name)", soft_wrap=True)


def web_port_for(port: int, web_port: int | None) -> tuple[int | None, bool]:
    """The page's port, as `api_port_for` chooses the API's: given, or two past a fixed moto port."""
    if web_port is not None:
        return web_port or None, False
    return (port + 2 if 0 < port < 65534 else None), True


def api_port_for(port: int, api_port: int | None) -> tuple[int | None, bool]:
    """The API's port (None: any free one) and whether another free one will do if it is taken: a
    port given is that port; else the one beside a fixed moto port, or any if that one is taken."""
    if api_port is not None:
        return api_port or None, False
    return (port + 1 if 0 < port < 65535 else None), True


def check_workers(workers: int | None) -> None:
    if workers is not None and workers < 1:
        raise fail(f"--workers must be 1 or more, not {workers}", 2)


def check_config(queue: Any) -> None:
    """The workers' settings, refused here (exit 2) rather than by a worker dying later."""
    from deploy.local.stack import check_config

    try:
        check_config(queue)
    except ConfigError as exc:  # TimeoutTooShort included: it names --timeout and the budget
        raise fail(str(exc), 2) from exc


def worker(
    queue_url: QueueUrl,
    batch_size: Annotated[
        int, typer.Option(min=1, max=10_000, metavar="N", help="records per invocation, 1-10000")
    ] = 10,
    window: Annotated[
        float, typer.Option(min=0, max=300, metavar="SECONDS", help="batching window, 0-300 s")
    ] = 0.0,
    timeout: Annotated[
        float, typer.Option(min=1, max=900, metavar="SECONDS", help="function timeout, 1-900 s")
    ] = 60.0,
) -> None:
    """Consume the queue like Lambda's event source mapping (local stack, ECS or EC2)."""
    from deploy.cli.aws_clients import make_clients
    from deploy.local.consumer import check_timeout, consume
    from deploy.local.topology import check_batching

    try:
        check_batching(batch_size, window)
        check_timeout(timeout)
        make_clients()  # the AWS settings every other command checks, before any poll
    except (ValueError, ConfigError) as exc:
        raise fail(str(exc), 2) from exc
    with aws_errors():
        try:
            consume(queue_url, batch_size, window, timeout)
        except ConfigError as exc:
            raise fail(str(exc), 2) from exc
        except ImgpipeError as exc:
            raise fail(str(exc)) from exc


def register(app: typer.Typer) -> None:
    """Add the local commands to the app: `demo`, `render` (modules of their own), `worker`, `local`."""
    from deploy.cli import demo, render

    demo.register(app)
    render.register(app)
    app.command(cls=Command)(worker)
    app.add_typer(local_app, name="local")
