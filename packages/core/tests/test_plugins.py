"""The plugin system with plugin objects (entry-point discovery is tested in tests/)."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import pytest

from bareasgi import (
    Application,
    Content,
    EnabledPlugin,
    HttpHandler,
    HttpResponse,
    Info,
    Matches,
    PluginError,
    PluginOptionsError,
    RouteSpec,
    Scope,
    WebSocket,
    WebSocketRouteSpec,
    hookimpl,
    text_writer,
)
from bareasgi.__main__ import list_plugins
from bareasgi.plugins import family_extras, installed_plugins
from bareasgi.testing import TestClient
from bareasgi.types import ASGIApp, HttpMiddleware, Receive, Send


async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, [(b"content-type", b"text/plain")], text_writer("hello")


def tagger(tag: str, calls: list[str]) -> HttpMiddleware:
    async def middleware(
        scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
    ) -> HttpResponse:
        calls.append(f"{tag}>")
        response = await handler(scope, info, matches, content)
        calls.append(f"<{tag}")
        return response

    return middleware


class Tagger:
    """A plugin object contributing one middleware; `bareasgi_middleware` is its only hook."""

    def __init__(self, name: str, calls: list[str]) -> None:
        self.name = name
        self.calls = calls
        self.built = 0

    @hookimpl
    def bareasgi_middleware(self, plugin: EnabledPlugin) -> HttpMiddleware:
        self.built += 1
        return tagger(self.name, self.calls)


@dataclass(frozen=True)
class LimitsOptions:
    size: int
    mode: Literal["strict", "lax"] = "strict"
    origins: tuple[str, ...] = ()
    ratio: float = 0.5
    enabled: bool = True
    label: str | None = None


class Limits:
    name = "limits"

    @hookimpl
    def bareasgi_options_class(self) -> type[Any]:
        return LimitsOptions

    @hookimpl
    def bareasgi_check_options(self, options: LimitsOptions) -> Iterable[str]:
        if options.size > 100:
            yield "option 'size' must be at most 100"


def test_plugin_middleware_wraps_the_apps_in_the_users_order() -> None:
    calls: list[str] = []
    first, second = Tagger("first", calls), Tagger("second", calls)
    app = Application(middlewares=[tagger("app", calls)], plugins=[second, first])
    app.http_router.add({"GET"}, "/", hello)

    async def run() -> None:
        async with TestClient(app) as client:
            await client.get("/")

    import asyncio

    asyncio.run(run())
    assert calls == ["second>", "first>", "app>", "<app", "<first", "<second"]
    assert [p.name for p in app.plugins] == ["second", "first"]


async def test_reversing_the_order_reverses_the_nesting() -> None:
    calls: list[str] = []
    app = Application(plugins={Tagger("a", calls): None, Tagger("b", calls): {}})
    app.http_router.add({"GET"}, "/", hello)
    async with TestClient(app) as client:
        await client.get("/")
        await client.get("/missing")  # 404s are wrapped too
    assert calls == ["a>", "b>", "<b", "<a"] * 2


async def test_hooks_run_once_at_start_up_never_per_request() -> None:
    calls: list[str] = []
    plugin = Tagger("once", calls)
    app = Application(plugins=[plugin])
    app.http_router.add({"GET"}, "/", hello)
    assert plugin.built == 0  # composed at start-up, not at construction
    async with TestClient(app) as client:
        for _ in range(5):
            await client.get("/")
    assert plugin.built == 1


async def test_a_plugin_that_contributes_nothing_leaves_the_handler_unwrapped() -> None:
    class Nothing:
        name = "nothing"

    app = Application(plugins=[Nothing()])
    app.http_router.add({"GET"}, "/", hello)
    async with TestClient(app) as client:
        assert (await client.get("/")).text == "hello"
    route = next(iter(app.http_router))
    assert route.call is route.handler


def test_options_are_validated_into_a_typed_frozen_object() -> None:
    app = Application(plugins={Limits(): {"size": 5, "origins": ["https://a.example"]}})
    options = app.plugins["limits"].options
    assert options == LimitsOptions(size=5, origins=("https://a.example",))
    with pytest.raises(AttributeError):
        options.size = 6


def test_every_option_problem_is_reported_at_once() -> None:
    with pytest.raises(PluginOptionsError) as caught:
        Application(
            plugins={
                Limits(): {
                    "mode": "loose",
                    "origins": "https://a.example",
                    "ratio": "half",
                    "enabled": 1,
                    "colour": "blue",
                }
            }
        )
    problems = caught.value.problems
    text = str(caught.value)
    assert len(problems) == 6
    for expected in (
        "'size' is required",
        "'mode'",
        "'origins'",
        "'ratio'",
        "'enabled'",
        "'colour'",
    ):
        assert expected in text
    assert all(problem.startswith("plugin 'limits'") for problem in problems)


def test_checks_beyond_types_are_collected_too() -> None:
    with pytest.raises(PluginOptionsError, match="at most 100"):
        Application(plugins={Limits(): {"size": 500}})


def test_problems_of_several_plugins_are_reported_together() -> None:
    class Other:
        name = "other"

        @hookimpl
        def bareasgi_options_class(self) -> type[Any]:
            return LimitsOptions

    with pytest.raises(PluginOptionsError) as caught:
        Application(plugins={Limits(): {}, Other(): {"size": "x"}})
    assert {problem.split(":")[0] for problem in caught.value.problems} == {
        "plugin 'limits'",
        "plugin 'other'",
    }


def test_options_given_to_a_plugin_without_options_are_refused() -> None:
    with pytest.raises(PluginOptionsError, match="takes no options"):
        Application(plugins={Tagger("t", []): {"x": 1}})


def test_unknown_plugin_name_lists_what_is_installed_and_never_a_lookalike_to_install() -> None:
    with pytest.raises(PluginError) as caught:
        Application(plugins={"no-such-plugin": {}})
    message = str(caught.value)
    assert "unknown plugin 'no-such-plugin'" in message
    assert "installed plugins are:" in message
    # The public index holds unrelated packages with this family's names: a typosquatting trap.
    assert "pip install" not in message
    assert "bareasgi-no-such-plugin" not in message
    extras = family_extras()
    assert extras  # core declares its plugins' extras
    for extra in extras:
        assert f"bareasgi[{extra}]" in message


def test_unknown_plugin_name_suggests_the_closest_names() -> None:
    with pytest.raises(PluginError) as caught:
        Application(plugins={"promethues": {}})
    message = str(caught.value)
    assert "Did you mean 'prometheus'?" in message
    assert "pip install" not in message


def test_a_hook_that_matches_no_spec_is_refused() -> None:
    class Typo:
        name = "typo"

        @hookimpl
        def bareasgi_middlewares(self, plugin: EnabledPlugin) -> None:
            return None

    with pytest.raises(PluginError, match=r"plugin 'typo'.*bareasgi_middlewares"):
        Application(plugins=[Typo()])


def test_an_unmarked_hook_with_a_typo_is_refused_too() -> None:
    class Unmarked:
        name = "unmarked"

        def bareasgi_route(self, plugin: EnabledPlugin) -> None:
            return None

    with pytest.raises(PluginError, match="bareasgi_route"):
        Application(plugins=[Unmarked()])


def test_the_same_plugin_twice_is_refused() -> None:
    with pytest.raises(PluginError, match="enabled twice"):
        Application(plugins=[Tagger("same", []), Tagger("same", [])])


class Routes:
    name = "routes"

    @hookimpl
    def bareasgi_setup(self, plugin: EnabledPlugin) -> None:
        plugin.state = {"served": 0}

    @hookimpl
    def bareasgi_routes(self, plugin: EnabledPlugin) -> Iterable[RouteSpec | WebSocketRouteSpec]:
        state = plugin.state

        async def served(
            scope: Scope, info: Info, matches: Matches, content: Content
        ) -> HttpResponse:
            state["served"] += 1
            return 200, [], text_writer(f"served {state['served']} {matches['name']}")

        async def ws(scope: Scope, info: Info, matches: Matches, web_socket: WebSocket) -> None:
            await web_socket.accept()
            await web_socket.send("from plugin")
            await web_socket.close()

        return [
            RouteSpec({"GET"}, "/plugin/{name}", served, name="plugin-page"),
            WebSocketRouteSpec("/plugin-ws", ws),
        ]


async def test_plugin_routes_state_and_url_for() -> None:
    app = Application(plugins=[Routes()])
    assert app.url_for("plugin-page", name="x y") == "/plugin/x%20y"
    async with TestClient(app) as client:
        assert (await client.get("/plugin/a")).text == "served 1 a"
        assert (await client.get("/plugin/b")).text == "served 2 b"
        async with client.websocket_connect("/plugin-ws") as session:
            assert await session.receive_text() == "from plugin"
    assert app.plugins["routes"].state == {"served": 2}
    assert app.info == {}


def test_two_plugins_claiming_the_same_route_are_refused_naming_the_plugin() -> None:
    class Copy:
        name = "copy"

        @hookimpl
        def bareasgi_routes(self, plugin: EnabledPlugin) -> Iterable[RouteSpec]:
            return [RouteSpec({"GET"}, "/plugin/{other}", hello)]

    with pytest.raises(PluginError, match=r"plugin 'copy'.*/plugin/\{other\}"):
        Application(plugins=[Routes(), Copy()])


def test_the_app_claiming_a_plugin_route_is_refused() -> None:
    app = Application(plugins=[Routes()])
    with pytest.raises(ValueError, match=r"/plugin/\{name\}"):
        app.http_router.add({"GET"}, "/plugin/{who}", hello)


class Life:
    name = "life"

    def __init__(self, events: list[str], fail: bool = False) -> None:
        self.events = events
        self.fail = fail

    @hookimpl
    def bareasgi_lifespan(self, plugin: EnabledPlugin) -> Any:
        events, fail = self.events, self.fail

        @asynccontextmanager
        async def lifespan() -> AsyncIterator[None]:
            if fail:
                raise RuntimeError("plugin could not start")
            events.append("plugin up")
            yield
            events.append("plugin down")

        return lifespan()


async def test_plugin_lifespan_wraps_the_apps_startup_and_shutdown() -> None:
    events: list[str] = []

    async def up(scope: Scope, info: Info, message: Mapping[str, Any]) -> None:
        events.append("app up")

    async def down(scope: Scope, info: Info, message: Mapping[str, Any]) -> None:
        events.append("app down")

    app = Application(plugins=[Life(events)], startup_handlers=[up], shutdown_handlers=[down])
    async with TestClient(app):
        assert events == ["plugin up", "app up"]
    assert events == ["plugin up", "app up", "app down", "plugin down"]


async def test_failing_plugin_lifespan_fails_the_startup() -> None:
    app = Application(plugins=[Life([], fail=True)])
    with pytest.raises(Exception, match="plugin could not start"):
        async with TestClient(app):
            pass


async def test_without_lifespan_a_warning_names_the_plugins_that_did_not_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Application(plugins=[Life([])])
    app.http_router.add({"GET"}, "/", hello)
    with caplog.at_level(logging.WARNING, logger="bareasgi"):
        async with TestClient(app, lifespan=False) as client:
            await client.get("/")
    assert "life" in caplog.text
    assert "no lifespan" in caplog.text


async def test_plugin_asgi_wrapper_sees_websockets_and_mounts_outside_app_wrappers() -> None:
    seen: list[str] = []

    class Wrapper:
        name = "wrapper"

        @hookimpl
        def bareasgi_asgi_wrapper(self, plugin: EnabledPlugin) -> Any:
            def wrap(app: ASGIApp) -> ASGIApp:
                async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
                    seen.append(f"plugin:{scope['type']}")
                    await app(scope, receive, send)

                return wrapped

            return wrap

    def app_wrapper(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            seen.append(f"app:{scope['type']}")
            await app(scope, receive, send)

        return wrapped

    app = Application(plugins=[Wrapper(), Routes()], asgi_wrappers=[app_wrapper])
    async with TestClient(app) as client, client.websocket_connect("/plugin-ws") as session:
        await session.receive_text()
    assert seen == ["plugin:lifespan", "app:lifespan", "plugin:websocket", "app:websocket"]


def test_template_globals_are_collected_in_plugin_order() -> None:
    class A:
        name = "a"

        @hookimpl
        def bareasgi_template_globals(self, plugin: EnabledPlugin) -> Mapping[str, Any]:
            return {"x": 1, "shared": "a"}

    class B:
        name = "b"

        @hookimpl
        def bareasgi_template_globals(self, plugin: EnabledPlugin) -> Mapping[str, Any]:
            return {"shared": "b"}

    app = Application(plugins=[B(), A()])
    answers = app.plugin_results("bareasgi_template_globals")
    assert [(plugin.name, value) for plugin, value in answers] == [
        ("b", {"shared": "b"}),
        ("a", {"x": 1, "shared": "a"}),
    ]
    with pytest.raises(ValueError, match="unknown hook"):
        app.plugin_results("bareasgi_nothing")


def test_one_plugin_manager_per_application() -> None:
    first, second = Application(), Application()
    assert first.plugins.manager is not second.plugins.manager


def test_cli_lists_installed_plugins_or_says_there_are_none() -> None:
    out = io.StringIO()
    status = list_plugins(out)
    installed = installed_plugins()
    if not installed:
        assert status == 0
        assert out.getvalue() == "No bareASGI plugins are installed.\n"
    for name in installed:
        assert f"{name}  (" in out.getvalue()
