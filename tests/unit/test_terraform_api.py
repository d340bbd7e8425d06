"""The client API's Terraform, read with python-hcl2: its function, HTTP API and sign-in.

The function is the worker's artifact with another entry point; every route but the OpenAPI
document is behind the JWT authorizer (API Gateway refuses a missing, expired or foreign token
before the function runs); the user pool is optional, replaced by any OIDC issuer.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from shared.settings import ENV_PREFIX
from tests.policy import deployment
from tests.policy.hcl import ROOT, load
from worker.api.settings import MAX_UPLOAD_URL_TTL_S, ApiSettings, load_api_settings

pytestmark = pytest.mark.unit

# The contract's routes (DESIGN.md, "Client API").
ROUTES = {
    "POST /v1/uploads",
    "POST /v1/uploads/batch",
    "GET /v1/images/{imageId}",
    "GET /v1/images",
    "DELETE /v1/images/{imageId}",
    "GET /v1/openapi.json",
}
PUBLIC = "GET /v1/openapi.json"


@pytest.fixture(scope="module")
def tf() -> dict[str, Any]:
    return load(ROOT)


def one(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


def default(tf: dict[str, Any], name: str) -> Any:
    return tf["variable"][name]["default"]


def routes(tf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each route key -> its route block (the authorized for_each expanded over its keys)."""
    found = tf["resource"]["aws_apigatewayv2_route"]
    authorized = found["authorized"]
    assert authorized["for_each"] == "${toset(local.api_authorized_routes)}"
    expanded = {key: authorized | {"route_key": key} for key in tf["locals"]["api_authorized_routes"]}
    others = {body["route_key"]: body for name, body in found.items() if name != "authorized"}
    assert not expanded.keys() & others.keys()
    return expanded | others


def test_the_api_function_is_the_worker_artifact_with_its_own_entry_point(tf: dict[str, Any]) -> None:
    functions = tf["resource"]["aws_lambda_function"]
    api, worker = functions["api"], functions["worker"]
    assert api["handler"] == "worker.api.handler.handler"
    for same in ("filename", "source_code_hash", "runtime", "architectures", "kms_key_arn"):
        assert api[same] == worker[same], same
    assert api["runtime"] == "python3.12" and api["architectures"] == ["${var.architecture}"]
    assert default(tf, "architecture") == "arm64"
    assert one(api["tracing_config"])["mode"] == one(worker["tracing_config"])["mode"] == "Active"
    assert api["role"] == "${aws_iam_role.api.arn}"
    group = tf["resource"]["aws_cloudwatch_log_group"]["api"]
    assert group["name"] == "/aws/lambda/${local.names.api}"
    assert group["retention_in_days"] == "${var.log_retention_days}"
    assert group["kms_key_id"] == "${aws_kms_key.main.arn}"


