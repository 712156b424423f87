"""Shared by the CORS tests: an application with a few routes, and request helpers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import httpx

from bareasgi import Application, Content, HttpError, HttpResponse, Info, Matches, Scope
from bareasgi.testing import TestClient
from bareasgi_cors import add_cors_middleware

GOOD: Final = "https://good.example.com"
OTHER: Final = "https://other.example.com"
EVIL: Final = "https://evil.example.net"

SHARED_HEADERS: Final = [(b"content-type", b"text/plain"), (b"x-visible", b"seen")]
"""Returned by `/shared` every time: the middleware must never write into it."""


def build_app(*, plugin: bool = False, **options: Any) -> tuple[Application, list[str]]:
    """An app with a few routes; CORS through the plugin or `add_cors_middleware`.

    Returns the app and the list of `METHOD path` the handlers were reached with.
    """
    reached: list[str] = []

    async def things(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        reached.append(f"{scope['method']} {scope['path']}")
        headers = [(b"content-type", b"text/plain"), (b"x-visible", b"1"), (b"x-hidden", b"2")]
        return 200, headers, b"things"

    async def shared(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        reached.append(f"{scope['method']} {scope['path']}")
        return 200, SHARED_HEADERS, b"shared"

    async def options_route(
        scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        reached.append(f"{scope['method']} {scope['path']}")
        return 200, [(b"allow", b"GET, OPTIONS")], b"options of the app"

    async def refuse(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        reached.append(f"{scope['method']} {scope['path']}")
        raise HttpError(418, b"teapot", [(b"content-type", b"text/plain")])

    if plugin:
        app = Application(plugins={"cors": dict(options)})
    else:
        app = Application()
        add_cors_middleware(app, **options)
    app.http_router.add({"GET", "PUT", "DELETE", "PATCH", "POST"}, "/things", things)
    app.http_router.add({"GET"}, "/shared", shared)
    app.http_router.add({"GET", "OPTIONS"}, "/with-options", options_route)
    app.http_router.add({"GET"}, "/teapot", refuse)
    return app, reached


def preflight_headers(
    origin: str = GOOD,
    method: str = "PUT",
    headers: str | None = None,
    **more: str,
) -> dict[str, str]:
    result = {"origin": origin, "access-control-request-method": method}
    if headers is not None:
        result["access-control-request-headers"] = headers
    result.update({name.replace("_", "-"): value for name, value in more.items()})
    return result


async def preflight(client: TestClient, path: str = "/things", **kwargs: Any) -> httpx.Response:
    return await client.options(path, headers=preflight_headers(**kwargs))


async def raw(
    client: TestClient,
    method: str,
    headers: Iterable[tuple[bytes, bytes]],
    path: bytes = b"/things",
) -> httpx.Response:
    """A request with exactly these headers (repeats kept, names as given)."""
    return await client.raw_request(method, path, headers=list(headers))


def cors_headers(response: httpx.Response) -> Mapping[str, str]:
    """The access-control-* headers of a response."""
    return {
        name: value
        for name, value in response.headers.items()
        if name.startswith("access-control-")
    }


def vary_tokens(response: httpx.Response) -> list[str]:
    return [
        token.strip().lower()
        for value in response.headers.get_list("vary")
        for token in value.split(",")
        if token.strip()
    ]
