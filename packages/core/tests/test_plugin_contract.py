"""The plugin contract: hooks resolved once in the user's order, the start-up hook, one state
accessor, `app.plugins` before any hook, enabling by code as by name, the app in the scope."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest

from bareasgi import (
    APP_KEY,
    Application,
    Content,
    EnabledPlugin,
    HttpResponse,
    Info,
    Matches,
    PluginError,
    PluginNotEnabledError,
    PluginOptionsError,
    RouteSpec,
    Scope,
    hookimpl,
    plugin_state,
)
from bareasgi.options import option
from bareasgi.testing import TestClient


@dataclass(frozen=True)
class CounterOptions:
    start: int = option("where counting starts", default=0)


class Counter:
    """A plugin object that records what core calls, and when."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    @hookimpl
    def bareasgi_options_class(self) -> type[Any]:
        return CounterOptions

    @hookimpl
    def bareasgi_setup(self, plugin: EnabledPlugin) -> None:
        # app.plugins is there already, this plugin in it.
        assert self.name in plugin.app.plugins
        plugin.state = [plugin.options.start]
        self.log.append(f"setup {self.name}")

    @hookimpl
    def bareasgi_routes(self, plugin: EnabledPlugin) -> Iterable[RouteSpec]:
        async def count(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
            state = plugin_state(scope, self.name, list)
            state[0] += 1
            return 200, [(b"content-type", b"text/plain")], str(state[0]).encode()

        return [RouteSpec({"GET"}, f"/{self.name}", count, max_body_size=10)]

    @hookimpl
    def bareasgi_start(self, plugin: EnabledPlugin) -> None:
        self.log.append(f"start {self.name} (knows {', '.join(plugin.app.plugins.names())})")

    @hookimpl(tryfirst=True)
    def bareasgi_middleware(self, plugin: EnabledPlugin) -> Any:
        self.log.append(f"middleware {self.name}")
        return None


class Late(Counter):
    @hookimpl(trylast=True)
    def bareasgi_middleware(self, plugin: EnabledPlugin) -> Any:
        self.log.append(f"middleware {self.name}")
        return None


async def test_hooks_run_in_the_users_order_whatever_tryfirst_and_trylast_say() -> None:
    log: list[str] = []
    app = Application(plugins=[Late("b", log), Counter("a", log), Late("c", log)])
    assert log == ["setup b", "setup a", "setup c"]
    async with TestClient(app) as client:
        assert (await client.get("/a")).text == "1"
    assert log[3:] == [
        "start b (knows b, a, c)",
        "start a (knows b, a, c)",
        "start c (knows b, a, c)",
        "middleware b",
        "middleware a",
        "middleware c",
    ]


async def test_the_start_hook_runs_once_before_any_middleware_is_composed() -> None:
    log: list[str] = []
    app = Application(plugins=[Counter("a", log)])
    async with TestClient(app) as client:
        await client.get("/a")
        await client.get("/a")
    assert log.count("start a (knows a)") == 1
    assert log.index("start a (knows a)") < log.index("middleware a")


async def test_one_state_accessor_for_app_and_scope() -> None:
    app = Application(plugins={Counter("counter", []): {"start": 41}})
    assert plugin_state(app, "counter", list) == [41]
    assert app.plugins.state("counter", list) is plugin_state(app, "counter", list)
    async with TestClient(app) as client:
        assert (await client.get("/counter")).text == "42"
    with pytest.raises(PluginNotEnabledError, match="'missing' plugin is not enabled"):
        plugin_state(app, "missing", list)
    with pytest.raises(TypeError, match="keeps a list, not a dict"):
        plugin_state(app, "counter", dict)
    with pytest.raises(PluginNotEnabledError, match="no bareASGI application"):
        plugin_state({"type": "http"}, "counter", list)
    assert issubclass(PluginNotEnabledError, LookupError)


async def test_the_scope_holds_the_application() -> None:
    app = Application()
    seen: list[object] = []

    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        seen.append(scope[APP_KEY])
        return 204

    app.http_router.add({"GET"}, "/", handler)
    async with TestClient(app) as client:
        await client.get("/")
    assert seen == [app]


async def test_enabling_by_code_is_enabling_by_name() -> None:
    log: list[str] = []
    app = Application(plugins=[Counter("first", log)])
    enabled = app.plugins.enable(Counter("second", log), {"start": 5})
    assert enabled.name == "second"
    assert app.plugins.names() == ["first", "second"]
    assert plugin_state(app, "second", list) == [5]
    assert app.plugins.enable(Counter("third", log), CounterOptions(start=7)).state == [7]
    with pytest.raises(PluginError, match="enabled twice"):
        app.plugins.enable(Counter("second", log))
    with pytest.raises(PluginOptionsError, match="option 'start' must be int"):
        app.plugins.enable(Counter("fourth", log), {"start": "x"})
    assert "fourth" not in app.plugins  # refused whole
    async with TestClient(app) as client:
        assert (await client.get("/second")).text == "6"
    assert "start second (knows first, second, third)" in log
    with pytest.raises(RuntimeError, match="after the application has started"):
        app.plugins.enable(Counter("late", log))


async def test_route_options_from_a_plugin_route_hold() -> None:
    async def echo(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        body = b"".join([chunk async for chunk in content])
        return 200, [], body

    class Echo:
        name = "echo"

        @hookimpl
        def bareasgi_routes(self, plugin: EnabledPlugin) -> Iterable[RouteSpec]:
            return [RouteSpec({"POST"}, "/echo", echo, max_body_size=4)]

    app = Application(plugins=[Echo()])
    async with TestClient(app) as client:
        assert (await client.post("/echo", content=b"abcd")).content == b"abcd"
        assert (await client.post("/echo", content=b"abcde")).status_code == 413


def test_a_property_named_like_a_hook_is_never_run() -> None:
    """Hooks are found with inspect.getattr_static, as pluggy's own discovery does."""
    ran: list[str] = []

    class Sneaky:
        name = "sneaky"

        @property
        def bareasgi_setup(self) -> Any:
            ran.append("property")
            return None

    Application(plugins=[Sneaky()])
    assert ran == []


def test_an_unmarked_misspelt_hook_is_refused_at_construction() -> None:
    class Misspelt:
        name = "misspelt-local"

        def bareasgi_setpu(self, plugin: EnabledPlugin) -> None:
            return None

    with pytest.raises(PluginError, match="bareasgi_setpu"):
        Application(plugins=[Misspelt()])


async def test_route_timeout_is_stored_and_checked() -> None:
    app = Application()

    async def slow(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 204

    route = app.http_router.add({"GET"}, "/slow", slow, timeout=2.5, max_body_size=100)
    assert (route.timeout, route.max_body_size) == (2.5, 100)
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        app.http_router.add({"GET"}, "/a", slow, timeout=0)
    with pytest.raises(TypeError, match="max_body_size must be an int"):
        app.http_router.add({"GET"}, "/b", slow, max_body_size=1.5)  # type: ignore[arg-type]
    decorated = app.on_http_request({"GET"}, "/c", max_body_size=3)(slow)
    assert decorated is slow
    assert next(r for r in app.http_router if r.template == "/c").max_body_size == 3
