"""Lambda entry point of the router: `worker.router.handler.handler(event, context)`.

Consumes the work queue (S3 -> SNS -> SQS) and sends each record, unchanged, to the interactive
or the bulk lane's queue; returns the records SQS should deliver again. Settings are validated at
cold start, so a misconfigured function fails its init naming the variable.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.observability import MetricUnit, logger, metrics
from worker.router import store
from worker.router.decide import TenantRates
from worker.router.records import inbound
from worker.router.route import Routed, Router
from worker.router.settings import load_router_settings


@functools.cache
def router() -> Router:
    """This process's router: settings read once, clients made once, tenant rates kept warm."""
    settings = load_router_settings()
    return Router(settings, store.clients(), TenantRates(settings.router_bulk_per_minute))


router()  # at cold start: a misconfigured function fails its init, naming the variable


@metrics.log_metrics(raise_on_empty_metrics=False)
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Route one SQS batch; returns the records SQS should deliver again."""
    return route_event(event)


def route_event(event: dict[str, Any]) -> dict[str, Any]:
    """Route the records of one Lambda SQS event; the partial batch response."""
    records = event.get("Records", [])
    source_arn = str(records[0].get("eventSourceARN", "")) if records else ""
    routed = router().route([inbound(record) for record in records], source_arn)
    _measure(routed)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in routed.failed]}


def _measure(routed: Routed) -> None:
    for lane, count in routed.lanes.items():
        metrics.add_metric(name=f"Routed{lane.capitalize()}", unit=MetricUnit.Count, value=count)
    for age in routed.ages_ms:  # what the hop through the router adds: sent to the work queue -> to a lane
        metrics.add_metric(name="RoutedAfterMs", unit=MetricUnit.Milliseconds, value=round(age, 1))
    if routed.failed:
        metrics.add_metric(name="RouteRetried", unit=MetricUnit.Count, value=len(routed.failed))
    if routed.quarantined:
        metrics.add_metric(name="RouteQuarantined", unit=MetricUnit.Count, value=routed.quarantined)
        logger.error("records quarantined to the router's DLQ", extra={"count": routed.quarantined})
