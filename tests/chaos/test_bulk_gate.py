"""The bulk lane's gate (`FaultProxy(gate=N)`): at most N S3 requests in the server at once, the
rest waiting their turn; SQS and SNS requests (long polls among them) pass at once."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from deploy.local.faults import FaultPlan, FaultProxy

pytestmark = pytest.mark.chaos

AT_ONCE = 4  # requests sent together


class _Upstream(ThreadingHTTPServer):
    """Holds each request until `AT_ONCE` are in it together (or 0.5 s passes) and records the most
    it held at once: a gate that let more than one through would show here."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Condition()
        self.inside = self.most = 0


class _Handler(BaseHTTPRequestHandler):
    server: _Upstream

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.inside += 1
            self.server.most = max(self.server.most, self.server.inside)
            self.server.lock.notify_all()
            self.server.lock.wait_for(lambda: self.server.inside >= AT_ONCE, timeout=0.5)
            self.server.inside -= 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[_Upstream]:
    server = _Upstream()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _most_at_once(upstream: _Upstream, gate: int | None, service: str) -> int:
    """Send `AT_ONCE` requests at once, each signed (in its credential scope) for `service`,
    through a proxy with `gate` in front of `upstream`; every one must be answered. The most
    requests the upstream held together."""
    proxy = FaultProxy(f"http://127.0.0.1:{upstream.server_port}", FaultPlan(), gate=gate).start()
    scope = f"AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/{service}/aws4_request, Signature=x"

    def one(index: int) -> int:
        url = f"{proxy.endpoint}/bucket/key-{index}"
        request = urllib.request.Request(url, headers={"Authorization": scope})
        with urllib.request.urlopen(request, timeout=20) as answer:
            return int(answer.status)

    try:
        with ThreadPoolExecutor(AT_ONCE) as pool:
            assert list(pool.map(one, range(AT_ONCE))) == [200] * AT_ONCE
    finally:
        proxy.stop()
    return upstream.most


def test_s3_requests_pass_the_gate_one_at_a_time(upstream: _Upstream) -> None:
    # Given a gate letting one S3 request through at a time, when four S3 requests come at once,
    # then every one is answered and the server never holds two
    assert _most_at_once(upstream, 1, "s3") == 1


def test_sqs_requests_are_not_gated(upstream: _Upstream) -> None:
    # Given the same gate, when four SQS requests come at once (a long poll would hold a gate for
    # its whole wait), then the server holds all four together
    assert _most_at_once(upstream, 1, "sqs") == AT_ONCE


def test_without_a_gate_s3_requests_reach_the_server_together(upstream: _Upstream) -> None:
    # Given a proxy with no gate (the fault proxy as chaos runs it)
    assert _most_at_once(upstream, None, "s3") == AT_ONCE
