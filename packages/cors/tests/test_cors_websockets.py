"""The WebSocket Origin guard: an ASGI wrapper against cross-site WebSocket hijacking."""

from __future__ import annotations

from typing import Any

import pytest
from cors_helpers import EVIL, GOOD

from bareasgi import Application, Content, HttpResponse, Info, Matches, Scope, WebSocket
from bareasgi.testing import TestClient
from bareasgi.types import Message
from bareasgi_cors import CorsOptions, CorsPolicy, add_cors_middleware


def build(*, plugin: bool, **options: Any) -> tuple[Application, list[str]]:
    accepted: list[str] = []
    if plugin:
        app = Application(plugins={"cors": {"guard_websockets": True, **options}})
    else:
        app = Application()
        add_cors_middleware(app, guard_websockets=True, **options)

    @app.on_ws_request("/ws")
    async def echo(scope: Scope, info: Info, matches: Matches, web_socket: WebSocket) -> None:
        await web_socket.accept()
        accepted.append(dict(scope["headers"]).get(b"origin", b"-").decode())
        message = await web_socket.receive()
        if message is not None:
            await web_socket.send(message)
        await web_socket.close()

    @app.on_http_request({"GET"}, "/")
    async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, [], b"hello"

    return app, accepted


@pytest.mark.parametrize("plugin", [True, False])
async def test_an_allowed_origin_connects(plugin: bool) -> None:
    app, accepted = build(plugin=plugin, allow_origins=[GOOD])
    async with (
        TestClient(app) as client,
        client.websocket_connect("/ws", headers={"origin": GOOD}) as socket,
    ):
        await socket.send_text("hi")
        assert await socket.receive_text() == "hi"
    assert accepted == [GOOD]


@pytest.mark.parametrize("plugin", [True, False])
async def test_an_origin_not_allowed_is_refused_with_403(plugin: bool) -> None:
    app, accepted = build(plugin=plugin, allow_origins=[GOOD])
    async with TestClient(app) as client:
        refusal = await client.websocket_refusal("/ws", headers={"origin": EVIL})
        http = await client.get("/", headers={"origin": EVIL})  # HTTP is not the guard's
    assert refusal.status_code == 403
    assert refusal.text == "WebSocket origin not allowed"
    assert http.status_code == 200
    assert accepted == []


async def test_a_regex_origin_connects() -> None:
    app, accepted = build(plugin=True, allow_origin_regex=r"https://[a-z]+\.example\.com")
    async with TestClient(app) as client:
        async with client.websocket_connect("/ws", headers={"origin": GOOD}):
            pass
        refusal = await client.websocket_refusal("/ws", headers={"origin": GOOD + ".evil"})
    assert accepted == [GOOD]
    assert refusal.status_code == 403


async def test_no_origin_and_the_same_origin_connect() -> None:
    app, accepted = build(plugin=True)  # no cross-origin is allowed at all
    async with TestClient(app, base_url="http://testserver:8000") as client:
        async with client.websocket_connect("/ws"):
            pass
        async with client.websocket_connect("/ws", headers={"origin": "http://testserver:8000"}):
            pass
        other_port = await client.websocket_refusal(
            "/ws", headers={"origin": "http://testserver:8001"}
        )
        other_host = await client.websocket_refusal("/ws", headers={"origin": "http://evil:8000"})
    assert accepted == ["-", "http://testserver:8000"]
    assert other_port.status_code == other_host.status_code == 403


def _scope(headers: list[tuple[bytes, bytes]], **more: Any) -> Scope:
    return {
        "type": "websocket",
        "scheme": "ws",
        "path": "/ws",
        "raw_path": b"/ws",
        "headers": headers,
        **more,
    }


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ([(b"origin", GOOD.encode())], True),
        ([(b"origin", GOOD.encode()), (b"origin", GOOD.encode())], False),
        ([(b"origin", EVIL.encode()), (b"origin", GOOD.encode())], False),
        ([(b"host", b"app.test"), (b"origin", b"http://app.test")], True),
        ([(b"host", b"App.Test:80"), (b"origin", b"http://app.test")], True),
        ([(b"host", b"app.test:443"), (b"origin", b"https://app.test")], True),
        ([(b"host", b"app.test:8443"), (b"origin", b"https://app.test")], False),
        ([(b"host", b"app.test"), (b"origin", b"http://APP.test")], False),
        ([(b"host", b"app.test"), (b"origin", b"http://app.test/")], False),
        ([(b"host", b"app.test"), (b"origin", b"null")], False),
        ([(b"origin", b"http://app.test")], False),
        ([], True),
    ],
)
def test_websocket_allows(headers: list[tuple[bytes, bytes]], allowed: bool) -> None:
    policy = CorsPolicy(CorsOptions(allow_origins=(GOOD,)))
    assert policy.websocket_allows(_scope(headers)) is allowed


async def _drive(extensions: dict[str, Any] | None) -> tuple[list[Message], bool]:
    policy = CorsPolicy(CorsOptions(allow_origins=(GOOD,)))
    reached = False

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        nonlocal reached
        reached = True

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    more = {"extensions": extensions} if extensions is not None else {}
    await policy.websocket_guard(app)(_scope([(b"origin", EVIL.encode())], **more), receive, send)
    return sent, reached


async def test_the_refusal_is_an_http_response_where_the_server_offers_it() -> None:
    sent, reached = await _drive({"websocket.http.response": {}})
    assert not reached
    assert [message["type"] for message in sent] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    assert sent[0]["status"] == 403


async def test_the_refusal_is_a_close_elsewhere() -> None:
    sent, reached = await _drive(None)
    assert not reached
    assert sent == [{"type": "websocket.close", "code": 1000, "reason": ""}]


async def test_other_scopes_pass_through_the_guard() -> None:
    policy = CorsPolicy(CorsOptions(allow_origins=(GOOD,), guard_websockets=True))
    seen: list[str] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    async def nothing() -> Message:
        return {}

    async def ignore(message: Message) -> None:
        return None

    guarded = policy.websocket_guard(app)
    headers = [(b"origin", EVIL.encode())]
    await guarded({"type": "http", "headers": headers}, nothing, ignore)
    await guarded({"type": "lifespan"}, nothing, ignore)
    assert seen == ["http", "lifespan"]
