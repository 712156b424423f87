"""The article's API in-process: responses, routing answers, errors, middleware, limits."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import pytest

from bareasgi import (
    ALLOW_KEY,
    ROUTE_KEY,
    Application,
    BindableMiddleware,
    Content,
    HttpError,
    HttpHandler,
    HttpMiddleware,
    HttpResponse,
    Info,
    Matches,
    Scope,
    bindable,
    bytes_reader,
    bytes_writer,
    text_reader,
    text_writer,
)
from bareasgi.testing import TestClient

TEXT = [(b"content-type", b"text/plain")]


async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, [(b"content-type", b"text/plain")], text_writer("Hello, World!")


def make_app(**kwargs: object) -> Application:
    app = Application(**kwargs)  # type: ignore[arg-type]
    app.http_router.add({"GET"}, "/hello-world", hello)
    return app


async def test_article_hello_world_both_routing_styles() -> None:
    app = Application(info={"name": "Michael Caine"})

    @app.on_http_request({"GET"}, "/decorated")
    async def decorated(
        scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        return 200, [(b"content-type", b"text/plain")], bytes_writer(b"This is not a test")

    app.http_router.add({"GET"}, "/added", hello)
    async with TestClient(app) as client:
        first = await client.get("/decorated")
        second = await client.get("/added")
    assert (first.status_code, first.text) == (200, "This is not a test")
    assert first.headers["content-type"] == "text/plain"
    assert first.headers["content-length"] == "18"
    assert (second.status_code, second.text) == (200, "Hello, World!")


async def test_article_rest_info_shared_between_handlers() -> None:
    async def get_info(
        scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        return 200, [(b"content-type", b"application/json")], text_writer(json.dumps(info))

    async def set_info(
        scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        info.update(json.loads(await text_reader(content)))
        return 204

    app = Application(info={"name": "Michael Caine"})
    app.http_router.add({"GET"}, "/info", get_info)
    app.http_router.add({"POST"}, "/info", set_info)
    async with TestClient(app) as client:
        assert (await client.get("/info")).json() == {"name": "Michael Caine"}
        posted = await client.post("/info", json={"name": "Peter Sellers"})
        assert posted.status_code == 204
        assert posted.content == b""
        assert (await client.get("/info")).json() == {"name": "Peter Sellers"}


@pytest.mark.parametrize(
    ("response", "status", "body"),
    [
        (204, 204, b""),
        ((201,), 201, b""),
        ((200, None), 200, b""),
        ((200, TEXT, None), 200, b""),
        ((200, TEXT, b"raw bytes"), 200, b"raw bytes"),
        ((200, None, bytes_writer(b"abc", chunk_size=1)), 200, b"abc"),
        ((200, TEXT, text_writer("h\u00e9llo", chunk_size=2), None), 200, "h\u00e9llo".encode()),
        ((200, TEXT, text_writer("x"), []), 200, b"x"),
    ],
)
async def test_response_forms(response: HttpResponse, status: int, body: bytes) -> None:
    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return response

    app = Application()
    app.http_router.add({"GET"}, "/", handler)
    async with TestClient(app) as client:
        answer = await client.get("/")
    assert answer.status_code == status
    assert answer.content == body
    if status not in (204, 304):
        assert answer.headers["content-length"] == str(len(body))


@pytest.mark.parametrize("size", [0, 1, 16383, 16384, 16385, 70000])
async def test_content_length_of_whole_bodies_around_the_cached_sizes(size: int) -> None:
    """Small sizes' headers come from a list made as needed; larger ones are made each time."""
    body = b"b" * size

    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, [(b"content-type", b"application/octet-stream")], bytes_writer(body)

    app = Application()
    app.http_router.add({"GET"}, "/", handler)
    async with TestClient(app) as client:
        for _ in range(2):  # the first answer fills the cache, the second reads it
            answer = await client.get("/")
            assert answer.headers.get_list("content-length") == [str(size)]
            assert answer.content == body


def test_text_writer_makes_no_closure_cells() -> None:
    """Cells would be made on every call, hello world's included (a cost, not a behaviour)."""
    assert text_writer.__code__.co_cellvars == ()
    assert text_writer.__code__.co_freevars == ()


