"""Lambda entry point: `worker.handler.handler(event, context)`.

Settings are validated here, at cold start, so a misconfigured function fails its init with an
error naming the variable instead of failing every record.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.observability import logger, metrics
from worker.records import handle_record
from worker.runtime import get_runtime

get_runtime()
processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@metrics.log_metrics(raise_on_empty_metrics=False)
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Process one SQS batch; returns the records SQS should deliver again."""
    return async_process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
