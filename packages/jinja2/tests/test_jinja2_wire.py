"""Wire tests: templates served by a real hypercorn, read byte for byte over raw sockets.

`jinja2_wire_app.py` runs in a hypercorn subprocess (one per module). Every wait is bounded;
nothing asserts a duration. Streaming is proved by ordering: the rows wait half-way for a gate
file the test creates only once bytes have arrived.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Final
from urllib.parse import quote

import jinja2
import pytest
from jinja2_support import INTERNAL_ERROR_BODY, TEMPLATES, TESTS_DIR

from bareasgi.testing import HypercornServer, parse_http_response, raw_http, run_hypercorn

TIMEOUT: Final = 20.0
ROWS: Final = 100_000


class Wire:
    def __init__(self, server: HypercornServer, events: Path) -> None:
        self.server = server
        self.events = events

    def get(self, target: str) -> bytes:
        request = f"GET {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
        return raw_http(self.server.host, self.server.port, request.encode(), timeout=TIMEOUT)

    def events_for(self, token: str) -> list[str]:
        if not self.events.exists():
            return []
        lines = self.events.read_text(encoding="utf-8").splitlines()
        return [line.split(" ", 1)[1] for line in lines if line.startswith(token + " ")]

    def wait_for_log(self, text: str) -> str:
        deadline = time.monotonic() + TIMEOUT
        while text not in (output := self.server.output()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never reached the server's log:\n{output}")
            time.sleep(0.02)
        return output


@pytest.fixture(scope="module")
def wire(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wire]:
    events = tmp_path_factory.mktemp("jinja2-wire") / "events.log"
    with run_hypercorn(
        "jinja2_wire_app:app", cwd=TESTS_DIR, env={"JINJA2_WIRE_EVENTS": str(events)}
    ) as server:
        yield Wire(server, events)


# ---- escaping -----------------------------------------------------------------------------------


class _Parsed(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


ESCAPES: Final = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"})
XSS_PAYLOADS: Final = [
    "<script>alert(1)</script>",
    '"><script>alert(1)</script>',
    "' onmouseover='alert(1)' x='",
    '" onfocus="alert(1)" autofocus="',
    "</p><img src=x onerror=alert(1)>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62; &amp; &quot; &#x27;",
    "<!-- --><svg/onload=alert(1)>",
    "\"'<>&`=",
]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_come_out_escaped(wire: Wire, payload: str) -> None:
    response = parse_http_response(wire.get("/xss?value=" + quote(payload, safe="")))
    assert response.status == 200
    assert response.header(b"content-type") == b"text/html; charset=utf-8"
    body = response.body.decode()
    escaped = payload.translate(ESCAPES)
    assert f"<p>{escaped}</p>" in body
    for dangerous in ("<script", "<img", "<svg", "<!--", "onmouseover='", 'onfocus="'):
        assert dangerous not in body
    # A browser's view: exactly the template's elements, the payload intact inside them.
    parsed = _Parsed()
    parsed.feed(body)
    parsed.close()
    assert [tag for tag, _ in parsed.tags] == ["p", "a", "input"]
    a_attrs = dict(parsed.tags[1][1])
    assert a_attrs == {"href": f"/search?q={payload}", "title": payload}
    assert parsed.tags[2][1] == [("value", payload)]
    assert payload in parsed.text


def test_a_page_over_the_wire(wire: Wire) -> None:
    response = parse_http_response(wire.get("/page/%3Cb%3E%20%26"))
    assert response.status == 200
    assert response.header(b"content-length") == str(len(response.body)).encode()
    assert b"<h1>Hello, &lt;b&gt; &amp;!</h1>" in response.body
    assert b'href="/page/%3Cb%3E%20%26"' in response.body


# ---- streaming ----------------------------------------------------------------------------------


def test_a_100000_row_page_streams(wire: Wire) -> None:
    token = uuid.uuid4().hex
    request = f"GET /rows/{token} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode()
    received = bytearray()
    with socket.create_connection((wire.server.host, wire.server.port), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        # Headers and the first part of the body, while the rows wait at the gate.
        while (end := received.find(b"\r\n\r\n")) < 0 or len(received) < end + 4 + 16 * 1024:
            chunk = sock.recv(65536)
            assert chunk, f"the server closed early: {bytes(received[:300])!r}"
            received += chunk
        events_at_first_bytes = wire.events_for(token)
        Path(f"{wire.events}.{token}.gate").touch()
        while chunk := sock.recv(65536):
            received += chunk
    assert "last-row-rendered" not in events_at_first_bytes
    response = parse_http_response(bytes(received))
    assert response.status == 200
    assert response.header(b"transfer-encoding") == b"chunked"
    assert response.header(b"content-length") is None
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    expected = env.get_template("rows.html").render(rows=range(ROWS), label="<x>")
    assert response.body == expected.encode()
    deadline = time.monotonic() + TIMEOUT
    while "closed" not in wire.events_for(token) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert wire.events_for(token) == ["waiting", "gate-opened", "last-row-rendered", "closed"]


# ---- errors -------------------------------------------------------------------------------------


def test_an_early_error_is_a_clean_500(wire: Wire) -> None:
    response = parse_http_response(wire.get("/early-error"))
    assert response.status == 500
    assert response.body == INTERNAL_ERROR_BODY
    assert response.header(b"content-length") == str(len(INTERNAL_ERROR_BODY)).encode()
    output = wire.wait_for_log("Template 'runtime_error.html' failed")
    assert "(in 'runtime_error.html', line 4): LookupError" in output


def test_an_error_after_the_headers_cuts_the_response(wire: Wire) -> None:
    data = wire.get("/late-error")
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding: chunked" in head.lower()
    assert b"row 0 of SECRET-TEMPLATE-TEXT" in rest
    assert not rest.endswith(b"0\r\n\r\n")  # no last chunk: the client knows it was cut
    assert b"SECRET-VALUE" not in data
    assert INTERNAL_ERROR_BODY not in data
    output = wire.wait_for_log("Template 'late_error.html' failed")
    assert "(in 'late_error.html', line 4) after its response started" in output
