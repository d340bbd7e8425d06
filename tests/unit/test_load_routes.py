"""The run's `api:` and `e2e:` lines come from locust's own CSV and the ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.load import route_stats
from loadtest.load.tracker import Upload

pytestmark = pytest.mark.unit

HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
    "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,"
    "99.99%,100%"
)


def _row(kind: str, name: str, calls: int, failures: int, p50: str, p95: str) -> str:
    return f"{kind},{name},{calls},{failures},{p50},1,1,1,1,1,0,{p50},1,1,1,1,{p95},1,1,1,1,1"


def _csv(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "locust_stats.csv"
    path.write_text("\n".join([HEADER, *rows, _row("", "Aggregated", 9, 0, "5", "9")]) + "\n")
    return path


def test_the_api_line_shows_each_route_the_clients_called(tmp_path: Path) -> None:
    # Given locust's stats of a run: forms, transfers, polls, an e2e row, a row with no answers
    path = _csv(
        tmp_path,
        _row("GET", "/v1/images/{imageId}", 420, 2, "9", "31"),
        _row("POST", "/v1/uploads", 200, 0, "6", "21"),
        _row("POST", "S3 POST (signed form)", 200, 0, "28", "53"),
        _row("e2e", "complete", 172, 0, "3100", "4800"),
        _row("cognito", "sign in", 20, 0, "N/A", "N/A"),
    )
    # When the rows are read
    found = route_stats.routes(path)
    # Then the form call's figures are POST /v1/uploads's, and the line lists the API's routes in order
    asks = route_stats.asks(found)
    assert asks is not None and (asks.name, asks.p50_ms, asks.p95_ms) == ("/v1/uploads", 6.0, 21.0)
    assert route_stats.api_line(found, files=200) == (
        "api: POST /v1/uploads p50=6ms p95=21ms (200 calls, 0 failed);"
        " POST S3 POST (signed form) p50=28ms p95=53ms (200 calls, 0 failed);"
        " GET /v1/images/{imageId} p50=9ms p95=31ms (420 calls, 2 failed, 2.1 a file);"
        " cognito sign in p50=0ms p95=0ms (20 calls, 0 failed)"
    )


def test_a_bulk_run_takes_its_form_figures_from_the_batch_call(tmp_path: Path) -> None:
    # Given a run whose clients asked for forms only through the batch call
    found = route_stats.routes(_csv(tmp_path, _row("POST", "/v1/uploads/batch", 40, 0, "35", "80")))
    # Then that is the call the summary's upload_url figures come from
    asks = route_stats.asks(found)
    assert asks is not None and asks.name == "/v1/uploads/batch" and asks.p95_ms == 80.0


def test_without_locusts_csv_the_line_says_so(tmp_path: Path) -> None:
    assert route_stats.routes(tmp_path / "missing.csv") == {}
    assert route_stats.api_line({}, 0) == "api: no statistics (locust_stats.csv is missing)"


def test_the_e2e_line_splits_what_the_client_waited_from_what_polling_added() -> None:
    # Given two images asked for at t=100 s, done at 102 and 104 s, seen at 103 and 106 s, and a lost one
    uploads = [
        Upload("a", "uploads/s/a.jpg", "x.jpg", 100.0, 1.0, "complete", 3000.0, 100.0, 102.0),
        Upload("b", "uploads/s/b.jpg", "x.jpg", 100.0, 1.0, "quarantined", 6000.0, 100.0, 104.0),
        Upload("c", "uploads/s/c.jpg", "x.jpg", 100.0, 1.0, "lost", 90_000.0, 100.0, None),
    ]
    # When the line is made
    line = route_stats.e2e_line(uploads)
    # Then the lost upload is left out, and polling added the gap between manifest and sight
    assert line == (
        "e2e: as the clients saw it (ask -> final status) p50=3000ms p95=6000ms; to the manifest's"
        " processedAt p50=2000ms p95=4000ms; polling added p50=1000ms p95=2000ms"
    )
