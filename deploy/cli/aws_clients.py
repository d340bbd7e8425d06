"""The one place the CLI builds AWS clients: the settings the AWS CLI v2 reads, checked first.

A bad or missing setting (region, profile, endpoint, retry settings, credentials) would otherwise
surface as a botocore traceback, or a message naming botocore's parameter instead of the variable,
from deep inside client creation; here each becomes a `ConfigError` naming the variable (or the
profile's key) and what is wrong with it, before any request. `common.clients` makes that one
usage line (exit 2) for every command that reaches AWS.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from shared.errors import ConfigError

if TYPE_CHECKING:
    import botocore.session
    from boto3 import Session
    from botocore.config import _RetryDict  # the stubs' name for what Config(retries=...) takes
    from types_boto3_s3 import S3Client
    from types_boto3_sqs import SQSClient

Client = TypeVar("Client")

# A stopped stack refuses the connection at once; an unreachable host is given this long.
CONNECT_TIMEOUT_S = 2
# Interactive commands: one retry (botocore's standard mode), so a dead endpoint fails in about
# a second instead of the 6-18 s of the legacy mode's five attempts. AWS_MAX_ATTEMPTS and
# AWS_RETRY_MODE (or the profile's max_attempts / retry_mode) still win, as for the AWS CLI.
MAX_ATTEMPTS = 2
MAX_CONNECTIONS = 64
RETRY_MODES = ("legacy", "standard", "adaptive")
SERVICES = ("s3", "sqs")


def make_clients() -> tuple[S3Client, SQSClient]:
    """S3 (SigV4, which KMS uploads and newer buckets require for pre-signed URLs) and SQS clients.

    Configured as the AWS CLI v2 is: region from AWS_REGION, then AWS_DEFAULT_REGION, then the
    profile (AWS_PROFILE or default); endpoint from AWS_ENDPOINT_URL (botocore reads it, with
    the service-specific AWS_ENDPOINT_URL_S3/_SQS and the profile's endpoint_url).
    """
    import boto3
    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import ConfigParseError, ProfileNotFound

    core = botocore.session.get_session()
    try:
        session = boto3.Session(botocore_session=core, region_name=os.environ.get("AWS_REGION") or None)
        scoped = core.get_scoped_config()
    except ProfileNotFound as exc:
        raise ConfigError(f"AWS_PROFILE={core.profile}: no such profile in the AWS config files") from exc
    except ConfigParseError as exc:
        raise ConfigError(f"the AWS config files: {exc}") from exc
    if not session.region_name:
        raise ConfigError(
            "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or region in the AWS profile)"
        )
    check_endpoints(scoped)
    config = Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        retries=_retries(core, scoped),
        max_pool_connections=MAX_CONNECTIONS,
    )
    s3_config = config.merge(Config(signature_version="s3v4"))
    s3 = _client(session, lambda: session.client("s3", config=s3_config))
    return s3, _client(session, lambda: session.client("sqs", config=config))


def check_endpoints(scoped: dict[str, Any]) -> None:
    """Refuse an endpoint botocore would use for S3 or SQS unless it is an http(s) URL, naming
    where it comes from: AWS_ENDPOINT_URL_S3/_SQS, AWS_ENDPOINT_URL, or the profile's endpoint_url."""
    ignored = os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") or scoped.get(
        "ignore_configured_endpoint_urls"
    )
    if str(ignored).lower() == "true":
        return
    profile = f"endpoint_url in the AWS config (profile {os.environ.get('AWS_PROFILE') or 'default'})"
    for service in SERVICES:
        sources = [
            (name, os.environ.get(name))
            for name in (f"AWS_ENDPOINT_URL_{service.upper()}", "AWS_ENDPOINT_URL")
        ]
        sources.append((profile, scoped.get("endpoint_url")))
        # botocore takes the first that is set and not empty
        name, value = next(((n, v) for n, v in sources if v), ("", None))
        if value and (problem := endpoint_problem(value)):
            raise ConfigError(f"{name}={value} {problem}")


def endpoint_problem(url: str) -> str | None:
    """What keeps `url` from being an endpoint botocore can send to, or None."""
    from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url

    if "://" not in url:
        return f"has no scheme: set it to http://{url} (or https://...)"
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return "must start with http:// or https://"
    if not (is_valid_endpoint_url(url) or is_valid_ipv6_endpoint_url(url)):
        return "is not an endpoint URL: give it as http://HOST:PORT"
    return None


def named(variable: str, key: str, value: object) -> str:
    """How to name a setting: `VARIABLE=value` when the environment set it, else the profile's key."""
    if os.environ.get(variable):
        return f"{variable}={os.environ[variable]}"
    return f"{key} = {value} in the AWS config (profile {os.environ.get('AWS_PROFILE') or 'default'})"


def _retries(core: botocore.session.Session, scoped: dict[str, Any]) -> _RetryDict | None:
    """Few retries unless the user asked for others, which must be ones botocore takes."""
    mode = os.environ.get("AWS_RETRY_MODE") or scoped.get("retry_mode")
    if mode is not None and mode not in RETRY_MODES:
        setting = named("AWS_RETRY_MODE", "retry_mode", mode)
        raise ConfigError(f"{setting} is not a retry mode: use one of {', '.join(RETRY_MODES)}")
    try:
        attempts = core.get_config_variable("max_attempts")
    except ValueError as exc:  # botocore's int() of the text
        setting = named("AWS_MAX_ATTEMPTS", "max_attempts", scoped.get("max_attempts"))
        raise ConfigError(f"{setting} is not a whole number of attempts (1 or more)") from exc
    if attempts is not None and attempts < 1:
        setting = named("AWS_MAX_ATTEMPTS", "max_attempts", attempts)
        raise ConfigError(f"{setting}: the attempts must be 1 or more")
    retries: _RetryDict = {}
    if mode is None:
        retries["mode"] = "standard"
    if attempts is None:
        retries["total_max_attempts"] = MAX_ATTEMPTS
    return retries or None


def _client(session: Session, make: Callable[[], Client]) -> Client:
    """The client `make` builds from `session`, its configuration errors as `ConfigError`."""
    from botocore.exceptions import InvalidRegionError, PartialCredentialsError

    try:
        return make()
    except InvalidRegionError as exc:
        region = session.region_name
        variable = "AWS_REGION" if os.environ.get("AWS_REGION") else "AWS_DEFAULT_REGION"
        raise ConfigError(
            f"{named(variable, 'region', region)} is not a region name, e.g. us-east-1"
        ) from exc
    except PartialCredentialsError as exc:
        raise ConfigError(f"incomplete AWS credentials: {exc}") from exc
    except ValueError as exc:  # botocore's "Invalid endpoint: X", from a profile's services section
        raise ConfigError(f"the AWS config (profile {session.profile_name}): {exc}") from exc
