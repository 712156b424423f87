"""The hung-handler application of `test_reliability.py`, served by a real hypercorn: handlers
that never answer, cancelled when their clients leave; each leaves a mark file (in `$MARKS`)
when it starts and when its `finally` runs."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from bareasgi import Application, Content, HttpResponse, Info, Matches, Scope, text_writer

MARKS = Path(os.environ.get("MARKS", "."))

app = Application(cancel_on_disconnect=True)


@app.on_http_request({"GET"}, "/hang/{i:int}")
async def hang(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    (MARKS / f"start-{matches['i']}").touch()
    try:
        await asyncio.Event().wait()
    finally:
        (MARKS / f"finally-{matches['i']}").touch()
    return 204  # pragma: no cover - never reached


@app.on_http_request({"GET"}, "/hello", cancel_on_disconnect=False)
async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, [(b"content-type", b"text/plain")], text_writer("hello")
