"""The web uploader's Terraform (web.tf), read with python-hcl2: a private, encrypted, versioned
bucket that only this CloudFront distribution reads, security headers the local stack sends too,
and the page's origin wherever a browser on it is let in (the API's CORS, the input bucket's
CORS, the hosted UI's callback)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from deploy.local.web.page import content_security_policy
from tests.policy import Principal, Request, decide, deployment
from tests.policy.arns import ACCOUNT, PARTITION, bucket_arn
from tests.policy.deployment import WEB_DOMAIN, Deployment

pytestmark = pytest.mark.unit

WEB = f"https://{WEB_DOMAIN}"
PAGE_CONFIG_TS = Path(__file__).resolve().parents[2] / "deploy" / "web" / "src" / "config.ts"


@pytest.fixture(scope="module")
def dep() -> Deployment:
    return deployment()


def one(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


def resources(dep: Deployment, kind: str) -> dict[str, Any]:
    return dict(dep.tf["resource"][kind])


def cloudfront(dep: Deployment, distribution: str, action: str, resource: str, secure: bool = True) -> bool:
    context = {"AWS:SourceArn": distribution, "aws:SecureTransport": str(secure).lower()}
    request = Request(Principal("Service", "cloudfront.amazonaws.com"), action, resource, context)
    return decide(request, dep.resource_policy(resource)).allowed


def test_only_this_distribution_reads_the_page_and_only_over_tls(dep: Deployment) -> None:
    # Given the web bucket, its key, and the distribution the Terraform creates
    bucket = dep.value("aws_s3_bucket.web.bucket")
    assert bucket == f"imgpipe-web-{ACCOUNT}"
    page = f"{bucket_arn(bucket)}/index.html"
    key = dep.value("aws_kms_key.web.arn")
    ours = dep.value("aws_cloudfront_distribution.web.arn")
    other = f"arn:{PARTITION}:cloudfront::{ACCOUNT}:distribution/ESOMEONEELSE"
    # Then it may read the page and decrypt it, another distribution may do neither
    assert cloudfront(dep, ours, "s3:GetObject", page) and cloudfront(dep, ours, "kms:Decrypt", key)
    assert not cloudfront(dep, other, "s3:GetObject", page) and not cloudfront(dep, other, "kms:Decrypt", key)
    # And nothing else: no write, no listing, and no plain HTTP even for it
    assert not cloudfront(dep, ours, "s3:PutObject", page)
    assert not cloudfront(dep, ours, "s3:ListBucket", bucket_arn(bucket))
    assert not cloudfront(dep, ours, "s3:GetObject", page, secure=False)
    # And the bucket is encrypted with that key
    assert dep.key_for(bucket_arn(bucket)) == key


def test_the_bucket_is_private_versioned_logged_and_keeps_old_builds_a_month(dep: Deployment) -> None:
    flags = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    block = resources(dep, "aws_s3_bucket_public_access_block")["web"]
    assert all(block[flag] is True for flag in flags)
    ownership = one(resources(dep, "aws_s3_bucket_ownership_controls")["web"]["rule"])
    assert ownership["object_ownership"] == "BucketOwnerEnforced"
    versioning = resources(dep, "aws_s3_bucket_versioning")["web"]
    assert one(versioning["versioning_configuration"])["status"] == "Enabled"
    assert resources(dep, "aws_kms_key")["web"]["enable_key_rotation"] is True
    logging = resources(dep, "aws_s3_bucket_logging")["web"]
    assert logging["target_bucket"] == "${aws_s3_bucket.logs.id}" and logging["target_prefix"] == "s3/web/"
    rule = one(resources(dep, "aws_s3_bucket_lifecycle_configuration")["web"]["rule"])
    assert one(rule["noncurrent_version_expiration"])["noncurrent_days"] == 30


def test_cloudfront_serves_index_html_over_https_through_origin_access_control(dep: Deployment) -> None:
    distribution = resources(dep, "aws_cloudfront_distribution")["web"]
    assert distribution["default_root_object"] == "index.html"
    origin = one(distribution["origin"])
    assert origin["domain_name"] == "${aws_s3_bucket.web.bucket_regional_domain_name}"
    assert origin["origin_access_control_id"] == "${aws_cloudfront_origin_access_control.web.id}"
    control = resources(dep, "aws_cloudfront_origin_access_control")["web"]
    assert (control["signing_behavior"], control["signing_protocol"]) == ("always", "sigv4")
    behaviour = one(distribution["default_cache_behavior"])
    assert behaviour["viewer_protocol_policy"] == "redirect-to-https"
    assert behaviour["allowed_methods"] == ["GET", "HEAD"]
    assert behaviour["response_headers_policy_id"] == "${aws_cloudfront_response_headers_policy.web.id}"


def test_the_security_headers_are_the_ones_the_local_stack_sends(dep: Deployment) -> None:
    # Given CloudFront's headers policy and the local web server's policy
    headers = one(resources(dep, "aws_cloudfront_response_headers_policy")["web"]["security_headers_config"])
    assert one(headers["content_security_policy"])["content_security_policy"] == "${local.web_csp}"
    assert one(headers["frame_options"])["frame_option"] == "DENY"
    assert one(headers["referrer_policy"])["referrer_policy"] == "strict-origin-when-cross-origin"
    assert "content_type_options" in headers
    assert one(headers["strict_transport_security"])["access_control_max_age_sec"] >= 31536000
    terraform = dep.tf["locals"]["web_csp"]
    local = content_security_policy("http://127.0.0.1:4581", ["http://127.0.0.1:4580"])
    # Then both name the same directives, with the same keywords ('self', 'none', data:, blob:)
    keywords = re.compile(r"'[a-z-]+'|\b(?:data|blob):")
    ours = {d.split()[0]: set(keywords.findall(d)) for d in local.split("; ")}
    theirs = {d.split()[0]: set(keywords.findall(d)) for d in re.findall(r'"([a-z-]+ [^"]*)"', terraform)}
    assert theirs == ours
    # And on AWS the page may reach the API, sign-in and exactly the deployment's two buckets
    assert "https://*.execute-api.${local.region}.amazonaws.com" in terraform
    assert "https://*.auth.${local.region}.amazoncognito.com" in terraform
    hosts = dep.value("local.web_bucket_hosts")
    for bucket in (dep.value("module.input_bucket.id"), dep.value("module.output_bucket.id")):
        assert f"https://{bucket}.s3.amazonaws.com" in hosts


def test_the_page_origin_is_let_in_wherever_its_browser_goes(dep: Deployment) -> None:
    # Given the distribution's origin, first of the origins browsers are let in from
    assert dep.value("local.web_origin") == WEB
    locals_ = dep.tf["locals"]
    assert locals_["api_cors_origins"] == "${distinct(concat([local.web_origin], var.api_cors_origins))}"
    callbacks = '${distinct(concat(["${local.web_origin}/"], var.api_callback_urls))}'
    assert locals_["api_callback_urls"] == callbacks
    # Then the API (the function's own check and the gateway's) answers it
    api = one(resources(dep, "aws_lambda_function")["api"]["environment"])["variables"]
    assert api["IMGPIPE_CORS_ORIGINS"] == "${jsonencode(local.api_cors_origins)}"
    gateway = one(resources(dep, "aws_apigatewayv2_api")["client"]["cors_configuration"])
    assert gateway["allow_origins"] == "${local.api_cors_origins}"
    # And the input bucket takes its browsers' POSTs
    cors = resources(dep, "aws_s3_bucket_cors_configuration")["input"]
    assert cors["bucket"] == "${module.input_bucket.id}"
    rule = one(cors["cors_rule"])
    assert rule["allowed_origins"] == "${local.api_cors_origins}" and rule["allowed_methods"] == ["POST"]
    # And the hosted UI, always on with the pool, sends a signed-in user back to it
    client = resources(dep, "aws_cognito_user_pool_client")["app"]
    assert client["callback_urls"] == "${local.api_callback_urls}"
    assert client["logout_urls"] == "${local.api_logout_urls}"


def test_config_json_tells_the_page_what_it_reads_for_the_hosted_ui(dep: Deployment) -> None:
    # Given the config.json object Terraform writes beside the files
    config = resources(dep, "aws_s3_object")["web_config"]
    assert (config["key"], config["content"]) == ("config.json", "${jsonencode(local.web_config)}")
    assert config["cache_control"] == "no-cache" and config["kms_key_id"] == "${aws_kms_key.web.arn}"
    web_config = dep.tf["locals"]["web_config"]
    auth = one(web_config["auth"])
    assert auth["mode"] == "hosted"
    # Then it holds every field the page's parser requires for that mode (deploy/web/src/config.ts)
    source = PAGE_CONFIG_TS.read_text()
    start = source.index("mode: 'hosted',")
    hosted = source[start : source.index("scopes:", start)]
    required = set(re.findall(r"text\(auth, '(\w+)'", hosted)) | {"scopes", "mode"}
    assert required == set(auth)
    assert {"apiUrl", "concurrency", "auth"} == set(web_config)


def test_the_build_is_uploaded_with_its_types_and_hashed_assets_cached_for_good(dep: Deployment) -> None:
    files = resources(dep, "aws_s3_object")["web"]
    assert files["for_each"] == "${local.web_files}"
    assert 'fileset(var.web_dist_path, "**")' in dep.tf["locals"]["web_files"]
    assert dep.tf["variable"]["web_dist_path"]["default"] == ""  # config.json only, until a build is given
    types = dep.tf["locals"]["web_types"]
    assert (types["html"], types["js"], types["css"]) == (
        "text/html; charset=utf-8", "text/javascript; charset=utf-8", "text/css; charset=utf-8",
    )  # fmt: skip
    assert files["cache_control"] == (
        '${startswith(each.value, "assets/") ? "public, max-age=31536000, immutable" : "no-cache"}'
    )
    assert files["kms_key_id"] == "${aws_kms_key.web.arn}"
