"""Wire tests: the core served by a real hypercorn, spoken to byte for byte.

The in-process client cannot show what a real server puts on the wire: HEAD framing, chunked
streaming, what happens when a client vanishes, how early an oversized upload is refused, or
what hypercorn rejects before the application sees a request. So `wire_app.py` runs in a
hypercorn subprocess (one per module; every test opens its own connections and uses its own
token, so a test that kills a connection leaves nothing behind for the next), and the tests
talk to it over raw sockets (httpx would normalise `..` and hide framing) or, where that is
enough, over httpx and httpx-ws.

What only the server process knows (a body iterator's `finally` ran, a WebSocket handler saw
`receive()` return None, how much of an upload was read) comes back through an events file
(see `wire_app.record`). Every wait is bounded; nothing asserts a duration.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import socket
import struct
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final, Literal

import httpx
import pytest
from httpx_ws import WebSocketDisconnect, WebSocketSession, WebSocketUpgradeError, connect_ws

from bareasgi.testing import (
    HypercornServer,
    RawResponse,
    parse_http_response,
    raw_http,
    run_hypercorn,
)

TESTS_DIR: Final = Path(__file__).resolve().parent
TIMEOUT: Final = 10.0
"""The bound on every wait for the server."""
MAX_BODY_SIZE: Final = 1000  # as in wire_app
WS_KEY: Final = b"dGhlIHNhbXBsZSBub25jZQ=="
WS_GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT_PLAIN_UTF8: Final = b"text/plain; charset=utf-8"

Ending = Literal["half-close", "reset"]
ENDINGS: Final[tuple[Ending, ...]] = ("half-close", "reset")


# ---- the server and what it reports -------------------------------------------------------------


class Wire:
    """The running wire app: its server, its events file, and helpers around them."""

    def __init__(self, server: HypercornServer, events: Path) -> None:
        self.server = server
        self.events = events
        self.host = server.host
        self.port = server.port

    def url(self, path: str) -> str:
        return f"{self.server.base_url}{path}"

    def gate(self, token: str) -> Path:
        """The file `/gated/{token}` waits for before its last chunks."""
        return Path(f"{self.events}.{token}.gate")

    def events_for(self, token: str) -> list[list[str]]:
        """The events recorded for `token`, in order, each as `[event, *details]`."""
        found = []
        for line in self.events.read_text(encoding="utf-8").splitlines():
            words = line.split(" ")
            if len(words) >= 2 and words[1] == token:
                found.append([words[0], *words[2:]])
        return found

    def wait_for_event(self, token: str, event: str) -> list[list[str]]:
        """Poll (bounded) until `event` is recorded for `token`; return all of its events."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            events = self.events_for(token)
            if any(words[0] == event for words in events):
                return events
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {event!r} event for {token} within {TIMEOUT} s; events: {events}"
                )
            time.sleep(0.01)

    def sentinel(self) -> str:
        """Write a marker line into the server's log; return it once it is there."""
        token = new_token()
        response = httpx.get(self.url(f"/log/{token}"), timeout=TIMEOUT)
        assert response.status_code == 204
        line = f"wire-sentinel {token}"
        deadline = time.monotonic() + TIMEOUT
        while line not in self.server.output():
            if time.monotonic() > deadline:
                raise AssertionError(f"{line!r} never reached the server's log")
            time.sleep(0.01)
        return line

    def get(self, path: str | bytes) -> RawResponse:
        """One GET over a fresh raw connection, closed by the server after the answer."""
        return parse_http_response(
            raw_http(self.host, self.port, request("GET", path), timeout=TIMEOUT)
        )

    def assert_serving(self) -> None:
        """The server still answers, on a new connection."""
        assert self.get("/hello")[0::2] == (200, b"Hello, World!")


class LogWindow:
    """What the server logged while the `with` block ran (bracketed by sentinel lines)."""

    def __init__(self, wire: Wire) -> None:
        self._wire = wire
        self._start = ""
        self.text = ""

    def __enter__(self) -> LogWindow:
        self._start = self._wire.sentinel()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is not None:
            return
        end = self._wire.sentinel()
        output = self._wire.server.output()
        self.text = output[output.index(self._start) + len(self._start) : output.index(end)]


