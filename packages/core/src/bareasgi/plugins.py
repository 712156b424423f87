"""Plugins: found by name in the `bareasgi.plugins` entry points, enabled in the user's order.

One pluggy `PluginManager` per `Application`; nothing is discovered at import time, and an
installed plugin that the application does not name is never imported.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, final

import pluggy

from . import hookspecs
from .hookspecs import ENTRY_POINT_GROUP, PROJECT_NAME
from .options import OptionsError, build_options
from .types import HttpHandler

if TYPE_CHECKING:
    from .applications import Application

PluginsSpec = Mapping[Any, Mapping[str, Any] | None] | Sequence[Any]
"""`{'name' or plugin object: options}` or `['name', ('name', options), plugin object, ...]`."""

_NO_OPTIONS: Final[Mapping[str, Any]] = MappingProxyType({})


class PluginError(Exception):
    """A plugin cannot be enabled: unknown, invalid, or clashing with another."""


class PluginOptionsError(PluginError):
    """Plugin options that do not validate; `problems` lists every one, across plugins."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid plugin options:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """An HTTP route a plugin contributes (see `bareasgi_routes`)."""

    methods: AbstractSet[str]
    path: str
    handler: HttpHandler
    name: str | None = None


@dataclass(frozen=True, slots=True)
class WebSocketRouteSpec:
    """A WebSocket route a plugin contributes (see `bareasgi_routes`)."""

    path: str
    handler: Any
    name: str | None = None


@final
class EnabledPlugin:
    """One plugin enabled on one application: what every hook receives as `plugin`."""

    __slots__ = ("app", "name", "options", "plugin", "state")

    def __init__(self, name: str, plugin: object, app: Application) -> None:
        self.name = name
        self.plugin = plugin
        self.app = app
        self.options: Any = _NO_OPTIONS
        self.state: Any = None
        """Whatever the plugin keeps: set it in `bareasgi_setup`."""

    def __repr__(self) -> str:
        return f"<EnabledPlugin {self.name!r}>"


def plugin_name(plugin: object) -> str:
    """The name of a plugin object: its `name` attribute, else its (module) name."""
    name = getattr(plugin, "name", None)
    if isinstance(name, str) and name:
        return name
    name = getattr(plugin, "__name__", None) or type(plugin).__name__
    return str(name).rsplit(".", 1)[-1]


def installed_plugins() -> dict[str, importlib.metadata.EntryPoint]:
    """Every plugin entry point installed, by name (nothing is loaded)."""
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _entries(spec: PluginsSpec | None) -> list[tuple[object, Mapping[str, Any]]]:
    if spec is None:
        return []
    if isinstance(spec, Mapping):
        return [(key, value if value is not None else _NO_OPTIONS) for key, value in spec.items()]
    if isinstance(spec, (str, bytes)):
        raise TypeError("plugins must be a mapping or a list, not a single string")
    entries: list[tuple[object, Mapping[str, Any]]] = []
    for item in spec:
        if isinstance(item, tuple):
            if len(item) != 2:
                raise TypeError(f"plugin entry {item!r} must be (name, options)")
            key, options = item
            entries.append((key, options if options is not None else _NO_OPTIONS))
        else:
            entries.append((item, _NO_OPTIONS))
    return entries


class _PluginManager(pluggy.PluginManager):
    """Takes any `bareasgi_*` callable as a hook implementation, marked or not, so that a
    misspelt or forgotten hook is reported by `check_pending` instead of silently ignored."""

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        options = super().parse_hookimpl_opts(plugin, name)
        if options is None and name.startswith("bareasgi_"):
            method = getattr(plugin, name, None)
            if callable(method) and not isinstance(method, type):
                return {}
        return options


@final
class Plugins:
    """The plugins enabled on one application, in the user's order."""

    def __init__(self, app: Application, spec: PluginsSpec | None) -> None:
        self.manager: pluggy.PluginManager = _PluginManager(PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)
        self._app = app
        self._enabled: dict[str, EnabledPlugin] = {}
        entries = _entries(spec)
        if not entries:
            return
        raw_options: dict[str, Mapping[str, Any]] = {}
        for key, options in entries:
            enabled = self._register(key)
            raw_options[enabled.name] = options
        self._check_hooks()
        self._validate(raw_options)
        for enabled in self:
            self._call(enabled, "bareasgi_setup", plugin=enabled)
        for enabled in self:
            self._add_routes(enabled)

    # ---- registration -----------------------------------------------------------------------

    def _register(self, key: object) -> EnabledPlugin:
        if isinstance(key, str):
            name = key
            if name in self._enabled:
                raise PluginError(f"plugin {name!r} is enabled twice")
            installed = installed_plugins()
            if name not in installed:
                names = ", ".join(sorted(installed)) or "none"
                raise PluginError(
                    f"unknown plugin {name!r}: installed plugins are: {names}. "
                    f"To install it: pip install bareasgi-{name}"
                )
            try:
                self.manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP, name)
            except pluggy.PluginValidationError as error:
                raise PluginError(f"plugin {name!r}: {error}") from error
            except Exception as error:
                raise PluginError(f"plugin {name!r} failed to load: {error!r}") from error
            plugin = self.manager.get_plugin(name)
            if plugin is None:
                raise PluginError(f"plugin {name!r} could not be registered")
        else:
            plugin = key
            name = plugin_name(plugin)
            if name in self._enabled:
                raise PluginError(f"plugin {name!r} is enabled twice")
            try:
                self.manager.register(plugin, name=name)
            except (ValueError, pluggy.PluginValidationError) as error:
                raise PluginError(f"plugin {name!r}: {error}") from error
        enabled = EnabledPlugin(name, plugin, self._app)
        self._enabled[name] = enabled
        return enabled

    def _check_hooks(self) -> None:
        try:
            self.manager.check_pending()
        except pluggy.PluginValidationError as error:
            name = self.manager.get_name(error.plugin) or plugin_name(error.plugin)
            known = ", ".join(hookspecs.HOOK_NAMES)
            raise PluginError(f"plugin {name!r}: {error} (known hooks: {known})") from error

    def _validate(self, raw_options: Mapping[str, Mapping[str, Any]]) -> None:
        problems: list[str] = []
        for enabled in self:
            owner = f"plugin {enabled.name!r}"
            options_class = self._call_first(enabled, "bareasgi_options_class")
            values = raw_options[enabled.name]
            if options_class is None:
                if values:
                    problems.append(
                        f"{owner} takes no options (given: {', '.join(map(str, values))})"
                    )
                continue
            try:
                enabled.options = build_options(options_class, values, owner)
            except OptionsError as error:
                problems.extend(error.problems)
                continue
            for answer in self._call(enabled, "bareasgi_check_options", options=enabled.options):
                problems.extend(f"{owner}: {problem}" for problem in answer or ())
        if problems:
            raise PluginOptionsError(problems)

    def _add_routes(self, enabled: EnabledPlugin) -> None:
        for answer in self._call(enabled, "bareasgi_routes", plugin=enabled):
            for spec in answer or ():
                try:
                    if isinstance(spec, RouteSpec):
                        self._app.http_router.add(
                            spec.methods, spec.path, spec.handler, name=spec.name
                        )
                    elif isinstance(spec, WebSocketRouteSpec):
                        self._app.ws_router.add(spec.path, spec.handler, name=spec.name)
                    else:
                        raise TypeError(f"{spec!r} is not a RouteSpec or WebSocketRouteSpec")
                except (TypeError, ValueError) as error:
                    raise PluginError(f"plugin {enabled.name!r}: route refused: {error}") from error

    # ---- calling ----------------------------------------------------------------------------

    def _caller(self, enabled: EnabledPlugin, hook: str) -> Any:
        others = [other.plugin for other in self._enabled.values() if other is not enabled]
        return self.manager.subset_hook_caller(hook, remove_plugins=others)

    def _call(self, enabled: EnabledPlugin, hook: str, **kwargs: Any) -> list[Any]:
        return list(self._caller(enabled, hook)(**kwargs))

    def _call_first(self, enabled: EnabledPlugin, hook: str) -> Any:
        return self._caller(enabled, hook)()

    def results(self, hook: str) -> list[tuple[EnabledPlugin, Any]]:
        """Call `hook` on each enabled plugin in order; (plugin, answer) for each non-None."""
        if hook not in hookspecs.HOOK_NAMES:
            raise ValueError(f"unknown hook {hook!r}")
        answers = []
        for enabled in self:
            for answer in self._call(enabled, hook, plugin=enabled):
                if answer is not None:
                    answers.append((enabled, answer))
        return answers

    # ---- access -----------------------------------------------------------------------------

    def __getitem__(self, name: str) -> EnabledPlugin:
        return self._enabled[name]

    def __contains__(self, name: object) -> bool:
        return name in self._enabled

    def __iter__(self) -> Iterator[EnabledPlugin]:
        return iter(tuple(self._enabled.values()))

    def __len__(self) -> int:
        return len(self._enabled)

    def names(self) -> list[str]:
        return list(self._enabled)

    def __repr__(self) -> str:
        return f"<Plugins {self.names()!r}>"


def implemented_hooks(plugin: object) -> list[str]:
    """The hook names a plugin object implements."""
    return [name for name in hookspecs.HOOK_NAMES if callable(getattr(plugin, name, None))]


__all__ = [
    "EnabledPlugin",
    "PluginError",
    "PluginOptionsError",
    "Plugins",
    "PluginsSpec",
    "RouteSpec",
    "WebSocketRouteSpec",
    "implemented_hooks",
    "installed_plugins",
    "plugin_name",
]
