"""Result events (`ImageProcessed`/`ImageFailed`) for services that react without polling S3."""

from __future__ import annotations

from shared.errors import RetryableError
from shared.keys import manifest_key
from shared.manifest import Manifest
from shared.observability import MetricUnit, logger, metrics
from worker import storage
from worker.deadline import retry_step
from worker.job import Job


async def announce(job: Job, event_type: str, manifest: Manifest) -> None:
    """Publish ImageProcessed/ImageFailed when a result topic is configured; best effort."""
    topic = job.settings.result_topic_arn
    if topic is None:
        return
    detail = {
        "imageId": manifest.image_id,
        "userId": manifest.user_id,
        "status": manifest.status,
        "manifestKey": manifest_key(manifest.image_id),
        "source": manifest.source.model_dump(by_alias=True, exclude_none=True),
    }
    job.progress.at("announcing the result")
    # The results are already in S3 (the source of truth), and a missing or misconfigured topic
    # must not hold up, or quarantine, images that were processed correctly.
    try:
        await retry_step(job.deadline, lambda: storage.publish(job.clients.sns, topic, event_type, detail))
    except RetryableError as exc:
        announce_failed(manifest.image_id, str(exc))


def announce_failed(image_id: str, reason: str) -> None:
    """Count and log a result event that was not published."""
    metrics.add_metric(name="AnnounceFailed", unit=MetricUnit.Count, value=1)
    logger.error("result event not published", extra={"imageId": image_id, "reason": reason})
