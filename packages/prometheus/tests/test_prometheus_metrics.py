"""What the middleware counts, in-process: labels, statuses, bodies, failures, the page itself."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import Counter
from prometheus_helpers import (
    Samples,
    families,
    label_values,
    samples,
    start_hanging_request,
    value,
)

import bareasgi_prometheus.plugin
from bareasgi import (
    Application,
    Content,
    HttpError,
    HttpHandler,
    HttpResponse,
    Info,
    Matches,
    PluginOptionsError,
    Scope,
    text_reader,
    text_writer,
)
from bareasgi.testing import TestClient
from bareasgi_prometheus import (
    DISCONNECTED_STATUS,
    OTHER_METHOD,
    UNMATCHED_ROUTE,
    PrometheusMetrics,
    add_prometheus,
    prometheus_state,
)

TEXT = [(b"content-type", b"text/plain")]
REQUESTS = "bareasgi_requests_total"
DURATION_COUNT = "bareasgi_request_duration_seconds_count"
IN_PROGRESS = "bareasgi_requests_in_progress"
BYTES = "bareasgi_response_body_bytes_total"


async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, TEXT, text_writer("Hello, World!")


async def user(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, TEXT, text_writer(f"user {matches['user_id']:d}")


async def boom(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    raise RuntimeError("the handler failed")


async def teapot(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    raise HttpError(418, b"short and stout")


async def bare_status(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 204


async def echo(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, TEXT, (await text_reader(content)).encode()


async def chunks(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    async def body() -> AsyncIterator[bytes]:
        for part in (b"abc", b"", b"defg", b"hi"):
            yield part

    return 201, TEXT, body()


def make_app(**options: Any) -> Application:
    app = Application(plugins={"prometheus": {"multiprocess": False, **options}})
    router = app.http_router
    router.add({"GET"}, "/hello", hello)
    router.add({"GET"}, "/users/{user_id:int}", user)
    router.add({"GET"}, "/boom", boom)
    router.add({"GET"}, "/teapot", teapot)
    router.add({"DELETE"}, "/users/{user_id:int}", bare_status)
    router.add({"POST"}, "/echo", echo)
    router.add({"GET"}, "/chunks", chunks)
    return app


async def scrape(client: TestClient, path: str = "/metrics") -> Samples:
    response = await client.get(path)
    assert response.status_code == 200
    return samples(families(response.text))


# ---- labels ---------------------------------------------------------------------------------


async def test_requests_are_labelled_by_route_template_not_path() -> None:
    async with TestClient(make_app()) as client:
        for user_id in (1, 2, 3):
            assert (await client.get(f"/users/{user_id}")).status_code == 200
        found = await scrape(client)
    labels = {"method": "GET", "route": "/users/{user_id:int}"}
    assert value(found, REQUESTS, **labels, status="200") == 3
    assert value(found, DURATION_COUNT, **labels) == 3
    assert value(found, IN_PROGRESS, **labels) == 0
    assert label_values(found, "route") == {"/users/{user_id:int}"}


async def test_unmatched_requests_share_one_label() -> None:
    async with TestClient(make_app()) as client:
        for index in range(5):
            assert (await client.get(f"/nowhere/{index}")).status_code == 404
        found = await scrape(client)
    assert value(found, REQUESTS, method="GET", route=UNMATCHED_ROUTE, status="404") == 5
    assert label_values(found, "route") == {UNMATCHED_ROUTE}


async def test_405_is_labelled_with_the_matched_template() -> None:
    async with TestClient(make_app()) as client:
        response = await client.put("/users/7")
        assert response.status_code == 405
        found = await scrape(client)
    assert value(found, REQUESTS, method="PUT", route="/users/{user_id:int}", status="405") == 1


async def test_routes_sharing_a_template_share_their_series() -> None:
    async with TestClient(make_app()) as client:
        await client.get("/users/1")
        await client.delete("/users/1")
        await client.patch("/users/1")  # 405, labelled with one of the two routes
        found = await scrape(client)
    template = "/users/{user_id:int}"
    assert value(found, REQUESTS, method="GET", route=template, status="200") == 1
    assert value(found, REQUESTS, method="DELETE", route=template, status="204") == 1
    assert value(found, REQUESTS, method="PATCH", route=template, status="405") == 1


async def test_methods_are_bounded() -> None:
    app = make_app()

    async def propfind(scope: Scope, info: Info, matches: Matches, content: Content) -> int:
        return 207

    app.http_router.add({"PROPFIND"}, "/dav", propfind)
    async with TestClient(app) as client:
        assert (await client.request("PROPFIND", "/dav")).status_code == 207
        assert (await client.request("PROPFIND", "/hello")).status_code == 405
        assert (await client.request("BREW", "/nowhere")).status_code == 404
        assert (await client.request("BREW", "/hello")).status_code == 405
        assert (await client.head("/hello")).status_code == 200
        found = await scrape(client)
    assert value(found, REQUESTS, method="PROPFIND", route="/dav", status="207") == 1
    assert value(found, REQUESTS, method=OTHER_METHOD, route="/hello", status="405") == 2
    assert value(found, REQUESTS, method=OTHER_METHOD, route=UNMATCHED_ROUTE, status="404") == 1
    assert value(found, REQUESTS, method="HEAD", route="/hello", status="200") == 1
    assert label_values(found, "method") == {"PROPFIND", OTHER_METHOD, "HEAD"}


# ---- statuses and failures --------------------------------------------------------------------


async def test_a_handler_that_raises_is_counted_500(caplog: pytest.LogCaptureFixture) -> None:
    async with TestClient(make_app()) as client:
        assert (await client.get("/boom")).status_code == 500
        found = await scrape(client)
    assert value(found, REQUESTS, method="GET", route="/boom", status="500") == 1
    assert value(found, IN_PROGRESS, method="GET", route="/boom") == 0
    assert "the handler failed" in caplog.text


async def test_http_error_is_counted_with_its_status() -> None:
    async with TestClient(make_app()) as client:
        assert (await client.get("/teapot")).status_code == 418
        found = await scrape(client)
    assert value(found, REQUESTS, method="GET", route="/teapot", status="418") == 1
    assert value(found, BYTES, method="GET", route="/teapot") == len(b"short and stout")


async def test_http_error_raised_by_inner_middleware_is_counted() -> None:
    async def guard(
        scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
    ) -> HttpResponse:
        if scope["path"] == "/hello":
            raise HttpError(403)
        return await handler(scope, info, matches, content)

    app = Application(middlewares=[guard], plugins={"prometheus": {"multiprocess": False}})
    app.http_router.add({"GET"}, "/hello", hello)
    async with TestClient(app) as client:
        assert (await client.get("/hello")).status_code == 403
        found = await scrape(client)
    assert value(found, REQUESTS, method="GET", route="/hello", status="403") == 1


@pytest.mark.parametrize("status", ["200", 9999, True, 200.0, None])
async def test_a_status_core_refuses_is_counted_500(
    status: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async def odd(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        return status, TEXT, b"x"

    app = make_app()
    app.http_router.add({"GET"}, "/odd", odd)
    async with TestClient(app) as client:
        assert (await client.get("/odd")).status_code == 500
        found = await scrape(client)
    assert value(found, REQUESTS, method="GET", route="/odd", status="500") == 1
    assert label_values(found, "status") == {"500"}


async def test_a_bare_status_and_short_tuples_are_counted() -> None:
    async def short(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return (202, TEXT)

    app = make_app()
    app.http_router.add({"GET"}, "/short", short)
    async with TestClient(app) as client:
        assert (await client.delete("/users/3")).status_code == 204
        assert (await client.get("/short")).status_code == 202
        found = await scrape(client)
    assert value(found, REQUESTS, method="DELETE", route="/users/{user_id:int}", status="204") == 1
    assert value(found, REQUESTS, method="GET", route="/short", status="202") == 1


async def test_a_client_gone_while_the_request_body_is_read_counts_499() -> None:
    app = make_app()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "path": "/echo",
        "raw_path": b"/echo",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-length", b"10")],
    }
    await app(scope, receive, send)
    assert sent == []  # nothing answered
    async with TestClient(app) as client:
        found = await scrape(client)
    assert (
        value(found, REQUESTS, method="POST", route="/echo", status=str(DISCONNECTED_STATUS)) == 1
    )
    assert value(found, IN_PROGRESS, method="POST", route="/echo") == 0


async def test_a_cancelled_request_is_counted_once_and_leaves_no_request_in_progress() -> None:
    app = make_app()
    task = await start_hanging_request(app)
    async with TestClient(app) as client:
        found = await scrape(client)
        assert value(found, IN_PROGRESS, method="GET", route="/forever") == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        found = await scrape(client)
    labels = {"method": "GET", "route": "/forever"}
    assert value(found, REQUESTS, **labels, status=str(DISCONNECTED_STATUS)) == 1
    assert value(found, IN_PROGRESS, **labels) == 0


# ---- bodies -------------------------------------------------------------------------------------


async def test_body_bytes_are_counted_and_head_sends_none() -> None:
    async with TestClient(make_app()) as client:
        assert (await client.get("/hello")).content == b"Hello, World!"
        assert (await client.head("/hello")).content == b""
        assert (await client.post("/echo", content=b"0123456789")).content == b"0123456789"
        found = await scrape(client)
    assert value(found, BYTES, method="GET", route="/hello") == 13
    assert value(found, BYTES, method="HEAD", route="/hello") == 0
    assert value(found, BYTES, method="POST", route="/echo") == 10


async def test_a_streamed_body_is_counted_when_it_ends() -> None:
    release = asyncio.Event()
    finished = asyncio.Event()

    async def slow(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        async def body() -> AsyncIterator[bytes]:
            try:
                yield b"first "
                await release.wait()
                yield b"last"
            finally:
                finished.set()

        return 200, TEXT, body()

    app = make_app()
    app.http_router.add({"GET"}, "/slow", slow)
    labels = {"method": "GET", "route": "/slow"}
    async with TestClient(app) as client:
        async with client.stream("GET", "/slow") as response:
            parts = response.aiter_raw()
            assert await anext(parts) == b"first "
            found = await scrape(client)
            # The headers are out, yet the request is still in progress and not counted.
            assert value(found, IN_PROGRESS, **labels) == 1
            assert value(found, DURATION_COUNT, **labels) == 0
            release.set()
            assert [part async for part in parts] == [b"last"]
        await asyncio.wait_for(finished.wait(), 10)
        await client.wait_for_app_tasks()
        found = await scrape(client)
    assert value(found, IN_PROGRESS, **labels) == 0
    assert value(found, DURATION_COUNT, **labels) == 1
    assert value(found, REQUESTS, **labels, status="200") == 1
    assert value(found, BYTES, **labels) == len(b"first last")


async def test_chunked_and_generator_bodies_count_their_bytes() -> None:
    async with TestClient(make_app()) as client:
        assert (await client.get("/chunks")).content == b"abcdefghi"
        assert (await client.head("/chunks")).content == b""
        found = await scrape(client)
    assert value(found, BYTES, method="GET", route="/chunks") == 9
    assert value(found, REQUESTS, method="HEAD", route="/chunks", status="201") == 1
    assert value(found, BYTES, method="HEAD", route="/chunks") == 0


async def test_a_client_leaving_mid_body_is_counted_once_with_the_status_sent() -> None:
    closed = asyncio.Event()

    async def endless(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        async def body() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield b"tick\n"
                    await asyncio.sleep(0.001)
            finally:
                closed.set()

        return 202, TEXT, body()

    app = make_app()
    app.http_router.add({"GET"}, "/endless", endless)
    labels = {"method": "GET", "route": "/endless"}
    async with TestClient(app) as client:
        async with client.stream("GET", "/endless") as response:
            assert response.status_code == 202
            async for _ in response.aiter_raw():
                break
        await asyncio.wait_for(closed.wait(), 10)
        await client.wait_for_app_tasks()
        found = await scrape(client)
        assert value(found, REQUESTS, **labels, status="202") == 1
        assert value(found, DURATION_COUNT, **labels) == 1
        assert value(found, IN_PROGRESS, **labels) == 0
        assert value(found, BYTES, **labels) >= len(b"tick\n")
        assert label_values(found, "status") == {"202"}


async def test_a_streamed_body_core_refuses_is_counted_500_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def bad_headers(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        async def body() -> AsyncIterator[bytes]:
            yield b"never sent"

        return 200, [(b"Bad Name", b"x")], body()

    app = make_app()
    app.http_router.add({"GET"}, "/bad", bad_headers)
    async with TestClient(app) as client:
        # Core logs the error; pytest would keep the record, whose traceback holds the
        # response, and with it the unsent body, which is recorded only when it goes.
        monkeypatch.setattr(logging.getLogger("bareasgi"), "disabled", True)
        assert (await client.get("/bad")).status_code == 500
        gc.collect()
        found = await scrape(client)
    labels = {"method": "GET", "route": "/bad"}
    assert value(found, REQUESTS, **labels, status="500") == 1
    assert value(found, IN_PROGRESS, **labels) == 0


# ---- configuration -------------------------------------------------------------------------


async def test_the_metrics_route_is_left_out_by_default() -> None:
    async with TestClient(make_app()) as client:
        await scrape(client)
        found = await scrape(client)
    assert "/metrics" not in label_values(found, "route")

    async with TestClient(make_app(exclude_metrics_route=False)) as client:
        await scrape(client)
        found = await scrape(client)
    assert value(found, REQUESTS, method="GET", route="/metrics", status="200") == 1


async def test_excluded_paths_match_templates_and_unmatched_paths() -> None:
    app = make_app(exclude_paths=["/users/{user_id:int}", "/favicon.ico"])
    async with TestClient(app) as client:
        await client.get("/users/1")
        await client.get("/favicon.ico")
        await client.get("/users/1/x")
        await client.get("/hello")
        found = await scrape(client)
    assert label_values(found, "route") == {"/hello", UNMATCHED_ROUTE}
    assert value(found, REQUESTS, method="GET", route=UNMATCHED_ROUTE, status="404") == 1


async def test_an_http_error_on_an_excluded_route_is_still_its_answer() -> None:
    # Not counted, but the HttpError still becomes its response inside the middleware, as
    # for counted routes (the middleware is bound to the handler itself when innermost).
    app = make_app(exclude_paths=["/teapot"])
    async with TestClient(app) as client:
        answer = await client.get("/teapot")
        assert (answer.status_code, answer.content) == (418, b"short and stout")
        found = await scrape(client)
    assert "/teapot" not in label_values(found, "route")


async def test_prefix_path_and_buckets() -> None:
    app = make_app(prefix="shop", path="/internal/metrics", buckets=[0.1, 1, 10])
    async with TestClient(app) as client:
        await client.get("/hello")
        response = await client.get("/internal/metrics")
        assert (await client.get("/metrics")).status_code == 404
    parsed = families(response.text)
    names = {family.name for family in parsed}
    assert {
        "shop_requests",
        "shop_request_duration_seconds",
        "shop_requests_in_progress",
        "shop_response_body_bytes",
    } <= names
    assert not any(name.startswith("bareasgi") for name in names)
    found = samples(parsed)
    les = {
        dict(labels)["le"]
        for name, labels in found
        if name == "shop_request_duration_seconds_bucket"
    }
    assert les == {"0.1", "1.0", "10.0", "+Inf"}


async def test_each_application_has_its_own_registry() -> None:
    first, second = make_app(), make_app()
    async with TestClient(first) as one, TestClient(second) as two:
        await one.get("/hello")
        await one.get("/hello")
        await two.get("/hello")
        found_one, found_two = await scrape(one), await scrape(two)
    assert value(found_one, REQUESTS, method="GET", route="/hello", status="200") == 2
    assert value(found_two, REQUESTS, method="GET", route="/hello", status="200") == 1
    assert prometheus_state(first).registry is not prometheus_state(second).registry


async def test_own_metrics_registered_in_the_registry_are_shown() -> None:
    app = make_app()
    orders = Counter("shop_orders", "Orders taken.", registry=prometheus_state(app).registry)

    async def order(scope: Scope, info: Info, matches: Matches, content: Content) -> int:
        orders.inc()
        return 204

    app.http_router.add({"POST"}, "/orders", order)
    async with TestClient(app) as client:
        await client.post("/orders")
        found = await scrape(client)
    assert value(found, "shop_orders_total") == 1


async def test_process_metrics_can_be_left_out() -> None:
    async with TestClient(make_app()) as client:
        with_them = {family.name for family in families((await client.get("/metrics")).text)}
    async with TestClient(make_app(process_metrics=False)) as client:
        without = {family.name for family in families((await client.get("/metrics")).text)}
    assert "python_info" in with_them
    assert not any(name.startswith(("process_", "python_")) for name in without)


async def test_invalid_options_are_reported_at_construction() -> None:
    with pytest.raises(PluginOptionsError) as caught:
        Application(
            plugins={
                "prometheus": {
                    "prefix": "bad-prefix",
                    "path": "metrics",
                    "buckets": [1.0, 0.5],
                    "exclude_paths": ["nope"],
                    "multiprocess": True,
                }
            }
        )
    text = str(caught.value)
    for option in ("prefix", "path", "buckets", "exclude_paths", "multiprocess"):
        assert f"'{option}'" in text
    assert "PROMETHEUS_MULTIPROC_DIR" in text

    with pytest.raises(PluginOptionsError, match="'buckets'"):
        Application(plugins={"prometheus": {"buckets": []}})
    with pytest.raises(PluginOptionsError, match="'gzip'"):
        Application(plugins={"prometheus": {"gzip": "yes"}})


def test_multiprocess_mode_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    assert not prometheus_state(Application(plugins={"prometheus": {}})).multiprocess
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/nonexistent/bareasgi-prometheus")
    with pytest.raises(PluginOptionsError, match="not an existing directory"):
        Application(plugins={"prometheus": {}})
    assert not prometheus_state(
        Application(plugins={"prometheus": {"multiprocess": False}})
    ).multiprocess


# ---- both ways in ---------------------------------------------------------------------------


async def test_add_prometheus_without_the_plugin_system() -> None:
    app = Application()
    app.http_router.add({"GET"}, "/hello", hello)
    metrics = add_prometheus(app, multiprocess=False, prefix="plain")
    assert isinstance(metrics, PrometheusMetrics)
    assert prometheus_state(app) is metrics  # enabled from code: the plugin's state
    async with TestClient(app) as client:
        await client.get("/hello")
        found = await scrape(client)
    assert value(found, "plain_requests_total", method="GET", route="/hello", status="200") == 1
    with pytest.raises(ValueError, match="'prefix'"):
        add_prometheus(Application(), prefix="1abc", multiprocess=False)


def test_add_prometheus_defaults_are_the_plugin_defaults() -> None:
    import inspect

    from bareasgi_prometheus import PrometheusOptions

    defaults = PrometheusOptions()
    parameters = inspect.signature(add_prometheus).parameters
    for name in PrometheusOptions.__dataclass_fields__:
        assert parameters[name].default == getattr(defaults, name), name


async def test_the_plugin_module_can_be_passed_as_an_object() -> None:
    app = Application(plugins=[(bareasgi_prometheus.plugin, {"multiprocess": False})])
    assert app.plugins.names() == ["prometheus"]
    app.http_router.add({"GET"}, "/hello", hello)
    async with TestClient(app) as client:
        await client.get("/hello")
        found = await scrape(client)
    assert value(found, REQUESTS, method="GET", route="/hello", status="200") == 1


async def test_mounted_apps_are_not_counted() -> None:
    async def other(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"mounted"})

    app = make_app()
    app.mount("/other", other)
    async with TestClient(app) as client:
        assert (await client.get("/other/x")).content == b"mounted"
        found = await scrape(client)
    assert label_values(found, "route") == set()


async def test_the_accessor_reaches_the_metrics_from_a_handler() -> None:
    app = make_app()

    async def series(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        count = prometheus_state(app).series_count
        return 200, TEXT, text_writer(str(count))

    app.http_router.add({"GET"}, "/series", series)
    async with TestClient(app) as client:
        await client.get("/hello")
        response = await client.get("/series")
    assert response.text == "2"  # /hello and /series itself, both GET