@pytest.fixture(scope="module")
def wire(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wire]:
    events = tmp_path_factory.mktemp("wire") / "events.log"
    events.touch()
    with run_hypercorn(
        "wire_app:app",
        cwd=TESTS_DIR,
        env={"BAREASGI_WIRE_EVENTS": str(events)},
        # After an early 413 on a chunked upload, hypercorn 0.18 leaves that connection's
        # reader blocked on the application's full receive queue until shutdown, which then
        # waits the whole graceful timeout (3 s by default) before cancelling it.
        args=("--graceful-timeout", "1"),
    ) as server:
        yield Wire(server, events)


def new_token() -> str:
    return uuid.uuid4().hex


# ---- raw HTTP ---------------------------------------------------------------------------------


def request(
    method: str, path: str | bytes, headers: dict[str, str] | None = None, *, close: bool = True
) -> bytes:
    """An HTTP/1.1 request head, the path sent exactly as given."""
    target = path.encode() if isinstance(path, str) else path
    lines = [method.encode() + b" " + target + b" HTTP/1.1", b"Host: wire.test"]
    lines += [f"{name}: {value}".encode() for name, value in (headers or {}).items()]
    if close:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


def complete(*, head: bool = False) -> Callable[[bytes], bool]:
    """A predicate: the bytes hold one whole response."""

    def check(data: bytes) -> bool:
        try:
            parse_http_response(data, head=head)
        except ValueError:  # incomplete (IncompleteResponse is a ValueError)
            return False
        return True

    return check


def split_head(data: bytes) -> tuple[bytes, bytes]:
    """The response head (with its blank line) and every byte after it."""
    end = data.index(b"\r\n\r\n") + 4
    return data[:end], data[end:]


