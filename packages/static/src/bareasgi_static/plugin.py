"""The `static` plugin: thin glue between bareASGI's hooks and `StaticFiles`.

Enable it with `Application(plugins={'static': {'directory': 'public', 'mount': '/static'}})`.
The top-level options describe one mount; `mounts` adds more, each a mapping of the same
options (its own `directory`, `mount` and `name`; the rest inherited from the top level).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, final

from bareasgi import EnabledPlugin, RouteSpec, hookimpl
from bareasgi.options import OptionsError, build_options

from ._settings import StaticSettings
from ._static import StaticFiles

if TYPE_CHECKING:
    from bareasgi import Application

name: Final = "static"
"""The plugin's name, also when the module itself is passed to `Application(plugins=...)`."""

_OWN: Final = frozenset({"directory", "mount", "name"})
"""Options each mount sets for itself; the others are inherited from the top level."""


@dataclass(frozen=True, kw_only=True)
class StaticOptions(StaticSettings):
    """The plugin's options: one mount at the top level, more in `mounts`."""

    mount: str = field(default="/static", metadata={"doc": "the URL path the folder is under"})
    mounts: tuple[Mapping[str, Any], ...] = field(
        default=(),
        metadata={"doc": "more mounts: mappings of these options (directory required in each)"},
    )


@final
class StaticState:
    """What the plugin keeps: its mounts, in order. Reach it with `static_state(app)`."""

    __slots__ = ("files",)

    def __init__(self, files: Iterable[StaticFiles]) -> None:
        self.files: tuple[StaticFiles, ...] = tuple(files)

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
            built = build_options(StaticSettings, {**shared, "mount": "/static", **entry}, owner)
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


def static_state(app: Application) -> StaticState:
    """The plugin's state on `app` (its `StaticFiles`, one per mount, and `url()`)."""
    if name not in app.plugins:
        raise LookupError(f"the {name!r} plugin is not enabled on this application")
    state = app.plugins[name].state
    assert isinstance(state, StaticState)
    return state


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


__all__ = ["StaticOptions", "StaticState", "mount_settings", "name", "static_state"]
