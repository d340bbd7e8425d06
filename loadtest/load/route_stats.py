"""What the clients saw, for the run's last lines: each API route's calls and percentiles from
locust's own statistics (`locust_stats.csv`, the master's aggregate in distributed mode), and
e2e beside the part of it the pipeline took (ask -> the manifest's `processedAt`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from loadtest.load.report import percentile
from loadtest.load.tracker import Upload

# The rows the `api:` line shows, in order: (locust's request type, name), as deploy.client names them
SHOWN = (
    ("POST", "/v1/uploads"),
    ("POST", "/v1/uploads/batch"),
    ("POST", "S3 POST (signed form)"),
    ("GET", "/v1/images/{imageId}"),
    ("cognito", "sign in"),
)
ASKS = (("POST", "/v1/uploads"), ("POST", "/v1/uploads/batch"))  # the calls that hand out forms


@dataclass(frozen=True)
class Route:
    """One row of locust's statistics."""

    kind: str
    name: str
    calls: int
    failures: int
    p50_ms: float
    p95_ms: float

    def text(self, files: int) -> str:
        """`POST /v1/uploads p50=6ms p95=21ms (200 calls, 0 failed)`, with calls a file for polls."""
        each = f", {self.calls / files:.1f} a file" if self.kind == "GET" and files else ""
        return (
            f"{self.kind} {self.name} p50={self.p50_ms:.0f}ms p95={self.p95_ms:.0f}ms"
            f" ({self.calls} calls, {self.failures} failed{each})"
        )


def _number(text: str | None) -> float:
    try:
        return float(text or 0)
    except ValueError:  # locust writes N/A for a row without responses
        return 0.0


def routes(path: Path) -> dict[tuple[str, str], Route]:
    """Every row of `locust_stats.csv` but the aggregate, by (type, name); {} without the file."""
    if not path.exists():
        return {}
    with path.open(newline="") as file:
        rows = [row for row in csv.DictReader(file) if row.get("Type")]
    return {
        (row["Type"], row["Name"]): Route(
            row["Type"],
            row["Name"],
            int(_number(row["Request Count"])),
            int(_number(row["Failure Count"])),
            _number(row["50%"]),
            _number(row["95%"]),
        )  # fmt: skip
        for row in rows
    }


def asks(found: dict[tuple[str, str], Route]) -> Route | None:
    """The route that handed out the upload forms: POST /v1/uploads, else the batch call."""
    return next((found[key] for key in ASKS if key in found and found[key].calls), None)


def api_line(found: dict[tuple[str, str], Route], files: int) -> str:
    """`api: ...`, each route the clients called, in SHOWN's order."""
    shown = [found[key].text(files) for key in SHOWN if key in found]
    return "api: " + ("; ".join(shown) if shown else "no statistics (locust_stats.csv is missing)")


def e2e_line(uploads: list[Upload]) -> str:
    """`e2e: ...`: as the clients saw it, the pipeline's part (to processedAt), what polling added."""
    seen = [u for u in uploads if u.outcome in ("complete", "quarantined") and u.e2e_ms is not None]
    client = [u.e2e_ms for u in seen if u.e2e_ms is not None]
    pipeline = [u.pipeline_ms for u in seen if u.pipeline_ms is not None]
    added = [u.e2e_ms - u.pipeline_ms for u in seen if u.e2e_ms is not None and u.pipeline_ms is not None]

    def pair(values: list[float]) -> str:
        return f"p50={percentile(values, 0.5):.0f}ms p95={percentile(values, 0.95):.0f}ms"

    return (
        f"e2e: as the clients saw it (ask -> final status) {pair(client)}; to the manifest's processedAt"
        f" {pair(pipeline)}; polling added {pair(added)}"
    )
