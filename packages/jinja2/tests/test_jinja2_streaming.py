"""A 100,000-row page streams: first bytes before the last row, and flat peak memory."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from typing import Final

import jinja2
import pytest
from jinja2_support import TEMPLATES, call, page_handler, plugin_app

from bareasgi import Content, HttpResponse, Info, Matches, Scope
from bareasgi.testing import TestClient
from bareasgi_jinja2 import render_template

ROWS: Final = 100_000
GATE_AT: Final = ROWS // 2
MIB: Final = 1024 * 1024


def expected_page() -> bytes:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    return env.get_template("rows.html").render(rows=range(ROWS), label="<x>").encode()


@pytest.mark.parametrize("enable_async", [True, False])
async def test_first_bytes_reach_the_client_before_the_last_row(enable_async: bool) -> None:
    """The rows wait half-way for a gate that only the client opens, once it has bytes.

    Had the page been rendered whole before sending, no bytes would come, the gate would
    stay shut and the wait would fail (bounded); nothing here depends on timing.
    """
    gate = asyncio.Event()
    progress: list[str] = []
    produced = 0

    async def gated_rows() -> AsyncIterator[int]:
        nonlocal produced
        for row in range(ROWS):
            if row == GATE_AT:
                progress.append("waiting at the gate")
                await asyncio.wait_for(gate.wait(), 20)
                progress.append("gate opened")
            produced += 1
            yield row
        progress.append("last row rendered")

    def gated_rows_sync() -> Iterator[int]:
        # Sync rendering cannot wait: the rows record how far they got instead.
        nonlocal produced
        for row in range(ROWS):
            produced += 1
            yield row
        progress.append("last row rendered")

    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        rows = gated_rows() if enable_async else gated_rows_sync()
        return await render_template(scope, "rows.html", {"rows": rows, "label": "<x>"})

    received = bytearray()
    app = plugin_app({"/rows": handler}, enable_async=enable_async)
    async with TestClient(app) as client, client.stream("GET", "/rows") as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers
        chunks = response.aiter_bytes()
        received += await anext(chunks)
        assert "last row rendered" not in progress
        assert produced < ROWS
        gate.set()
        async for chunk in chunks:
            received += chunk
    expected = ["waiting at the gate", "gate opened", "last row rendered"]
    assert progress == (expected if enable_async else expected[-1:])
    assert bytes(received) == expected_page()


async def test_messages_are_coalesced() -> None:
    app = plugin_app({"/rows": page_handler("rows.html", rows=range(ROWS), label="<x>")})
    exchange = await call(app, "/rows", keep_bodies=False)
    sizes = [size for size in exchange.sizes if size]
    assert exchange.complete
    assert sum(sizes) == len(expected_page())
    assert all(size >= 16 * 1024 for size in sizes[:-1])
    assert len(sizes) < len(expected_page()) / (16 * 1024) + 2


async def _peak_while(make_request: AsyncIterator[None]) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        async for _ in make_request:
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return (peak - base) / MIB


@pytest.mark.parametrize("enable_async", [True, False])
async def test_peak_memory_stays_flat(enable_async: bool) -> None:
    def rows() -> Iterator[int]:
        return iter(range(ROWS))

    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return await render_template(scope, "rows.html", {"rows": rows(), "label": "<x>"})

    app = plugin_app({"/rows": handler}, enable_async=enable_async)
    await call(app, "/rows", keep_bodies=False)  # compiles the template first
    sent: list[int] = []

    async def streamed() -> AsyncIterator[None]:
        exchange = await call(app, "/rows", keep_bodies=False)
        sent.append(sum(exchange.sizes))
        yield None

    async def joined() -> AsyncIterator[None]:
        # The control: the same page rendered whole, as a non-streaming framework does.
        env = app.plugins["jinja2"].state.environment
        template = env.get_template("rows.html")
        if enable_async:
            text = await template.render_async(rows=rows(), label="<x>")
        else:
            text = template.render(rows=rows(), label="<x>")
        sent.append(len(text.encode()))
        yield None

    page_mib = len(expected_page()) / MIB
    streaming_peak = await _peak_while(streamed())
    joined_peak = await _peak_while(joined())
    assert sent == [len(expected_page())] * 2
    assert page_mib > 3
    assert joined_peak > page_mib  # the measurement sees a page held whole
    assert streaming_peak < 1.0, f"{streaming_peak:.2f} MiB peak for a {page_mib:.1f} MiB page"
