"""The routes API Gateway is deployed with are the routes the local front door serves.

The door (`deploy.local.front_door.routes`) is how every local test reaches the API, and
tests/integration/test_front_door_api.py holds it equal to the handler's own OpenAPI paths; this
holds Terraform to the door, so a route added to the code and not to the gateway (a 404 on AWS
only) or guarded differently (a public route behind the authorizer, or the reverse) fails here.
"""

from __future__ import annotations

import pytest

from deploy.local.front_door.routes import ROUTES
from tests.policy.hcl import ROOT, load
from tests.unit.test_terraform_api import routes

pytestmark = pytest.mark.unit


def test_terraform_deploys_exactly_the_front_doors_routes_with_the_same_guard() -> None:
    deployed = routes(load(ROOT))
    assert set(deployed) == {route.key for route in ROUTES}
    for route in ROUTES:
        expected = "JWT" if route.authorized else "NONE"
        assert deployed[route.key]["authorization_type"] == expected, route.key
