"""Wire tests: the plugin behind a real hypercorn, spoken to byte for byte."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from bareasgi.testing import (
    HypercornServer,
    RawResponse,
    parse_http_response,
    raw_http,
    run_hypercorn,
)

TESTS_DIR: Final = Path(__file__).resolve().parent
GOOD: Final = b"https://good.example.com"


@pytest.fixture(scope="module")
def server() -> Iterator[HypercornServer]:
    with run_hypercorn("cors_wire_app:app", cwd=TESTS_DIR) as running:
        yield running


def exchange(server: HypercornServer, head: bytes) -> RawResponse:
    request = head.replace(b"\n", b"\r\n") + b"\r\n"
    data = raw_http(server.host, server.port, request, timeout=10.0)
    return parse_http_response(data)


def values(response: RawResponse, name: bytes) -> list[bytes]:
    return [value for key, value in response.headers if key == name]


def test_a_preflight_on_the_wire(server: HypercornServer) -> None:
    response = exchange(
        server,
        b"OPTIONS /things HTTP/1.1\n"
        b"Host: api.test\n"
        b"Origin: https://good.example.com\n"
        b"Access-Control-Request-Method: PUT\n"
        b"Access-Control-Request-Headers: X-Custom, Content-Type\n"
        b"Connection: close\n",
    )
    assert response.status == 204
    assert response.body == b""
    assert response.header(b"access-control-allow-origin") == GOOD
    assert response.header(b"access-control-allow-credentials") == b"true"
    assert response.header(b"access-control-allow-methods") == b"PUT"
    assert response.header(b"access-control-allow-headers") == (
        b"x-custom, accept, accept-language, content-language, content-type, range"
    )
    assert response.header(b"access-control-max-age") == b"600"
    assert values(response, b"access-control-allow-origin") == [GOOD]


def test_an_actual_request_on_the_wire(server: HypercornServer) -> None:
    response = exchange(
        server,
        b"GET /things HTTP/1.1\nHost: api.test\nOrigin:   https://good.example.com  \n"
        b"Connection: close\n",
    )
    assert response.status == 200
    assert response.body == b"GET things"
    assert values(response, b"access-control-allow-origin") == [GOOD]
    assert response.header(b"access-control-expose-headers") == b"x-visible"
    assert values(response, b"vary") == [b"accept-encoding, origin"]


def test_repeated_origin_headers_on_the_wire(server: HypercornServer) -> None:
    actual = exchange(
        server,
        b"GET /things HTTP/1.1\nHost: api.test\nOrigin: https://good.example.com\n"
        b"Origin: https://evil.example.net\nConnection: close\n",
    )
    preflight = exchange(
        server,
        b"OPTIONS /things HTTP/1.1\nHost: api.test\nOrigin: https://good.example.com\n"
        b"Origin: https://good.example.com\nAccess-Control-Request-Method: PUT\n"
        b"Connection: close\n",
    )
    assert actual.status == 200
    assert actual.header(b"access-control-allow-origin") is None
    assert preflight.status == 400
    assert preflight.body == b"CORS preflight refused: repeated Origin header"


def test_hundreds_of_requested_headers_on_the_wire(server: HypercornServer) -> None:
    names = b",".join(b"x-h%d" % i for i in range(300))
    response = exchange(
        server,
        b"OPTIONS /things HTTP/1.1\nHost: api.test\nOrigin: https://good.example.com\n"
        b"Access-Control-Request-Method: PUT\nAccess-Control-Request-Headers: "
        + names
        + b"\nConnection: close\n",
    )
    assert response.status == 400
    assert response.body.endswith(b"x-h9 and 290 more")


def test_a_malformed_origin_on_the_wire(server: HypercornServer) -> None:
    response = exchange(
        server,
        b"GET /things HTTP/1.1\nHost: api.test\n"
        b"Origin: https://good.example.com@evil.example.net\nConnection: close\n",
    )
    assert response.status == 200
    assert response.header(b"access-control-allow-origin") is None


WS_UPGRADE: Final = (
    b"GET /ws HTTP/1.1\nHost: 127.0.0.1\nUpgrade: websocket\nConnection: Upgrade\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n"
)


def test_the_websocket_guard_refuses_with_403_on_the_wire(server: HypercornServer) -> None:
    response = exchange(server, WS_UPGRADE + b"Origin: https://evil.example.net\n")
    assert response.status == 403
    assert response.body == b"WebSocket origin not allowed"


def test_the_websocket_guard_lets_an_allowed_origin_through(server: HypercornServer) -> None:
    data = raw_http(
        server.host,
        server.port,
        (WS_UPGRADE + b"Origin: https://good.example.com\n").replace(b"\n", b"\r\n") + b"\r\n",
        timeout=10.0,
    )
    assert data.startswith(b"HTTP/1.1 101 ")
