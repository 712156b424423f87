"""A disconnect stops a stream under real hypercorn, uvicorn and granian.

Each reports an HTTP disconnect only through `receive()`, and once the client is gone their
`send()` may return without suspending: a body that never awaits must still be stopped by
core's yield policy. Per server (one worker each, serving `stream_servers_app`):

- a slow client of a never-awaiting stream reads a little and goes; the body's `finally` runs
  and at most one turn's worth of chunks (`chunks_between_turns(size)`) is produced after
  `receive()` reported the disconnect (a count, not a duration); the next request is answered;
- a client gone while the body iterator is blocked awaiting closes it at once;
- a body that raises after the response started ends the connection; the next is served;
- afterwards no asyncio task and no body iterator is left behind.

Every wait polls the server's own account of events (`/state/{token}`, `/tasks`) up to a
deadline; nothing here measures or sleeps for a duration. Counts seen are written as
`record_property` entries (and printed: run with `-s` to read them).
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bareasgi._http import chunks_between_turns
from bareasgi.testing import (
    HypercornServer,
    ServerProcess,
    parse_http_response,
    raw_http,
    run_granian,
    run_hypercorn,
    run_uvicorn,
)
from bareasgi.testing._server import IncompleteResponse

HERE = Path(__file__).parent
APP = "stream_servers_app:app"
NEVER_LIMIT = 5_000_000
"""`stream_servers_app.NEVER_LIMIT`: where a stream nobody stopped ends by itself."""
DEADLINE = 15.0
"""How long a test waits for an event the server reports (well past what any takes)."""
SERVERS = ("hypercorn", "uvicorn", "granian")
SIZES = (16, 1024, 64 * 1024)


@dataclass(frozen=True)
class Server:
    """A running server and its name."""

    name: str
    process: HypercornServer | ServerProcess

    @property
    def host(self) -> str:
        return self.process.host

    @property
    def port(self) -> int:
        return self.process.port

    def output(self) -> str:
        return self.process.output()


@contextlib.contextmanager
def _run(name: str) -> Iterator[Server]:
    process: contextlib.AbstractContextManager[HypercornServer | ServerProcess]
    if name == "hypercorn":
        process = run_hypercorn(APP, cwd=HERE)
    elif name == "uvicorn":
        process = run_uvicorn(APP, cwd=HERE)
    else:
        process = run_granian(APP, cwd=HERE)
    with process as running:
        yield Server(name, running)


@pytest.fixture(scope="module", params=SERVERS)
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    with _run(request.param) as running:
        yield running


def get(server: Server, path: str) -> Any:
    request = f"GET {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n".encode()
    status, _, body = parse_http_response(raw_http(server.host, server.port, request))
    assert status == 200, (path, status, body)
    return json.loads(body) if body[:1] in (b"{", b"[", b"n") else body


def wait_for(
    server: Server, what: str, fetch: Callable[[], Any], done: Callable[[Any], bool]
) -> Any:
    """Poll `fetch()` until `done(value)`, at most `DEADLINE` seconds; fail with the last."""
    deadline = time.monotonic() + DEADLINE
    value = fetch()
    while not done(value):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not seen within {DEADLINE} s; last {value!r}\n{server.output()}")
        time.sleep(0.02)
        value = fetch()
    return value


def assert_hello(server: Server) -> None:
    assert get(server, "/hello") == b"Hello, World!"


def assert_nothing_left(server: Server, before: dict[str, int]) -> dict[str, int]:
    """The worker's loop holds no more tasks than before, and no body iterator is open."""
    now: dict[str, int] = wait_for(
        server,
        "no task or body iterator left behind",
        lambda: get(server, "/tasks"),
        lambda now: now["open_iterators"] == 0 and now["tasks"] <= before["tasks"],
    )
    return now


