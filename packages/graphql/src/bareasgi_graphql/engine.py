"""The GraphQL engine every transport shares: prepare (parse + validate, cached), execute,
subscribe, the resolvers' context, and results as JSON-ready dicts with errors masked.

Built once from `GraphQLOptions`; nothing here knows HTTP, WebSockets or SSE.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Final, final

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    parse,
    specified_rules,
    subscribe,
    validate,
)
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule

from bareasgi import APP_KEY, Info, Scope

from .limits import (
    DEPTH_CODE,
    alias_errors,
    depth_errors,
    fragments_of,
    root_field_errors,
)
from .options import GraphQLOptions, resolve_attribute, resolve_schema
from .rules import fast_rules
from .trusted import HASH_PREFIX, load_manifest

LOGGER: Final = logging.getLogger("bareasgi_graphql")

MASKED_MESSAGE: Final = "Internal server error"
"""What a client is told of a resolver's exception while `mask_errors` is on."""

PERSISTED_QUERY_NOT_FOUND: Final = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_REQUIRED: Final = "PERSISTED_QUERY_REQUIRED"
DOCUMENT_TOO_LARGE: Final = "DOCUMENT_TOO_LARGE"
TOKENS_CODE: Final = "MAX_TOKENS_EXCEEDED"

encode_json: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""Compact JSON text (UTF-8 kept as is): what every transport sends."""

CACHE_TEXT_BUDGET: Final = 8 * 1024 * 1024
"""Most document characters the cache keeps in all, whatever its entry count (a bound on
memory when documents are large)."""


class ContextRefused(Exception):
    """Raised by the user's `context` callable to refuse a request or a connection.

    Over HTTP the answer is `status` (403 by default) with a GraphQL error carrying `message`;
    over WebSocket (graphql-transport-ws) the socket is closed with 4403.
    """

    def __init__(self, message: str = "Forbidden", status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@final
class Context:
    """What resolvers get as `info.context`.

    Attributes:
        scope: The ASGI scope of the request (or of the WebSocket connection).
        info: The application's `info` dict.
        value: What the options' `context` callable returned (None without one).
        connection_params: The payload of a WebSocket's `connection_init` (None over HTTP).
    """

    __slots__ = ("connection_params", "info", "scope", "value")

    def __init__(
        self,
        scope: Scope,
        info: Info,
        value: Any = None,
        connection_params: dict[str, Any] | None = None,
    ) -> None:
        self.scope = scope
        self.info = info
        self.value = value
        self.connection_params = connection_params

    def __repr__(self) -> str:
        return f"<Context {self.scope.get('type')} {self.scope.get('path')!r} value={self.value!r}>"


@final
class Prepared:
    """A parsed and validated document with its operation chosen: ready to execute.

    Attributes:
        document: The parsed document (shared by every request with the same text).
        operation: The operation to run.
        operation_type: `OperationType.QUERY`, `MUTATION` or `SUBSCRIPTION`.
        operation_name: The operation's name, or None for an anonymous one.
    """

    __slots__ = ("document", "operation", "operation_name", "operation_type")

    def __init__(self, document: DocumentNode, operation: OperationDefinitionNode) -> None:
        self.document = document
        self.operation = operation
        self.operation_type: OperationType = operation.operation
        self.operation_name: str | None = operation.name.value if operation.name else None

    def __repr__(self) -> str:
        return f"<Prepared {self.operation_type.value} {self.operation_name!r}>"


@final
class _Entry:
    """A cached valid document: its operations by name (None: the lone operation)."""

    __slots__ = ("operations", "size")

    def __init__(self, operations: dict[str | None, Prepared], size: int) -> None:
        self.operations = operations
        self.size = size


async def close_stream(stream: object) -> None:
    """Close a subscription's response stream (`aclose()`, when it has one), so its source's
    `finally` runs."""
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


def request_error(message: str, code: str | None = None) -> GraphQLError:
    """A GraphQL request error (no path: nothing was executed), with `extensions.code`."""
    return GraphQLError(message, extensions={"code": code} if code else None)


@final
class GraphQLEngine:
    """Parses, validates (through a bounded LRU), executes and subscribes, for any transport.

    Built once, from the options: the schema is resolved and checked, the validation rules and
    the trusted documents' manifest are made here, never per request.
    """

    def __init__(self, options: GraphQLOptions) -> None:
        self.options = options
        self.schema: GraphQLSchema = resolve_schema(options.schema)
        self.root_value = options.root_value
        self.mask_errors = options.mask_errors
        self.max_tokens = options.max_tokens
        self.max_document_size = options.max_document_size
        self.cache_size = options.cache_size
        self._cache: OrderedDict[str, _Entry | list[GraphQLError]] = OrderedDict()
        self._cache_text = 0
        # The limits are checked first, with plain loops over the document (the same checks
        # as `limits_rule`, without graphql-core's visitor machinery): a document over a limit
        # never reaches the specification's rules, and one within them pays next to nothing.
        self.max_depth = options.max_depth
        self.max_aliases = options.max_aliases
        self.max_root_fields = options.max_root_fields
        rules: list[type[ASTValidationRule]] = []
        rules.extend(specified_rules)
        if not options.introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        self.rules: tuple[type[ASTValidationRule], ...] = fast_rules(rules)
        self.trusted: dict[str, str] | None = (
            load_manifest(options.trusted_documents)
            if options.trusted_documents is not None
            else None
        )
        self.require_trusted = options.require_trusted_documents
        self._context_factory: Callable[..., Any] | None = None
        self._context_takes_params = False
        self._context_is_async = False
        if options.context is not None:
            factory = (
                resolve_attribute(options.context)
                if isinstance(options.context, str)
                else options.context
            )
            self._context_factory = factory
            self._context_takes_params = _takes_three(factory)
            self._context_is_async = inspect.iscoroutinefunction(factory)

    # -- preparing ------------------------------------------------------------------------

    def prepare(
        self,
        query: str | None,
        operation_name: str | None = None,
        extensions: Mapping[str, Any] | None = None,
        document_id: str | None = None,
    ) -> Prepared | list[GraphQLError]:
        """Parse and validate a document (or take it from the cache), and choose its operation.

        A document is named by its text (`query`), or, for trusted documents, by
        `extensions.persistedQuery.sha256Hash` or `document_id` (`sha256:<hex>`). The cache is
        keyed by the text and holds parsed *and validated* documents (and the errors of
        invalid ones), so a repeated document is neither parsed nor validated again.

        Returns:
            The `Prepared` operation, or the GraphQL request errors (syntax, limits,
            validation, trusted documents, an operation that cannot be chosen). Nothing raised.
        """
        if document_id is not None or extensions:
            query_or_errors = self._trusted_document(query, extensions, document_id)
            if not isinstance(query_or_errors, str):
                return query_or_errors
            query = query_or_errors
        elif self.require_trusted:
            return [_required_error()]
        if query is None:
            return [request_error("No GraphQL document was given (parameter 'query').")]
        cache = self._cache
        entry = cache.get(query)
        if entry is None:
            entry = self._compile(query)
            if entry is None:  # too large: neither parsed nor kept
                return [self._size_error(query)]
        else:
            cache.move_to_end(query)
        if isinstance(entry, list):
            return entry
        prepared = entry.operations.get(operation_name)
        if prepared is not None:
            return prepared
        return [_operation_error(entry, operation_name)]

    def _trusted_document(
        self,
        query: str | None,
        extensions: Mapping[str, Any] | None,
        document_id: str | None,
    ) -> str | list[GraphQLError]:
        digest: Any = None
        if document_id is not None:
            digest = (
                document_id.removeprefix(HASH_PREFIX)
                if document_id.startswith(HASH_PREFIX)
                else None
            )
            if digest is None:
                return [
                    request_error(
                        f"documentId must be 'sha256:<hex>', not {document_id!r}.",
                        PERSISTED_QUERY_NOT_FOUND,
                    )
                ]
        elif extensions:
            persisted = extensions.get("persistedQuery")
            if isinstance(persisted, Mapping):
                digest = persisted.get("sha256Hash")
                if not isinstance(digest, str):
                    return [
                        request_error(
                            "extensions.persistedQuery.sha256Hash must be a string.",
                            PERSISTED_QUERY_NOT_FOUND,
                        )
                    ]
        if digest is None:
            if self.require_trusted:
                return [_required_error()]
            if query is None:
                return [request_error("No GraphQL document was given (parameter 'query').")]
            return query
        document = self.trusted.get(digest.lower()) if self.trusted is not None else None
        if document is not None:
            return document
        if query is not None and not self.require_trusted:
            return query  # an unknown hash with its text: the text is run, as any other
        return [request_error("PersistedQueryNotFound", PERSISTED_QUERY_NOT_FOUND)]

    def _size_error(self, query: str) -> GraphQLError:
        return request_error(
            f"The document is {len(query.encode())} bytes, over the limit of "
            f"{self.max_document_size} (option max_document_size).",
            DOCUMENT_TOO_LARGE,
        )

    def _compile(self, query: str) -> _Entry | list[GraphQLError] | None:
        limit = self.max_document_size
        if limit is not None and (
            len(query) > limit or (len(query) * 4 > limit and len(query.encode()) > limit)
        ):
            return None
        entry: _Entry | list[GraphQLError]
        try:
            document = parse(query, max_tokens=self.max_tokens)
        except GraphQLError as error:
            if "nested too deeply" in error.message:  # the interpreter's limit, before ours
                error = request_error(
                    f"The document is nested too deeply: the depth limit is "
                    f"{self.options.max_depth} (option max_depth).",
                    DEPTH_CODE,
                )
            elif "tokens. Parsing aborted" in error.message:
                error = request_error(
                    f"The document has more than {self.max_tokens} tokens (option max_tokens).",
                    TOKENS_CODE,
                )
            entry = [error]
        else:
            errors = self._limit_errors(document) or validate(self.schema, document, self.rules)
            entry = errors if errors else _entry(document, len(query))
        self._keep(query, entry)
        return entry

    def _limit_errors(self, document: DocumentNode) -> list[GraphQLError]:
        fragments = fragments_of(document)
        errors: list[GraphQLError] = []
        if self.max_depth is not None:
            errors += depth_errors(document, fragments, self.max_depth)
        if self.max_aliases is not None:
            errors += alias_errors(document, self.max_aliases)
        if self.max_root_fields is not None:
            errors += root_field_errors(document, fragments, self.max_root_fields)
        return errors

    def _keep(self, query: str, entry: _Entry | list[GraphQLError]) -> None:
        if self.cache_size == 0 or len(query) > CACHE_TEXT_BUDGET:
            return
        cache = self._cache
        cache[query] = entry
        self._cache_text += len(query)
        while len(cache) > self.cache_size or self._cache_text > CACHE_TEXT_BUDGET:
            old, _ = cache.popitem(last=False)
            self._cache_text -= len(old)

    @property
    def cached(self) -> int:
        """How many documents the cache holds now."""
        return len(self._cache)

    # -- running --------------------------------------------------------------------------

    async def execute(
        self, prepared: Prepared, variables: Mapping[str, Any] | None, context: Context
    ) -> ExecutionResult:
        """Execute a prepared query or mutation with graphql-core.

        Variable coercion errors come back as an `ExecutionResult` with errors and no data
        (request errors: their errors have no path); resolver exceptions become field errors
        (with a path). Nothing raised for a GraphQL error.
        """
        result = execute(
            self.schema,
            prepared.document,
            self.root_value,
            context,
            variables if variables is None or isinstance(variables, dict) else dict(variables),
            prepared.operation_name,
        )
        if isinstance(result, ExecutionResult):
            return result
        return await result

    async def subscribe(
        self, prepared: Prepared, variables: Mapping[str, Any] | None, context: Context
    ) -> AsyncIterator[ExecutionResult] | ExecutionResult:
        """Subscribe with graphql-core: the response stream, or a result with errors.

        The caller owns the iterator: it must close it (`aclose()`) when the subscription
        ends, however it ends, so the source's `finally` runs.
        """
        result = subscribe(
            self.schema,
            prepared.document,
            self.root_value,
            context,
            variables if variables is None or isinstance(variables, dict) else dict(variables),
            prepared.operation_name,
        )
        if inspect.isawaitable(result):
            return await result
        return result

    async def make_context(
        self, scope: Scope, connection_params: dict[str, Any] | None = None
    ) -> Context:
        """The context for one request or connection: scope, the app's info, the user's value.

        The options' `context` callable is called as `context(scope, info)`, or
        `context(scope, info, connection_params)` when it takes three arguments (it sees a
        WebSocket's `connection_init` payload then); it may be async.

        Raises:
            ContextRefused: The callable refused (HTTP answers 403, WebSocket closes 4403).
        """
        app = scope.get(APP_KEY)
        info: Info = app.info if app is not None else {}
        factory = self._context_factory
        if factory is None:
            return Context(scope, info, None, connection_params)
        if self._context_takes_params:
            value = factory(scope, info, connection_params)
        else:
            value = factory(scope, info)
        if self._context_is_async or inspect.isawaitable(value):
            value = await value
        return Context(scope, info, value, connection_params)

    # -- results --------------------------------------------------------------------------

    def format_result(
        self, result: ExecutionResult, prepared: Prepared | None = None
    ) -> dict[str, Any]:
        """The result as a JSON-ready dict: `data` when execution began, `errors`, `extensions`.

        A resolver's exception (an error with an `original_error` that is not a GraphQLError)
        is logged with its traceback, its path and the operation name, and its message is
        replaced by "Internal server error" unless the options' `mask_errors` is off.
        """
        errors = result.errors
        if not errors:
            formatted: dict[str, Any] = {"data": result.data}
        else:
            executed = result.data is not None
            out = []
            for error in errors:
                if error.path is not None:
                    executed = True
                original = error.original_error
                if original is not None and not isinstance(original, GraphQLError):
                    out.append(self._resolver_error(error, original, prepared))
                else:
                    out.append(dict(error.formatted))
            formatted = {"data": result.data, "errors": out} if executed else {"errors": out}
        if result.extensions:
            formatted["extensions"] = result.extensions
        return formatted

    def _resolver_error(
        self, error: GraphQLError, original: BaseException, prepared: Prepared | None
    ) -> dict[str, Any]:
        name = prepared.operation_name if prepared is not None else None
        LOGGER.error(
            "GraphQL resolver error in operation %s at %s",
            repr(name) if name else "(anonymous)",
            ".".join(str(part) for part in error.path or ()),
            exc_info=(type(original), original, original.__traceback__),
        )
        if not self.mask_errors:
            return dict(error.formatted)
        formatted: dict[str, Any] = {"message": MASKED_MESSAGE}
        if error.locations is not None:
            formatted["locations"] = [location.formatted for location in error.locations]
        if error.path is not None:
            formatted["path"] = error.path
        return formatted

    @staticmethod
    def format_errors(errors: list[GraphQLError]) -> dict[str, Any]:
        """Request errors (from `prepare`) as a GraphQL response: `{"errors": [...]}`."""
        return {"errors": [dict(error.formatted) for error in errors]}


def _entry(document: DocumentNode, size: int) -> _Entry:
    operations: dict[str | None, Prepared] = {}
    nodes = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
    for node in nodes:
        prepared = Prepared(document, node)
        if prepared.operation_name is not None:
            operations[prepared.operation_name] = prepared
    if len(nodes) == 1:
        operations[None] = Prepared(document, nodes[0])
    return _Entry(operations, size)


def _operation_error(entry: _Entry, operation_name: str | None) -> GraphQLError:
    if not entry.operations:
        return request_error("Must provide an operation.")
    if operation_name is None:
        return request_error("Must provide operation name if query contains multiple operations.")
    return request_error(f"Unknown operation named '{operation_name}'.")


def _required_error() -> GraphQLError:
    return request_error(
        "Only trusted documents are accepted here: name the document by its hash "
        "(extensions.persistedQuery.sha256Hash, or documentId 'sha256:<hex>').",
        PERSISTED_QUERY_REQUIRED,
    )


def _takes_three(factory: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3 or any(p.kind is p.VAR_POSITIONAL for p in parameters)


__all__ = [
    "MASKED_MESSAGE",
    "PERSISTED_QUERY_NOT_FOUND",
    "PERSISTED_QUERY_REQUIRED",
    "Context",
    "ContextRefused",
    "GraphQLEngine",
    "Prepared",
    "request_error",
]
