"""`python -m deploy.local.front_door`: the front door in a process of its own, as the stack runs it.

Arguments say where the API listens (the stack passes the socket it reserved), which function it
calls and which tokens it accepts; CORS comes from `IMGPIPE_CORS_ORIGINS` and everything else the
function reads (buckets, limits, the AWS endpoint) from the environment, as a Lambda function's
configuration would. SIGTERM stops it.
Requests are logged one line each (werkzeug's), as API Gateway's access log would have them.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from werkzeug.serving import make_server

from deploy.local.front_door.app import FUNCTION_TIMEOUT_S, FrontDoor
from deploy.local.front_door.authorizer import JwtAuthorizer
from deploy.local.front_door.cors import cors_from_environment
from deploy.local.front_door.environments import ENVIRONMENTS
from shared.errors import ConfigError


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line: where to listen, what to call, which tokens to accept."""
    parser = argparse.ArgumentParser(prog="python -m deploy.local.front_door", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fd", type=int, help="a socket already listening on --port, to serve on")
    parser.add_argument("--handler", required=True, help="dotted path, e.g. worker.api.handler.handler")
    parser.add_argument("--issuer", required=True, help="the tokens' iss")
    parser.add_argument("--audience", action="append", required=True, help="an accepted app client id")
    parser.add_argument("--jwks-url", required=True, help="where the issuer's signing keys are")
    parser.add_argument("--timeout", type=float, default=FUNCTION_TIMEOUT_S, help="function timeout, s")
    parser.add_argument("--environments", type=int, default=ENVIRONMENTS,
                        help="execution environments (processes), one invocation at a time each")  # fmt: skip
    return parser.parse_args(argv)


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # werkzeug's serve_forever closes the socket on it


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM or Ctrl-C."""
    args = parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the door logs each request itself
    try:
        cors = cors_from_environment()
    except ConfigError as exc:
        print(f"imgpipe: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    authorizer = JwtAuthorizer(args.issuer, tuple(args.audience), args.jwks_url)
    door = FrontDoor(args.handler, authorizer, cors, timeout_s=args.timeout, environments=args.environments)
    signal.signal(signal.SIGTERM, _stop)
    try:
        door.warm()
        server = make_server(args.host, args.port, door, threaded=True, fd=args.fd)
        logging.getLogger("imgpipe.front_door").info("listening on http://%s:%d", args.host, server.port)
        server.serve_forever()
    finally:
        door.close()


if __name__ == "__main__":
    main()
