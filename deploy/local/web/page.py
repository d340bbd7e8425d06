"""What the local stack tells the uploader page: its config.json and the headers it is served with.

The page reads everything about a deployment from config.json beside it (the same build serves
every deployment); locally it signs in with a user name (`mode: local`), through two paths of its
own server: `/local/users` creates the user and hands over its password, as `imgpipe login` does,
and `/local/cognito-idp` carries Cognito's InitiateAuth to the moto server, which a browser
cannot call directly (moto answers a CORS preflight without AWS headers as an S3 request, with a
500). The headers are those Terraform's CloudFront distribution sends (deploy/terraform/web.tf),
with this stack's origins in the Content-Security-Policy, so a page that breaks the policy breaks
here first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

DIST = Path(__file__).resolve().parents[2] / "web" / "dist"  # deploy/web/dist, built by `make web`
USERS_PATH = "/local/users"
COGNITO_PATH = "/local/cognito-idp"
CONCURRENCY = 6  # transfers to S3 at once: a browser's connections per host over HTTP/1.1


def page_config(api_url: str, pool_id: str, client_id: str, region: str) -> dict[str, Any]:
    """The page's config.json for this stack."""
    return {
        "apiUrl": api_url,
        "concurrency": CONCURRENCY,
        "auth": {
            "mode": "local",
            "clientId": client_id,
            "userPoolId": pool_id,
            "region": region,
            "cognitoEndpoint": COGNITO_PATH,
            "usersEndpoint": USERS_PATH,
        },
    }


def content_security_policy(api_url: str, storage_origins: list[str]) -> str:
    """The page may talk to itself, the API and the buckets, and show images from the buckets."""
    storage = " ".join(storage_origins)
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: blob: {storage}",  # data: the ThumbHash placeholders
            f"connect-src 'self' {api_url} {storage}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(api_url: str, storage_origins: list[str]) -> dict[str, str]:
    """The response headers of every page response, as CloudFront's response headers policy sets them."""
    return {
        "content-security-policy": content_security_policy(api_url, storage_origins),
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "strict-origin-when-cross-origin",
    }
