"""Routing one batch: read each upload's mark, choose each record's lane, send, settle failures.

At least once, like the rest: a record counts as routed only once its lane's SendMessageBatch
reported it sent. A record not sent is reported in `batchItemFailures` and tried again after a
backoff (`router_retry_s`, doubling with each receive) instead of the queue's long visibility
timeout; on its last receive it goes to the router's DLQ with the reason. A send whose answer was
lost may leave a copy in a lane: the worker takes duplicates (docs/consistency.md).
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from shared.lanes import BULK, INTERACTIVE, Lane
from worker.router import store
from worker.router.decide import TenantRates, choose
from worker.router.quarantine import dlq_attributes
from worker.router.records import Inbound
from worker.router.settings import RouterSettings

MAX_RETRY_S = 900


@dataclass
class Routed:
    """What one batch came to."""

    failed: list[str] = field(default_factory=list)  # message ids SQS should deliver again
    lanes: Counter[Lane] = field(default_factory=Counter)
    quarantined: int = 0
    ages_ms: list[float] = field(default_factory=list)  # work queue -> sent to a lane, each routed record


@dataclass
class Router:
    """Routes batches with one process's clients, settings and tenant rates."""

    settings: RouterSettings
    clients: store.Clients
    rates: TenantRates

    def route(self, records: list[Inbound], source_arn: str) -> Routed:
        """Send every record to its lane; what could not be sent is retried or quarantined."""
        over = {r.message_id: r.tenant is not None and self.rates.over(r.tenant) for r in records}
        marks = self._marks([r for r in records if not over[r.message_id]])
        lanes = {r.message_id: choose(marks.get(r.message_id, []), over[r.message_id]) for r in records}
        failures: dict[str, str] = {}
        for lane, queue_url in ((INTERACTIVE, self.settings.interactive_queue_url),
                                (BULK, self.settings.bulk_queue_url)):  # fmt: skip
            chosen = [r for r in records if lanes[r.message_id] == lane]
            entries = [self._entry(r, str(index)) for index, r in enumerate(chosen)]
            not_sent = store.send_batch(self.clients.sqs, queue_url, entries)
            failures.update({chosen[int(i)].message_id: reason for i, reason in not_sent.items()})
        routed = Routed(lanes=Counter(lane for mid, lane in lanes.items() if mid not in failures))
        now_ms = time.time() * 1000
        routed.ages_ms = [now_ms - r.sent_ms for r in records if r.sent_ms and r.message_id not in failures]
        self._settle([r for r in records if r.message_id in failures], failures, source_arn, routed)
        return routed

    def _marks(self, records: list[Inbound]) -> dict[str, list[Lane | None]]:
        """The lane pinned on each of `records`' uploads (a HEAD each, all at once)."""
        marks: dict[str, list[Lane | None]] = {r.message_id: [] for r in records}
        wanted = [(r.message_id, obj) for r in records for obj in r.objects]
        if not wanted or not self.settings.router_read_lane:
            return marks
        with ThreadPoolExecutor(max_workers=min(store.HEADS_AT_ONCE, len(wanted))) as pool:
            found = pool.map(lambda item: store.read_mark(self.clients.s3, *item[1]), wanted)
            for (message_id, _), mark in zip(wanted, found, strict=True):
                marks[message_id].append(mark)
        return marks

    def _entry(self, record: Inbound, entry_id: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"Id": entry_id, "MessageBody": record.body}
        if record.attributes:
            entry["MessageAttributes"] = record.attributes
        if self.settings.router_fair_queues and record.tenant:
            entry["MessageGroupId"] = record.tenant  # the tenant, for SQS fair queues
        return entry

    def _settle(
        self, failed: list[Inbound], reasons: dict[str, str], source_arn: str, routed: Routed
    ) -> None:
        """Quarantine what is on its last receive; give the rest a backoff and report it failed."""
        later: list[tuple[str, int]] = []
        for record in failed:
            if record.receive_count >= self.settings.max_receive_count and self._quarantine(
                record, reasons[record.message_id], source_arn
            ):
                routed.quarantined += 1
                continue
            routed.failed.append(record.message_id)
            later.append((record.receipt_handle, self._backoff(record.receive_count)))
        if later and self.settings.queue_url and self.settings.router_retry_s:
            store.retry_later(self.clients.sqs, self.settings.queue_url, later)

    def _quarantine(self, record: Inbound, reason: str, source_arn: str) -> bool:
        attributes = dlq_attributes(record, reason, source_arn)
        return store.send_one(self.clients.sqs, self.settings.router_dlq_url, record.body, attributes) is None

    def _backoff(self, receive_count: int) -> int:
        backoff: int = self.settings.router_retry_s * 2 ** max(0, receive_count - 1)
        return min(MAX_RETRY_S, backoff)
