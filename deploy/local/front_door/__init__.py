"""The local stand-in for API Gateway in front of the client API: the routes, the JWT authorizer
over the local Cognito pool, CORS, and the v2.0 event the handler gets (issue 21).

`app.FrontDoor` is the WSGI application (werkzeug, PyJWT: only the door's own process loads
them), `FrontDoorProcess` runs it beside the moto server; this package re-exports only what the
stack and the CLI need, so `imgpipe` starts without either library.
"""

from deploy.local.front_door.process import (
    API_HANDLER,
    API_PORT_VARIABLE,
    DEFAULT_API_PORT,
    FrontDoorError,
    FrontDoorProcess,
)
from deploy.local.front_door.routes import ROUTES, Route

__all__ = [
    "API_HANDLER",
    "API_PORT_VARIABLE",
    "DEFAULT_API_PORT",
    "ROUTES",
    "FrontDoorError",
    "FrontDoorProcess",
    "Route",
]
