"""The application the wire tests serve with a real hypercorn (`prometheus_wire_app:app`).

With `PROMETHEUS_MULTIPROC_DIR` set in the server's environment the plugin runs in
multiprocess mode (the option is left to its default, which follows the variable). Every
response carries `x-pid`, the worker that answered, so the tests know which worker served
what. `/pid?gate=FILE` blocks the worker's event loop until FILE exists (bounded): while one
worker is held so, new connections can only be served by the other. `/asgi-calls`, answered
by an ASGI wrapper outside everything measured, gives how many other HTTP calls the worker is
still running: once 0, no earlier request of it can count anything any more.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final, cast
from urllib.parse import parse_qs

from bareasgi import (
    Application,
    ASGIApp,
    Content,
    HttpHandler,
    HttpResponse,
    Info,
    Matches,
    Scope,
    text_writer,
)
from bareasgi.types import Receive, Send

TEXT: Final = [(b"content-type", b"text/plain")]
PID: Final = str(os.getpid()).encode()
GATE_TIMEOUT: Final = 30.0
ENDLESS_LIMIT: Final = 10_000


async def tag_pid(
    scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
) -> HttpResponse:
    response: Any = await handler(scope, info, matches, content)
    if isinstance(response, int):
        return response, [(b"x-pid", PID)]
    status, headers, *rest = response
    return cast(HttpResponse, (status, [*(headers or []), (b"x-pid", PID)], *rest))


_running: list[int] = [0]


def count_calls(inner: ASGIApp) -> ASGIApp:
    """Answer `/asgi-calls` with the number of HTTP calls running besides it."""

    async def counted(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await inner(scope, receive, send)
        elif scope["path"] == "/asgi-calls":
            await send({"type": "http.response.start", "status": 200, "headers": TEXT})
            await send({"type": "http.response.body", "body": str(_running[0]).encode()})
        else:
            _running[0] += 1
            try:
                await inner(scope, receive, send)
            finally:
                _running[0] -= 1

    return counted


app = Application(middlewares=[tag_pid], plugins={"prometheus": {}}, asgi_wrappers=[count_calls])


@app.on_http_request({"GET"}, "/users/{user_id:int}")
async def user(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, TEXT, text_writer(f"user {matches['user_id']:d}")


@app.on_http_request({"GET"}, "/pid")
async def pid(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    gate = parse_qs(scope["query_string"].decode()).get("gate")
    if gate:
        # Deliberately blocking: this worker accepts nothing until the gate opens.
        deadline = time.monotonic() + GATE_TIMEOUT
        while not Path(gate[0]).exists() and time.monotonic() < deadline:  # noqa: ASYNC240
            time.sleep(0.01)  # noqa: ASYNC251
    return 200, TEXT, PID


@app.on_http_request({"GET"}, "/endless")
async def endless(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    async def ticks() -> AsyncIterator[bytes]:
        for index in range(ENDLESS_LIMIT):
            yield b"tick %d\n" % index
            await asyncio.sleep(0.005)

    return 200, TEXT, ticks()
