"""Subscriptions under a real hypercorn: a client that vanishes mid-subscription (no close
frame, no end of stream: the TCP connection just goes) leaves no source open and no task
behind in the server; and the several-workers recipe over Redis pub/sub."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bareasgi.testing import program_or_skip, run_hypercorn

HERE = Path(__file__).parent
SUBPROTOCOL = "graphql-transport-ws"


def _query(base_url: str, query: str) -> Any:
    response = httpx.post(f"{base_url}/graphql", json={"query": query}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def _frame(text: str) -> bytes:
    # A masked client text frame (RFC 6455 5.2), the mask all zeros.
    payload = text.encode()
    length = len(payload)
    if length < 126:
        header = bytes([0x81, 0x80 | length])
    else:
        header = bytes([0x81, 0x80 | 126]) + length.to_bytes(2, "big")
    return header + b"\0\0\0\0" + payload


def _read_frame(sock: socket.socket, buffer: bytearray) -> str:
    while True:
        if len(buffer) >= 2:
            length = buffer[1] & 0x7F
            start = 2
            if length == 126:
                if len(buffer) < 4:
                    length = -1
                else:
                    length = int.from_bytes(buffer[2:4], "big")
                    start = 4
            if length >= 0 and len(buffer) >= start + length:
                text = bytes(buffer[start : start + length]).decode()
                del buffer[: start + length]
                return text
        data = sock.recv(65536)
        assert data, "the server closed the connection"
        buffer.extend(data)


@contextlib.contextmanager
def _raw_websocket(host: str, port: int) -> Iterator[tuple[socket.socket, bytearray]]:
    sock = socket.create_connection((host, port), timeout=10)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {SUBPROTOCOL}\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            data = sock.recv(4096)
            assert data
            head += data
        assert head.startswith(b"HTTP/1.1 101"), head
        buffer = bytearray(head.split(b"\r\n\r\n", 1)[1])
        yield sock, buffer
    finally:
        # Vanish: a reset, with no close frame.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        sock.close()


def test_a_websocket_client_vanishing_mid_subscription_leaves_nothing_behind() -> None:
    with run_hypercorn("subs_wire_app:app", cwd=HERE) as server:
        base = server.base_url
        assert _query(base, "{ appTasks }")["appTasks"] == 0
        with _raw_websocket(server.host, server.port) as (sock, buffer):
            sock.sendall(_frame('{"type":"connection_init"}'))
            assert json.loads(_read_frame(sock, buffer)) == {"type": "connection_ack"}
            for name in ("a", "b"):
                message = {
                    "id": name,
                    "type": "subscribe",
                    "payload": {"query": "subscription { forever }"},
                }
                sock.sendall(_frame(json.dumps(message)))
            message = {
                "id": "c",
                "type": "subscribe",
                "payload": {"query": "subscription { countdown(from: 1) }"},
            }
            sock.sendall(_frame(json.dumps(message)))
            assert json.loads(_read_frame(sock, buffer))["payload"] == {"data": {"countdown": 1}}
            _wait_for(lambda: _query(base, "{ openSources }")["openSources"] == 2)
        _wait_for(lambda: _query(base, "{ openSources }")["openSources"] == 0)
        _wait_for(lambda: _query(base, "{ appTasks }")["appTasks"] == 0)


def test_a_source_that_never_awaits_stops_when_its_websocket_client_vanishes() -> None:
    with run_hypercorn("subs_wire_app:app", cwd=HERE) as server:
        base = server.base_url
        with _raw_websocket(server.host, server.port) as (sock, buffer):
            sock.sendall(_frame('{"type":"connection_init"}'))
            assert json.loads(_read_frame(sock, buffer)) == {"type": "connection_ack"}
            message = {
                "id": "s",
                "type": "subscribe",
                "payload": {"query": "subscription { spinning }"},
            }
            sock.sendall(_frame(json.dumps(message)))
            assert json.loads(_read_frame(sock, buffer))["payload"] == {"data": {"spinning": 1}}
        # The server still answers (its loop is not held), and the source is closed.
        _wait_for(lambda: _query(base, "{ openSources }")["openSources"] == 0)
        _wait_for(lambda: _query(base, "{ appTasks }")["appTasks"] == 0)


@contextlib.contextmanager
def _sse_subscription(host: str, port: int, query: str, until: bytes) -> Iterator[bytes]:
    """A subscription POSTed for an event stream; yields what came until `until` was seen,
    then vanishes (a TCP reset: no end of stream)."""
    body = json.dumps({"query": query}).encode()
    sock = socket.create_connection((host, port), timeout=10)
    try:
        sock.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\naccept: text/event-stream\r\n"
            b"content-type: application/json\r\ncontent-length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        head = b""
        while until not in head:
            data = sock.recv(4096)
            assert data
            head += data
        yield head
    finally:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        sock.close()


def test_a_source_that_never_awaits_stops_when_its_sse_client_vanishes() -> None:
    with run_hypercorn("subs_wire_app:app", cwd=HERE) as server:
        base = server.base_url
        with _sse_subscription(
            server.host, server.port, "subscription { spinning }", b'"spinning":1}'
        ):
            pass
        _wait_for(lambda: _query(base, "{ openSources }")["openSources"] == 0)
        _wait_for(lambda: _query(base, "{ appTasks }")["appTasks"] == 0)


def test_an_sse_client_vanishing_mid_subscription_leaves_nothing_behind() -> None:
    with run_hypercorn("subs_wire_app:app", cwd=HERE) as server:
        base = server.base_url
        assert _query(base, "{ appTasks }")["appTasks"] == 0
        with _sse_subscription(
            server.host, server.port, "subscription { forever }", b":\n\n"
        ) as head:
            assert head.startswith(b"HTTP/1.1 200")
            _wait_for(lambda: _query(base, "{ openSources }")["openSources"] == 1)
        _wait_for(lambda: _query(base, "{ openSources }")["openSources"] == 0)
        _wait_for(lambda: _query(base, "{ appTasks }")["appTasks"] == 0)


# -- several workers: Redis pub/sub ---------------------------------------------------------

REDIS_REASON = "the Redis test runs on Python 3.12 only (one Python of the matrix)"


@contextlib.contextmanager
def _redis_server(tmp_path: Path) -> Iterator[str]:
    """Debian's redis-server on a free loopback port, stopped by its PID."""
    executable = program_or_skip(
        "redis-server", "apt-get install -y --no-install-recommends redis-server"
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            executable,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), 1) as s,
            ):
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    break
            assert process.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.mark.skipif(sys.version_info[:2] != (3, 12), reason=REDIS_REASON)