def test_the_api_is_told_exactly_its_settings_and_the_workers_buckets_key_and_limit(
    tf: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given both functions' environments
    functions = tf["resource"]["aws_lambda_function"]
    api = one(functions["api"]["environment"])["variables"]
    worker = one(functions["worker"]["environment"])["variables"]
    # Then the API is told exactly what its settings model reads, the shared values as the worker is
    assert {n for n in api if n.startswith(ENV_PREFIX)} == {
        f"{ENV_PREFIX}{f.upper()}" for f in ApiSettings.model_fields
    }
    for same in ("IMGPIPE_OUTPUT_BUCKET", "IMGPIPE_KMS_KEY_ID", "IMGPIPE_MAX_BYTES"):
        assert api[same] == worker[same], same
    assert api["IMGPIPE_CORS_ORIGINS"] == "${jsonencode(local.api_cors_origins)}"  # web.tf adds the page
    assert api["POWERTOOLS_SERVICE_NAME"] == "${var.name_prefix}-api"
    # And the defaults are the model's, and Terraform refuses at plan time what the model refuses
    fields = ApiSettings.model_fields
    for name in ("upload_url_ttl_s", "download_url_ttl_s"):
        assert default(tf, f"api_{name}") == fields[name].default, name
        bounds = {type(m).__name__: m for m in fields[name].metadata}
        (validation,) = tf["variable"][f"api_{name}"]["validation"]
        expected = f"${{var.api_{name} >= {bounds['Ge'].ge} && var.api_{name} <= {bounds['Le'].le}}}"
        assert validation["condition"] == expected
    assert MAX_UPLOAD_URL_TTL_S == 3600  # a signed upload is good for an hour at most
    # And the environment Terraform renders passes the API's own validation at cold start
    for name, value in deployment().scope.resolve(api).items():
        monkeypatch.setenv(name, str(value))
    settings = load_api_settings()
    assert (settings.upload_url_ttl_s, settings.download_url_ttl_s) == (900, 300)
    assert settings.max_bytes == default(tf, "max_bytes") and settings.kms_key_id


def test_every_route_but_the_openapi_document_needs_the_jwt_authorizer(tf: dict[str, Any]) -> None:
    # Given every route of the HTTP API
    found = routes(tf)
    assert set(found) == ROUTES
    # Then each reaches the API function, and all but the OpenAPI document need a valid JWT
    for key, route in found.items():
        assert route["api_id"] == "${aws_apigatewayv2_api.client.id}", key
        assert route["target"] == "integrations/${aws_apigatewayv2_integration.api.id}", key
        if key == PUBLIC:
            assert route["authorization_type"] == "NONE" and "authorizer_id" not in route
        else:
            assert route["authorization_type"] == "JWT", key
            assert route["authorizer_id"] == "${aws_apigatewayv2_authorizer.jwt.id}", key
    integration = tf["resource"]["aws_apigatewayv2_integration"]["api"]
    assert integration["integration_uri"] == "${aws_lambda_function.api.invoke_arn}"
    assert (integration["integration_type"], integration["payload_format_version"]) == ("AWS_PROXY", "2.0")


def test_the_authorizer_checks_the_bearer_token_against_the_pool_or_the_given_issuer(
    tf: dict[str, Any],
) -> None:
    authorizer = tf["resource"]["aws_apigatewayv2_authorizer"]["jwt"]
    assert authorizer["authorizer_type"] == "JWT"
    assert authorizer["identity_sources"] == ["$request.header.Authorization"]
    assert one(authorizer["jwt_configuration"]) == {
        "issuer": "${local.api_issuer}",
        "audience": "${local.api_audience}",
    }
    local = tf["locals"]
    assert local["own_user_pool"] == '${var.api_oidc_issuer == ""}'
    assert local["api_issuer"] == (
        '${local.own_user_pool ? "https://${aws_cognito_user_pool.users[0].endpoint}" : var.api_oidc_issuer}'
    )
    assert local["api_audience"] == (
        "${local.own_user_pool ? [aws_cognito_user_pool_client.app[0].id] : var.api_oidc_audience}"
    )
    # And the issuer and audience variables go together (both, or neither and a pool of our own)
    conditions = [v["condition"] for v in tf["variable"]["api_oidc_issuer"]["validation"]]
    assert '${(var.api_oidc_issuer == "") == (length(var.api_oidc_audience) == 0)}' in conditions


def test_the_user_pool_is_made_only_without_an_issuer_and_its_client_is_public(tf: dict[str, Any]) -> None:
    cognito = tf["resource"]
    for kind, name in [("aws_cognito_user_pool", "users"), ("aws_cognito_user_pool_client", "app")]:
        assert cognito[kind][name]["count"] == "${local.own_user_pool ? 1 : 0}", kind
    client = cognito["aws_cognito_user_pool_client"]["app"]
    assert client["generate_secret"] is False
    flows = re.fullmatch(
        r'\$\{concat\((\[.*?\]), var\.api_password_auth \? \["ALLOW_USER_PASSWORD_AUTH"\] : \[\]\)\}',
        re.sub(r"\s+", " ", client["explicit_auth_flows"]),
    )
    assert flows is not None, client["explicit_auth_flows"]
    assert flows.group(1) == '["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]'
    assert default(tf, "api_password_auth") is False  # the password itself is never sent by default
    assert client["allowed_oauth_flows"] == '${local.hosted_ui ? ["code"] : []}'
    assert client["callback_urls"] == "${local.api_callback_urls}"  # the web uploader's, then the variable's
    assert tf["locals"]["hosted_ui"] == "${local.own_user_pool}"


def test_cors_throttling_and_access_logs(tf: dict[str, Any]) -> None:
    api = tf["resource"]["aws_apigatewayv2_api"]["client"]
    cors = one(api["cors_configuration"])
    assert cors["allow_origins"] == "${local.api_cors_origins}"  # never empty: the web uploader's origin
    stage = tf["resource"]["aws_apigatewayv2_stage"]["default"]
    route_defaults = one(stage["default_route_settings"])
    assert route_defaults["throttling_rate_limit"] == "${var.api_throttle_rate}"
    assert route_defaults["throttling_burst_limit"] == "${var.api_throttle_burst}"
    (batch,) = stage["route_settings"]
    assert batch["route_key"] == "${local.api_batch_route}"
    assert tf["locals"]["api_batch_route"] == "POST /v1/uploads/batch"
    assert default(tf, "api_batch_throttle_rate") < default(tf, "api_throttle_rate")
    assert default(tf, "api_batch_throttle_burst") < default(tf, "api_throttle_burst")
    logs = one(stage["access_log_settings"])
    assert logs["destination_arn"] == "${aws_cloudwatch_log_group.api_access.arn}"
    fields = dict(re.findall(r'(\w+) = "([^"]*)"', logs["format"]))
    assert logs["format"].startswith("${jsonencode({") and fields["requestId"] == "$context.requestId"
    assert {"status", "routeKey", "authorizerError", "sub", "integrationError"} <= set(fields)
    group = tf["resource"]["aws_cloudwatch_log_group"]["api_access"]
    assert (group["retention_in_days"], group["kms_key_id"]) == (
        "${var.log_retention_days}",
        "${aws_kms_key.main.arn}",
    )


def test_only_the_http_api_may_invoke_the_function(tf: dict[str, Any]) -> None:
    (permission,) = tf["resource"]["aws_lambda_permission"].values()
    assert permission["function_name"] == "${aws_lambda_function.api.function_name}"
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["source_arn"] == "${aws_apigatewayv2_api.client.execution_arn}/*/*"


def test_outputs_give_the_url_the_pool_the_client_and_the_issuer(tf: dict[str, Any]) -> None:
    outputs = {name: spec["value"] for name, spec in tf["output"].items()}
    assert outputs["api_url"] == "${aws_apigatewayv2_api.client.api_endpoint}"
    assert outputs["user_pool_id"] == "${one(aws_cognito_user_pool.users[*].id)}"
    assert outputs["user_pool_client_id"] == "${one(aws_cognito_user_pool_client.app[*].id)}"
    assert outputs["issuer"] == "${local.api_issuer}"
