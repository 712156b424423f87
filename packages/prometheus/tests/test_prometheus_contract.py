"""The plugin shape (issue 12): `PLUGIN_NAME`, the `prometheus_state` accessor for an application
and a request's scope, `add_prometheus` enabling the plugin itself (same placement, same
clean-up), bindable middleware, and the counting fast path agreeing with core's
`final_status` (the general path) on every answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import values
from prometheus_helpers import families, samples, value

import bareasgi_prometheus
import bareasgi_prometheus._metrics as metrics_module
import bareasgi_prometheus.plugin
from bareasgi import (
    Application,
    BytesBody,
    Content,
    EnabledPlugin,
    HttpError,
    HttpHandler,
    HttpMiddleware,
    HttpResponse,
    Info,
    Matches,
    PluginError,
    PluginNotEnabledError,
    Scope,
    final_status,
    hookimpl,
    text_writer,
)
from bareasgi.testing import (
    TestClient,
    assert_accessor_refuses_without_plugin,
    assert_bindable_middleware,
    assert_plugin_exports,
    assert_state_from_app_and_scope,
    spy_bind_handler,
)
from bareasgi_prometheus import (
    PLUGIN_NAME,
    PrometheusMetrics,
    PrometheusOptions,
    add_prometheus,
    clear_multiprocess_directory,
    prometheus_state,
)
from bareasgi_prometheus._series import LocalSeries

TEXT = [(b"content-type", b"text/plain")]
REQUESTS = "bareasgi_requests_total"


async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, TEXT, text_writer("Hello, World!")


def test_the_name_constant_is_the_plugin_modules_name() -> None:
    assert_plugin_exports(
        bareasgi_prometheus,
        "prometheus",
        options=PrometheusOptions,
        accessor="prometheus_state",
        enable="add_prometheus",
        removed=("metrics_for",),  # the old accessor is gone
    )


@pytest.mark.parametrize("way", ["by-name", "by-code", "add"])
async def test_prometheus_state_from_the_app_and_from_a_handlers_scope(way: str) -> None:
    options = {"multiprocess": False, "prefix": "state"}
    if way == "by-name":
        app = Application(plugins={"prometheus": options})
    else:
        app = Application()
        if way == "by-code":
            app.plugins.enable(bareasgi_prometheus.plugin, options)
        else:
            add_prometheus(app, multiprocess=False, prefix="state")
    metrics = await assert_state_from_app_and_scope(
        app, PLUGIN_NAME, prometheus_state, PrometheusMetrics
    )
    assert metrics.options.prefix == "state"


async def test_prometheus_state_without_the_plugin_raises_plugin_not_enabled() -> None:
    await assert_accessor_refuses_without_plugin("prometheus", prometheus_state)
    with pytest.raises(PluginNotEnabledError, match="no bareASGI application"):
        prometheus_state({"type": "http"})


class Recorder:
    """A plugin enabled before Prometheus: its middleware records the paths that reach it."""

    name = "recorder"

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def bareasgi_middleware(self, plugin: EnabledPlugin) -> HttpMiddleware:
        async def recorder(
            scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
        ) -> HttpResponse:
            self.seen.append(f"recorder {scope['path']}")
            return await handler(scope, info, matches, content)

        return recorder


def _build(way: str) -> tuple[Application, list[str]]:
    """Recorder plugin, then Prometheus (by name or by `add_prometheus`), then an app
    middleware refusing `/guarded` with 401."""
    recorder = Recorder()
    calls = recorder.seen

    async def guard(
        scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
    ) -> HttpResponse:
        calls.append(f"guard {scope['path']}")
        if scope["path"] == "/guarded":
            return 401, TEXT, b"who are you?"
        return await handler(scope, info, matches, content)

    if way == "plugin":
        app = Application(
            middlewares=[guard], plugins=[recorder, ("prometheus", {"multiprocess": False})]
        )
    else:
        app = Application(middlewares=[guard], plugins=[recorder])
        add_prometheus(app, multiprocess=False)
    app.http_router.add({"GET"}, "/hello", hello)
    app.http_router.add({"GET"}, "/guarded", hello)
    return app, calls


async def test_add_prometheus_places_its_middleware_as_the_plugin_does() -> None:
    outcomes = []
    for way in ("plugin", "add"):
        app, calls = _build(way)
        metrics = prometheus_state(app)
        assert app.plugins.names() == ["recorder", "prometheus"]
        assert app.plugins["prometheus"].plugin is bareasgi_prometheus.plugin
        middleware = [(p.name, mw) for p, mw in app.plugin_results("bareasgi_middleware")]
        assert [name for name, _ in middleware] == ["recorder", "prometheus"]
        assert middleware[1][1] is metrics.middleware
        assert len(app.middlewares) == 1  # the application's own, untouched
        async with TestClient(app) as client:
            assert (await client.get("/hello")).status_code == 200
            assert (await client.get("/guarded")).status_code == 401
            found = samples(families((await client.get("/metrics")).text))
        # Outside the app's middleware: its 401 is counted.
        counted = (
            value(found, REQUESTS, method="GET", route="/hello", status="200"),
            value(found, REQUESTS, method="GET", route="/guarded", status="401"),
        )
        outcomes.append((counted, calls))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == (1.0, 1.0)
    assert outcomes[0][1][:4] == [
        "recorder /hello",
        "guard /hello",
        "recorder /guarded",
        "guard /guarded",
    ]


@pytest.fixture
def directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = clear_multiprocess_directory(tmp_path / "multiproc")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(path))
    monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue())  # type: ignore[no-untyped-call]
    yield path
    values.ValueClass.close_all_files()


def _db_files(directory: Path) -> set[str]:
    """The kinds of prometheus-client files in the directory (`gauge`: live gauges)."""
    return {path.name.split("_")[0] for path in directory.glob("*.db")}


@pytest.mark.parametrize("way", ["plugin", "add"])
async def test_the_same_clean_up_either_way(way: str, directory: Path) -> None:
    # Multiprocess mode: the plugin's lifespan drops this worker's live gauge at shutdown;
    # add_prometheus adds no shutdown handler of its own any more.
    if way == "plugin":
        app = Application(plugins={"prometheus": {"prefix": f"clean_{way}"}})
    else:
        app = Application()
        add_prometheus(app, prefix=f"clean_{way}")
    app.http_router.add({"GET"}, "/hello", hello)
    assert prometheus_state(app).multiprocess
    assert app.shutdown_handlers == []
    [(enabled, _)] = app.plugin_results("bareasgi_lifespan")
    assert enabled.name == "prometheus"
    async with TestClient(app) as client:
        await client.get("/hello")
        assert "gauge" in _db_files(directory)
    assert "gauge" not in _db_files(directory)


def test_add_prometheus_twice_is_refused() -> None:
    app = Application()
    metrics = add_prometheus(app, multiprocess=False)
    with pytest.raises(PluginError, match="enabled twice"):
        add_prometheus(app, multiprocess=False)
    assert prometheus_state(app) is metrics


def test_the_registry_is_an_option_of_the_plugin_too() -> None:
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    app = Application(plugins={"prometheus": {"multiprocess": False, "registry": registry}})
    assert prometheus_state(app).registry is registry


def test_the_middleware_is_bindable_and_answers_http_errors_itself() -> None:
    middleware = PrometheusMetrics(PrometheusOptions(multiprocess=False)).middleware
    assert_bindable_middleware(middleware)


async def test_core_composes_the_middleware_through_bind_handler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = Application()
    metrics = add_prometheus(app, multiprocess=False)
    bound = spy_bind_handler(metrics.middleware, monkeypatch)

    async def teapot(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        raise HttpError(418, b"teapot")

    app.http_router.add({"GET"}, "/teapot", teapot)
    async with TestClient(app) as client:
        response = await client.get("/teapot")
        found = samples(families((await client.get("/metrics")).text))
    assert teapot in bound  # innermost, bound straight to the route's handler
    assert response.status_code == 418
    # The HttpError became a response through `as_response()`: core's content type added.
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert value(found, REQUESTS, method="GET", route="/teapot", status="418") == 1


@pytest.mark.parametrize("status", [100, 101, 103, 199])
async def test_a_1xx_final_status_is_counted_500_as_core_answers(status: int) -> None:
    # A 200 first, so that its headers are known good and the 1xx could take the fast path.
    answers: list[Any] = [(200, TEXT, b"x"), (status, TEXT, b"x"), (status, TEXT, b"x")]

    async def early(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        return answers.pop(0)

    app = Application(plugins={"prometheus": {"multiprocess": False}})
    app.http_router.add({"GET"}, "/early", early)
    async with TestClient(app) as client:
        sent = [(await client.get("/early")).status_code for _ in range(3)]
        found = samples(families((await client.get("/metrics")).text))
    assert sent == [200, 500, 500]
    assert value(found, REQUESTS, method="GET", route="/early", status="500") == 2
    assert value(found, REQUESTS, method="GET", route="/early", status=str(status)) == 0


async def test_headers_core_refuses_are_counted_500_after_good_ones() -> None:
    # The same pair, first as bytes (sent), then with a bytearray value (refused by core): the
    # remembered pair must not make the fast path count the second as 200.
    answers: list[Any] = [
        (200, [(b"x-a", b"1")], b"ok"),
        (200, [(b"x-a", b"1")], b"ok"),
        (200, [(b"x-a", bytearray(b"1"))], b"ok"),
        (200, [[b"x-a", b"1"]], b"ok"),  # a list pair of bytes: core sends it
        (200, [(b"X-A", b"1")], b"ok"),
    ]

    async def varied(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        return answers.pop(0)

    app = Application(plugins={"prometheus": {"multiprocess": False}})
    app.http_router.add({"GET"}, "/varied", varied)
    async with TestClient(app) as client:
        statuses = [(await client.get("/varied")).status_code for _ in range(5)]
        found = samples(families((await client.get("/metrics")).text))
    assert statuses == [200, 200, 500, 200, 500]
    assert value(found, REQUESTS, method="GET", route="/varied", status="200") == 3
    assert value(found, REQUESTS, method="GET", route="/varied", status="500") == 2


# ---- the fast path and the general path count the same ------------------------------------

_names = st.sampled_from([b"content-type", b"x-a", b"X-A", b"content-length", b"bad name"])
_values = st.sampled_from([b"text/plain", b"1", b"a\r\nb", b"13"])
_pairs = st.one_of(
    st.tuples(_names, _values),
    st.tuples(_names, _values.map(bytearray)),
    st.tuples(_names, _values).map(list),
    st.just((b"x-a",)),
    st.just(b"x-a"),
)
_headers = st.one_of(
    st.lists(_pairs, max_size=3), st.lists(_pairs, max_size=3).map(tuple), st.none()
)
_statuses = st.one_of(
    st.sampled_from([100, 101, 199, 200, 204, 304, 404, 418, 500, 599, 600]),
    st.sampled_from([True, 200.0, "200"]),
)
_bodies = st.one_of(
    st.binary(max_size=8),
    st.binary(max_size=8).map(lambda data: BytesBody((data,))),
    st.binary(max_size=8).map(bytearray),
    st.none(),
    st.just("text"),
)
_responses = st.tuples(_statuses, _headers, _bodies)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    responses=st.lists(_responses, min_size=1, max_size=6), method=st.sampled_from(["GET", "HEAD"])
)
async def test_the_fast_path_counts_what_the_general_path_counts(
    responses: list[Any], method: str
) -> None:
    """Each answer, counted through the middleware (fast path where it applies, general path
    otherwise), is counted as core's `final_status` says, with the body size sent; the fast
    path must run for answers it takes once their headers are known good."""
    metrics = PrometheusMetrics(PrometheusOptions(multiprocess=False, process_metrics=False))
    general_calls: list[Any] = []
    real_answer = metrics_module._answer

    def spying_answer(response: Any, method: str, checked: Any) -> tuple[int, Any, int]:
        general_calls.append(response)
        return real_answer(response, method, checked)

    pending = list(responses)

    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        return pending.pop(0)

    bound = metrics.middleware.bind_handler(handler)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(metrics_module, "_answer", spying_answer)
        for response in responses:
            known = set(metrics._checked)
            before = len(general_calls)
            scope: Scope = {"type": "http", "method": method, "path": "/p", "headers": []}
            await bound(scope, {}, {}, _nothing())
            [series] = metrics._series
            assert isinstance(series, LocalSeries)
            assert series.in_progress == 0
            went_general = len(general_calls) > before
            expected = final_status(response, method)
            if not went_general:
                # The fast path ran: it only may for what core sends as it is.
                assert expected == response[0]
                assert all(header in known for header in response[1])
            elif _fast_shape(response) and all(
                type(h) is tuple
                and len(h) == 2
                and type(h[0]) is bytes
                and type(h[1]) is bytes
                and h in known
                for h in response[1]
            ):
                pytest.fail(f"the fast path could have taken {response!r}")
    [counted] = metrics._series
    assert isinstance(counted, LocalSeries)
    statuses = dict(counted.statuses)
    wanted: dict[int, int] = {}
    for response in responses:
        status = final_status(response, method)
        wanted[status] = wanted.get(status, 0) + 1
    assert statuses == wanted


def _fast_shape(response: Any) -> bool:
    status, headers, body = response
    return (
        type(body) in (bytes, BytesBody)
        and type(status) is int
        and 200 <= status <= 599
        and type(headers) is list
    )


async def _nothing() -> Any:
    return
    yield
