"""The web uploader on the local stack: the built page (deploy/web/dist) served on an origin of
its own, with the config.json that points it at this stack's API and user pool, and the local
sign-in it needs (issue 22).

`app.WebApp` is the WSGI application (werkzeug, requests, boto3: only the server's own process
loads them); `WebServerProcess` runs it beside the front door; this package re-exports what the
stack and the CLI need.
"""

from deploy.local.web.page import DIST, page_config, security_headers
from deploy.local.web.process import (
    DEFAULT_WEB_PORT,
    WEB_PORT_VARIABLE,
    WebServerError,
    WebServerProcess,
    reserve_web,
    with_origin,
)

__all__ = [
    "DEFAULT_WEB_PORT",
    "DIST",
    "WEB_PORT_VARIABLE",
    "WebServerError",
    "WebServerProcess",
    "page_config",
    "reserve_web",
    "security_headers",
    "with_origin",
]