class Connection:
    """A raw connection to the server, read incrementally; every read is bounded."""

    def __init__(self, wire: Wire) -> None:
        self.sock = socket.create_connection((wire.host, wire.port), timeout=TIMEOUT)
        self.received = bytearray()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_until(self, done: Callable[[bytes], bool]) -> bytes:
        """Read until `done(everything received)`; fail on close or after TIMEOUT."""
        deadline = time.monotonic() + TIMEOUT
        while not done(bytes(self.received)):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out; received {bytes(self.received)[-400:]!r}")
            self.sock.settimeout(left)
            with contextlib.suppress(TimeoutError):
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise AssertionError(f"closed early; received {bytes(self.received)!r}")
                self.received += chunk
        return bytes(self.received)

    def read_until_closed(self) -> tuple[bytes, str]:
        """Read until the server ends the connection: everything, and 'eof' or 'reset'."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"the server kept the connection open; received {bytes(self.received)!r}"
                )
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:
                return bytes(self.received), "reset"
            if not chunk:
                return bytes(self.received), "eof"
            self.received += chunk

    def end(self, how: Ending) -> None:
        """Vanish: a half-close (FIN, the socket kept) or a reset (RST), without a goodbye."""
        if how == "half-close":
            self.sock.shutdown(socket.SHUT_WR)
        else:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()


# ---- 1. HEAD ----------------------------------------------------------------------------------


def test_head_sends_the_get_headers_and_no_body_bytes(wire: Wire) -> None:
    with Connection(wire) as connection:
        connection.send(request("HEAD", "/hello", close=False) + request("GET", "/hello"))
        data, _ = connection.read_until_closed()
    head_bytes, rest = split_head(data)
    head = parse_http_response(head_bytes, head=True)
    # Not one byte between the HEAD answer's blank line and the GET answer's status line.
    assert rest.startswith(b"HTTP/1.1 200 ")
    get = parse_http_response(rest)
    assert (head.status, get.status) == (200, 200)
    assert get.body == b"Hello, World!"
    assert head.header(b"content-length") == get.header(b"content-length") == b"13"
    assert head.header(b"content-type") == get.header(b"content-type") == b"text/plain"


def test_head_of_an_endless_stream_answers_at_once_without_a_body(wire: Wire) -> None:
    token = new_token()
    with Connection(wire) as connection:
        connection.send(
            request("HEAD", f"/endless/{token}", close=False) + request("GET", "/hello")
        )
        data, _ = connection.read_until_closed()
    head_bytes, rest = split_head(data)
    head = parse_http_response(head_bytes, head=True)
    assert head.status == 200
    assert head.header(b"content-type") == b"text/plain"
    assert rest.startswith(b"HTTP/1.1 200 ")
    assert parse_http_response(rest).body == b"Hello, World!"


# ---- 2. streaming -----------------------------------------------------------------------------


def test_a_streamed_body_arrives_chunked_as_it_is_produced(wire: Wire) -> None:
    token = new_token()
    with Connection(wire) as connection:
        connection.send(request("GET", f"/gated/{token}", close=False))
        connection.read_until(lambda data: b"chunk 2\n" in data)
        # Three chunks are here; the generator cannot produce the fourth before the gate.
        assert [words for words in wire.events_for(token) if words[0] == "produced"] == [
            ["produced", "0"],
            ["produced", "1"],
            ["produced", "2"],
        ]
        wire.gate(token).touch()
        data = connection.read_until(complete())
        status, headers, body = parse_http_response(data)
        assert (status, body) == (200, b"".join(b"chunk %d\n" % i for i in range(5)))
        header = dict(headers)
        assert header[b"transfer-encoding"] == b"chunked"
        assert b"content-length" not in header
        # Byte for byte: each chunk the generator yielded is one chunk on the wire, then the end.
        assert split_head(data)[1] == b"".join(b"8\r\nchunk %d\n\r\n" % i for i in range(5)) + (
            b"0\r\n\r\n"
        )
        # The connection is kept alive after a streamed response.
        connection.received.clear()
        connection.send(request("GET", "/hello"))
        assert parse_http_response(connection.read_until(complete())).body == b"Hello, World!"


# ---- 3. client disconnect mid-stream ----------------------------------------------------------


@pytest.mark.parametrize("how", ENDINGS)
def test_a_client_leaving_mid_stream_closes_the_body_iterator(wire: Wire, how: Ending) -> None:
    token = new_token()
    with LogWindow(wire) as log:
        with Connection(wire) as connection:
            connection.send(request("GET", f"/endless/{token}", close=False))
            connection.read_until(lambda data: b"tick 2\n" in data)
            connection.end(how)
            # The request's ASGI call has returned: nothing of it can run after this event.
            events = wire.wait_for_event(token, "asgi-done")
        assert events[-2:] == [["finally"], ["asgi-done"]], "nothing after the iterator closed"
        produced = len(events) - 2
        assert produced >= 3
        assert events[:-2] == [["produced", str(i)] for i in range(produced)]
        wire.assert_serving()
    assert "Traceback" not in log.text
    assert "wire_app" not in log.text
    assert wire.events_for(token) == events, "the generator ran on after its request ended"


# ---- 4. bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [b"/x%zz", b"/%", b"/%c3%28", b"/%ff", b"/files/%zz", b"/files/a%2", b"/greet/%E2%9C"],
)
def test_invalid_percent_encoding_is_the_applications_clean_400(wire: Wire, path: bytes) -> None:
    # Hypercorn passes all of these through (h11 checks only that the target is visible
    # ASCII): the 400 with a body is bareASGI's own.
    with LogWindow(wire) as log:
        status, headers, body = wire.get(path)
        assert (status, body) == (400, b"Bad Request")
        assert (b"content-type", TEXT_PLAIN_UTF8) in headers
        wire.assert_serving()
    assert "Traceback" not in log.text
    assert log.text.strip() == ""


@pytest.mark.parametrize("target", [b"/\xc3\xa9", b"/a b", b"/\x7f", b"/tab\there"])
def test_hypercorn_rejects_targets_that_are_not_visible_ascii_itself(
    wire: Wire, target: bytes
) -> None:
    with LogWindow(wire) as log:
        raw = raw_http(wire.host, wire.port, request("GET", target), timeout=TIMEOUT)
        status, headers, body = parse_http_response(raw)
        # hypercorn's answer (empty, closing), not the application's "Bad Request".
        assert (status, body) == (400, b"")
        assert (b"connection", b"close") in headers
        wire.assert_serving()
    assert "Traceback" not in log.text


def test_an_encoded_slash_stays_inside_its_segment(wire: Wire) -> None:
    with LogWindow(wire) as log:
        one = wire.get("/files/a%2Fb")
        assert one.status == 200
        assert json.loads(one.body) == {"route": "/files/{name}", "name": "a/b"}
        two = wire.get("/files/a/b")
        assert json.loads(two.body) == {"route": "/files/{a}/{b}", "a": "a", "b": "b"}
        # A decoded '/' never enters a path parameter.
        assert wire.get("/tree/a%2Fb")[0::2] == (404, b"Not Found")
        assert json.loads(wire.get("/tree/a/b").body) == {"rest": "a/b"}
    assert "Traceback" not in log.text


def test_dot_segments_reach_the_application_as_sent(wire: Wire) -> None:
    # httpx would have sent /tree/b and /files/x: over the wire nothing is normalised.
    assert json.loads(wire.get("/tree/a/../b").body) == {"rest": "a/../b"}
    assert json.loads(wire.get("/files/..").body)["name"] == ".."
    assert json.loads(wire.get("/files/.%2E").body)["name"] == ".."


def test_long_and_deep_paths_are_clean_answers(wire: Wire) -> None:
    long_path = "/" + "a" * 8192
    deep_path = "/x" * 2000
    with LogWindow(wire) as log:
        assert wire.get(long_path)[0::2] == (404, b"Not Found")
        assert wire.get(deep_path)[0::2] == (404, b"Not Found")
        assert wire.get("/x/y/end").status == 200  # the route the deep path walks past
        deep_tree = wire.get("/tree" + deep_path)
        assert deep_tree.status == 200
        assert json.loads(deep_tree.body) == {"rest": "/".join(["x"] * 2000)}
        # A request head longer than hypercorn takes (h11_max_incomplete_size, 16 KiB, checked
        # once a read leaves the head incomplete) is refused by hypercorn: 431, never the app.
        huge = raw_http(wire.host, wire.port, request("GET", "/" + "a" * 100_000), timeout=TIMEOUT)
        assert parse_http_response(huge)[0::2] == (431, b"")
        wire.assert_serving()
    assert "Traceback" not in log.text
    assert log.text.strip() == ""


@pytest.mark.parametrize(
    "path", ["/users/abc", "/users/4.5", "/users/", "/users/%EF%BC%91", "/users/1e3"]
)
def test_a_value_that_does_not_convert_is_a_404(wire: Wire, path: str) -> None:
    with LogWindow(wire) as log:
        assert wire.get(path)[0::2] == (404, b"Not Found")
    assert "Traceback" not in log.text


def test_a_declared_length_over_the_limit_is_413_before_any_body_is_sent(wire: Wire) -> None:
    token = new_token()
    with LogWindow(wire) as log:
        with Connection(wire) as connection:
            # Only the head: a server that waited for the body would never answer.
            connection.send(
                request("POST", f"/upload/{token}", {"Content-Length": "100000"}, close=False)
            )
            data, _ = connection.read_until_closed()
        status, headers, body = parse_http_response(data)
        assert (status, body) == (413, b"Request body larger than 1000 bytes")
        assert (b"connection", b"close") in headers
        # The handler read nothing, and the application's ASGI call returned.
        assert wire.wait_for_event(token, "asgi-done") == [["upload", "0"], ["asgi-done"]]
        wire.assert_serving()
    assert "Traceback" not in log.text


def test_a_declared_length_over_the_limit_with_its_body_is_413(wire: Wire) -> None:
    token = new_token()
    head = request("POST", f"/upload/{token}", {"Content-Length": "5000"}, close=False)
    raw = raw_http(wire.host, wire.port, head + b"a" * 5000, timeout=TIMEOUT)
    assert parse_http_response(raw)[0::2] == (413, b"Request body larger than 1000 bytes")
    assert wire.wait_for_event(token, "asgi-done") == [["upload", "0"], ["asgi-done"]]
    wire.assert_serving()


def test_expect_100_continue_over_the_limit_ends_in_413(wire: Wire) -> None:
    token = new_token()
    head = request(
        "POST",
        f"/upload/{token}",
        {"Content-Length": "100000", "Expect": "100-continue"},
        close=False,
    )
    with Connection(wire) as connection:
        connection.send(head)
        data, _ = connection.read_until_closed()
    # hypercorn answers "100 Continue" itself as soon as it reads the head, before the
    # application decides; the final answer is still the 413.
    assert parse_http_response(data)[0::2] == (413, b"Request body larger than 1000 bytes")
    wire.assert_serving()


def test_a_chunked_body_over_the_limit_is_413_without_reading_the_rest(wire: Wire) -> None:
    token = new_token()
    chunk = b"%x\r\n%s\r\n" % (100, b"b" * 100)
    # No terminating 0-chunk: only a server that stops reading can answer at all.
    body = chunk * 80_000
    head = request("POST", f"/upload/{token}", {"Transfer-Encoding": "chunked"}, close=False)
    with LogWindow(wire) as log:
        # raw_http keeps writing while it reads, and returns only once the server has closed.
        raw = raw_http(wire.host, wire.port, head + body, timeout=TIMEOUT)
        status, headers, content = parse_http_response(raw)
        assert (status, content) == (413, b"Request body larger than 1000 bytes")
        assert (b"connection", b"close") in headers
        [[_, read], done] = wire.wait_for_event(token, "asgi-done")
        assert 0 < int(read) <= MAX_BODY_SIZE  # the handler saw only what fits the limit
        assert done == ["asgi-done"]  # and the application returned: no hang in send()
        wire.assert_serving()
    assert "Traceback" not in log.text


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_within_the_limit_arrives_whole(wire: Wire, chunked: bool) -> None:
    payload = bytes(range(256)) * 3 + b"end"  # 771 bytes
    if chunked:
        head = request("POST", "/echo-body", {"Transfer-Encoding": "chunked"})
        data = b"".join(
            b"%x\r\n%s\r\n" % (len(part), part)
            for part in (payload[:100], payload[100:700], payload[700:])
        )
        data += b"0\r\n\r\n"
    else:
        head = request("POST", "/echo-body", {"Content-Length": str(len(payload))})
        data = payload
    raw = raw_http(wire.host, wire.port, head + data, timeout=TIMEOUT)
    assert parse_http_response(raw)[0::2] == (200, payload)


@pytest.mark.parametrize(
    ("path", "handler", "problem"),
    [
        ("/bad/status", "bad_status", "the status must be an int, not str"),
        ("/bad/header", "bad_header", "header x-evil has CR, LF or NUL in its value"),
        ("/bad/body", "bad_body", "the body must be bytes or an async iterable of bytes, not int"),
    ],
)
def test_an_ill_formed_response_is_a_logged_500(
    wire: Wire, path: str, handler: str, problem: str
) -> None:
    with LogWindow(wire) as log:
        raw = raw_http(wire.host, wire.port, request("GET", path), timeout=TIMEOUT)
        status, headers, body = parse_http_response(raw)
        assert (status, body) == (500, b"Internal Server Error")
        assert (b"content-type", TEXT_PLAIN_UTF8) in headers
        # The bad header never reaches the wire, in any form.
        assert b"x-evil" not in raw.lower()
        assert b"x-injected" not in raw.lower()
        wire.assert_serving()
    assert f"handler wire_app.{handler} for route '{path}'" in log.text
    assert problem in log.text
    assert "Traceback" not in log.text  # nothing raised: a message says it all


def test_a_raising_handler_is_a_500_that_hides_the_error_and_logs_it(wire: Wire) -> None:
    with LogWindow(wire) as log:
        status, _, body = wire.get("/boom")
        assert (status, body) == (500, b"Internal Server Error")
        wire.assert_serving()
    assert "handler wire_app.boom for route '/boom'" in log.text
    assert "Traceback" in log.text
    assert "RuntimeError: a handler secret" in log.text


def test_an_error_after_the_body_started_cuts_the_connection(wire: Wire) -> None:
    with LogWindow(wire) as log:
        with Connection(wire) as connection:
            # Keep-alive asked for: only the server ending the connection ends this read.
            connection.send(request("GET", "/fail-mid-stream", close=False))
            data, _ = connection.read_until_closed()
        head, rest = split_head(data)
        assert parse_http_response(head, head=True).header(b"transfer-encoding") == b"chunked"
        assert rest == b"7\r\npartial\r\n"  # the first chunk, and no terminating 0-chunk
        with pytest.raises(ValueError, match="chunk"):
            parse_http_response(data)
        wire.assert_serving()
    assert "handler wire_app.fail_mid_stream for route '/fail-mid-stream'" in log.text
    assert "failed while streaming its response body" in log.text
    assert "RuntimeError: the stream broke" in log.text


# ---- 5. 404 and 405 ---------------------------------------------------------------------------


def test_404_on_the_wire(wire: Wire) -> None:
    status, headers, body = wire.get("/nowhere")
    assert (status, body) == (404, b"Not Found")
    header = dict(headers)
    assert header[b"content-type"] == TEXT_PLAIN_UTF8
    assert header[b"content-length"] == b"9"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/hello", b"GET, HEAD"),
        ("DELETE", "/files/x", b"GET, HEAD"),
        ("GET", "/upload/x", b"POST"),
        ("PUT", "/users/7", b"GET, HEAD"),
    ],
)
def test_405_on_the_wire_lists_the_allowed_methods(
    wire: Wire, method: str, path: str, allow: bytes
) -> None:
    raw = raw_http(
        wire.host, wire.port, request(method, path, {"Content-Length": "0"}), timeout=TIMEOUT
    )
    status, headers, body = parse_http_response(raw)
    assert (status, body) == (405, b"Method Not Allowed")
    assert dict(headers)[b"allow"] == allow


# ---- 6. WebSockets ----------------------------------------------------------------------------


@contextlib.contextmanager
def websocket(
    wire: Wire, path: str, subprotocols: list[str] | None = None
) -> Iterator[WebSocketSession]:
    """An httpx-ws session with the wire app (no keep-alive pings)."""
    with (
        httpx.Client(timeout=TIMEOUT) as client,
        connect_ws(
            wire.url(path),
            client,
            subprotocols=subprotocols,
            keepalive_ping_interval_seconds=None,
            session_class=WebSocketSession,
        ) as session,
    ):
        yield session


def ws_handshake(path: str) -> bytes:
    return request(
        "GET",
        path,
        {
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": WS_KEY.decode(),
            "Sec-WebSocket-Version": "13",
        },
        close=False,
    )


def ws_client_frame(text: str) -> bytes:
    """A masked text frame, as a client must send it."""
    payload = text.encode()
    assert len(payload) < 126
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


def ws_server_text(data: bytes) -> bytes:
    """A server's unmasked text frame."""
    assert len(data) < 126
    return bytes([0x81, len(data)]) + data


