"""GraphQL options: a frozen dataclass, and the checks its types cannot express."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from graphql import GraphQLSchema, validate_schema

from bareasgi.options import option

DEFAULT_PATH: Final = "/graphql"
DEFAULT_MAX_DEPTH: Final = 15
DEFAULT_MAX_ALIASES: Final = 30
DEFAULT_MAX_ROOT_FIELDS: Final = 50
DEFAULT_MAX_TOKENS: Final = 10_000
DEFAULT_MAX_DOCUMENT_SIZE: Final = 100_000
DEFAULT_CACHE_SIZE: Final = 1_000


@dataclass(frozen=True)
class GraphQLOptions:
    """How the GraphQL endpoint serves its schema. Each limit is off when set to None."""

    schema: GraphQLSchema | str = option(  # noqa: RUF009
        "a graphql-core GraphQLSchema, or 'module:attribute' naming one"
    )
    path: str = option(
        "the endpoint's path: GraphQL over HTTP, GraphiQL and subscriptions", default=DEFAULT_PATH
    )
    graphiql: bool = option(
        "serve GraphiQL (shipped in the package, offline) to GET requests asking for text/html",
        default=True,
    )
    introspection: bool = option("allow introspection (__schema, __type)", default=True)
    max_depth: int | None = option(
        "deepest field nesting an operation may have (introspection fields counted)",
        default=DEFAULT_MAX_DEPTH,
    )
    max_aliases: int | None = option(
        "most aliased fields a document may have", default=DEFAULT_MAX_ALIASES
    )
    max_root_fields: int | None = option(
        "most fields an operation's root selection may have (fragments included)",
        default=DEFAULT_MAX_ROOT_FIELDS,
    )
    max_tokens: int | None = option(
        "most lexical tokens the parser reads before giving up", default=DEFAULT_MAX_TOKENS
    )
    max_document_size: int | None = option(
        "largest document text in bytes (UTF-8)", default=DEFAULT_MAX_DOCUMENT_SIZE
    )
    cache_size: int = option(
        "parsed and validated documents kept, keyed by their text (0: none)",
        default=DEFAULT_CACHE_SIZE,
    )
    mask_errors: bool = option(
        "answer 'Internal server error' for a resolver's exception (it is logged)", default=True
    )
    context: Any = option(  # noqa: RUF009
        "context(scope, info), or context(scope, info, connection_params), or a "
        "'module:attribute' naming it, sync or async: its result is info.context.value; "
        "raising ContextRefused refuses the request (403, or 4403 on a WebSocket)",
        default=None,
    )
    root_value: Any = option(  # noqa: RUF009
        "the root value given to the root resolvers", default=None
    )
    trusted_documents: str | Mapping[str, str] | None = option(
        "an allow-list: a JSON manifest file (sha256 hex -> document), or that mapping",
        default=None,
    )
    require_trusted_documents: bool = option(
        "refuse document text: run only documents of the allow-list", default=False
    )
    websocket: bool = option(
        "serve operations and subscriptions over WebSocket (graphql-transport-ws) at `path`",
        default=True,
    )
    sse: bool = option(
        "serve operations and subscriptions over Server-Sent Events (graphql-sse, both modes) "
        "at `path`",
        default=True,
    )
    connection_init_timeout: float = option(
        "seconds a WebSocket client has to send connection_init (closed with 4408 after)",
        default=3.0,
    )
    max_subscriptions: int | None = option(
        "operations one WebSocket or one single-connection SSE stream runs at once; the one "
        "over is answered with an error for its id and the connection stays open",
        default=100,
    )
    sse_keep_alive: float | None = option(
        "seconds of silence after which an SSE stream gets a comment line (None: never)",
        default=12.0,
    )
    sse_reservation_timeout: float = option(
        "seconds an SSE single-connection reservation (PUT) waits for its stream",
        default=30.0,
    )

    def problems(self) -> list[str]:
        """Every problem with these options, each naming the option; empty when they are fine."""
        problems: list[str] = []
        try:
            resolve_schema(self.schema)
        except (ValueError, TypeError) as error:
            problems.append(f"option 'schema': {error}")
        if not self.path.startswith("/") or self.path.endswith("/") or "{" in self.path:
            problems.append(
                f"option 'path' must start with '/', not end with one, and have no "
                f"parameters, not {self.path!r}"
            )
        for name in ("max_depth", "max_aliases", "max_root_fields", "max_tokens"):
            value = getattr(self, name)
            if value is not None and value < 1:
                problems.append(f"option {name!r} must be 1 or more (or None), not {value}")
        if self.max_document_size is not None and self.max_document_size < 1:
            problems.append(
                f"option 'max_document_size' must be 1 or more (or None), "
                f"not {self.max_document_size}"
            )
        if self.cache_size < 0:
            problems.append(f"option 'cache_size' must be 0 or more, not {self.cache_size}")
        for name in ("connection_init_timeout", "sse_reservation_timeout", "sse_keep_alive"):
            seconds = getattr(self, name)
            if seconds is not None and not seconds > 0:
                problems.append(f"option {name!r} must be more than 0 seconds, not {seconds}")
        if self.max_subscriptions is not None and self.max_subscriptions < 1:
            problems.append(
                f"option 'max_subscriptions' must be 1 or more (or None), "
                f"not {self.max_subscriptions}"
            )
        if self.context is not None:
            try:
                context = resolve_attribute(self.context) if isinstance(self.context, str) else None
            except ValueError as error:
                problems.append(f"option 'context': {error}")
            else:
                if not callable(context if context is not None else self.context):
                    problems.append(f"option 'context' must be callable, not {self.context!r}")
        if self.trusted_documents is not None:
            from .trusted import load_manifest  # a cycle otherwise

            try:
                load_manifest(self.trusted_documents)
            except ValueError as error:
                problems.append(f"option 'trusted_documents': {error}")
        elif self.require_trusted_documents:
            problems.append(
                "option 'require_trusted_documents' needs option 'trusted_documents' "
                "(the allow-list)"
            )
        return problems


def resolve_attribute(reference: str) -> Any:
    """The object a 'module:attribute' (or 'module:a.b') reference names.

    Raises:
        ValueError: The reference is malformed, or names nothing importable.
    """
    module_name, colon, path = reference.partition(":")
    if not colon or not module_name or not path:
        raise ValueError(f"{reference!r} is not of the form 'module:attribute'")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"cannot import module {module_name!r} ({error})") from error
    for part in path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ValueError(f"module {module_name!r} has no attribute {path!r}") from None
    return target


def resolve_schema(schema: GraphQLSchema | str) -> GraphQLSchema:
    """The schema itself, from a schema or a 'module:attribute' reference, checked valid.

    Raises:
        ValueError: The reference names nothing, or the schema is not valid.
        TypeError: The reference names something that is not a GraphQLSchema.
    """
    resolved = resolve_attribute(schema) if isinstance(schema, str) else schema
    if not isinstance(resolved, GraphQLSchema):
        raise TypeError(f"{schema!r} is not a graphql-core GraphQLSchema")
    errors = validate_schema(resolved)
    if errors:
        raise ValueError("the schema is not valid: " + "; ".join(e.message for e in errors))
    return resolved


__all__ = [
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_MAX_ALIASES",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_DOCUMENT_SIZE",
    "DEFAULT_MAX_ROOT_FIELDS",
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_PATH",
    "GraphQLOptions",
    "resolve_attribute",
    "resolve_schema",
]
