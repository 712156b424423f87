"""Checks of the plugin package shape (STYLE.md points 11-12), shared by the plugins' contract
tests: the exported names, the state accessor, and middleware composed through `bind_handler`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from bareasgi.applications import Application
from bareasgi.plugins import PluginNotEnabledError
from bareasgi.types import (
    BindableMiddleware,
    Content,
    HttpHandler,
    HttpResponse,
    Info,
    Matches,
    Scope,
)

from ._client import TestClient


def assert_plugin_exports(
    package: ModuleType,
    name: str,
    *,
    options: type,
    accessor: str,
    enable: str,
    removed: tuple[str, ...] = (),
) -> None:
    """`PLUGIN_NAME` is `name`, and the name of the package's `plugin` module; the options
    class, the accessor and the enabling function are exported; the `removed` names are gone."""
    assert name == package.PLUGIN_NAME
    assert package.plugin.name == name
    assert getattr(package, options.__name__) is options  # the options class is exported
    assert {"PLUGIN_NAME", options.__name__, accessor, enable} <= set(package.__all__)
    for gone in removed:
        assert not hasattr(package, gone), f"{gone} is still there"


async def assert_state_from_app_and_scope(
    app: Application,
    name: str,
    accessor: Callable[[Any], object],
    state_type: type,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """`accessor` gives the plugin's state from the application and from a handler's scope (a
    GET of `/` answered 204), the same object `app.plugins[name].state`; returns it."""

    seen: list[object] = []

    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        seen.append(accessor(scope))
        return 204

    app.http_router.add({"GET"}, "/", handler)
    state = accessor(app)
    assert isinstance(state, state_type)
    assert state is app.plugins[name].state
    async with TestClient(app) as client:
        assert (await client.get("/", headers=headers)).status_code == 204
    assert seen == [state]
    return state


async def assert_accessor_refuses_without_plugin(
    name: str, accessor: Callable[[Any], object]
) -> PluginNotEnabledError:
    """Without the plugin, `accessor` raises `PluginNotEnabledError` naming it, for the
    application and in a handler (whose request still gets its 204); returns the handler's."""
    app = Application()
    raised: list[PluginNotEnabledError] = []

    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        try:
            accessor(scope)
        except PluginNotEnabledError as error:
            raised.append(error)
        return 204

    app.http_router.add({"GET"}, "/", handler)
    refused: PluginNotEnabledError | None = None
    try:
        accessor(app)
    except PluginNotEnabledError as error:
        refused = error
    assert refused is not None, f"the {name} accessor did not raise PluginNotEnabledError"
    assert f"'{name}' plugin is not enabled" in str(refused)
    async with TestClient(app) as client:
        assert (await client.get("/")).status_code == 204
    assert len(raised) == 1
    return raised[0]


def assert_bindable_middleware(middleware: object) -> None:
    """The middleware is `BindableMiddleware`, answers `HttpError` itself, and has no
    `bind_handler` stuck on the instance."""
    assert isinstance(middleware, BindableMiddleware)
    assert middleware.catches_http_error is True
    assert "bind_handler" not in getattr(middleware, "__dict__", {})  # no attribute stuck on


def spy_bind_handler(middleware: Any, monkeypatch: Any) -> list[HttpHandler]:
    """Make `middleware` record each handler core binds it to (the returned list) and fail if
    core calls it as plain middleware instead; `monkeypatch` is pytest's fixture."""
    bind: Callable[[HttpHandler], HttpHandler] = middleware.bind_handler
    bound: list[HttpHandler] = []

    def spy(handler: HttpHandler) -> HttpHandler:
        bound.append(handler)
        return bind(handler)

    async def called_plain(*args: Any) -> HttpResponse:
        raise AssertionError("the middleware was called as plain middleware")

    middleware.bind_handler = spy
    monkeypatch.setattr(type(middleware), "__call__", called_plain)
    return bound
