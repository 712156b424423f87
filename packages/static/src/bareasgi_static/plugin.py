"""The `static` plugin: thin glue between bareASGI's hooks and `StaticFiles`.

Enable it with `Application(plugins={'static': {'directory': 'public', 'mount': '/static'}})`,
or with `add_static_files(app, 'public')`, which enables this same plugin (and adds a mount to
it when called again). The top-level options describe one mount; `mounts` adds more, each a
mapping of the same options (its own `directory`, `mount` and `name`; the rest inherited from
the top level).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final, final

from bareasgi import Application, EnabledPlugin, RouteSpec, Scope, hookimpl, plugin_state
from bareasgi.options import OptionsError, build_options, option

from ._settings import DEFAULT_MOUNT, StaticSettings
from ._static import StaticFiles

PLUGIN_NAME: Final = "static"
"""The plugin's name: `Application(plugins={'static': {...}})`, `app.plugins['static']`."""

name: Final = PLUGIN_NAME
"""The plugin's name, also when the module itself is passed to `Application(plugins=...)`."""

_OWN: Final = frozenset({"directory", "mount", "name"})
"""Options each mount sets for itself; the others are inherited from the top level."""


@dataclass(frozen=True, kw_only=True)
class StaticOptions(StaticSettings):
    """The plugin's options: one mount at the top level, more in `mounts`."""

    mounts: tuple[Mapping[str, Any], ...] = option(
        "more mounts: mappings of these options (directory required in each)", default=()
    )


@final
class StaticState:
    """What the plugin keeps: its mounts, in order. Reach it with `static_state(app or scope)`."""

    __slots__ = ("files",)

    def __init__(self, files: Iterable[StaticFiles]) -> None:
        self.files: tuple[StaticFiles, ...] = tuple(files)

    def add(self, files: StaticFiles) -> None:
        """Keep one more mount (its routes are the caller's business): closed with the others.

        Raises:
            ValueError: Its mount is taken.
        """
        if any(each.settings.mount == files.settings.mount for each in self.files):
            raise ValueError(f"option 'mount': {files.settings.mount!r} is mounted twice")
        self.files = (*self.files, files)

    def url(self, path: str, mount: str | None = None) -> str:
        """The URL path of a file: in the first mount, or in the one at `mount`."""
        for files in self.files:
            if mount is None or files.settings.mount == mount:
                return files.url(path)
        raise LookupError(f"no static files are mounted at {mount!r}")

    def close(self) -> None:
        for files in self.files:
            files.close()


def mount_settings(options: StaticOptions) -> tuple[list[StaticSettings], list[str]]:
    """Each mount's settings, and every problem with them (each naming the option)."""
    problems: list[str] = []
    found: list[tuple[str, StaticSettings]] = []
    shared = {
        item.name: getattr(options, item.name)
        for item in dataclasses.fields(StaticSettings)
        if item.name not in _OWN
    }
    if options.directory is not None:
        top = StaticSettings(
            directory=options.directory, mount=options.mount, name=options.name, **shared
        )
        found.append(("", top))
    elif not options.mounts:
        problems.append("option 'directory' is required (or 'mounts', a list of mounts)")
    for index, entry in enumerate(options.mounts):
        owner = f"mounts[{index}]"
        try:
            built = build_options(StaticSettings, {**shared, **entry}, owner)
        except OptionsError as error:
            problems.extend(error.problems)
            continue
        found.append((f"{owner}: ", built))
    seen: set[str] = set()
    for where, each in found:
        problems.extend(where + problem for problem in each.problems())
        if each.mount in seen:
            problems.append(f"{where}option 'mount': {each.mount!r} is mounted twice")
        seen.add(each.mount)
    settings = [each for _, each in found]
    return settings, problems


def static_state(target: Application | Scope) -> StaticState:
    """The plugin's state on an application, or on the one serving a request's scope: its
    `StaticFiles`, one per mount, and `url()`.

    Raises:
        bareasgi.PluginNotEnabledError: The plugin is not enabled there.
        TypeError: The plugin named `static` on the application is not this package's.
    """
    return plugin_state(target, PLUGIN_NAME, StaticState)


@hookimpl
def bareasgi_options_class() -> type[Any]:
    return StaticOptions


@hookimpl
def bareasgi_check_options(options: StaticOptions) -> Iterable[str]:
    return mount_settings(options)[1]


@hookimpl
def bareasgi_setup(plugin: EnabledPlugin) -> None:
    settings, _ = mount_settings(plugin.options)
    plugin.state = StaticState(StaticFiles(each, app=plugin.app) for each in settings)


@hookimpl
def bareasgi_routes(plugin: EnabledPlugin) -> Iterable[RouteSpec]:
    state: StaticState = plugin.state
    return [spec for files in state.files for spec in files.routes()]


@hookimpl
def bareasgi_lifespan(plugin: EnabledPlugin) -> Any:
    state: StaticState = plugin.state

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        try:
            yield
        finally:
            state.close()  # let the worker threads go

    return lifespan()


@hookimpl
def bareasgi_template_globals(plugin: EnabledPlugin) -> Mapping[str, Any]:
    state: StaticState = plugin.state
    return {"static_url": state.url}


def add_static_files(
    app: Application,
    directory: str | os.PathLike[str],
    mount: str = DEFAULT_MOUNT,
    **settings: Any,
) -> StaticState:
    """Serve the files of `directory` under `mount` on `app`; call again for more mounts.

    The first call enables the `static` plugin (`app.plugins.enable`) with this mount; a later
    call, or a call on an application that enabled the plugin by name, adds the mount to the
    plugin's state. Either way the routes are the plugin's, `{mount}/{path:path}` (GET, and
    HEAD through it; other methods answer 405) and, when there is an index file, `{mount}`
    itself, which redirects to `{mount}/`; the worker threads of every mount are let go by the
    plugin's lifespan, at the application's shutdown. Keyword arguments are `StaticSettings`
    fields (`index`, `fallback`, `cache_control`, ...). Returns the plugin's state.

    Raises:
        ValueError: listing every problem with the settings (a mount taken included).
        TypeError: for an unknown keyword argument, or when the plugin named `static` on
            `app` is not this package's.
        RuntimeError: `app` has started.
    """
    built = StaticSettings(directory=os.fspath(directory), mount=mount, **settings)
    if app.started:
        raise RuntimeError("Cannot add static files after the application has started")
    problems = built.problems()
    state = static_state(app) if PLUGIN_NAME in app.plugins else None
    if state is not None and any(each.settings.mount == mount for each in state.files):
        problems.append(f"option 'mount': {mount!r} is mounted twice")
    if problems:
        raise ValueError("invalid static files settings:\n  " + "\n  ".join(problems))
    if state is None:
        values = {item.name: getattr(built, item.name) for item in dataclasses.fields(built)}
        app.plugins.enable(sys.modules[__name__], StaticOptions(**values))
        return static_state(app)
    files = StaticFiles(built, app=app)
    for spec in files.routes():
        app.http_router.add(spec.methods, spec.path, spec.handler, name=spec.name)
    state.add(files)
    return state


__all__ = [
    "PLUGIN_NAME",
    "StaticOptions",
    "StaticState",
    "add_static_files",
    "mount_settings",
    "name",
    "static_state",
]
