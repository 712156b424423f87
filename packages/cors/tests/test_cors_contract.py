"""The plugin shape (issue 12): `PLUGIN_NAME`, the `cors_state` accessor for an application and
a request's scope, `add_cors_middleware` enabling the plugin itself (same placement, same hooks),
and middleware composed through `bind_handler`, answering an `HttpError` as core does."""

from __future__ import annotations

from typing import Any

import pytest
from cors_helpers import GOOD, preflight

import bareasgi_cors
import bareasgi_cors.plugin
from bareasgi import (
    Application,
    Content,
    EnabledPlugin,
    HttpError,
    HttpHandler,
    HttpMiddleware,
    HttpResponse,
    Info,
    Matches,
    PluginNotEnabledError,
    Scope,
    hookimpl,
)
from bareasgi.testing import (
    TestClient,
    assert_accessor_refuses_without_plugin,
    assert_bindable_middleware,
    assert_plugin_exports,
    assert_state_from_app_and_scope,
    spy_bind_handler,
)
from bareasgi_cors import PLUGIN_NAME, CorsOptions, CorsPolicy, add_cors_middleware, cors_state

OPTIONS: dict[str, Any] = {"allow_origins": [GOOD], "guard_websockets": True}


def test_the_name_constant_is_the_plugin_modules_name() -> None:
    assert_plugin_exports(
        bareasgi_cors,
        "cors",
        options=CorsOptions,
        accessor="cors_state",
        enable="add_cors_middleware",
        removed=("cors_policy",),  # the old accessor is gone
    )


def _enable(way: str, app: Application) -> None:
    if way == "plugin":
        app.plugins.enable(bareasgi_cors.plugin, OPTIONS)
    else:
        add_cors_middleware(app, **OPTIONS)


@pytest.mark.parametrize("way", ["by-name", "by-code", "add"])
async def test_cors_state_from_the_app_and_from_a_handlers_scope(way: str) -> None:
    if way == "by-name":
        app = Application(plugins={"cors": OPTIONS})
    else:
        app = Application()
        _enable("plugin" if way == "by-code" else "add", app)
    policy = await assert_state_from_app_and_scope(
        app, PLUGIN_NAME, cors_state, CorsPolicy, headers={"origin": GOOD}
    )
    assert policy.options.allow_origins == (GOOD,)


async def test_cors_state_without_the_plugin_raises_plugin_not_enabled() -> None:
    raised = await assert_accessor_refuses_without_plugin("cors", cors_state)
    assert "'cors' plugin is not enabled" in str(raised)
    with pytest.raises(PluginNotEnabledError, match="no bareASGI application"):
        cors_state({"type": "http", "headers": []})


class Recorder:
    """A plugin enabled before CORS: its middleware records the methods that reach it."""

    name = "recorder"

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def bareasgi_middleware(self, plugin: EnabledPlugin) -> HttpMiddleware:
        async def recorder(
            scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
        ) -> HttpResponse:
            self.seen.append(f"recorder {scope['method']}")
            return await handler(scope, info, matches, content)

        return recorder


def _build(way: str) -> tuple[Application, Recorder, list[str]]:
    """Recorder plugin, then CORS (by name or by `add_cors_middleware`), then app middleware."""
    recorder = Recorder()
    calls = recorder.seen

    async def own(
        scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
    ) -> HttpResponse:
        calls.append(f"own {scope['method']}")
        return await handler(scope, info, matches, content)

    async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        return 200, [(b"content-type", b"text/plain")], b"hello"

    if way == "plugin":
        app = Application(middlewares=[own], plugins=[recorder, ("cors", OPTIONS)])
    else:
        app = Application(middlewares=[own], plugins=[recorder])
        add_cors_middleware(app, **OPTIONS)
    app.http_router.add({"GET"}, "/", hello)
    return app, recorder, calls


async def test_add_cors_middleware_places_its_middleware_as_the_plugin_does() -> None:
    placements = []
    for way in ("plugin", "add"):
        app, _, calls = _build(way)
        policy = cors_state(app)
        # The same hooks of the same module, at the same place among plugins.
        assert app.plugins.names() == ["recorder", "cors"]
        assert app.plugins["cors"].plugin is bareasgi_cors.plugin
        middleware = [(p.name, mw) for p, mw in app.plugin_results("bareasgi_middleware")]
        assert middleware == [("recorder", middleware[0][1]), ("cors", policy.middleware)]
        wrappers = [(p.name, w) for p, w in app.plugin_results("bareasgi_asgi_wrapper")]
        assert wrappers == [("cors", policy.websocket_guard)]
        assert len(app.middlewares) == 1  # the application's own, untouched
        async with TestClient(app) as client:
            answered = await preflight(client, "/", method="GET")
            actual = await client.get("/", headers={"origin": GOOD})
            refused = await client.websocket_refusal("/", headers={"origin": "https://x.example"})
        placements.append(
            (
                answered.status_code,
                actual.headers.get("access-control-allow-origin"),
                refused.status_code,
                calls,
            )
        )
    # Outside the app's own middleware, inside the plugin enabled first: the preflight is
    # answered between the two.
    expected = (204, GOOD, 403, ["recorder OPTIONS", "recorder GET", "own GET"])
    assert placements[0] == placements[1] == expected


async def test_the_same_clean_up_either_way() -> None:
    # CORS keeps nothing that needs closing: neither way adds a lifespan or a start-up hook of
    # its own, and both ways start and stop the application the same (through the plugin).
    for way in ("plugin", "add"):
        app, _, _ = _build(way)
        assert app.plugin_results("bareasgi_lifespan") == []
        assert app.startup_handlers == app.shutdown_handlers == []
        async with TestClient(app) as client:
            assert (await client.get("/")).status_code == 200


def test_the_middleware_is_bindable_and_answers_http_errors_itself() -> None:
    policy = CorsPolicy(CorsOptions(allow_origins=(GOOD,)))
    middleware = policy.middleware
    assert_bindable_middleware(middleware)
    assert not hasattr(middleware, "__wrapped__")


async def test_core_composes_the_middleware_through_bind_handler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = Application()
    policy = add_cors_middleware(app, allow_origins=[GOOD])
    bound = spy_bind_handler(policy.middleware, monkeypatch)

    async def teapot(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        raise HttpError(418, b"teapot")

    app.http_router.add({"GET"}, "/", teapot)
    async with TestClient(app) as client:
        response = await client.get("/", headers={"origin": GOOD})
        again = await client.get("/", headers={"origin": GOOD})
    # Innermost and catching HttpError itself, it is bound to the route's handler directly.
    assert teapot in bound
    assert [response.status_code, again.status_code] == [418, 418]
    assert response.text == "teapot"
    assert response.headers["access-control-allow-origin"] == GOOD
    # The HttpError became a response through `as_response()`: core's content type added.
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


async def test_a_module_level_http_error_is_copied_not_written() -> None:
    error = HttpError(409, b"conflict", [(b"content-type", b"text/plain")])
    app = Application()
    add_cors_middleware(app, allow_origins=[GOOD], expose_headers=["x-a"])

    async def conflict(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        raise error

    app.http_router.add({"GET"}, "/", conflict)
    async with TestClient(app) as client:
        answers = [await client.get("/", headers={"origin": GOOD}) for _ in range(3)]
    assert [len(a.headers.get_list("access-control-allow-origin")) for a in answers] == [1, 1, 1]
    assert error.headers == [(b"content-type", b"text/plain")]
