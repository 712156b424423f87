"""`python -m bareasgi serve`: a real process on 127.0.0.1, shut down by SIGTERM or SIGINT with
handlers in flight that never finish by themselves (issue 14, finding 2: shutdown unbounded).

Every test waits for events (marker lines the application writes, answers, the process's exit)
with a bounded wait, and stops the server by its PID at the end whatever happened.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypercorn.config import Config

from bareasgi import Application
from bareasgi.serve import ShutdownTracker, close_connections, listening_ports, load_app, serve
from bareasgi.testing import parse_http_response
from bareasgi.testing._server import ServerProcess, _listening_socket, _run_on_socket

HERE = Path(__file__).parent
EXIT_WAIT = 30.0  # a bound for the wait, not a measure: the test asserts that it exited
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@contextlib.contextmanager
def run_serve(
    tmp_path: Path, *args: str, workers: int = 1, grace: float = 1.0
) -> Iterator[tuple[ServerProcess, Path]]:
    """`python -m bareasgi serve serve_app:app` on a socket of 127.0.0.1:0 (`--bind fd://N`)."""
    markers = tmp_path / "markers.txt"
    markers.touch()
    with _run_on_socket(
        "serve",
        lambda fd: [
            sys.executable,
            "-m",
            "bareasgi",
            "serve",
            "serve_app:app",
            "--bind",
            f"fd://{fd}",
            "--workers",
            str(workers),
            "--grace",
            str(grace),
            *args,
        ],
        lambda out: out.count("Running on") >= workers,
        ServerProcess,
        cwd=HERE,
        env={"SERVE_MARKERS": str(markers)},
        startup_timeout=30.0,
        stop_timeout=5.0,
    ) as server:
        yield server, markers


def marks(markers: Path) -> Counter[str]:
    return Counter(line.split(" ", 1)[1] for line in markers.read_text().splitlines())


def wait_for_marks(markers: Path, **wanted: int) -> None:
    deadline = time.monotonic() + 20.0
    while True:
        seen = marks(markers)
        if all(seen[name.replace("_", "-")] >= count for name, count in wanted.items()):
            return
        assert time.monotonic() < deadline, f"waited for {wanted}, saw {dict(seen)}"
        time.sleep(0.02)


def connect(server: ServerProcess, request: bytes) -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=EXIT_WAIT)
    sock.sendall(request)
    return sock


def read_all(sock: socket.socket) -> bytes:
    data = bytearray()
    with sock:
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            data += chunk
    return bytes(data)


def websocket(server: ServerProcess, path: str = "/ws") -> socket.socket:
    key = base64.b64encode(os.urandom(16)).decode()
    sock = connect(
        server,
        (
            f"GET {path} HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: upgrade\r\n"
            f"sec-websocket-key: {key}\r\nsec-websocket-version: 13\r\n\r\n"
        ).encode(),
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, "connection closed during the handshake"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def close_code(sock: socket.socket) -> int | None:
    """The code of the first close frame the server sends (None if none came)."""
    data = read_all(sock)
    while len(data) >= 2:
        opcode, length = data[0] & 0x0F, data[1] & 0x7F
        start = 2
        if length == 126:
            length, start = struct.unpack("!H", data[2:4])[0], 4
        elif length == 127:
            length, start = struct.unpack("!Q", data[2:10])[0], 10
        if opcode == 8:
            code: int = struct.unpack("!H", data[start : start + 2])[0]
            return code
        data = data[start + length :]
    return None


def stop_and_wait(
    server: ServerProcess, signum: int, then: Callable[[], object] | None = None
) -> int:
    """Send `signum`, then call `then`, and wait (bounded) for the exit status."""
    os.kill(server.pid, signum)
    if then is not None:
        then()
    try:
        return server.process.wait(EXIT_WAIT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"no exit after {signal.Signals(signum).name}:\n{server.output()}")


HANG = b"GET /hang HTTP/1.1\r\nhost: x\r\n\r\n"
STREAM = b"GET /stream HTTP/1.1\r\nhost: x\r\n\r\n"
UPLOAD = b"POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: 1000000\r\n\r\n" + b"x" * 1000


@pytest.mark.timeout(90)
def test_sigterm_ends_hung_handlers_streams_uploads_and_websockets(tmp_path: Path) -> None:
    with run_serve(tmp_path) as (server, markers):
        hung = [connect(server, HANG) for _ in range(3)]
        streamed = connect(server, STREAM)
        uploading = connect(server, UPLOAD)
        ws = websocket(server)
        partial = connect(server, b"GET /hello HTTP/1.1\r\nhost: x\r\n")  # slowloris
        wait_for_marks(markers, hang_started=3, stream_started=1, upload_started=1, ws_started=1)
        assert streamed.recv(5) == b"HTTP/"

        assert stop_and_wait(server, signal.SIGTERM) == 0

        seen = marks(markers)
        assert seen["hang-finally"] == 3
        assert seen["stream-finally"] == 1
        assert seen["upload-finally"] == 1
        assert seen["ws-finally"] == 1
        assert seen["shutdown-hook"] == 1
        for sock in hung:
            assert parse_http_response(read_all(sock)).status == 503
        assert parse_http_response(read_all(uploading)).status == 503
        assert close_code(ws) == 1001
        read_all(streamed)
        read_all(partial)
        output = server.output()
        assert "cancelling 6 request(s)" in output
        assert "Traceback" not in output


@pytest.mark.timeout(90)
def test_sigint_ends_hung_handler_and_websocket(tmp_path: Path) -> None:
    with run_serve(tmp_path) as (server, markers):
        hung = connect(server, HANG)
        ws = websocket(server)
        wait_for_marks(markers, hang_started=1, ws_started=1)

        assert stop_and_wait(server, signal.SIGINT) == 0

        seen = marks(markers)
        assert (seen["hang-finally"], seen["ws-finally"], seen["shutdown-hook"]) == (1, 1, 1)
        assert parse_http_response(read_all(hung)).status == 503
        assert close_code(ws) == 1001


@pytest.mark.timeout(90)
def test_websocket_handler_hypercorn_never_tells_is_ended_too(tmp_path: Path) -> None:
    """A client that sends a frame before the handshake's answer (RFC 6455 forbids it) and
    leaves: hypercorn answers 400 and never tells the application, whose handler would wait
    for ever; the shutdown still ends it."""
    with run_serve(tmp_path) as (server, markers):
        early = socket.create_connection((server.host, server.port), timeout=EXIT_WAIT)
        key = base64.b64encode(os.urandom(16)).decode()
        frame = bytes([0x81, 0x82]) + b"\x00\x00\x00\x00" + b"hi"  # masked with zeros
        early.sendall(
            (
                "GET /ws HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: upgrade\r\n"
                f"sec-websocket-key: {key}\r\nsec-websocket-version: 13\r\n\r\n"
            ).encode()
            + frame
        )
        wait_for_marks(markers, ws_started=1)
        early.close()

        assert stop_and_wait(server, signal.SIGTERM) == 0

        seen = marks(markers)
        assert (seen["ws-finally"], seen["shutdown-hook"]) == (1, 1)


@pytest.mark.timeout(90)
def test_request_finishing_within_the_grace_period_is_answered(tmp_path: Path) -> None:
    with run_serve(tmp_path, grace=20.0) as (server, markers):
        brief = connect(server, b"GET /brief HTTP/1.1\r\nhost: x\r\n\r\n")
        wait_for_marks(markers, brief_started=1)

        release = markers.with_name("brief-release")
        assert stop_and_wait(server, signal.SIGTERM, then=release.touch) == 0

        answer = parse_http_response(read_all(brief))
        assert (answer.status, answer.body) == (200, b"brief")
        seen = marks(markers)
        assert (seen["brief-done"], seen["shutdown-hook"]) == (1, 1)
        assert "cancelling" not in server.output()


@pytest.mark.timeout(90)
def test_client_reading_nothing_does_not_hold_the_shutdown(tmp_path: Path) -> None:
    """A stream whose client reads nothing: the server's send waits for room that never
    comes, and the connection would outlive its cancelled handler."""
    with run_serve(tmp_path) as (server, markers):
        stuck = socket.create_connection((server.host, server.port), timeout=EXIT_WAIT)
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.sendall(b"GET /flood HTTP/1.1\r\nhost: x\r\n\r\n")
        wait_for_marks(markers, flood_started=1)

        assert stop_and_wait(server, signal.SIGTERM) == 0

        seen = marks(markers)
        assert (seen["flood-finally"], seen["shutdown-hook"]) == (1, 1)
        assert "Closed 1 connection(s) that outlived their requests" in server.output()
        stuck.close()


@pytest.mark.timeout(120)
def test_two_workers_serve_and_exit_on_sigterm(tmp_path: Path) -> None:
    with run_serve(tmp_path, workers=2) as (server, markers):
        for _ in range(4):
            answer = parse_http_response(read_all(connect(server, HELLO)))
            assert (answer.status, answer.body) == (200, b"hello")
        hung = connect(server, HANG)
        wait_for_marks(markers, hang_started=1)

        assert stop_and_wait(server, signal.SIGTERM) == 0

        lines = markers.read_text().splitlines()
        hook_pids = {line.split()[0] for line in lines if line.endswith("shutdown-hook")}
        assert len(hook_pids) == 2  # each worker ran its shutdown hooks
        assert marks(markers)["hang-finally"] == 1
        assert parse_http_response(read_all(hung)).status == 503
        # Nothing of the group outlives the supervisor for long (multiprocessing's resource
        # tracker ends once it sees the supervisor gone).
        deadline = time.monotonic() + EXIT_WAIT
        while server.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not server.alive()


HELLO = b"GET /hello HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"


def test_serve_refuses_a_bad_target(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bareasgi", "serve", "no_such_module_here:app"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "cannot serve no_such_module_here:app" in result.stderr


def test_load_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "served_module.py").write_text("class Holder:\n    app = len\nvalue = 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    loaded: object = load_app("served_module:Holder.app")
    assert loaded is len
    for target in ("served_module", "served_module:missing", "served_module:value"):
        with pytest.raises(ValueError, match="served_module"):
            load_app(target)


# ---- the tracker in process ------------------------------------------------------------------


class Recorder:
    def __init__(self, *incoming: dict[str, Any]) -> None:
        self.sent: list[dict[str, Any]] = []
        self.incoming = list(incoming)

    async def receive(self) -> dict[str, Any]:
        if self.incoming:
            return self.incoming.pop(0)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(self, message: Any) -> None:
        self.sent.append(dict(message))


async def test_tracker_cancels_after_grace_and_answers_503() -> None:
    ended: list[str] = []

    async def hanging(scope: Any, receive: Any, send: Any) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            ended.append(scope["type"])

    tracker = ShutdownTracker(hanging)
    http, ws = Recorder(), Recorder()
    calls = [
        asyncio.create_task(tracker({"type": "http"}, http.receive, http.send)),
        asyncio.create_task(tracker({"type": "websocket"}, ws.receive, ws.send)),
    ]
    while len(tracker.calls) < 2:
        await asyncio.sleep(0)
    assert await tracker.drain(0.0) == 2
    await asyncio.wait(calls)
    assert all(call.cancelled() for call in calls)
    assert sorted(ended) == ["http", "websocket"]
    assert http.sent[0]["status"] == 503
    assert ws.sent == [{"type": "websocket.close", "code": 1001}]  # handshake not answered
    assert tracker.calls == {}


async def test_tracker_closes_an_open_websocket_with_1001_and_lets_finished_calls_be() -> None:
    app = Application()
    release = asyncio.Event()

    @app.on_ws_request("/ws")
    async def held(scope: Any, info: Any, matches: Any, web_socket: Any) -> None:
        await web_socket.accept()
        await web_socket.receive()

    @app.on_http_request({"GET"}, "/soon")
    async def soon(scope: Any, info: Any, matches: Any, content: Any) -> int:
        await release.wait()
        return 204

    tracker = ShutdownTracker(app)
    ws = Recorder({"type": "websocket.connect"})
    http = Recorder({"type": "http.request", "body": b"", "more_body": False})
    base = {"path": "/ws", "raw_path": b"/ws", "headers": [], "query_string": b""}
    ws_call = asyncio.create_task(tracker({**base, "type": "websocket"}, ws.receive, ws.send))
    http_scope = {**base, "type": "http", "method": "GET", "path": "/soon", "raw_path": b"/soon"}
    http_call = asyncio.create_task(tracker(http_scope, http.receive, http.send))
    while not ws.sent or len(tracker.calls) < 2:
        await asyncio.sleep(0)
    release.set()
    drained = asyncio.create_task(tracker.drain(30.0, hurry=asyncio.Event()))
    await http_call
    assert http.sent[0]["status"] == 204  # finished by itself within the grace period
    assert not drained.done()  # still waiting for the WebSocket
    drained.cancel()
    assert await tracker.drain(0.0) == 1
    await asyncio.wait([ws_call])
    assert ws.sent[0]["type"] == "websocket.accept"
    assert ws.sent[-1] == {"type": "websocket.close", "code": 1001, "reason": "server shutdown"}


def test_close_connections_shuts_accepted_sockets_on_our_ports_only() -> None:
    listener = _listening_socket()
    other = _listening_socket()
    with listener, other:
        ports = {(int(socket.AF_INET), int(listener.getsockname()[1]))}
        assert ports <= listening_ports()
        client = socket.create_connection(listener.getsockname(), timeout=10)
        outgoing = socket.create_connection(other.getsockname(), timeout=10)
        accepted, _ = listener.accept()
        elsewhere, _ = other.accept()
        with client, outgoing, accepted, elsewhere:
            assert close_connections(ports) == 1
            assert client.recv(1) == b""  # ended
            outgoing.sendall(b"x")
            assert elsewhere.recv(1) == b"x"  # untouched


async def test_serve_in_process_with_a_shutdown_trigger() -> None:
    """`serve(app, bind=..., grace=..., shutdown_trigger=...)`: the documented programmatic
    form, on a socket of 127.0.0.1:0 handed over as fd://N."""
    events: list[str] = []
    started = asyncio.Event()
    app = Application()

    @app.on_http_request({"GET"}, "/hang")
    async def hang(scope: Any, info: Any, matches: Any, content: Any) -> int:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            events.append("finally")
        return 204

    @app.on_shutdown
    async def hook(scope: Any, info: Any, message: Any) -> None:
        events.append("shutdown hook")

    sock = _listening_socket()
    port = sock.getsockname()[1]
    stop = asyncio.Event()
    config = Config()
    config.graceful_timeout = 123.0
    server = asyncio.create_task(
        serve(
            app,
            bind=f"fd://{sock.detach()}",
            grace=0.2,
            config=config,
            shutdown_trigger=stop.wait,
        )
    )
    # The socket listens already: the connection waits in its backlog until the server runs.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HANG)
    await asyncio.wait_for(started.wait(), 20)
    stop.set()
    await asyncio.wait_for(server, EXIT_WAIT)
    answer = await asyncio.wait_for(reader.read(), EXIT_WAIT)
    writer.close()
    assert parse_http_response(answer).status == 503
    assert events == ["finally", "shutdown hook"]
    # The caller's Config is left as it was: serve works on a copy.
    assert config.graceful_timeout == 123.0
    assert config.bind == Config().bind
