"""The two origins of `test_cors_browser.py`, each served by its own hypercorn.

`page` serves an empty HTML page (the origin the browser's scripts run in); `api` is the
cross-origin application, allowing only the origin named by `CORS_BROWSER_PAGE_ORIGIN`. A local
plugin ahead of CORS records every request the API server receives, preflights included, and
`/reached` reports what the route handlers themselves saw.
"""

from __future__ import annotations

import json
import os

from bareasgi import (
    Application,
    Content,
    EnabledPlugin,
    HttpHandler,
    HttpResponse,
    Info,
    Matches,
    Scope,
    text_reader,
)
from bareasgi.types import HttpMiddleware

PAGE = b"<!doctype html><html><head><title>CORS</title></head><body>page</body></html>"

page = Application()


@page.on_http_request({"GET"}, "/")
async def index(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, [(b"content-type", b"text/html; charset=utf-8")], PAGE


class Recorder:
    """Outermost: sees every request, before CORS answers a preflight."""

    name = "recorder"

    def __init__(self) -> None:
        self.received: list[str] = []

    def bareasgi_middleware(self, plugin: EnabledPlugin) -> HttpMiddleware:
        async def middleware(
            scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
        ) -> HttpResponse:
            asked = dict(scope["headers"]).get(b"access-control-request-method", b"").decode()
            self.received.append(f"{scope['method']} {scope['path']} {asked}".strip())
            return await handler(scope, info, matches, content)

        return middleware


recorder = Recorder()
reached: list[str] = []

api = Application(
    plugins=[
        recorder,
        (
            "cors",
            {
                "allow_origins": [os.environ.get("CORS_BROWSER_PAGE_ORIGIN", "http://unset")],
                "allow_methods": ["PUT"],
                "allow_headers": ["x-custom"],
                "allow_credentials": True,
                "expose_headers": ["x-visible"],
            },
        ),
    ]
)
TEXT = (b"content-type", b"text/plain; charset=utf-8")


@api.on_http_request({"GET"}, "/simple")
async def simple(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    reached.append("GET /simple")
    return 200, [TEXT], b"simple"


@api.on_http_request({"GET"}, "/login")
async def login(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    reached.append("GET /login")
    return 200, [TEXT, (b"set-cookie", b"who=alice; Path=/; SameSite=Lax")], b"logged in"


@api.on_http_request({"GET"}, "/whoami")
async def whoami(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    reached.append("GET /whoami")
    cookie = dict(scope["headers"]).get(b"cookie", b"")
    who = cookie.partition(b"who=")[2].partition(b";")[0] or b"nobody"
    return 200, [TEXT], who


@api.on_http_request({"PUT", "DELETE"}, "/things")
async def things(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    custom = dict(scope["headers"]).get(b"x-custom", b"-").decode()
    body = await text_reader(content)
    reached.append(f"{scope['method']} /things")
    return 200, [TEXT], f"{scope['method']} {custom} {body}".encode()


@api.on_http_request({"GET"}, "/headers")
async def headers(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    reached.append("GET /headers")
    return 200, [TEXT, (b"x-visible", b"yes"), (b"x-hidden", b"no")], b"headers"


@api.on_http_request({"GET"}, "/reached")
async def report(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    answer = {"received": recorder.received, "reached": reached}
    return 200, [(b"content-type", b"application/json")], json.dumps(answer).encode()
