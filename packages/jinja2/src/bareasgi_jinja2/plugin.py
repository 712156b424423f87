"""The `jinja2` plugin: thin glue between bareASGI's hooks and `bareasgi_jinja2`.

`Application(plugins={'jinja2': {'directory': 'templates'}})`, or `add_jinja2(app, ...)`,
which enables this same plugin. The environment is built at construction (`bareasgi_setup`);
`url_for` and other plugins' template globals are installed once, at start-up
(`bareasgi_start`), when every plugin is set up. The plugin contributes no middleware:
handlers find the renderer with `jinja2_state(scope)`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import jinja2

from bareasgi import Application, EnabledPlugin, hookimpl
from bareasgi.options import option

from ._environment import DEFAULT_AUTOESCAPE_EXTENSIONS, content_type_problem, create_environment
from ._render import DEFAULT_BUFFER_SIZE, DEFAULT_CHUNK_SIZE, PLUGIN_NAME, Renderer, jinja2_state

name: Final = PLUGIN_NAME
"""The plugin's name, also when the module itself is passed to `Application(plugins=...)`."""

_Folders = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]


@dataclass(frozen=True)
class Jinja2Options:
    """The `jinja2` plugin's options (`add_jinja2` takes the same as keyword arguments)."""

    directory: str | tuple[str, ...] | None = option(
        "template folder(s), relative to the working directory (or give 'environment')",
        default=None,
    )
    enable_async: bool = option(
        "async rendering: templates may await and async-iterate", default=True
    )
    auto_reload: bool = option("check templates for changes on every use", default=True)
    autoescape_extensions: tuple[str, ...] = option(
        "template names ending in these are autoescaped", default=DEFAULT_AUTOESCAPE_EXTENSIONS
    )
    extensions: tuple[str, ...] = option("Jinja2 extensions, by import path", default=())
    buffer_size: int = option(
        "characters rendered before the headers go out; smaller pages go whole",
        default=DEFAULT_BUFFER_SIZE,
    )
    chunk_size: int = option(
        "least characters per message when a large page streams", default=DEFAULT_CHUNK_SIZE
    )
    content_types: Mapping[str, str] = option(
        "extension (no dot) -> content type, over the defaults", default_factory=dict
    )
    # `option` is `dataclasses.field` with a doc line: not a shared default.
    environment: jinja2.Environment | None = option(  # noqa: RUF009
        "a ready Jinja2 environment, used as it is, instead of 'directory' (its own async,"
        " reload, escaping and extensions settings stand)",
        default=None,
    )


def options_problems(options: Jinja2Options) -> Iterable[str]:
    """Every problem with `options` the types cannot express, each naming the option."""
    if options.environment is None:
        if options.directory is None:
            yield "option 'directory' is required (or 'environment', a jinja2.Environment)"
        else:
            folders = (
                (options.directory,) if isinstance(options.directory, str) else options.directory
            )
            if not folders:
                yield "option 'directory' must name at least one folder"
            for folder in folders:
                if not os.path.isdir(folder):
                    yield (
                        f"option 'directory': {folder!r} is not a directory"
                        f" (relative to {os.getcwd()!r})"
                    )
    elif options.directory is not None:
        yield "give option 'directory' or option 'environment', not both"
    for size in ("buffer_size", "chunk_size"):
        if getattr(options, size) < 1:
            yield f"option {size!r} must be positive, not {getattr(options, size)}"
    for extension, value in options.content_types.items():
        problem = content_type_problem(value)
        if problem is not None:
            yield f"option 'content_types': the content type for {extension!r} {problem}"


@hookimpl
def bareasgi_options_class() -> type[Any]:
    return Jinja2Options


@hookimpl
def bareasgi_check_options(options: Jinja2Options) -> Iterable[str]:
    return options_problems(options)


@hookimpl
def bareasgi_setup(plugin: EnabledPlugin) -> None:
    options: Jinja2Options = plugin.options
    environment = options.environment
    if environment is None:
        assert options.directory is not None  # checked
        environment = create_environment(
            options.directory,
            enable_async=options.enable_async,
            auto_reload=options.auto_reload,
            autoescape_extensions=options.autoescape_extensions,
            extensions=options.extensions,
        )
    plugin.state = Renderer(
        plugin.app,
        environment,
        buffer_size=options.buffer_size,
        chunk_size=options.chunk_size,
        content_types=options.content_types,
    )


@hookimpl
def bareasgi_start(plugin: EnabledPlugin) -> None:
    renderer: Renderer = plugin.state
    renderer.install_globals()


def add_jinja2(
    app: Application,
    env_or_directory: jinja2.Environment | _Folders,
    *,
    enable_async: bool = True,
    auto_reload: bool = True,
    autoescape_extensions: Iterable[str] = DEFAULT_AUTOESCAPE_EXTENSIONS,
    extensions: Iterable[str] = (),
    buffer_size: int = DEFAULT_BUFFER_SIZE,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    content_types: Mapping[str, str] | None = None,
) -> Renderer:
    """Enable the `jinja2` plugin on `app` (`app.plugins.enable`); returns its `Renderer`.

    Given a directory (or several), the environment is made by `create_environment` from the
    keyword options; a ready `jinja2.Environment` is used as it is (its own settings stand).
    Exactly the plugin enabled by name: globals installed at start-up, no middleware.

    Raises:
        ValueError: listing every problem with the options.
        bareasgi.PluginError: jinja2 is already enabled on `app`.
        RuntimeError: `app` has started.
    """
    if isinstance(env_or_directory, jinja2.Environment):
        directory: str | tuple[str, ...] | None = None
        environment: jinja2.Environment | None = env_or_directory
    else:
        environment = None
        if isinstance(env_or_directory, (str, os.PathLike)):
            directory = os.fspath(env_or_directory)
        else:
            directory = tuple(os.fspath(folder) for folder in env_or_directory)
    options = Jinja2Options(
        directory=directory,
        enable_async=enable_async,
        auto_reload=auto_reload,
        autoescape_extensions=tuple(autoescape_extensions),
        extensions=tuple(extensions),
        buffer_size=buffer_size,
        chunk_size=chunk_size,
        content_types=dict(content_types or {}),
        environment=environment,
    )
    problems = list(options_problems(options))
    if problems:  # the plugin's own checks, raised as the library's ValueError
        raise ValueError("invalid jinja2 options:\n  " + "\n  ".join(problems))
    app.plugins.enable(sys.modules[__name__], options)
    return jinja2_state(app)


__all__ = ["Jinja2Options", "add_jinja2", "name", "options_problems"]
