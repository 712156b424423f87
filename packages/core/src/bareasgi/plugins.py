"""Plugins: found by name in the `bareasgi.plugins` entry points, enabled in the user's order.

One pluggy `PluginManager` per `Application`; nothing is discovered at import time, and an
installed plugin that the application does not name is never imported.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, TypeVar, final

import pluggy

from . import hookspecs
from .hookspecs import ENTRY_POINT_GROUP, PROJECT_NAME
from .options import OptionsError, build_options
from .types import HttpHandler, Scope

if TYPE_CHECKING:
    from .applications import Application

T = TypeVar("T")

APP_KEY: Final = "bareasgi.app"
"""Scope key holding the `Application` serving the request (HTTP and WebSocket)."""

_NOT_PLUGINS: Final = frozenset({"all", "server", "testing"})

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
    max_body_size: int | None = None
    timeout: float | None = None
    cancel_on_disconnect: bool | None = None


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
    """Takes any `bareasgi_*` function as a hook implementation, marked or not, so that a
    misspelt or forgotten hook is reported by `check_pending` instead of silently ignored.

    Looks the attribute up with `inspect.getattr_static`, as pluggy's own discovery does, so a
    property or other descriptor on a plugin object is never run.
    """

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        options = super().parse_hookimpl_opts(plugin, name)
        if options is None and name.startswith("bareasgi_"):
            try:
                found = inspect.getattr_static(plugin, name)
            except AttributeError:
                return None
            if isinstance(found, (staticmethod, classmethod)):
                found = found.__func__
            if inspect.isroutine(found):
                return {}
        return options


class PluginNotEnabledError(LookupError):
    """A plugin's state was asked for on an application that does not enable it."""


_Hooked = tuple[EnabledPlugin, Callable[..., Any], tuple[str, ...]]
"""An enabled plugin, its implementation of one hook, and the arguments it takes."""


