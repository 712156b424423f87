"""The metrics page: text format and OpenMetrics, negotiation, gzip, and promtool's verdict."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator

import pytest
from prometheus_helpers import families, openmetrics, promtool_check, samples, value

from bareasgi import Application, Content, HttpResponse, Info, Matches, Scope, text_writer
from bareasgi.testing import TestClient
from bareasgi_prometheus._exposition import accepts_gzip, negotiate

# What Prometheus 2.42 (Debian's) sends, and what Prometheus 3 sends by default.
PROMETHEUS_2_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
PROMETHEUS_3_ACCEPT = (
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
    "encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;"
    "escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,"
    "*/*;q=0.1"
)
TEXT = [(b"content-type", b"text/plain")]


async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, TEXT, text_writer("Hello, World!")


async def stream(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    async def body() -> AsyncIterator[bytes]:
        yield b"streamed"

    return 200, TEXT, body()


async def boom(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    raise RuntimeError("expected by the test")


def busy_app(**options: object) -> Application:
    """An app with varied series: statuses, methods, unmatched, odd characters in templates."""
    app = Application(plugins={"prometheus": {"multiprocess": False, **options}})
    app.http_router.add({"GET", "POST"}, "/hello", hello)
    app.http_router.add({"GET"}, "/files/{path:path}", stream)
    app.http_router.add({"GET"}, '/odd/quote"back\\slash/é/{when:datetime:%Y-%m-%d}', hello)
    app.http_router.add({"GET"}, "/boom", boom)
    return app


async def exercise(client: TestClient) -> None:
    await client.get("/hello")
    await client.post("/hello")
    await client.put("/hello")
    await client.head("/hello")
    await client.get("/files/a/b.txt")
    await client.raw_request("GET", b'/odd/quote"back\\slash/%C3%A9/2024-01-31')
    await client.get("/boom")
    await client.get("/missing")
    await client.request("BREW", "/missing")


async def test_the_text_page_passes_promtool(caplog: pytest.LogCaptureFixture) -> None:
    async with TestClient(busy_app()) as client:
        await exercise(client)
        response = await client.get("/metrics", headers={"accept-encoding": "identity"})
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    checked = promtool_check(response.text)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == "", checked.stdout  # no lint complaints either
    found = samples(families(response.text))
    route = '/odd/quote"back\\slash/é/{when:datetime:%Y-%m-%d}'
    assert value(found, "bareasgi_requests_total", method="GET", route=route, status="200") == 1


async def test_openmetrics_when_the_scraper_asks_checked_by_the_strict_parser(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with TestClient(busy_app()) as client:
        await exercise(client)
        response = await client.get("/metrics", headers={"accept": PROMETHEUS_2_ACCEPT})
    assert response.headers["content-type"].startswith(
        "application/openmetrics-text; version=1.0.0"
    )
    assert response.text.endswith("# EOF\n")
    parsed = openmetrics(response.text)
    by_name = {family.name: family for family in parsed}
    assert by_name["bareasgi_requests"].type == "counter"
    assert by_name["bareasgi_request_duration_seconds"].type == "histogram"
    assert by_name["bareasgi_request_duration_seconds"].unit == "seconds"
    assert by_name["bareasgi_requests_in_progress"].type == "gauge"
    assert by_name["bareasgi_response_body_bytes"].unit == "bytes"
    found = samples(parsed)
    labels = {"method": "GET", "route": "/hello"}
    assert value(found, "bareasgi_requests_total", **labels, status="200") == 1
    assert value(found, "bareasgi_request_duration_seconds_count", **labels) == 1


async def test_the_page_is_the_same_in_both_formats() -> None:
    async with TestClient(busy_app()) as client:
        await client.get("/hello")
        await client.get("/files/x")
        text = (await client.get("/metrics")).text
        om = (await client.get("/metrics", headers={"accept": PROMETHEUS_3_ACCEPT})).text

    def ours(found: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> dict[object, float]:
        return {key: val for key, val in found.items() if key[0].startswith("bareasgi_")}

    assert ours(samples(families(text))) == ours(samples(openmetrics(om)))


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("", "text/plain; version=0.0.4"),
        ("*/*", "text/plain; version=0.0.4"),
        ("application/json", "text/plain; version=0.0.4"),
        ("application/openmetrics-text", "application/openmetrics-text; version=1.0.0"),
        (PROMETHEUS_2_ACCEPT, "application/openmetrics-text; version=1.0.0"),
        (PROMETHEUS_3_ACCEPT, "application/openmetrics-text; version=1.0.0"),
        ("application/openmetrics-text;q=0, text/plain", "text/plain; version=0.0.4"),
        ("text/plain;q=0.9, application/openmetrics-text;q=0.5", "text/plain; version=0.0.4"),
        ("text/plain;q=0.4, application/openmetrics-text;q=0.5", "application/openmetrics-text"),
        ("application/openmetrics-text;version=0.0.1", "text/plain; version=0.0.4"),
        ("application/openmetrics-text;q=abc, text/plain", "text/plain; version=0.0.4"),
        ("application/openmetrics-text;q=2", "text/plain; version=0.0.4"),
        ("APPLICATION/OpenMetrics-Text", "application/openmetrics-text"),
        ("text/plain;version=1.0.0", "text/plain; version=1.0.0"),
        (",;,;=;q=,", "text/plain; version=0.0.4"),
    ],
)
def test_negotiation(accept: str, media: str) -> None:
    _, content_type = negotiate(accept)
    assert content_type.startswith(media)


@pytest.mark.parametrize(
    ("accept_encoding", "gzipped"),
    [
        ("", False),
        ("gzip", True),
        ("br,gzip", True),
        ("gzip;q=0", False),
        ("gzip; q=0.0, br", False),
        ("*", True),
        ("*;q=0", False),
        ("gzip;q=0, *", False),
        ("identity", False),
        ("GZIP;Q=0.5", True),
        ("x-gzip", True),
        ("gzip;q=nope", False),
    ],
)
def test_gzip_negotiation(accept_encoding: str, gzipped: bool) -> None:
    assert accepts_gzip(accept_encoding) is gzipped


async def test_the_page_is_gzipped_when_asked() -> None:
    async with TestClient(busy_app()) as client:
        await client.get("/hello")
        plain = await client.get("/metrics", headers={"accept-encoding": "identity"})
        async with client.stream(
            "GET", "/metrics", headers={"accept-encoding": "gzip, deflate"}
        ) as response:
            raw = b"".join([part async for part in response.aiter_raw()])
            assert response.headers["content-encoding"] == "gzip"
            assert response.headers["vary"] == "accept, accept-encoding"
    assert "content-encoding" not in plain.headers
    unpacked = gzip.decompress(raw).decode()
    hello = 'bareasgi_requests_total{method="GET",route="/hello",status="200"} 1.0'
    assert hello in unpacked
    assert hello in plain.text

    async with TestClient(busy_app(gzip=False)) as client:
        response = await client.get("/metrics", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in response.headers
    assert response.headers["vary"] == "accept"


async def test_head_on_the_metrics_route() -> None:
    async with TestClient(busy_app()) as client:
        response = await client.head("/metrics", headers={"accept-encoding": "identity"})
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) > 0


async def test_several_accept_headers_are_read_together() -> None:
    async with TestClient(busy_app()) as client:
        response = await client.get(
            "/metrics",
            headers=[("accept", "text/html"), ("accept", "application/openmetrics-text")],
        )
    assert response.headers["content-type"].startswith("application/openmetrics-text")
