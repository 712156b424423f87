"""Shared by the jinja2 package's tests: the templates folder, app builders, a raw ASGI driver."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bareasgi import Application, Content, HttpHandler, HttpResponse, Info, Matches, Scope
from bareasgi.types import ASGIApp, Message
from bareasgi_jinja2 import render_template

TESTS_DIR: Final = Path(__file__).resolve().parent
TEMPLATES: Final = TESTS_DIR / "templates"
INTERNAL_ERROR_BODY: Final = b"Internal Server Error"


def page_handler(template_name: str, **fixed: Any) -> HttpHandler:
    """A handler rendering `template_name` with `fixed` and the route's matches."""

    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return await render_template(scope, template_name, {**fixed, **matches})

    return handler


def plugin_app(
    routes: Mapping[str, HttpHandler] | None = None,
    *,
    plugins_before: list[Any] | None = None,
    plugins_after: list[Any] | None = None,
    **options: Any,
) -> Application:
    """An application with the `jinja2` plugin on the test templates and `routes` (GET)."""
    plugins: list[Any] = [
        *(plugins_before or ()),
        ("jinja2", {"directory": str(TEMPLATES), **options}),
        *(plugins_after or ()),
    ]
    app = Application(plugins=plugins)
    app.http_router.add({"GET"}, "/page/{name}", page_handler("page.html"), name="page")
    for path, handler in (routes or {}).items():
        app.http_router.add({"GET"}, path, handler)
    return app


@dataclass
class Exchange:
    """What an application sent for one request, message by message."""

    messages: list[Message] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    """The size of each body message (kept even when the bodies are not)."""

    @property
    def status(self) -> int:
        status: int = self.messages[0]["status"]
        return status

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.messages[0]["headers"])

    @property
    def bodies(self) -> list[bytes]:
        """The body of each `http.response.body` message."""
        return [m.get("body", b"") for m in self.messages if m["type"] == "http.response.body"]

    @property
    def body(self) -> bytes:
        return b"".join(self.bodies)

    @property
    def complete(self) -> bool:
        last = self.messages[-1] if self.messages else {}
        return last.get("type") == "http.response.body" and not last.get("more_body", False)


async def call(
    app: ASGIApp,
    path: str,
    *,
    method: str = "GET",
    query: bytes = b"",
    on_message: Callable[[Message], Any] | None = None,
    keep_bodies: bool = True,
) -> Exchange:
    """Send one request straight to `app` and record what it sends (no lifespan)."""
    exchange = Exchange()
    done = asyncio.Event()
    fed = False

    async def receive() -> Message:
        nonlocal fed
        if not fed:
            fed = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if on_message is not None:
            result = on_message(message)
            if asyncio.iscoroutine(result):
                await result
        if message["type"] == "http.response.body":
            exchange.sizes.append(len(message.get("body", b"")))
            if not keep_bodies:
                message = {**message, "body": b""}
        exchange.messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            done.set()

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    try:
        await app(scope, receive, send)
    finally:
        done.set()
    return exchange
