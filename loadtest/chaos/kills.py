"""The chaos run's kills: the busiest worker (the one rendering) SIGKILLed every few seconds while
messages are in flight, through `LocalStack.kill_worker`, so its batch comes back only after the
visibility timeout; with lanes, every third kill is the router's (`LocalStack.kill_router`), so
what it held comes back the same way.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from deploy.local.stack import LocalStack
from deploy.ops.dlq.report import queue_depth
from deploy.ops.lanes import work_queue_urls
from loadtest.chaos.agents import Agent

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient

MIN_AGE_S = 8.0  # a worker younger than this is still in its cold start, not in a batch
ROUTER_EVERY = 3  # with lanes, every third kill is the router's
LOOK_EVERY_S = 0.25  # a turn that found no busy warm worker looks again this soon
IDLE_LOOK_EVERY_S = 1.0  # and one that found nothing in flight, this soon


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


class Killer(Agent):
    """SIGKILLs the busiest worker (every third time the router) every `every_s` seconds while
    messages are in flight. A turn that finds nothing in flight, or no warm worker using CPU, looks
    again soon (`LOOK_EVERY_S`, `IDLE_LOOK_EVERY_S`) until it can kill or the run ends, so the kills
    a run gets depend on how long its messages are in flight, not on where the clock's ticks fall
    (`missed` counts the looks that found nothing to kill, by why)."""

    def __init__(self, stack: LocalStack, sqs: SQSClient, every_s: float) -> None:
        super().__init__()
        self.stack, self.sqs, self.every_s = stack, sqs, every_s
        self.queues = work_queue_urls(stack.environment())
        self.turns = 0
        self.killed: Counter[str] = Counter()  # "worker" / "router"
        self.missed: Counter[str] = Counter()  # "nothing in flight" / "no busy warm worker"

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.turns += 1
            router = bool(self.stack.routers) and self.turns % ROUTER_EVERY == 0
            while not self._stop.is_set() and (wait_s := self._kill(router)) > 0:
                self._stop.wait(wait_s)

    def _kill(self, router: bool) -> float:
        """One look: kill the router (`router`) or the busiest warm worker if messages are in
        flight; 0 when it killed, else how long to wait before the next look (longer when
        nothing is in flight: each look asks the server for every lane's depth)."""
        if sum(queue_depth(self.sqs, url).in_flight for url in self.queues) == 0:
            self.missed["nothing in flight"] += 1
            return IDLE_LOOK_EVERY_S
        if router:
            self.stack.kill_router(self.turns // ROUTER_EVERY % len(self.stack.routers))
            self.killed["router"] += 1
            return 0.0
        pids = self.stack.worker_pids()
        before = {pid: _cpu_ticks(pid) for pid in pids if process_age_s(pid) >= MIN_AGE_S}
        time.sleep(0.5)
        busy = {pid: _cpu_ticks(pid) - ticks for pid, ticks in before.items()}
        if not busy or max(busy.values()) == 0:
            self.missed["no busy warm worker"] += 1
            return LOOK_EVERY_S
        self.stack.kill_worker(pids.index(max(busy, key=lambda p: busy[p])))
        self.killed["worker"] += 1
        return 0.0

    def summary(self) -> str:
        """What the killer did, for the run's details: kills by what, and the looks that missed."""
        kills = ", ".join(f"{what} {n}" for what, n in sorted(self.killed.items())) or "none"
        missed = ", ".join(f"{why} {n}" for why, n in sorted(self.missed.items())) or "none"
        turns = f"{self.turns} turns, each {self.every_s:g} s after the last"
        return f"killer: {turns}; kills: {kills}; missed looks: {missed}"


def process_age_s(pid: int) -> float:
    """Seconds since process `pid` started (from /proc: its start time in clock ticks after boot),
    so a worker that has run since the stack started counts as warm at the first look."""
    try:
        started = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return 0.0
    return uptime - started / os.sysconf("SC_CLK_TCK")