def test_websocket_echo_subprotocol_headers_and_close(wire: Wire) -> None:
    token = new_token()
    with websocket(wire, f"/ws/echo/{token}", ["chat.v0", "chat.v1", "chat.v2"]) as session:
        assert session.subprotocol == "chat.v1"  # the client's first that the server speaks
        assert session.response is not None
        assert session.response.headers["x-wire"] == "accepted"
        session.send_text("hello ✓")
        assert session.receive_text(timeout=TIMEOUT) == "hello ✓"
        session.send_bytes(b"\x00\xffbinary")
        assert session.receive_bytes(timeout=TIMEOUT) == b"\x00\xffbinary"
        session.send_text("close-me")
        with pytest.raises(WebSocketDisconnect) as closed:
            session.receive_text(timeout=TIMEOUT)
    assert (closed.value.code, closed.value.reason) == (4001, "asked to leave")


def test_websocket_accept_on_the_wire(wire: Wire) -> None:
    token = new_token()
    with Connection(wire) as connection:
        connection.send(ws_handshake(f"/ws/echo/{token}"))
        head = parse_http_response(connection.read_until(lambda d: b"\r\n\r\n" in d), head=True)
        assert head.status == 101
        expected = base64.b64encode(hashlib.sha1(WS_KEY + WS_GUID).digest())
        assert head.header(b"sec-websocket-accept") == expected
        assert head.header(b"sec-websocket-protocol") is None  # none offered, none chosen
        assert head.header(b"x-wire") == b"accepted"


