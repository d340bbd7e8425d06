"""The plot a load run leaves beside its reports: queue and DLQ depth, uploads and outcomes per
second, and the e2e latency distribution (matplotlib, when installed).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from loadtest.load.tracker import Upload

if TYPE_CHECKING:  # matplotlib is the `load` extra's; without it there is no plot, and no import
    from matplotlib.axes import Axes


def throughput(uploads: list[Upload]) -> dict[str, list[float]]:
    """When each upload's transfer began, and when the pipeline ended each complete or
    quarantined one (its manifest's processedAt), in epoch seconds."""
    ended: dict[str, list[float]] = {
        "uploaded": [u.put_started for u in uploads],
        "complete": [],
        "quarantined": [],
    }
    for upload in uploads:
        if upload.outcome in ("complete", "quarantined") and (end := upload.ended_at) is not None:
            ended[upload.outcome].append(end)
    return ended


def per_second(offsets: list[float]) -> list[int]:
    """How many of `offsets` (seconds from the start) fall in each whole second."""
    counts = [0] * (int(max(offsets, default=-1)) + 1)
    for offset in offsets:
        if offset >= 0:
            counts[int(offset)] += 1
    return counts


def plot(samples: list[dict[str, float]], uploads: list[Upload], path: Path, title: str = "") -> Path | None:
    """Queue and DLQ depth, uploads and outcomes per second, and the e2e latency distribution."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    figure, (depth, flow, latency) = plt.subplots(3, 1, figsize=(9, 10))
    t = [s["t_s"] for s in samples]
    for name in ("visible", "in_flight", "dlq"):
        depth.plot(t, [s[name] for s in samples], label=name)
    depth.set_xlabel("seconds")
    depth.set_ylabel("messages")
    depth.legend()
    origin = (
        samples[0]["epoch_s"] - samples[0]["t_s"]
        if samples
        else min((u.put_started for u in uploads), default=0)
    )
    for label, times in throughput(uploads).items():
        seconds = per_second([moment - origin for moment in times])
        flow.plot(range(len(seconds)), seconds, label=label)
    flow.set_xlim(depth.get_xlim())
    flow.set_xlabel("seconds")
    flow.set_ylabel("per second")
    flow.legend()
    _latency(latency, uploads)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def _latency(axes: Axes, uploads: list[Upload]) -> None:
    done = sorted(u.e2e_ms for u in uploads if u.e2e_ms is not None and u.outcome != "lost")
    if done:
        axes.plot([i / max(1, len(done) - 1) * 100 for i in range(len(done))], done)
    axes.set_xlabel("percentile of uploads")
    axes.set_ylabel("ask for the form -> final status seen, ms")
