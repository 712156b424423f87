"""The `jinja2` plugin: thin glue between bareASGI's hooks and `bareasgi_jinja2`.

`Application(plugins={'jinja2': {'directory': 'templates'}})`. The environment is built at
construction (`bareasgi_setup`); `url_for` and other plugins' template globals are installed
once, at start-up, when the plugin contributes its middleware — by then every plugin is set up.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bareasgi import EnabledPlugin, HttpMiddleware, hookimpl

from ._environment import DEFAULT_AUTOESCAPE_EXTENSIONS, content_type_problem, create_environment
from ._render import DEFAULT_BUFFER_SIZE, DEFAULT_CHUNK_SIZE, Renderer


@dataclass(frozen=True)
class Jinja2Options:
    """The `jinja2` plugin's options."""

    directory: str | tuple[str, ...] = field(
        metadata={"doc": "template folder(s), relative to the working directory"}
    )
    enable_async: bool = field(
        default=True, metadata={"doc": "async rendering: templates may await and async-iterate"}
    )
    auto_reload: bool = field(
        default=True, metadata={"doc": "check templates for changes on every use"}
    )
    autoescape_extensions: tuple[str, ...] = field(
        default=DEFAULT_AUTOESCAPE_EXTENSIONS,
        metadata={"doc": "template names ending in these are autoescaped"},
    )
    extensions: tuple[str, ...] = field(
        default=(), metadata={"doc": "Jinja2 extensions, by import path"}
    )
    buffer_size: int = field(
        default=DEFAULT_BUFFER_SIZE,
        metadata={"doc": "characters rendered before the headers go out; smaller pages go whole"},
    )
    chunk_size: int = field(
        default=DEFAULT_CHUNK_SIZE,
        metadata={"doc": "least characters per message when a large page streams"},
    )
    content_types: Mapping[str, str] = field(
        default_factory=dict,
        metadata={"doc": "extension (no dot) -> content type, over the defaults"},
    )


@hookimpl
def bareasgi_options_class() -> type[Any]:
    return Jinja2Options


@hookimpl
def bareasgi_check_options(options: Jinja2Options) -> Iterable[str]:
    folders = (options.directory,) if isinstance(options.directory, str) else options.directory
    if not folders:
        yield "option 'directory' must name at least one folder"
    for folder in folders:
        if not os.path.isdir(folder):
            yield (
                f"option 'directory': {folder!r} is not a directory (relative to {os.getcwd()!r})"
            )
    for name in ("buffer_size", "chunk_size"):
        if getattr(options, name) < 1:
            yield f"option {name!r} must be positive, not {getattr(options, name)}"
    for extension, value in options.content_types.items():
        problem = content_type_problem(value)
        if problem is not None:
            yield f"option 'content_types': the content type for {extension!r} {problem}"


@hookimpl
def bareasgi_setup(plugin: EnabledPlugin) -> None:
    options: Jinja2Options = plugin.options
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
def bareasgi_middleware(plugin: EnabledPlugin) -> HttpMiddleware:
    renderer: Renderer = plugin.state
    renderer.install_globals()
    return renderer.middleware
