"""The application `test_jinja2_wire.py` serves with a real hypercorn (`jinja2_wire_app:app`).

What only the server knows (how far the rows got) is appended, one line per event, to the file
named by `JINJA2_WIRE_EVENTS`; each line starts with the token the test put in the path. The
rows wait half-way for a gate file (`<events file>.<token>.gate`) that the test creates once
it has received bytes, so streaming is proved by ordering, not timing. Logging is left as a
user with the defaults has it: the tests read the server's output.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final
from urllib.parse import parse_qs

from bareasgi import Application, Content, HttpResponse, Info, Matches, Scope
from bareasgi_jinja2 import render_template

TEMPLATES: Final = Path(__file__).resolve().parent / "templates"
EVENTS: Final = Path(os.environ.get("JINJA2_WIRE_EVENTS", os.devnull))
ROWS: Final = 100_000
GATE_TIMEOUT: Final = 20.0

app = Application(plugins={"jinja2": {"directory": str(TEMPLATES)}})


def record(token: str, event: str) -> None:
    with EVENTS.open("a", encoding="utf-8") as file:
        file.write(f"{token} {event}\n")


def explode() -> str:
    raise LookupError("the secret is SECRET-VALUE")


@app.on_http_request({"GET"}, "/page/{name}", name="page")
async def page(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return await render_template(scope, "page.html", {"name": matches["name"]})


@app.on_http_request({"GET"}, "/xss")
async def xss(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    query = parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True)
    return await render_template(scope, "xss.html", {"value": query.get("value", [""])[0]})


async def gated_rows(token: str) -> AsyncIterator[int]:
    gate = Path(f"{EVENTS}.{token}.gate")
    loop = asyncio.get_running_loop()
    try:
        for row in range(ROWS):
            if row == ROWS // 2:
                record(token, "waiting")
                deadline = loop.time() + GATE_TIMEOUT
                while not await asyncio.to_thread(gate.exists):
                    if loop.time() > deadline:
                        record(token, "gate-timeout")
                        break
                    await asyncio.sleep(0.01)
                else:
                    record(token, "gate-opened")
            yield row
        record(token, "last-row-rendered")
    finally:
        record(token, "closed")


@app.on_http_request({"GET"}, "/rows/{token}")
async def rows(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    context = {"rows": gated_rows(matches["token"]), "label": "<x>"}
    return await render_template(scope, "rows.html", context)


@app.on_http_request({"GET"}, "/early-error")
async def early_error(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return await render_template(scope, "runtime_error.html", {"explode": explode})


@app.on_http_request({"GET"}, "/late-error")
async def late_error(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    context = {"rows": range(2000), "explode": explode}
    return await render_template(scope, "late_error.html", context)