def read_a_little(sock: socket.socket, at_least: int) -> bytes:
    """Read the head and `at_least` bytes after it (or what came before the deadline)."""
    sock.settimeout(DEADLINE)
    data = b""
    while True:
        end = data.find(b"\r\n\r\n")
        if end >= 0 and len(data) - end - 4 >= at_least:
            return data
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def stream_and_leave(
    server: Server, path: str, at_least: int, reset: bool, mark: str | None = None
) -> bytes:
    """Request `path`, read a little, then go without reading the rest.

    With `mark`, first ask the server to note how far the stream got (`/mark/{mark}`): the
    stream's loop turns let that request through even while the body never awaits.
    """
    sock = socket.create_connection((server.host, server.port), timeout=DEADLINE)
    try:
        sock.sendall(f"GET {path} HTTP/1.1\r\nhost: test\r\n\r\n".encode())
        data = read_a_little(sock, at_least)
        if mark is not None:
            get(server, f"/mark/{mark}")
        if reset:  # RST at once, whatever is unread
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        sock.close()  # unread data: the kernel resets the connection anyway
    return data


@pytest.mark.parametrize("reset", [True, False], ids=["linger0", "close"])
@pytest.mark.parametrize("size", SIZES)
def test_a_slow_client_of_a_never_awaiting_stream_stops_it(
    server: Server, size: int, reset: bool, record_property: Callable[[str, object], None]
) -> None:
    before = get(server, "/tasks")
    token = uuid.uuid4().hex
    head = stream_and_leave(server, f"/never/{token}/{size}", 4 * size, reset, mark=token)
    assert head.startswith(b"HTTP/1.1 200"), head[:200]

    state = wait_for(
        server,
        "the never-awaiting body's finally",
        lambda: get(server, f"/state/{token}"),
        lambda state: state is not None and state["finally"] and state["asgi_done"],
    )
    name = server.name
    after = None if state["at_disconnect"] is None else state["total"] - state["at_disconnect"]
    bound = chunks_between_turns(size)
    # Reported, not asserted: what was produced between the client's last words and the
    # body's end (it includes what the server's buffers took before it saw the client go).
    after_mark = state["total"] - state["at_mark"]
    record_property(
        "observed",
        {"server": name, "size": size, "after": after, "after_mark": after_mark, **state},
    )
    print(
        f"\n{name} size={size} reset={reset}: after disconnect {after} (bound {bound} + 1),"
        f" after the mark {after_mark}; state {state}"
    )
    # The server told the application through receive(), the body did not run to its limit,
    # and after that at most one turn of the yield policy was produced.
    assert state["at_disconnect"] is not None, state
    assert state["total"] < NEVER_LIMIT, state
    assert after is not None
    assert 0 <= after <= bound + 1, (after, bound, state)

    assert_hello(server)
    assert_nothing_left(server, before)


@pytest.mark.parametrize("reset", [True, False], ids=["linger0", "close"])
def test_a_client_gone_while_the_body_awaits_closes_it_at_once(server: Server, reset: bool) -> None:
    before = get(server, "/tasks")
    token = uuid.uuid4().hex
    head = stream_and_leave(server, f"/blocked/{token}", len(b"first chunk\n"), reset)
    assert b"first chunk" in head, head[:300]
    state = wait_for(
        server,
        "the blocked body's finally",
        lambda: get(server, f"/state/{token}"),
        lambda state: state is not None and state["finally"] and state["asgi_done"],
    )
    assert state["cancelled"], state
    assert not state["timed_out"], state
    assert state["at_disconnect"] == 1, state
    assert state["total"] == 1, state
    assert_hello(server)
    assert_nothing_left(server, before)


def test_a_body_that_raises_after_the_start_ends_the_connection(server: Server) -> None:
    before = get(server, "/tasks")
    token = uuid.uuid4().hex
    request = f"GET /raises/{token} HTTP/1.1\r\nhost: test\r\n\r\n".encode()
    # Keep-alive asked for: only the server ending the connection ends this read.
    received = raw_http(server.host, server.port, request, timeout=DEADLINE)
    assert received.startswith(b"HTTP/1.1 200"), received[:300]
    assert b"partial" in received, received
    with pytest.raises(IncompleteResponse):  # cut: no last chunk
        parse_http_response(received)
    state = wait_for(
        server,
        "the raising body's finally",
        lambda: get(server, f"/state/{token}"),
        lambda state: state is not None and state["finally"] and state["asgi_done"],
    )
    assert state["raised"], state
    assert_hello(server)
    assert_nothing_left(server, before)
