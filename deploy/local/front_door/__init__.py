"""The local stand-in for API Gateway in front of the client API: the routes, the JWT authorizer
over the local Cognito pool, CORS, and the v2.0 event the handler gets (issue 21).

`FrontDoor` is the WSGI application, `FrontDoorProcess` runs it beside the moto server.
"""

from deploy.local.front_door.app import FrontDoor, load_handler
from deploy.local.front_door.authorizer import JwtAuthorizer, Unauthorized
from deploy.local.front_door.cors import Cors, cors_from_environment
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
    "Cors",
    "FrontDoor",
    "FrontDoorError",
    "FrontDoorProcess",
    "JwtAuthorizer",
    "Route",
    "Unauthorized",
    "cors_from_environment",
    "load_handler",
]