async def test_an_event_published_in_one_worker_reaches_every_worker(tmp_path: Path) -> None:
    import httpx_ws
    from redis.asyncio import Redis

    with contextlib.ExitStack() as stack:
        url = stack.enter_context(_redis_server(tmp_path))
        env = {"SUBS_REDIS_URL": url}
        servers = [
            stack.enter_context(run_hypercorn("subs_wire_app:app", cwd=HERE, env=env))
            for _ in range(2)
        ]
        redis = Redis.from_url(url)
        try:
            async with httpx.AsyncClient(timeout=10) as client, contextlib.AsyncExitStack() as ws:
                sessions: list[httpx_ws.AsyncWebSocketSession] = []
                pids: set[int] = set()
                for server in servers:
                    for _ in range(2):
                        session: httpx_ws.AsyncWebSocketSession = await ws.enter_async_context(
                            httpx_ws.aconnect_ws(
                                f"{server.base_url}/graphql", client, subprotocols=[SUBPROTOCOL]
                            )
                        )
                        await session.send_text('{"type":"connection_init"}')
                        assert json.loads(await session.receive_text(10))["type"] == (
                            "connection_ack"
                        )
                        await session.send_text(
                            json.dumps(
                                {"id": "p", "type": "subscribe", "payload": {"query": "{ pid }"}}
                            )
                        )
                        pids.add(
                            json.loads(await session.receive_text(10))["payload"]["data"]["pid"]
                        )
                        assert json.loads(await session.receive_text(10))["type"] == "complete"
                        await session.send_text(
                            json.dumps(
                                {
                                    "id": "n",
                                    "type": "subscribe",
                                    "payload": {"query": "subscription { news }"},
                                }
                            )
                        )
                        sessions.append(session)
                assert len(pids) == 2  # two processes
                # Every subscription has reached Redis before anything is published.
                await _wait_for_subscribers(redis, len(sessions))
                response = await client.post(
                    f"{servers[0].base_url}/graphql",
                    json={"query": 'mutation { publish(text: "hello") }'},
                )
                publisher = response.json()["data"]["publish"]
                for session in sessions:
                    message = json.loads(await session.receive_text(10))
                    assert message == {
                        "id": "n",
                        "type": "next",
                        "payload": {"data": {"news": f"hello from {publisher}"}},
                    }
                # And over SSE, from the other worker's publication.
                async with client.stream(
                    "POST",
                    f"{servers[0].base_url}/graphql",
                    json={"query": "subscription { news }"},
                    headers={"accept": "text/event-stream"},
                ) as stream:
                    chunks = stream.aiter_raw()
                    seen = await anext(chunks)
                    await _wait_for_subscribers(redis, len(sessions) + 1)
                    response = await client.post(
                        f"{servers[1].base_url}/graphql",
                        json={"query": 'mutation { publish(text: "again") }'},
                    )
                    other = response.json()["data"]["publish"]
                    assert other != publisher
                    while b"\n\n" not in seen.removeprefix(b":\n\n"):
                        seen += await anext(chunks)
                    assert f'"again from {other}"'.encode() in seen
        finally:
            await redis.aclose()


async def _wait_for_subscribers(redis: Any, count: int) -> None:
    # Redis has no event for a new subscriber: poll its count, bounded.
    deadline = time.monotonic() + 10
    while (await redis.pubsub_numsub("news"))[0][1] < count:
        assert time.monotonic() < deadline, "the subscriptions did not reach Redis"
        await asyncio.sleep(0.02)
