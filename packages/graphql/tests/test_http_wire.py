"""GraphQL over HTTP behind a real hypercorn: graphql-http's audits, and bad input on the wire."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from node_helpers import ensure_node_modules, run_node

from bareasgi.testing import (
    HypercornServer,
    RawResponse,
    parse_http_response,
    raw_http,
    run_hypercorn,
)

TESTS_DIR: Final = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def server() -> Iterator[HypercornServer]:
    with run_hypercorn("http_wire_app:app", cwd=TESTS_DIR) as running:
        yield running


def exchange(server: HypercornServer, head: bytes, body: bytes = b"") -> RawResponse:
    request = head.replace(b"\n", b"\r\n") + b"\r\n" + body
    return parse_http_response(raw_http(server.host, server.port, request, timeout=30.0))


def post(server: HypercornServer, body: bytes, accept: bytes = b"application/json") -> RawResponse:
    return exchange(
        server,
        b"POST /graphql HTTP/1.1\nHost: t\nContent-Type: application/json\nAccept: "
        + accept
        + b"\nContent-Length: "
        + str(len(body)).encode()
        + b"\nConnection: close\n",
        body,
    )


def test_graphql_http_server_audits_every_must_and_should_pass(server: HypercornServer) -> None:
    ensure_node_modules()
    results = run_node("audit.mjs", f"http://{server.host}:{server.port}/graphql")
    assert len(results) > 40
    failing = [
        f"{r['id']} {r['name']}: {r['reason']}"
        for r in results
        if r["status"] != "ok" and r["name"].startswith(("MUST", "SHOULD"))
    ]
    assert failing == []
    # The MAY audits pass too.
    assert [r["name"] for r in results if r["status"] != "ok"] == []


def test_an_empty_body_is_400(server: HypercornServer) -> None:
    response = post(server, b"")
    assert response.status == 400
    assert b"no body" in response.body


def test_malformed_json_is_400(server: HypercornServer) -> None:
    response = post(server, b'{"query": "{ hello }"', b"application/graphql-response+json")
    assert response.status == 400
    assert response.header(b"content-type") == b"application/json; charset=utf-8"
    assert json.loads(response.body)["errors"][0]["message"].startswith(
        "The body is not UTF-8 JSON"
    )


def test_an_11_mib_body_is_413_before_parsing(server: HypercornServer) -> None:
    body = json.dumps({"query": "{ hello }" + " " * (11 * 1024 * 1024)}).encode()
    response = post(server, body)
    assert response.status == 413


def test_limits_on_the_wire(server: HypercornServer) -> None:
    deep = "{ node " + "{ child " * 998 + "{ id }" + " }" * 998 + " }"
    response = post(
        server, json.dumps({"query": deep}).encode(), b"application/graphql-response+json"
    )
    assert response.status == 400
    assert b"option max_depth" in response.body
    aliases = "{ " + " ".join(f"a{i}: hello" for i in range(10_000)) + " }"
    response = post(server, json.dumps({"query": aliases}).encode())
    assert response.status == 200
    assert b"(option max_" in response.body
    document = "{ hello }" + "#" * (1024 * 1024)
    response = post(server, json.dumps({"query": document}).encode())
    assert b"option max_document_size" in response.body
    # The server is still fine.
    response = post(server, b'{"query": "{ hello }"}')
    assert response.status == 200
    assert json.loads(response.body) == {"data": {"hello": "world"}}