def test_a_refused_handshake_gives_the_client_the_http_answer(wire: Wire) -> None:
    raw = raw_http(wire.host, wire.port, ws_handshake("/ws/reject"), timeout=TIMEOUT)
    status, headers, body = parse_http_response(raw)
    assert (status, body) == (401, b"who are you?")
    assert dict(headers)[b"www-authenticate"] == b"Bearer"
    with pytest.raises(WebSocketUpgradeError) as refused, websocket(wire, "/ws/reject"):
        pytest.fail("the handshake must be refused")
    assert refused.value.response.status_code == 401


@pytest.mark.parametrize(("path", "status"), [("/ws/nowhere", 404), ("/ws/silent", 403)])
def test_websocket_unknown_path_and_unaccepted_handshake(
    wire: Wire, path: str, status: int
) -> None:
    raw = raw_http(wire.host, wire.port, ws_handshake(path), timeout=TIMEOUT)
    assert parse_http_response(raw).status == status


def test_websocket_handshake_with_invalid_percent_encoding_is_400(wire: Wire) -> None:
    # The matching rules answer an undecodable path 400, WebSockets included.
    with LogWindow(wire) as log:
        raw = raw_http(wire.host, wire.port, ws_handshake("/ws/echo/%zz"), timeout=TIMEOUT)
        assert parse_http_response(raw).status == 400
    assert "Traceback" not in log.text