async def test_async_generator_body_is_streamed_with_chunked_encoding() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(3):
            yield f"chunk {i}\n".encode()

    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, TEXT, chunks()

    app = Application()
    app.http_router.add({"GET"}, "/", handler)
    async with TestClient(app) as client, client.stream("GET", "/") as response:
        parts = [part async for part in response.aiter_raw()]
    assert b"".join(parts) == b"chunk 0\nchunk 1\nchunk 2\n"
    assert "content-length" not in response.headers


async def test_writer_objects_can_be_reused_between_responses() -> None:
    shared = text_writer("same every time")
    shared_chunks = bytes_writer(b"abcdef", chunk_size=2)

    async def one(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, TEXT, shared

    async def two(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, TEXT, shared_chunks

    app = Application()
    app.http_router.add({"GET"}, "/one", one)
    app.http_router.add({"GET"}, "/two", two)
    async with TestClient(app) as client:
        for _ in range(3):
            assert (await client.get("/one")).text == "same every time"
            assert (await client.get("/two")).text == "abcdef"
    assert [chunk async for chunk in shared_chunks] == [b"ab", b"cd", b"ef"]


async def test_not_found_and_method_not_allowed_with_allow() -> None:
    app = make_app()

    async def post(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 201

    app.http_router.add({"POST", "PUT"}, "/hello-world", post)
    async with TestClient(app) as client:
        missing = await client.get("/nowhere")
        wrong = await client.delete("/hello-world")
    assert missing.status_code == 404
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET, HEAD, POST, PUT"


async def test_head_uses_get_handler_and_drops_the_body() -> None:
    app = make_app()
    async with TestClient(app) as client:
        head = await client.head("/hello-world")
    assert head.status_code == 200
    assert head.content == b""  # the transport keeps whatever the app sent
    assert head.headers["content-length"] == "13"


async def test_head_of_a_streamed_body_closes_the_iterator_unread() -> None:
    events: list[str] = []

    async def body() -> AsyncIterator[bytes]:
        try:
            events.append("started")
            yield b"data"
        finally:
            events.append("closed")

    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, TEXT, body()

    app = Application()
    app.http_router.add({"GET"}, "/", handler)
    async with TestClient(app) as client:
        head = await client.head("/")
    assert head.content == b""
    assert "started" not in events


async def test_explicit_head_route_wins() -> None:
    app = make_app()

    async def head(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, [(b"x-head", b"yes")]

    app.http_router.add({"HEAD"}, "/hello-world", head)
    async with TestClient(app) as client:
        answer = await client.head("/hello-world")
    assert answer.headers["x-head"] == "yes"


def test_non_async_handler_is_refused_when_added() -> None:
    def sync_handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200

    app = Application()
    with pytest.raises(TypeError, match="sync_handler"):
        app.http_router.add({"GET"}, "/", sync_handler)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        app.on_http_request({"GET"}, "/x")(sync_handler)


async def test_http_error_becomes_its_response() -> None:
    async def teapot(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        raise HttpError(418, "I'm a teapot", [(b"x-reason", b"tea")])

    app = Application()
    app.http_router.add({"GET"}, "/", teapot)
    async with TestClient(app) as client:
        answer = await client.get("/")
    assert (answer.status_code, answer.text, answer.headers["x-reason"]) == (
        418,
        "I'm a teapot",
        "tea",
    )


async def test_unhandled_exception_is_500_revealing_nothing_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        raise RuntimeError("secret database password")

    app = Application()
    app.http_router.add({"GET"}, "/broken", broken)
    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        async with TestClient(app) as client:
            answer = await client.get("/broken")
    assert answer.status_code == 500
    assert "secret" not in answer.text
    assert "RuntimeError" not in answer.text
    record = next(r for r in caplog.records if "broken" in r.getMessage())
    assert record.exc_info is not None
    assert "secret database password" in caplog.text


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("not a response", "status must be an int"),
        ((200, TEXT, 42), "body must be bytes"),
        ((200, [(b"content-type",)]), "not a (bytes, bytes) pair"),
        ((200, [("content-type", "text/plain")]), "not a (bytes, bytes) pair"),
        # Unhashable headers: first of one, second of two, third of three (the fast path's
        # membership tests raise TypeError and hand over to the general path).
        ((200, [(b"x-a", [b"1"])]), "not a (bytes, bytes) pair"),
        ((200, [*TEXT, (b"x-a", [b"1"])], b""), "not a (bytes, bytes) pair"),
        ((200, [*TEXT, (b"x-b", b"2"), (b"x-a", [b"1"])], b""), "not a (bytes, bytes) pair"),
        ((200, [(b"Content-Type", b"text/plain")]), "lower-case"),
        ((200, [(b"x-evil", b"a\r\nset-cookie: owned=1")]), "CR, LF or NUL"),
        ((200, [(b"x-evil", b"a\nb")]), "CR, LF or NUL"),
        ((99,), "a final status (200 to 599)"),
        ((True,), "status must be an int"),
        ((200, None, None, None, None), "1 to 4 elements"),
        ((200, "headers"), "headers must be a list"),
    ],
)
async def test_ill_formed_response_is_500_and_the_log_names_handler_and_problem(
    bad: object, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def sloppy(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return bad  # type: ignore[return-value]

    app = Application()
    app.http_router.add({"GET"}, "/", sloppy)
    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        async with TestClient(app) as client:
            answer = await client.get("/")
    assert answer.status_code == 500
    assert "owned" not in answer.headers.get("set-cookie", "")
    assert "sloppy" in caplog.text
    assert reason in caplog.text


async def test_a_route_whose_answers_alternate_between_good_and_bad_headers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A route remembers the headers of its last answer as checked; an answer that differs in
    # any pair, by value or by length, is checked again.
    answers = iter(
        [
            [(b"content-type", b"text/plain"), (b"x-a", b"1")],
            [(b"content-type", b"text/plain"), (b"x-a", b"1\r\nset-cookie: owned=1")],
            [(b"content-type", b"text/plain"), (b"x-a", b"1")],
            [(b"content-type", b"text/plain"), (b"x-a", b"1"), (b"content-length", b"4")],
            [(b"content-type", b"text/plain"), (b"x-a", b"1")],
            [(b"content-type", b"text/plain"), (b"Content-Length", b"1")],
            [(b"content-type", b"text/plain"), (b"x-a", [b"1"])],
            [(b"content-type", b"text/plain"), (b"x-a", b"1")],
        ]
    )

    async def changing(
        scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        return 200, next(answers), b"body"  # type: ignore[return-value]

    app = Application()
    app.http_router.add({"GET"}, "/", changing)
    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        async with TestClient(app) as client:
            got = [await client.get("/") for _ in range(8)]
    assert [r.status_code for r in got] == [200, 500, 200, 200, 200, 500, 500, 200]
    assert all("owned" not in r.headers.get("set-cookie", "") for r in got)
    assert [r.headers.get("x-a") for r in got if r.status_code == 200] == ["1"] * 5
    # The handler's own content-length is sent, and only once; otherwise core adds it.
    assert all(r.headers.get_list("content-length") == ["4"] for r in got if r.status_code == 200)
    assert "CR, LF or NUL" in caplog.text
    assert "lower-case" in caplog.text
    assert "not a (bytes, bytes) pair" in caplog.text


async def test_a_header_that_cannot_be_compared_is_a_logged_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Awkward:
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("no comparing me")

        __hash__ = None  # type: ignore[assignment]

    calls = iter(range(2))  # two good answers, so the route has checked headers to compare

    async def awkward(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        if next(calls, None) is not None:
            return 200, [(b"content-type", b"text/plain")], b"ok"
        return 200, [Awkward()], b"ok"  # type: ignore[return-value]

    app = Application()
    app.http_router.add({"GET"}, "/", awkward)
    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        async with TestClient(app) as client:
            got = [(await client.get("/")).status_code for _ in range(3)]
    assert got == [200, 200, 500]
    assert "not a (bytes, bytes) pair" in caplog.text


async def test_settable_error_responses_are_fresh_each_time() -> None:
    app = make_app(
        not_found_response=(404, [(b"content-type", b"application/json")], b'{"error": "nope"}'),
        method_not_allowed_response=(405, [(b"x-custom", b"1")], b"no"),
        internal_error_response=(500, [(b"x-custom", b"2")], b"oops"),
    )

    async def broken(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        raise ValueError

    app.http_router.add({"GET"}, "/broken", broken)
    async with TestClient(app) as client:
        for _ in range(2):
            missing = await client.get("/missing")
            assert missing.json() == {"error": "nope"}
            wrong = await client.post("/hello-world")
            assert (wrong.status_code, wrong.text, wrong.headers["x-custom"]) == (405, "no", "1")
            assert wrong.headers.get_list("allow") == ["GET, HEAD"]
            failed = await client.get("/broken")
            assert (failed.status_code, failed.text) == (500, "oops")


async def test_invalid_percent_encoding_is_400() -> None:
    app = make_app()
    async with TestClient(app) as client:
        for raw in (b"/hello%zz", b"/%", b"/%c3%28", b"/hello-world%"):
            answer = await client.raw_request("GET", raw)
            assert answer.status_code == 400, raw


async def test_route_template_is_in_the_scope() -> None:
    seen: list[object] = []

    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        seen.append(scope[ROUTE_KEY].template)
        seen.append(matches)
        return 204

    async def spy(
        scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
    ) -> HttpResponse:
        response = await handler(scope, info, matches, content)
        route = scope.get(ROUTE_KEY)
        seen.append((route.template if route else None, scope.get(ALLOW_KEY)))
        return response

    app = Application(middlewares=[spy])
    app.http_router.add({"GET"}, "/users/{user_id:int}", handler, name="user")
    async with TestClient(app) as client:
        await client.get("/users/42")
        await client.post("/users/42")
        await client.get("/users/x")
    assert seen == [
        "/users/{user_id:int}",
        {"user_id": 42},
        ("/users/{user_id:int}", None),
        ("/users/{user_id:int}", frozenset({"GET", "HEAD"})),
        (None, None),
    ]
    assert app.url_for("user", user_id=7) == "/users/7"


async def test_middleware_order_first_outermost_and_wraps_404_405() -> None:
    calls: list[str] = []

    def tracer(name: str) -> object:
        async def middleware(
            scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
        ) -> HttpResponse:
            calls.append(f"{name}>")
            response = await handler(scope, info, matches, content)
            calls.append(f"<{name}")
            return response

        return middleware

    app = make_app(middlewares=[tracer("a"), tracer("b")])
    async with TestClient(app) as client:
        await client.get("/hello-world")
        assert calls == ["a>", "b>", "<b", "<a"]
        calls.clear()
        await client.get("/missing")
        await client.post("/hello-world")
    assert calls == ["a>", "b>", "<b", "<a"] * 2


async def test_middleware_can_answer_and_change_responses() -> None:
    async def guard(
        scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
    ) -> HttpResponse:
        if scope["query_string"] == b"deny":
            return 403
        response = await handler(scope, info, matches, content)
        assert isinstance(response, tuple)
        status, headers, body = response[0], list(response[1] or []), response[2]  # type: ignore[misc]
        return status, [*headers, (b"x-guard", b"passed")], body

    app = make_app(middlewares=[guard])
    async with TestClient(app) as client:
        denied = await client.get("/hello-world?deny")
        allowed = await client.get("/hello-world")
    assert denied.status_code == 403
    assert (allowed.text, allowed.headers["x-guard"]) == ("Hello, World!", "passed")


async def test_middleware_sees_http_errors_as_responses() -> None:
    statuses: list[int] = []

    async def recorder(
        scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
    ) -> HttpResponse:
        response = await handler(scope, info, matches, content)
        statuses.append(response if isinstance(response, int) else response[0])
        return response

    async def refuse(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        raise HttpError(409, "conflict")

    app = Application(middlewares=[recorder])
    app.http_router.add({"GET"}, "/", refuse)
    async with TestClient(app) as client:
        answer = await client.get("/")
    assert (answer.status_code, statuses) == (409, [409])


async def test_middleware_chain_composed_once_and_frozen_after_start() -> None:
    app = make_app()
    async with TestClient(app) as client:
        await client.get("/hello-world")
        assert app.started
        with pytest.raises(RuntimeError, match="after the application has started"):
            app.add_middleware(lambda *args: None)  # type: ignore[arg-type]


async def test_middleware_is_composed_at_startup_not_per_request() -> None:
    created = 0
    original = Application.start

    def counting_start(self: Application) -> None:
        nonlocal created
        created += 1
        original(self)

    async def passthrough(
        scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
    ) -> HttpResponse:
        return await handler(scope, info, matches, content)

    app = make_app(middlewares=[passthrough])
    route = next(iter(app.http_router))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Application, "start", counting_start)
        async with TestClient(app) as client:
            composed = route.call
            for _ in range(5):
                await client.get("/hello-world")
            assert route.call is composed
    assert created == 1
    assert route.call is not route.handler


async def test_routes_added_after_start_are_wrapped_too() -> None:
    seen: list[str] = []

    async def mark(
        scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
    ) -> HttpResponse:
        seen.append(scope["path"])
        return await handler(scope, info, matches, content)

    app = make_app(middlewares=[mark])
    async with TestClient(app) as client:
        app.http_router.add({"GET"}, "/late", hello)
        assert (await client.get("/late")).status_code == 200
    assert seen == ["/late"]


async def test_request_body_is_read_lazily_and_streams() -> None:
    sizes: list[int] = []

    async def count(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        async for chunk in content:
            sizes.append(len(chunk))
        return 200, TEXT, text_writer(str(sum(sizes)))

    async def ignore(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 204

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * 1000

    app = Application()
    app.http_router.add({"POST"}, "/count", count)
    app.http_router.add({"POST"}, "/ignore", ignore)
    async with TestClient(app) as client:
        answer = await client.post("/count", content=chunks())
        assert answer.text == "4000"
        assert sizes == [1000] * 4
        assert (await client.post("/ignore", content=b"unread")).status_code == 204


async def test_body_over_the_limit_is_413_with_and_without_content_length() -> None:
    async def echo(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, TEXT, await bytes_reader(content)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"y" * 100

    app = Application(max_body_size=500)
    app.http_router.add({"POST"}, "/echo", echo)
    async with TestClient(app) as client:
        fits = await client.post("/echo", content=b"z" * 500)
        declared = await client.post("/echo", content=b"z" * 501)
        streamed = await client.post("/echo", content=chunks())
    assert (fits.status_code, len(fits.content)) == (200, 500)
    assert declared.status_code == 413
    assert streamed.status_code == 413
    assert streamed.headers["connection"] == "close"


async def _call_directly(
    app: Application, headers: list[tuple[bytes, bytes]], bodies: list[bytes]
) -> list[dict[str, object]]:
    """Call the app as a server would, feeding `bodies` as http.request messages."""
    messages = [
        {"type": "http.request", "body": body, "more_body": i < len(bodies) - 1}
        for i, body in enumerate(bodies)
    ]
    sent: list[dict[str, object]] = []
    done = asyncio.Event()

    async def receive() -> dict[str, object]:
        if messages:
            return messages.pop(0)
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(dict(message))
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    return sent


@pytest.mark.parametrize(
    "keys",
    [
        {},  # neither raw_path nor root_path: path is routed
        {"raw_path": None},
        {"raw_path": b"/caf%C3%A9"},
        {"root_path": ""},
        {"raw_path": b"/app/caf%C3%A9", "root_path": "/app"},
        {"raw_path": b"/caf%C3%A9?x=1", "root_path": ""},
    ],
)
async def test_scopes_with_and_without_the_optional_path_keys(keys: dict[str, object]) -> None:
    async def cafe(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, TEXT, b"cafe"

    app = Application()
    app.http_router.add({"GET"}, "/café", cafe)
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, object]) -> None:
        sent.append(dict(message))

    scope = {"type": "http", "method": "GET", "path": "/café", "headers": [], **keys}
    await app(scope, receive, send)  # type: ignore[arg-type]
    assert (sent[0]["status"], sent[1]["body"]) == (200, b"cafe")


async def test_an_invalid_content_length_is_400_when_the_body_is_read() -> None:
    async def echo(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, TEXT, await bytes_reader(content)

    app = Application()
    app.http_router.add({"POST"}, "/", echo)
    sent = await _call_directly(app, [(b"content-length", b"twelve")], [b"twelve bytes"])
    assert sent[0]["status"] == 400
    assert sent[1]["body"] == b"Invalid content-length"


async def test_a_body_read_in_part_by_the_handler_and_the_rest_by_its_streamed_answer() -> None:
    # The handler reads the first chunk; the response body reads the rest while the disconnect
    # watcher, then the only caller of receive(), passes the messages on.
    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        body = aiter(content)
        first = await anext(body)

        async def rest() -> AsyncIterator[bytes]:
            yield b"first=" + first + b";"
            async for chunk in body:
                yield chunk.upper()

        return 200, TEXT, rest()

    app = Application()
    app.http_router.add({"POST"}, "/", handler)
    sent = await _call_directly(app, [], [b"abc", b"def", b"ghi"])
    assert sent[0]["status"] == 200
    assert b"".join(m["body"] for m in sent[1:]) == b"first=abc;DEFGHI"  # type: ignore[misc]

    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"abc", b"def", b"ghi"):
            yield part

    async with TestClient(app) as client:
        answer = await client.post("/", content=chunks())
    assert answer.text == "first=abc;DEFGHI"


async def test_a_body_read_twice_or_left_half_read() -> None:
    seen: list[bytes] = []

    async def twice(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        first = await bytes_reader(content)
        again = await bytes_reader(content)  # a request body is read once
        return 200, TEXT, first + b"|" + again

    async def half(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        async for chunk in content:
            seen.append(chunk)
            break
        return 200, TEXT, b"half"

    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"abc", b"def"):
            yield part

    app = Application()
    app.http_router.add({"POST"}, "/twice", twice)
    app.http_router.add({"POST"}, "/half", half)
    async with TestClient(app) as client:
        assert (await client.post("/twice", content=b"body")).text == "body|"
        for _ in range(3):
            assert (await client.post("/half", content=chunks())).text == "half"
    assert seen == [b"abc"] * 3


async def test_text_reader_decodes_a_character_split_between_chunks() -> None:
    async def text(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, TEXT, text_writer(await text_reader(content))

    encoded = "naïve €".encode()
    app = Application()
    app.http_router.add({"POST"}, "/", text)
    split = [encoded[:3], encoded[3:-1], encoded[-1:]]  # ï and € cut in two
    sent = await _call_directly(app, [], split)
    assert sent[1]["body"] == encoded


async def test_default_body_limit_is_ten_mebibytes() -> None:
    assert Application().max_body_size == 10 * 1024 * 1024


async def test_streaming_stops_and_closes_the_iterator_when_the_client_goes_away() -> None:
    ticks = 1_000_000
    events: list[str] = []

    async def ticker() -> AsyncIterator[bytes]:
        try:
            for i in range(ticks):
                events.append(f"tick {i}")
                yield f"tick {i}\n".encode()
                await asyncio.sleep(0.001)
        finally:
            events.append("closed")

    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, TEXT, ticker()

    app = Application()
    app.http_router.add({"GET"}, "/ticks", handler)
    async with TestClient(app) as client:
        async with client.stream("GET", "/ticks") as response:
            async for _ in response.aiter_raw():
                break
        # The application's call for the request has returned: nothing of it runs any more.
        await client.wait_for_app_tasks(timeout=5)
    assert events[-1] == "closed", "the iterator was closed, last"
    produced = events[:-1]
    assert produced == [f"tick {i}" for i in range(len(produced))]
    assert len(produced) < ticks, "closed by the disconnect, not run to its end"


async def test_streaming_iterator_blocked_forever_is_closed_on_disconnect() -> None:
    closed = asyncio.Event()

    async def waits() -> AsyncIterator[bytes]:
        try:
            yield b"first\n"
            await asyncio.Event().wait()
            yield b"never"
        finally:
            closed.set()

    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, TEXT, waits()

    app = Application()
    app.http_router.add({"GET"}, "/", handler)
    async with TestClient(app) as client:
        async with client.stream("GET", "/") as response:
            async for chunk in response.aiter_raw():
                assert chunk == b"first\n"
                break
        await asyncio.wait_for(closed.wait(), 5)


async def test_streaming_response_can_read_the_request_body() -> None:
    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        async def upper() -> AsyncIterator[bytes]:
            async for chunk in content:
                yield chunk.upper()

        return 200, TEXT, upper()

    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"abc", b"def", b"ghi"):
            yield part

    app = Application()
    app.http_router.add({"POST"}, "/", handler)
    async with TestClient(app) as client:
        answer = await client.post("/", content=chunks())
    assert answer.text == "ABCDEFGHI"


async def test_error_after_the_body_started_ends_the_response_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fails() -> AsyncIterator[bytes]:
        yield b"partial"
        raise RuntimeError("boom mid-stream")

    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, TEXT, fails()

    app = make_app()
    app.http_router.add({"GET"}, "/fails", handler)
    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        async with TestClient(app) as client:
            with pytest.raises(Exception):  # noqa: B017 - the transport reports an unfinished response
                await client.get("/fails")
            assert (await client.get("/hello-world")).status_code == 200
    assert "boom mid-stream" in caplog.text
    assert "handler" in caplog.text


async def test_server_push_sent_only_when_offered() -> None:
    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        pushes = [("/style.css", [(b"accept", b"text/css")])]
        return 200, TEXT, text_writer("page"), pushes

    app = Application()
    app.http_router.add({"GET"}, "/", handler)
    async with TestClient(app, extensions={"http.response.push": {}}) as client:
        pushed = await client.get("/")
    async with TestClient(app) as client:
        plain = await client.get("/")
    assert pushed.extensions["bareasgi.pushes"] == [("/style.css", [(b"accept", b"text/css")])]
    assert plain.extensions.get("bareasgi.pushes", []) == []
    assert pushed.text == plain.text == "page"


async def test_mounted_app_keeps_path_and_extends_root_path() -> None:
    seen: list[tuple[str, str]] = []

    async def inner(scope: Scope, receive: object, send: object) -> None:
        seen.append((scope["path"], scope["root_path"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"mounted"})  # type: ignore[operator]

    app = make_app()
    app.mount("/api", inner)
    app.http_router.add({"GET"}, "/api/own", hello)
    async with TestClient(app) as client:
        assert (await client.get("/api/thing")).text == "mounted"
        assert (await client.get("/api")).text == "mounted"
        assert (await client.get("/api/own")).text == "Hello, World!"
        assert (await client.get("/apix")).status_code == 404
    assert seen == [("/api/thing", "/api"), ("/api", "/api")]


async def test_longest_mount_prefix_wins_and_a_bareasgi_app_can_be_mounted() -> None:
    child = make_app()
    other = Application()

    async def other_handler(
        scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        return 200, TEXT, text_writer(f"other {scope['root_path']}")

    other.http_router.add({"GET"}, "/hello-world", other_handler)
    app = Application()
    app.mount("/a", other)
    app.mount("/a/b", child)
    async with TestClient(app) as client:
        assert (await client.get("/a/b/hello-world")).text == "Hello, World!"
        assert (await client.get("/a/hello-world")).text == "other /a"


async def test_asgi_wrapper_sees_everything_and_first_is_outermost() -> None:
    order: list[str] = []

    def wrapper(name: str) -> object:
        def wrap(app: object) -> object:
            async def wrapped(scope: Scope, receive: object, send: object) -> None:
                order.append(f"{name}:{scope['type']}")
                await app(scope, receive, send)  # type: ignore[operator]

            return wrapped

        return wrap

    app = make_app(asgi_wrappers=[wrapper("outer"), wrapper("inner")])
    async with TestClient(app) as client:
        await client.get("/hello-world")
    assert order == ["outer:lifespan", "inner:lifespan", "outer:http", "inner:http"]


async def test_info_is_shared_and_query_string_available() -> None:
    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        info["count"] = info.get("count", 0) + 1
        return 200, TEXT, text_writer(f"{info['count']} {scope['query_string'].decode()}")

    app = Application()
    app.http_router.add({"GET"}, "/", handler)
    async with TestClient(app) as client:
        await client.get("/")
        answer = await client.get("/?a=1&b=2")
    assert answer.text == "2 a=1&b=2"
    assert app.info == {"count": 2}


async def test_absolute_form_target_is_routed_by_its_path() -> None:
    app = make_app()
    async with TestClient(app) as client:
        answer = await client.raw_request("GET", b"http://example.com/hello-world")
        missing = await client.raw_request("GET", b"http://example.com/nowhere")
    assert (answer.status_code, answer.text) == (200, "Hello, World!")
    assert missing.status_code == 404


async def test_middleware_and_wrappers_can_be_added_outermost() -> None:
    calls: list[str] = []

    def tag(name: str) -> HttpMiddleware:
        async def middleware(
            scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
        ) -> HttpResponse:
            calls.append(name)
            return await handler(scope, info, matches, content)

        return middleware

    app = make_app(middlewares=[tag("first")])
    app.add_middleware(tag("inner"))
    app.add_middleware(tag("outer"), outermost=True)
    async with TestClient(app) as client:
        await client.get("/hello-world")
    assert calls == ["outer", "first", "inner"]


async def test_literal_path_with_another_method_falls_back_to_a_parameter_route() -> None:
    async def me(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, TEXT, text_writer("me")

    async def anyone(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, TEXT, text_writer(f"options for {matches['who']}")

    app = Application()
    app.http_router.add({"GET"}, "/users/me", me)
    async with TestClient(app) as client:
        first = await client.options("/users/me")
        assert (first.status_code, first.headers["allow"]) == (405, "GET, HEAD")
        # A route added later must be seen: the exact-path answer is not kept across adds.
        app.http_router.add({"OPTIONS"}, "/users/{who}", anyone)
        second = await client.options("/users/me")
        assert (second.status_code, second.text) == (200, "options for me")
        third = await client.delete("/users/me")
        assert third.headers["allow"] == "GET, HEAD, OPTIONS"


async def test_middleware_offering_bind_handler_is_composed_through_it() -> None:
    bound_to: list[object] = []
    calls: list[str] = []

    def bind_handler(handler: HttpHandler) -> HttpHandler:
        bound_to.append(handler)

        async def bound(
            scope: Scope, info: Info, matches: Matches, content: Content
        ) -> HttpResponse:
            calls.append("bound")
            return await handler(scope, info, matches, content)

        return bound

    middleware = bindable(bind_handler)
    assert isinstance(middleware, BindableMiddleware)
    app = make_app(middlewares=[middleware])
    async with TestClient(app) as client:
        assert (await client.get("/hello-world")).text == "Hello, World!"
        assert (await client.get("/missing")).status_code == 404
    assert calls == ["bound", "bound"]
    assert len(bound_to) == 4  # the route, and the 404, 405 and 400 answers, once each


@pytest.mark.parametrize("innermost", [True, False])
async def test_innermost_middleware_catching_http_error_is_bound_to_the_handler_itself(
    innermost: bool,
) -> None:
    bound_to: list[object] = []
    seen: list[str] = []

    async def refuse(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        raise HttpError(418, b"teapot")

    def bind_handler(handler: HttpHandler) -> HttpHandler:
        bound_to.append(handler)

        async def bound(
            scope: Scope, info: Info, matches: Matches, content: Content
        ) -> HttpResponse:
            try:
                return await handler(scope, info, matches, content)
            except HttpError as error:
                seen.append("caught")
                return error.status, [(b"x-caught", b"1")], error.body

        return bound

    async def plain(
        scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
    ) -> HttpResponse:
        return await handler(scope, info, matches, content)

    middleware = bindable(bind_handler, catches_http_error=True)
    app = Application(middlewares=[middleware] if innermost else [middleware, plain])
    app.http_router.add({"GET"}, "/teapot", refuse)
    async with TestClient(app) as client:
        answer = await client.get("/teapot")
    assert (answer.status_code, answer.text) == (418, "teapot")
    if innermost:
        # Given the route's handler itself, it met the HttpError and answered it.
        assert refuse in bound_to
        assert (seen, answer.headers.get("x-caught")) == (["caught"], "1")
    else:
        # Another middleware inside: core's wrapper turned the error into a response first.
        assert refuse not in bound_to
        assert (seen, answer.headers.get("x-caught")) == ([], None)


async def test_a_send_that_raises_oserror_means_the_client_has_gone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed: list[bool] = []

    async def ticks() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"tick"
        finally:
            closed.append(True)

    async def streamed(
        scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        return 200, TEXT, ticks()

    app = make_app()
    app.http_router.add({"GET"}, "/ticks", streamed)
    app.start()

    async def receive() -> dict[str, object]:
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.body":
            raise OSError("client gone (ASGI 2.4)")

    def scope(path: str) -> dict[str, object]:
        return {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
                "root_path": "", "query_string": b"", "headers": []}  # fmt: skip

    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        await app(scope("/hello-world"), receive, send)  # type: ignore[arg-type]
        await app(scope("/missing"), receive, send)  # type: ignore[arg-type]
        await asyncio.wait_for(app(scope("/ticks"), receive, send), 5)  # type: ignore[arg-type]
    assert closed == [True]
    assert caplog.records == []
