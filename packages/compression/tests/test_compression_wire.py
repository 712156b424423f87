"""On the wire: real clients decode what a real hypercorn sends.

`curl --compressed` (its build has brotli and zstd: checked, else the test says so and
decodes with the Python packages instead) for every coding, and an event stream read as it
comes, each event arriving while the stream is still open.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Final

import httpx
import pytest
from compression_helpers import decode
from compression_wire_app import PAGE_TEXT

from bareasgi.testing import (
    HypercornServer,
    parse_http_response,
    program_or_skip,
    raw_http,
    run_hypercorn,
)

TESTS_DIR: Final = Path(__file__).resolve().parent
CODINGS: Final = ("gzip", "br", "zstd")


@pytest.fixture(scope="module")
def server() -> Iterator[HypercornServer]:
    with run_hypercorn("compression_wire_app:app", cwd=TESTS_DIR) as running:
        yield running


@cache
def _curl_features() -> frozenset[str]:
    """What this curl can do (asked once): empty when there is no curl."""
    curl = shutil.which("curl")
    if curl is None:
        return frozenset()
    output = subprocess.run([curl, "--version"], capture_output=True, text=True, timeout=10)
    for line in output.stdout.splitlines():
        if line.startswith("Features:"):
            return frozenset(feature.lower() for feature in line.split()[1:])
    return frozenset()


CURL_CODING_FEATURE: Final = {"gzip": "libz", "br": "brotli", "zstd": "zstd"}


@pytest.mark.parametrize("coding", CODINGS)
def test_curl_decodes_every_coding(server: HypercornServer, coding: str) -> None:
    program_or_skip("curl", "apt-get install -y curl")
    features = _curl_features()
    if CURL_CODING_FEATURE[coding] not in features:
        pytest.skip(f"this curl cannot decode {coding}; the raw test below decodes it")
    result = subprocess.run(
        [
            "curl",
            "--silent",
            "--show-error",
            "--compressed",
            "--header",
            f"Accept-Encoding: {coding}",
            "--dump-header",
            "-",
            "--max-time",
            "20",
            f"{server.base_url}/text",
        ],
        capture_output=True,
        timeout=30,
        check=True,
    )
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for line in head.split(b"\r\n")[1:]
        for name, _, value in [line.partition(b":")]
    }
    assert headers[b"content-encoding"] == coding.encode()
    assert headers[b"vary"] == b"accept-encoding"
    assert int(headers[b"content-length"]) < len(PAGE_TEXT)
    assert body == PAGE_TEXT.encode()  # curl decoded it


@pytest.mark.parametrize("coding", CODINGS)
def test_the_bytes_on_the_wire_decode(server: HypercornServer, coding: str) -> None:
    request = (
        f"GET /text HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: {coding}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    response = parse_http_response(raw_http(server.host, server.port, request, timeout=10.0))
    assert response.status == 200
    assert response.header(b"content-encoding") == coding.encode()
    assert int(response.header(b"content-length") or 0) == len(response.body)
    assert decode(coding, response.body) == PAGE_TEXT.encode()


def test_head_on_the_wire(server: HypercornServer) -> None:
    request = (
        b"HEAD /text HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n"
        b"Connection: close\r\n\r\n"
    )
    data = raw_http(server.host, server.port, request, timeout=10.0)
    head = data.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 200")
    assert b"content-encoding: gzip" in head
    assert b"content-length" not in head


@pytest.mark.parametrize("coding", CODINGS)
async def test_events_arrive_while_the_stream_is_open(server: HypercornServer, coding: str) -> None:
    """The stream never ends: each event can only be seen if it was flushed as it was sent."""
    seen: list[str] = []
    async with (
        httpx.AsyncClient(timeout=20.0) as client,
        client.stream(
            "GET", f"{server.base_url}/events", headers={"accept-encoding": coding}
        ) as response,
    ):
        assert response.headers["content-encoding"] == coding
        buffer = ""
        async for text in response.aiter_text():  # decoded by httpx as it comes
            buffer += text
            while "\n\n" in buffer:
                event, buffer = buffer.split("\n\n", 1)
                seen.append(event)
            if len(seen) == 3:
                break
    assert [event.splitlines()[0] for event in seen] == ["id: 0", "id: 1", "id: 2"]
