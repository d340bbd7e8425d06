"""The moto server as `deploy.local.moto_app` serves it: connections kept, long polls beside
other requests, a clean stop on SIGTERM.

Werkzeug's development server (what `python -m moto.server` runs) closed every connection after
one response; each request of the local stack then opened a connection and a server thread.
"""

from __future__ import annotations

import contextlib
import http.client
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from deploy.local.motoserver import CREDENTIALS, MotoServer, free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def server(moto_server: MotoServer) -> Iterator[MotoServer]:
    moto_server.reset()
    yield moto_server


def test_one_connection_carries_many_requests(server: MotoServer) -> None:
    # Given one HTTP/1.1 connection to the server
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        # When it asks three times
        sockets, answers = [], []
        for _ in range(3):
            connection.request("GET", "/moto-api/data.json")
            response = connection.getresponse()
            response.read()
            answers.append((response.status, response.getheader("Connection")))
            sockets.append(connection.sock)
        # Then every answer came on the same socket, none of them closing it
        assert answers == [(200, None)] * 3
        assert sockets[0] is not None and all(sock is sockets[0] for sock in sockets)
    finally:
        connection.close()


def test_many_clients_each_keep_their_connection(server: MotoServer) -> None:
    # Given twenty clients connected at once (workers, routers, the API, browsers, locust)
    connections = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=10) for _ in range(20)]
    try:
        # When each asks once, all of them still connected
        closing = []
        for connection in connections:
            connection.request("GET", "/moto-api/data.json")
            response = connection.getresponse()
            response.read()
            closing.append(response.getheader("Connection"))
        # Then the server closes none of them (cheroot's default keeps only ten)
        assert closing == [None] * 20
    finally:
        for connection in connections:
            connection.close()


@pytest.mark.parametrize("key", ["a%2Fb.jpg", "q?x=1", "sp ace+plus.jpg", "pct%41.jpg", "caf\u00e9/#1.jpg"])
def test_a_key_comes_back_exactly_as_written(server: MotoServer, key: str) -> None:
    # Given an object written under a key with characters a URL encodes
    s3 = _session(server).client("s3", endpoint_url=server.endpoint)
    s3.create_bucket(Bucket="keys")
    s3.put_object(Bucket="keys", Key=key, Body=b"x")
    # Then it is listed, read and headed under that very key (not decoded a second time)
    assert [item["Key"] for item in s3.list_objects_v2(Bucket="keys")["Contents"]] == [key]
    assert s3.get_object(Bucket="keys", Key=key)["Body"].read() == b"x"
    assert s3.head_object(Bucket="keys", Key=key)["ContentLength"] == 1


def test_requests_are_answered_while_long_polls_wait(server: MotoServer) -> None:
    # Given a dozen SQS long polls waiting on an empty queue, as the local stack's pollers do
    session = _session(server)
    sqs = session.client("sqs", endpoint_url=server.endpoint)
    url = sqs.create_queue(QueueName="empty")["QueueUrl"]
    polls = [threading.Thread(target=_long_poll, args=(sqs, url)) for _ in range(12)]
    for poll in polls:
        poll.start()
    # When another client asks for something meanwhile
    s3 = session.client("s3", endpoint_url=server.endpoint)
    s3.create_bucket(Bucket="beside-the-polls")
    answered_while_waiting = any(poll.is_alive() for poll in polls)
    # Then it was answered while the polls still waited
    assert answered_while_waiting
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["beside-the-polls"]
    for poll in polls:
        poll.join(timeout=30)


def test_sigterm_stops_the_server_cleanly_even_while_long_polls_wait() -> None:
    # Given the server running on its own, three SQS long polls of 20 s waiting in it
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "deploy.local.moto_app", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not MotoServer(port=port).ready():
            assert process.poll() is None and time.monotonic() < deadline, process.stderr
            time.sleep(0.1)
        running = MotoServer(port=port)
        sqs = _session(running).client("sqs", endpoint_url=running.endpoint)
        url = sqs.create_queue(QueueName="waited-on")["QueueUrl"]
        polls = [threading.Thread(target=_long_poll, args=(sqs, url, 20), daemon=True) for _ in range(3)]
        for poll in polls:
            poll.start()
        time.sleep(0.5)  # the polls are in the server
        # When it is sent SIGTERM
        process.send_signal(signal.SIGTERM)
        # Then it exits by itself, with status 0, without waiting the polls out (20 s)
        assert process.wait(timeout=12) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _long_poll(sqs: Any, url: str, wait_s: int = 5) -> None:
    with contextlib.suppress(Exception):  # the server may stop under it
        sqs.receive_message(QueueUrl=url, WaitTimeSeconds=wait_s)


def _session(server: MotoServer) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=server.region,
    )