def test_a_websocket_handler_that_raises_closes_with_1011(wire: Wire) -> None:
    with LogWindow(wire) as log:
        with websocket(wire, "/ws/boom") as session, pytest.raises(WebSocketDisconnect) as closed:
            session.receive_text(timeout=TIMEOUT)
        assert closed.value.code == 1011
        wire.assert_serving()
    assert "handler wire_app.ws_boom for route '/ws/boom'" in log.text
    assert "RuntimeError: a WebSocket secret" in log.text


@pytest.mark.parametrize("how", ENDINGS)
def test_a_websocket_client_vanishing_mid_receive(wire: Wire, how: Ending) -> None:
    token = new_token()
    with LogWindow(wire) as log:
        with Connection(wire) as connection:
            connection.send(ws_handshake(f"/ws/echo/{token}"))
            connection.read_until(lambda d: b"\r\n\r\n" in d)
            assert connection.received.startswith(b"HTTP/1.1 101 ")
            connection.received.clear()
            connection.send(ws_client_frame("ping?"))
            # The echo proves the handler is in its receive loop when the client goes.
            assert connection.read_until(lambda d: len(d) >= 7) == ws_server_text(b"ping?")
            connection.end(how)
            events = wire.wait_for_event(token, "ws-none")
        assert events == [["ws-none", "1006"]]  # receive() gave None; hypercorn says 1006
        wire.assert_serving()
    assert "Traceback" not in log.text
    assert "wire_app" not in log.text


