"""`python -m deploy.local.web`: the uploader page's server in a process of its own, as the stack
runs it. Arguments say where it listens (the stack passes the socket it reserved), what it serves
and which API and user pool the page is pointed at. SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

import boto3
from werkzeug.serving import make_server

from deploy.local.cognito import UserPool
from deploy.local.web.app import WebApp
from deploy.local.web.page import page_config, security_headers


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line: where to listen, what to serve, which stack the page talks to."""
    parser = argparse.ArgumentParser(prog="python -m deploy.local.web", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fd", type=int, help="a socket already listening on --port, to serve on")
    parser.add_argument("--root", type=Path, required=True, help="the built page (deploy/web/dist)")
    parser.add_argument("--api-url", required=True, help="the client API's base URL")
    parser.add_argument("--pool-id", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--endpoint", required=True, help="the moto server (Cognito, and the buckets)")
    return parser.parse_args(argv)


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # werkzeug's serve_forever closes the socket on it


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM or Ctrl-C."""
    args = parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    pool = UserPool(args.pool_id, args.client_id, args.region, args.endpoint)
    app = WebApp(
        args.root,
        page_config(args.api_url, args.pool_id, args.client_id, args.region),
        security_headers(args.api_url, [args.endpoint]),
        pool,
        lambda: boto3.client("cognito-idp", region_name=args.region, endpoint_url=args.endpoint),
    )
    signal.signal(signal.SIGTERM, _stop)
    server = make_server(args.host, args.port, app, threaded=True, fd=args.fd)
    logging.getLogger("imgpipe.web").info("serving %s on http://%s:%d", args.root, args.host, server.port)
    server.serve_forever()


if __name__ == "__main__":
    main()
