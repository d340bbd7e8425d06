"""The figures of a browser upload run (tests/e2e/web_throughput.py), computed from what the page
recorded (web_page's changes, on the page's clock) and what the pipeline committed (each
manifest's processedAt, on the wall clock the page's clock is aligned to), plus the CPU each
process of the stack and the whole machine spent meanwhile."""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tests.e2e.web_page import Change


@dataclass(frozen=True)
class Figures:
    """What one run measured; times in seconds from the moment the folder was given to the page."""

    files: int
    photos_complete: int
    failed: int
    bytes_sent: int
    upload_s: float  # to the overall bar's 100% (every accepted file acknowledged by S3)
    upload_photos_per_s: float
    upload_mb_per_s: float
    first_thumbnail_s: float
    last_processed_s: float  # the last manifest's processedAt: the pipeline's own end
    last_thumbnail_s: float  # the last complete card's thumbnail drawn: the user's end
    end_to_end_photos_per_s: float
    card_lag_p50_s: float  # processedAt to the card's thumbnail drawn: the page's polling and load
    card_lag_max_s: float
    api_calls_per_file: float  # the page's calls to the client API (forms, polls, gallery)
    workers: int
    cpu_s: dict[str, float]  # CPU each process of the stack used during the run
    cpu_to_100_s: dict[str, float]  # of which during the upload (to the bar's 100%)
    machine_busy: float  # share of all cores busy during the run, anyone's work
    load_average: float


@dataclass(frozen=True)
class Cpu:
    """CPU seconds by process, and the machine's busy and total jiffies, at one moment."""

    by_role: dict[str, float]
    busy: int
    total: int


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU of `pid` and its waited-for children so far (0 when it is gone)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:  # exited while we looked
                continue
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def sample_cpu(pids: dict[str, int | None]) -> Cpu:
    """Now: each process's CPU, the browser's (every other process this one started: Playwright's
    driver and chromium's), and the machine's (from /proc/stat's first line)."""
    by_role = {role: cpu_seconds(pid) for role, pid in pids.items()}
    others = _descendants(os.getpid()) - {pid for pid in pids.values() if pid is not None}
    by_role["browser"] = sum(cpu_seconds(pid) for pid in others)
    jiffies = [int(f) for f in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = jiffies[3] + jiffies[4]  # idle + iowait
    return Cpu(by_role, sum(jiffies) - idle, sum(jiffies))


def _first(log: list[Change], who: str, attribute: str, value: str) -> float | None:
    return next(
        (c.at_ms for c in log if c.who == who and c.attribute == attribute and c.value == value), None
    )


def _epoch_ms(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000


def _spent(start: Cpu, end: Cpu) -> dict[str, float]:
    return {role: round(end.by_role[role] - start.by_role[role], 1) for role in end.by_role}


def figures(
    log: list[Change], time_origin_ms: float, processed: dict[str, str], bytes_sent: int,
    cpu: tuple[Cpu, Cpu, Cpu], api_calls: int, workers: int,
) -> Figures:  # fmt: skip
    """The run's figures: `log` from the page, `time_origin_ms` its clock's epoch origin,
    `processed` each card's manifest processedAt by file name, `cpu` sampled when the folder was
    given, at the bar's 100% and at the end."""
    before, at_100, after = cpu
    start = next(c.at_ms for c in log if c.attribute == "given")
    names = {c.who for c in log if c.attribute == "data-status"}
    sent = _first(log, "overall", "data-progress", "100")
    thumbs = {n: t for n in names if (t := _first(log, n, "data-thumbnail", "loaded")) is not None}
    failed = sum(1 for n in names if _first(log, n, "data-status", "failed") is not None)
    if sent is None or not thumbs or not processed:
        raise RuntimeError("the page never reached 100%, drew no thumbnail, or nothing was processed")
    done = {n: _epoch_ms(iso) - time_origin_ms for n, iso in processed.items()}  # on the page's clock
    lags = sorted((thumbs[n] - done[n]) / 1000 for n in thumbs if n in done)
    upload_s, last_s = (sent - start) / 1000, (max(thumbs.values()) - start) / 1000
    jiffies = max(1, after.total - before.total)
    return Figures(
        files=len(names), photos_complete=len(thumbs), failed=failed, bytes_sent=bytes_sent,
        upload_s=round(upload_s, 2), upload_photos_per_s=round(len(names) / upload_s, 2),
        upload_mb_per_s=round(bytes_sent / upload_s / 1e6, 2),
        first_thumbnail_s=round((min(thumbs.values()) - start) / 1000, 2),
        last_processed_s=round((max(done.values()) - start) / 1000, 2), last_thumbnail_s=round(last_s, 2),
        end_to_end_photos_per_s=round(len(thumbs) / last_s, 2),
        card_lag_p50_s=round(statistics.median(lags), 2), card_lag_max_s=round(lags[-1], 2),
        api_calls_per_file=round(api_calls / len(names), 2), workers=workers,
        cpu_s=_spent(before, after), cpu_to_100_s=_spent(before, at_100),
        machine_busy=round((after.busy - before.busy) / jiffies, 2),
        load_average=round(os.getloadavg()[0], 1),
    )  # fmt: skip