@final
class Plugins:
    """The plugins enabled on one application, in the user's order.

    pluggy registers, discovers and validates; core resolves each hook's implementations once,
    when a plugin is enabled, in the user's plugin order, and calls them in that order itself.
    pluggy's `tryfirst`/`trylast` therefore never reorder plugins (they mean nothing here).
    """

    def __init__(self, app: Application) -> None:
        self.manager: pluggy.PluginManager = _PluginManager(PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)
        self._app = app
        self._enabled: dict[str, EnabledPlugin] = {}
        self._hooks: dict[str, list[_Hooked]] = {name: [] for name in hookspecs.HOOK_NAMES}

    def enable_all(self, spec: PluginsSpec | None) -> None:
        """Enable the application's `plugins` argument: all registered and validated first,
        then each set up and given its routes, in order. Every options problem of every
        plugin is reported at once."""
        entries = _entries(spec)
        if not entries:
            return
        raw_options: dict[str, Mapping[str, Any]] = {}
        added: list[EnabledPlugin] = []
        for key, options in entries:
            enabled = self._register(key)
            raw_options[enabled.name] = options
            added.append(enabled)
        self._check_hooks()
        for enabled in added:
            self._resolve_hooks(enabled)
        self._validate(added, raw_options)
        for enabled in added:
            self._call(enabled, "bareasgi_setup", plugin=enabled)
        for enabled in added:
            self._add_routes(enabled)

    def enable(self, plugin: object, options: Any = None) -> EnabledPlugin:
        """Enable one plugin object after construction: what a plugin's `add_*` function does.

        `options` is a mapping of option values or an instance of the plugin's options class.
        The plugin goes after those already enabled (inside them, in middleware order), is
        set up, and its routes are added, exactly as for `Application(plugins=...)`.

        Raises:
            RuntimeError: The application has started.
            PluginError: The plugin is already enabled, or is not a valid plugin.
            PluginOptionsError: The options do not validate.
        """
        if self._app.started:
            raise RuntimeError("Cannot enable a plugin after the application has started")
        enabled = self._register(plugin)
        try:
            self._check_hooks()
            self._resolve_hooks(enabled)
            self._validate([enabled], {enabled.name: options if options is not None else {}})
        except PluginError:
            self._forget(enabled)
            raise
        self._call(enabled, "bareasgi_setup", plugin=enabled)
        self._add_routes(enabled)
        return enabled

    # ---- registration -----------------------------------------------------------------------

    def _register(self, key: object) -> EnabledPlugin:
        if isinstance(key, str):
            name = key
            if name in self._enabled:
                raise PluginError(f"plugin {name!r} is enabled twice")
            installed = installed_plugins()
            if name not in installed:
                raise PluginError(_unknown(name, installed))
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

    def _forget(self, enabled: EnabledPlugin) -> None:
        self._enabled.pop(enabled.name, None)
        for hooked in self._hooks.values():
            hooked[:] = [entry for entry in hooked if entry[0] is not enabled]
        if self.manager.is_registered(enabled.plugin):
            self.manager.unregister(enabled.plugin)

    def _check_hooks(self) -> None:
        try:
            self.manager.check_pending()
        except pluggy.PluginValidationError as error:
            name = self.manager.get_name(error.plugin) or plugin_name(error.plugin)
            known = ", ".join(hookspecs.HOOK_NAMES)
            raise PluginError(f"plugin {name!r}: {error} (known hooks: {known})") from error

    def _resolve_hooks(self, enabled: EnabledPlugin) -> None:
        """Find `enabled`'s implementation of every hook, once: pluggy validated them."""
        for name, hooked in self._hooks.items():
            for implementation in getattr(self.manager.hook, name).get_hookimpls():
                if implementation.plugin is enabled.plugin:
                    hooked.append(
                        (enabled, implementation.function, tuple(implementation.argnames))
                    )

    def _validate(self, plugins: list[EnabledPlugin], raw_options: Mapping[str, Any]) -> None:
        problems: list[str] = []
        for enabled in plugins:
            owner = f"plugin {enabled.name!r}"
            answers = self._call(enabled, "bareasgi_options_class")
            options_class = answers[0] if answers else None
            values = raw_options[enabled.name]
            if options_class is None:
                if values:
                    problems.append(
                        f"{owner} takes no options (given: {', '.join(map(str, values))})"
                    )
                continue
            if isinstance(values, options_class):
                enabled.options = values
            else:
                try:
                    enabled.options = build_options(options_class, values, owner)
                except OptionsError as error:
                    problems.extend(error.problems)
                    continue
            for answer in self._call(enabled, "bareasgi_check_options", options=enabled.options):
                problems.extend(f"{owner}: {problem}" for problem in answer or ())
        if problems:
            for enabled in plugins:
                self._forget(enabled)
            raise PluginOptionsError(problems)

    def _add_routes(self, enabled: EnabledPlugin) -> None:
        for answer in self._call(enabled, "bareasgi_routes", plugin=enabled):
            for spec in answer or ():
                try:
                    if isinstance(spec, RouteSpec):
                        self._app.http_router.add(
                            spec.methods,
                            spec.path,
                            spec.handler,
                            name=spec.name,
                            max_body_size=spec.max_body_size,
                            timeout=spec.timeout,
                            cancel_on_disconnect=spec.cancel_on_disconnect,
                        )
                    elif isinstance(spec, WebSocketRouteSpec):
                        self._app.ws_router.add(spec.path, spec.handler, name=spec.name)
                    else:
                        raise TypeError(f"{spec!r} is not a RouteSpec or WebSocketRouteSpec")
                except (TypeError, ValueError) as error:
                    raise PluginError(f"plugin {enabled.name!r}: route refused: {error}") from error

    # ---- calling ----------------------------------------------------------------------------

    def _call(self, enabled: EnabledPlugin, hook: str, **kwargs: Any) -> list[Any]:
        """`enabled`'s answer to `hook`, in a list (empty when it does not implement it)."""
        return [
            function(**{name: kwargs[name] for name in argnames})
            for owner, function, argnames in self._hooks[hook]
            if owner is enabled
        ]

    def results(self, hook: str) -> list[tuple[EnabledPlugin, Any]]:
        """Call `hook` on each enabled plugin in order; (plugin, answer) for each non-None."""
        hooked = self._hooks.get(hook)
        if hooked is None:
            raise ValueError(f"unknown hook {hook!r}")
        answers = []
        for enabled, function, argnames in hooked:
            kwargs = {"plugin": enabled}
            answer = function(**{name: kwargs[name] for name in argnames})
            if answer is not None:
                answers.append((enabled, answer))
        return answers

    # ---- access -----------------------------------------------------------------------------

    def state(self, name: str, kind: type[T]) -> T:
        """The state of the plugin `name`, checked to be a `kind`.

        Every plugin's accessor (`cors_state(app)`, `static_state(app)`, ...) is this.

        Raises:
            PluginNotEnabledError: No plugin of this name is enabled on the application.
            TypeError: The plugin of this name keeps another kind of state (it is another
                package's plugin under the same name).
        """
        enabled = self._enabled.get(name)
        if enabled is None:
            names = ", ".join(self._enabled) or "none"
            raise PluginNotEnabledError(
                f"the {name!r} plugin is not enabled on this application (enabled: {names})"
            )
        state = enabled.state
        if not isinstance(state, kind):
            raise TypeError(
                f"the plugin named {name!r} keeps a {type(state).__name__}, not a {kind.__name__}"
            )
        return state

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


