"""Who is calling: the verified token's `sub`, and nothing the client sends.

API Gateway's JWT authorizer verified the token and put its claims in the event; the user id
is the `sub` claim. A request without one should never reach the function (the authorizer
answers 401 first), so one that does is refused the same way rather than trusted.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from shared.keys import WATERMARKED_USER
from worker.api.ids import is_image_id
from worker.api.problems import UNAUTHENTICATED, ApiProblem


def subject(event: APIGatewayProxyEventV2) -> str | None:
    """The `sub` claim the authorizer verified, when it can name an upload prefix; else None."""
    sub = event.request_context.authorizer.jwt_claim.get("sub")
    # A user id is a key segment: the same alphabet as an imageId, and never the reserved one.
    if not isinstance(sub, str) or not is_image_id(sub) or sub == WATERMARKED_USER:
        return None
    return sub


def caller(event: APIGatewayProxyEventV2) -> str:
    """The caller's user id; `ApiProblem` 401 when the request carries no usable identity."""
    sub = subject(event)
    if sub is None:
        raise ApiProblem(UNAUTHENTICATED, "the request carries no verified token with a usable sub claim")
    return sub
