"""The application the wire and browser tests serve with a real hypercorn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Final

from bareasgi import Application, Content, HttpResponse, Info, Matches, Scope
from bareasgi_compression import compression_state

PAGE_TEXT: Final = "Compressed with care. " * 200
EVENTS: Final = 3

app = Application(plugins={"compression": {}})


@app.on_http_request({"GET"}, "/")
async def page(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    """An HTML page whose script reads the text, and opens an event stream."""
    html = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>compression</title></head>
<body><p id="text">{PAGE_TEXT}</p></body></html>"""
    return 200, [(b"content-type", b"text/html; charset=utf-8")], html.encode()


@app.on_http_request({"GET"}, "/text")
async def text(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, [(b"content-type", b"text/plain; charset=utf-8")], PAGE_TEXT.encode()


@app.on_http_request({"GET"}, "/negotiated")
async def negotiated(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    """Which coding this request gets (the state's `negotiate`), as text."""
    accept = next((v for n, v in scope["headers"] if n == b"accept-encoding"), None)
    chosen = compression_state(scope).negotiate(accept) or "identity"
    return 200, [(b"content-type", b"text/plain")], chosen.encode()


@app.on_http_request({"GET"}, "/events")
async def events(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    """Three events, then the stream stays open until the client goes away."""

    async def body() -> AsyncIterator[bytes]:
        for i in range(EVENTS):
            yield f"id: {i}\ndata: event {i} {'.' * 40}\n\n".encode()
        await asyncio.Event().wait()  # never set: held open

    headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
    return 200, headers, body()