def plugin_state[T](target: Application | Scope, name: str, kind: type[T]) -> T:
    """The state of plugin `name` on an application, or on the one serving a request's scope.

    Raises:
        PluginNotEnabledError: The plugin is not enabled there (or the scope is not one that a
            bareASGI application is serving).
        TypeError: The plugin of this name keeps another kind of state.
    """
    if type(target) is dict or isinstance(target, Mapping):  # a scope (an app is no mapping)
        app: Application | None = target.get(APP_KEY)
        if app is None:
            raise PluginNotEnabledError(
                f"the {name!r} plugin's state was asked for from a scope no bareASGI application"
                " is serving"
            )
    else:
        app = target
    return app.plugins.state(name, kind)


def _unknown(name: str, installed: Mapping[str, object]) -> str:
    """Unknown plugin: what is installed, the closest names, and this family's extras.

    Never suggests installing a distribution named after what the user typed: the public
    index holds unrelated packages with this family's names.
    """
    names = sorted(installed)
    family = family_extras()
    message = f"unknown plugin {name!r}: installed plugins are: {', '.join(names) or 'none'}."
    close = difflib.get_close_matches(name, sorted({*names, *family}), n=3, cutoff=0.6)
    if close:
        message += f" Did you mean {' or '.join(repr(each) for each in close)}?"
    if family:
        extras = ", ".join(f"bareasgi[{each}]" for each in family)
        message += (
            " This family's plugins are extras of bareasgi, installed from its own"
            f" repository: {extras}."
        )
    return message


def family_extras() -> list[str]:
    """The plugin extras core declares (`cors`, `static`, ...): this family's plugins."""
    try:
        extras = importlib.metadata.metadata("bareasgi").get_all("Provides-Extra") or []
    except importlib.metadata.PackageNotFoundError:
        return []
    return sorted(extra for extra in set(extras) if extra not in _NOT_PLUGINS)


def implemented_hooks(plugin: object) -> list[str]:
    """The hook names a plugin object implements."""
    return [name for name in hookspecs.HOOK_NAMES if callable(getattr(plugin, name, None))]


__all__ = [
    "EnabledPlugin",
    "PluginError",
    "PluginNotEnabledError",
    "PluginOptionsError",
    "Plugins",
    "PluginsSpec",
    "RouteSpec",
    "WebSocketRouteSpec",
    "family_extras",
    "implemented_hooks",
    "installed_plugins",
    "plugin_name",
    "plugin_state",
]