# ---- 7. path parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "greeting"),
    [
        ("/greet/%E2%9C%93", "Hello, ✓"),
        ("/greet/caf%C3%A9%20au%20lait", "Hello, café au lait"),
        ("/greet/%F0%9F%90%8D", "Hello, 🐍"),
        ("/greet/a+b", "Hello, a+b"),
    ],
)
def test_unicode_path_parameters(wire: Wire, path: str, greeting: str) -> None:
    status, _, body = wire.get(path)
    assert status == 200
    assert body.decode("utf-8") == greeting


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "/typed/42/2.5/2024-02-29T12%3A30%3A00",
            {
                "i": ["int", 42],
                "f": ["float", 2.5],
                "d": ["datetime", "2024-02-29T12:30:00"],
            },
        ),
        (
            "/typed/-7/1e3/2024-01-01",
            {"i": ["int", -7], "f": ["float", 1000.0], "d": ["datetime", "2024-01-01T00:00:00"]},
        ),
        ("/day/2024-02-29", {"d": ["datetime", "2024-02-29T00:00:00"]}),
        ("/users/-3", {"id": -3}),
    ],
)
def test_typed_path_parameters(wire: Wire, path: str, expected: dict[str, Any]) -> None:
    status, _, body = wire.get(path)
    assert status == 200
    assert json.loads(body) == expected


@pytest.mark.parametrize(
    "path",
    ["/typed/4.5/1/2024-01-01", "/typed/1/x/2024-01-01", "/typed/1/1/soon", "/day/2023-02-29"],
)
def test_typed_path_parameters_that_do_not_convert(wire: Wire, path: str) -> None:
    assert wire.get(path)[0::2] == (404, b"Not Found")
