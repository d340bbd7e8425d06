"""A pre-signed POST upload (S3's browser form) as S3 checks it: the form against its signed
policy first, then IAM.

From the S3 API Reference ("Browser-based uploads using POST", "Creating a POST policy"):
- every form field except `x-amz-signature`, `file`, `policy` and `x-ignore-*` must be covered by
  a condition of the signed policy (an exact `{"field": value}` / `["eq", "$field", value]`, or a
  `["starts-with", "$field", prefix]`), or S3 refuses the form; boto3's `generate_presigned_post`
  adds conditions only for the bucket, the key and the signature's own fields, never for the
  `Fields` it is given;
- field names are case-insensitive;
- the upload is then an `s3:PutObject` by whoever signed the form, and its fields are the
  request's condition keys (`x-amz-server-side-encryption` -> `s3:x-amz-server-side-encryption`),
  so a bucket policy's Deny on unencrypted uploads meets a browser's POST as it meets a PUT.
`upload_wire` turns a form into the request `tests.policy.wire.requests` maps, KMS included.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from tests.policy.capture import Wire

UNSIGNED = {"x-amz-signature", "file", "policy"}


def signed_policy(fields: Mapping[str, str]) -> dict[str, Any]:
    """The form's policy document, decoded from its base64 `policy` field."""
    return dict(json.loads(base64.b64decode(fields["policy"])))


def _conditions(policy: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The policy's exact values and prefixes, by lower-cased field name."""
    exact: dict[str, str] = {}
    prefixes: dict[str, str] = {}
    for condition in policy.get("conditions", []):
        if isinstance(condition, dict):
            exact |= {str(k).lower(): str(v) for k, v in condition.items()}
        elif condition[0] == "eq":
            exact[str(condition[1]).lstrip("$").lower()] = str(condition[2])
        elif condition[0] == "starts-with":
            prefixes[str(condition[1]).lstrip("$").lower()] = str(condition[2])
    return exact, prefixes


def uncovered(fields: Mapping[str, str]) -> list[str]:
    """Every form field S3 would refuse the form for: no condition covers it, or its value is not
    the one signed ([] when S3 accepts the form)."""
    exact, prefixes = _conditions(signed_policy(fields))
    gaps = []
    for name, value in fields.items():
        field = name.lower()
        if field in UNSIGNED or field.startswith("x-ignore-"):
            continue
        if field in exact:
            if exact[field] != value:
                gaps.append(f"{name}: signed as {exact[field]!r}, the form sends {value!r}")
        elif field in prefixes:
            if not value.startswith(prefixes[field]):
                gaps.append(f"{name}: signed to start with {prefixes[field]!r}, the form sends {value!r}")
        else:
            gaps.append(f"{name}: no condition of the signed policy covers it (S3 refuses the form)")
    return gaps


def length_range(fields: Mapping[str, str]) -> tuple[int, int] | None:
    """The signed `content-length-range` (smallest, largest bytes), if the policy bounds the size."""
    for condition in signed_policy(fields).get("conditions", []):
        if isinstance(condition, list) and condition[0] == "content-length-range":
            return int(condition[1]), int(condition[2])
    return None


def bucket_of(url: str) -> str:
    """The bucket a form posts to: path-style (an emulator's) or virtual-hosted (AWS's)."""
    parts = urlsplit(url)
    path = parts.path.strip("/")
    if path:
        return path.split("/", 1)[0]
    return (parts.hostname or "").split(".s3", 1)[0]


def upload_wire(client: str, url: str, fields: Mapping[str, str]) -> Wire:
    """The browser's upload with this form, as a path-style PutObject whose headers are the form's
    fields, which is how S3 evaluates it for IAM."""
    key = fields["key"]
    path = f"/{bucket_of(url)}/{quote(key)}"
    headers = {name.lower(): value for name, value in fields.items() if name.lower() not in UNSIGNED}
    return Wire(client, "s3.PutObject", "POST", f"https://s3.amazonaws.com{path}", headers)
