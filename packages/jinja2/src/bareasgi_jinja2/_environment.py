"""Building the Jinja2 environment, and the content type that follows a template's name."""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

import jinja2
import jinja2.compiler
import jinja2.nodes

DEFAULT_AUTOESCAPE_EXTENSIONS: Final = ("html", "htm", "xml", "jinja")
"""Template names ending in one of these are autoescaped unless the user says otherwise."""

TEMPLATE_SUFFIXES: Final = (".jinja", ".jinja2", ".j2")
"""Suffixes that mark a file as a template and say nothing of what it renders:
`page.html.j2` renders HTML; `page.jinja` alone is taken as HTML too."""

_TEXT_PLAIN: Final = "text/plain; charset=utf-8"
_TEXT_HTML: Final = "text/html; charset=utf-8"
# Python's own table rather than /etc/mime.types, so every machine answers the same.
_MIME: Final = mimetypes.MimeTypes(filenames=())
_TEXT_LIKE: Final = re.compile(
    r"text/.*|application/(json|xml|javascript|ecmascript|[\w.-]+\+(json|xml))|image/svg\+xml"
).fullmatch
_VALID_CONTENT_TYPE: Final = re.compile(r"[\x20-\x7e\t]+").fullmatch


class CoalescingCodeGenerator(jinja2.compiler.CodeGenerator):
    """Compiles each run of template output to one `yield` of the joined pieces.

    Jinja yields every piece of text and every `{{ value }}` on its own; in async mode each
    yield crosses an async generator, which costs more than rendering a small page. Pieces
    between two statements are collected into a list through Jinja's own buffered-output code,
    then joined and yielded once: same output, same order, same errors and line numbers.
    """

    def visit_Output(self, node: jinja2.nodes.Output, frame: jinja2.compiler.Frame) -> None:
        if frame.buffer is not None or len(node.nodes) < 2:
            super().visit_Output(node, frame)
            return
        if frame.require_output_check and self.has_known_extends:
            return  # output outside blocks of a child template is never rendered
        buffer = self.temporary_identifier()
        self.writeline(f"{buffer} = []")
        inner = frame.copy()
        inner.buffer = buffer
        super().visit_Output(node, inner)
        # Under an `extends` only known at run time, the list may stay empty: "" is harmless.
        self.writeline(f"yield environment.concat({buffer})")


class TemplateEnvironment(jinja2.Environment):
    """A Jinja2 environment whose templates yield fewer, larger pieces."""

    code_generator_class = CoalescingCodeGenerator


def create_environment(
    directory: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    enable_async: bool = True,
    auto_reload: bool = True,
    autoescape_extensions: Iterable[str] = DEFAULT_AUTOESCAPE_EXTENSIONS,
    extensions: Iterable[str] = (),
    **options: Any,
) -> jinja2.Environment:
    """A Jinja2 environment loading templates from `directory` (one or several folders).

    Autoescaping is on for names ending in `autoescape_extensions` (and for templates made
    from strings), off for others. `options` go to `jinja2.Environment` as they are.

    Raises:
        ValueError: A directory does not exist.
    """
    folders = [directory] if isinstance(directory, (str, os.PathLike)) else [*directory]
    if not folders:
        raise ValueError("no template directory given")
    for folder in folders:
        if not os.path.isdir(folder):
            raise ValueError(
                f"template directory {os.fspath(folder)!r} is not a directory"
                f" (relative to {os.getcwd()!r})"
            )
    options.setdefault(
        "autoescape",
        jinja2.select_autoescape(
            enabled_extensions=tuple(ext.lstrip(".") for ext in autoescape_extensions),
            disabled_extensions=(),
            default_for_string=True,
            default=False,
        ),
    )
    return TemplateEnvironment(
        loader=jinja2.FileSystemLoader(folders),
        enable_async=enable_async,
        auto_reload=auto_reload,
        extensions=list(extensions),
        **options,
    )


def content_type_for(name: str, overrides: Mapping[str, str] | None = None) -> str:
    """The content type of what the template `name` renders, from its extension.

    `page.html` and `page.html.j2` give `text/html; charset=utf-8`, `notes.txt` gives
    `text/plain; charset=utf-8`; text types get `charset=utf-8`. `overrides` maps extensions
    (without the dot, lower case) to content types used verbatim. A name with no known
    extension renders `text/plain`, which no browser runs as a page.
    """
    base = name.rpartition("/")[2].lower()
    for suffix in TEMPLATE_SUFFIXES:
        if base.endswith(suffix):
            inner = base[: -len(suffix)]
            if "." not in inner:
                extension = suffix[1:]
                if overrides and extension in overrides:
                    return overrides[extension]
                return _TEXT_HTML
            base = inner
            break
    extension = base.rpartition(".")[2] if "." in base else ""
    if overrides and extension in overrides:
        return overrides[extension]
    if extension in ("html", "htm"):
        return _TEXT_HTML
    if not extension:
        return _TEXT_PLAIN
    guessed, encoding = _MIME.guess_type("x." + extension, strict=False)
    if guessed is None or encoding is not None:
        return _TEXT_PLAIN
    if _TEXT_LIKE(guessed):
        return f"{guessed}; charset=utf-8"
    return guessed


def content_type_problem(value: object) -> str | None:
    """Why `value` cannot be a content-type header value, or None."""
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if _VALID_CONTENT_TYPE(value) is None:
        return "must be printable ASCII without CR, LF or NUL"
    return None


__all__ = [
    "DEFAULT_AUTOESCAPE_EXTENSIONS",
    "TEMPLATE_SUFFIXES",
    "CoalescingCodeGenerator",
    "TemplateEnvironment",
    "content_type_for",
    "content_type_problem",
    "create_environment",
]
