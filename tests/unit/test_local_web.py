"""The local web server's own rules, without sockets: what config.json tells the page, the
headers every answer carries, what its sign-in paths refuse, how it serves the build, and the
ports and CORS origins `imgpipe local up` gives it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from deploy.cli.local import web_port_for
from deploy.local.cognito import UserPool
from deploy.local.front_door.cors import ORIGINS_VARIABLE
from deploy.local.web import DEFAULT_WEB_PORT, page_config, security_headers, with_origin
from deploy.local.web.app import INITIATE_AUTH, WebApp
from deploy.local.web.page import COGNITO_PATH, USERS_PATH

pytestmark = pytest.mark.unit

POOL = UserPool("us-east-1_abc", "client123", "us-east-1", "http://127.0.0.1:4580")
API = "http://127.0.0.1:4581"


def unreachable_cognito() -> Any:
    raise AssertionError("a refused request must never reach the user pool")


def client(root: Path) -> Client:
    config = page_config(API, POOL.pool_id, POOL.client_id, POOL.region)
    app = WebApp(root, config, security_headers(API, [POOL.endpoint]), POOL, unreachable_cognito)
    return Client(app)


@pytest.fixture
def built(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>page</title>")
    (tmp_path / "assets" / "index-abc.js").write_text("console.log(1)")
    return tmp_path


def test_config_points_the_page_at_this_stack_and_its_local_sign_in(built: Path) -> None:
    response = client(built).get("/config.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.get_json() == {
        "apiUrl": API,
        "concurrency": 6,
        "auth": {"mode": "local", "clientId": "client123", "userPoolId": "us-east-1_abc",
                 "region": "us-east-1", "cognitoEndpoint": COGNITO_PATH, "usersEndpoint": USERS_PATH},
    }  # fmt: skip


@pytest.mark.parametrize("path", ["/", "/config.json", "/assets/index-abc.js", "/missing.js", USERS_PATH])
def test_every_answer_carries_the_security_headers(built: Path, path: str) -> None:
    response = client(built).get(path)
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    # the page may call the API and the buckets, and show the buckets' images and its placeholders
    assert f"connect-src 'self' {API} {POOL.endpoint}" in policy
    assert f"img-src 'self' data: blob: {POOL.endpoint}" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


def test_the_build_is_served_with_hashed_assets_cached_for_good(built: Path) -> None:
    page = client(built).get("/")
    assert page.status_code == 200 and b"<title>page</title>" in page.data
    assert page.headers["cache-control"] == "no-cache"
    asset = client(built).get("/assets/index-abc.js")
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert client(built).get("/missing.js").status_code == 404
    assert client(built).get("/../secret").status_code == 404


def test_without_a_build_the_page_says_how_to_make_one(tmp_path: Path) -> None:
    response = client(tmp_path).get("/")
    assert response.status_code == 503
    assert b"make web" in response.data


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [("text/plain", '{"user": "alice"}', 415), ("application/json", "{}", 400),
     ("application/json", '{"user": ""}', 400), ("application/json", '{"user": "a b"}', 400),
     ("application/json", json.dumps({"user": "x" * 129}), 400), ("application/json", "[1]", 400)],
    ids=["not-json", "no-user", "empty", "space", "too-long", "not-an-object"],
)  # fmt: skip
def test_local_users_refuses_what_is_not_a_plain_user_name(
    built: Path, content_type: str, body: str, status: int
) -> None:
    response = client(built).post(USERS_PATH, data=body, content_type=content_type)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == status


@pytest.mark.parametrize("target", ["", "AWSCognitoIdentityProviderService.AdminCreateUser",
                                    "AWSCognitoIdentityProviderService.SignUp"])  # fmt: skip
def test_only_initiate_auth_is_carried_to_the_pool(built: Path, target: str) -> None:
    response = client(built).post(COGNITO_PATH, data="{}", headers={"x-amz-target": target})
    assert response.status_code == 403
    assert INITIATE_AUTH in response.get_json()["detail"]


@pytest.mark.parametrize("path", [USERS_PATH, COGNITO_PATH])
def test_sign_in_paths_take_post_only(built: Path, path: str) -> None:
    assert client(built).get(path).status_code == 405


@pytest.mark.parametrize(
    ("port", "web_port", "chosen"),
    [(4580, None, (4582, True)), (0, None, (None, True)), (65534, None, (None, True)),
     (4580, 9000, (9000, False)), (4580, 0, (None, False))],
)  # fmt: skip
def test_the_page_listens_two_past_a_fixed_moto_port_unless_given(
    port: int, web_port: int | None, chosen: tuple[int | None, bool]
) -> None:
    assert web_port_for(port, web_port) == chosen
    assert web_port_for(4580, None)[0] == DEFAULT_WEB_PORT


@pytest.mark.parametrize(
    ("configured", "expected"),
    [(None, None), ("", ""), ('["https://app.example"]', '["https://app.example", "http://127.0.0.1:4582"]'),
     ('["*"]', '["*"]'), ('["http://127.0.0.1:4582"]', '["http://127.0.0.1:4582"]'),
     ("not json", "not json")],
    ids=["unset", "empty", "a-list", "any", "already-there", "not-json"],
)  # fmt: skip
def test_an_explicit_cors_list_gets_the_page_origin(configured: str | None, expected: str | None) -> None:
    env = {} if configured is None else {ORIGINS_VARIABLE: configured}
    assert with_origin(env, "http://127.0.0.1:4582").get(ORIGINS_VARIABLE) == expected
