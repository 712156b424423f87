"""GraphQL over HTTP, as the GraphQL-over-HTTP specification has it.

- POST with `content-type: application/json` (UTF-8) only: a browser cannot send that
  cross-site without a CORS preflight, so no mutation runs on a forged form post (CSRF).
  Any other or no content type is 415; a body that is not UTF-8 JSON is 400; a JSON array
  (a batch) is 400: batching is off.
- GET for queries, parameters in the query string; a mutation over GET is 405 with
  `allow: POST`.
- The response media type is negotiated from `accept`: `application/graphql-response+json`
  or `application/json` (also for `*/*` or no `accept`); nothing acceptable is 406. Under
  `application/graphql-response+json` a request error (the document does not parse or
  validate, a limit, variables that do not coerce, a trusted-documents refusal) is 400 and a
  result with data and errors is 294 (partial success); under `application/json` every
  GraphQL response is 200. A request that is not a well-formed GraphQL-over-HTTP request
  (bad JSON, `query` not a string, ...) is 400 under both.
- GraphiQL for a GET preferring `text/html`, when enabled; a subscription transport over
  HTTP (graphql-sse) is consulted first when one is installed (`GraphQLHttp.streams`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Protocol, final
from urllib.parse import parse_qsl

from graphql import ExecutionResult, GraphQLError, OperationType

from bareasgi import Content, HttpResponse, Info, Matches, Scope, bytes_reader
from bareasgi.headers import parse_weighted

from .engine import ContextRefused, GraphQLEngine, Prepared, encode_json, request_error

GRAPHQL_RESPONSE_JSON: Final = "application/graphql-response+json"
APPLICATION_JSON: Final = "application/json"
TEXT_HTML: Final = "text/html"
TEXT_EVENT_STREAM: Final = "text/event-stream"

_GQL: Final = 1  # application/graphql-response+json
_JSON: Final = 2  # application/json
_HTML: Final = 3  # GraphiQL
STREAM: Final = 4  # a subscription transport (text/event-stream)
_NONE: Final = 0  # nothing acceptable: 406

_GQL_TYPE: Final = (b"content-type", b"application/graphql-response+json; charset=utf-8")
JSON_TYPE: Final = (b"content-type", b"application/json; charset=utf-8")
TEXT_TYPE: Final = (b"content-type", b"text/plain; charset=utf-8")
_VARY: Final = (b"vary", b"accept")
_ALLOW_POST: Final = (b"allow", b"POST")
_ACCEPT_CACHE_MAX: Final = 256


TOKEN_HEADER: Final = b"x-graphql-event-stream-token"
"""graphql-sse's stream token header: read in the one scan of the request's headers."""


class StreamTransport(Protocol):
    """A transport over HTTP that takes some requests before GraphQL over HTTP sees them
    (graphql-sse: `accept: text/event-stream`, its reservations and its stream token).

    It is handed what `GraphQLHttp` read in its one scan of the request's headers: `accept`
    (every accept field, joined), `content_type` and `token` (the `TOKEN_HEADER` field).
    """

    def wants(self, scope: Scope, method: str, accept: str | None, token: str | None) -> bool:
        """Whether this request is the transport's (called for every request once set)."""
        ...

    def handle(
        self,
        scope: Scope,
        content: Content,
        method: str,
        accept: str | None,
        content_type: bytes | None,
        token: str | None,
    ) -> Awaitable[HttpResponse]:
        """Serve it."""
        ...


class BadRequest(Exception):
    """A request that is not a well-formed GraphQL-over-HTTP request (answered 400)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@final
class GraphQLHttp:
    """The HTTP handler of the GraphQL endpoint (GET and POST), built once.

    Attributes:
        graphiql: A handler answering the GraphiQL page, or None when it is off.
        streams: A subscription transport over HTTP consulted before anything else, or None.
    """

    def __init__(
        self,
        engine: GraphQLEngine,
        graphiql: Callable[[Scope], HttpResponse] | None = None,
    ) -> None:
        self.engine = engine
        self.graphiql = graphiql
        self.streams: StreamTransport | None = None
        # Answers remembered by header value (few distinct values in practice; bounded).
        self._accepts: dict[str, int] = {}
        self._accepts_html: dict[str, int] = {}
        self._json_types: dict[bytes, bool] = {}

    async def __call__(
        self, scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        """Serve one request to the endpoint."""
        accept, content_type, token = read_headers(scope)
        method: str = scope["method"]
        streams = self.streams
        if streams is not None and streams.wants(scope, method, accept, token):
            return await streams.handle(scope, content, method, accept, content_type, token)
        choice = self._choose(accept, method)
        if choice == _HTML:
            assert self.graphiql is not None
            return self.graphiql(scope)
        if choice in (_NONE, STREAM):
            return (
                406,
                [TEXT_TYPE, _VARY],
                b"Not Acceptable: ask for application/graphql-response+json or application/json",
            )
        media = _GQL_TYPE if choice == _GQL else JSON_TYPE
        if method == "POST":
            return await self._post(scope, content, content_type, choice, media)
        if method == "GET" or method == "HEAD":
            return await self._get(scope, choice, media)
        return 405, [(b"allow", b"GET, HEAD, POST"), TEXT_TYPE], b"Method Not Allowed"

    # -- negotiation ----------------------------------------------------------------------

    def _choose(self, accept: str | None, method: str) -> int:
        if accept is None:
            return _JSON
        html = (method == "GET" or method == "HEAD") and self.graphiql is not None
        known_answers = self._accepts_html if html else self._accepts
        known = known_answers.get(accept)
        if known is None:
            known = negotiate(accept, html)
            if len(known_answers) >= _ACCEPT_CACHE_MAX:
                known_answers.clear()
            known_answers[accept] = known
        return known

    # -- requests -------------------------------------------------------------------------

    async def _post(
        self,
        scope: Scope,
        content: Content,
        content_type: bytes | None,
        choice: int,
        media: tuple[bytes, bytes],
    ) -> HttpResponse:
        json_body = self._json_types.get(content_type) if content_type is not None else False
        if json_body is None:
            assert content_type is not None
            json_body = is_json(content_type)
            if len(self._json_types) >= _ACCEPT_CACHE_MAX:
                self._json_types.clear()
            self._json_types[content_type] = json_body
        if not json_body:
            return unsupported_media_type()
        body = await bytes_reader(content)
        try:
            params = json_object(body)
            query = params.get("query")
            operation_name = params.get("operationName")
            variables = params.get("variables")
            extensions = params.get("extensions")
            document_id = params.get("documentId")
            check_types(query, operation_name, variables, extensions, document_id)
        except BadRequest as error:
            return bad_request(error.message)
        return await self._run(
            scope, query, operation_name, variables, extensions, document_id, choice, media, False
        )

    async def _get(self, scope: Scope, choice: int, media: tuple[bytes, bytes]) -> HttpResponse:
        try:
            params = query_params(scope)
            query = params.get("query")
            operation_name = params.get("operationName") or None
            document_id = params.get("documentId") or None
            variables = json_param(params, "variables")
            extensions = json_param(params, "extensions")
            check_types(query, operation_name, variables, extensions, document_id)
        except BadRequest as error:
            return bad_request(error.message)
        return await self._run(
            scope, query, operation_name, variables, extensions, document_id, choice, media, True
        )

    async def _run(
        self,
        scope: Scope,
        query: str | None,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        extensions: dict[str, Any] | None,
        document_id: str | None,
        choice: int,
        media: tuple[bytes, bytes],
        get: bool,
    ) -> HttpResponse:
        engine = self.engine
        prepared = engine.prepare(query, operation_name, extensions, document_id)
        if not isinstance(prepared, Prepared):
            return _errors(prepared, choice, media, get)
        operation = prepared.operation_type
        if operation is not OperationType.QUERY:
            if operation is OperationType.MUTATION:
                if get:
                    error = request_error("Mutations are not run over GET: use POST.")
                    body = encode_json(engine.format_errors([error])).encode()
                    return 405, [media, _ALLOW_POST], body
            else:
                return _errors(
                    [
                        request_error(
                            "Subscriptions are served over WebSocket (graphql-transport-ws) "
                            "or Server-Sent Events (accept: text/event-stream)."
                        )
                    ],
                    choice,
                    media,
                    get,
                )
        try:
            context = await engine.make_context(scope)
        except ContextRefused as refused:
            body = encode_json(engine.format_errors([request_error(refused.message)])).encode()
            return refused.status, [media], body
        result = await engine.execute(prepared, variables, context)
        return _result(engine, result, prepared, choice, media, get)


def read_headers(scope: Scope) -> tuple[str | None, bytes | None, str | None]:
    """`(accept, content_type, token)` from one scan of the request's headers: every accept
    field joined (several are one list, RFC 9110 5.3), the content-type, and graphql-sse's
    stream token (`TOKEN_HEADER`)."""
    accept: str | None = None
    content_type: bytes | None = None
    token: str | None = None
    for name, value in scope["headers"]:
        if name == b"accept":
            text = value.decode("latin-1")
            accept = text if accept is None else f"{accept}, {text}"
        elif name == b"content-type":
            content_type = value
        elif name == TOKEN_HEADER:
            token = value.decode("latin-1")
    return accept, content_type, token


def json_object(body: bytes) -> dict[str, Any]:
    """A POST body's GraphQL parameters: one JSON object, as both HTTP transports read it.

    Raises:
        BadRequest: no body, not UTF-8 JSON, nested too deeply, a batch, or not an object.
    """
    if not body:
        raise BadRequest("The request has no body: send a JSON object.")
    try:
        params = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise BadRequest(f"The body is not UTF-8 JSON ({error}).") from None
    except RecursionError:
        raise BadRequest("The body's JSON is nested too deeply.") from None
    if isinstance(params, list):
        raise BadRequest("Batching is not supported: send one JSON object.")
    if not isinstance(params, dict):
        raise BadRequest("The body must be a JSON object.")
    return params


def unsupported_media_type() -> HttpResponse:
    """The 415 answer to a POST whose body is not application/json."""
    return (
        415,
        [TEXT_TYPE, (b"accept-post", b"application/json")],
        b"Unsupported Media Type: send the request as application/json",
    )


def negotiate(accept: str, html: bool) -> int:
    """What to answer an `accept` with (`STREAM` for an event stream): the highest q among
    what we serve; among equals, the client's first (RFC 9110 12.5.1)."""
    best, best_q = _NONE, 0.0
    for member in parse_weighted(accept):
        value = member.value
        if value == GRAPHQL_RESPONSE_JSON:
            choice = _GQL
        elif value in (APPLICATION_JSON, "application/*", "*/*"):
            choice = _JSON
        elif value == TEXT_HTML and html:
            choice = _HTML
        elif value == TEXT_EVENT_STREAM:
            choice = STREAM
        else:
            continue
        if member.q > best_q:
            best, best_q = choice, member.q
    return best


def query_params(scope: Scope) -> dict[str, str]:
    """The query string's parameters, the first of each name (BadRequest if not UTF-8)."""
    try:
        pairs = parse_qsl(
            scope["query_string"].decode("latin-1"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("The query string is not UTF-8 URL-encoded.") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        params.setdefault(name, value)
    return params


def is_json(content_type: bytes) -> bool:
    """Whether a `content-type` is application/json in UTF-8."""
    media, _, parameters = content_type.partition(b";")
    if media.strip().lower() != b"application/json":
        return False
    for parameter in parameters.split(b";"):
        name, _, value = parameter.partition(b"=")
        if name.strip().lower() == b"charset" and value.strip().strip(b'"').lower() not in (
            b"utf-8",
            b"utf8",
        ):
            return False
    return True


def check_types(
    query: object,
    operation_name: object,
    variables: object,
    extensions: object,
    document_id: object,
) -> None:
    if query is not None and not isinstance(query, str):
        raise BadRequest("The 'query' parameter must be a string.")
    if (
        query is None
        and document_id is None
        and not (isinstance(extensions, dict) and "persistedQuery" in extensions)
    ):
        raise BadRequest("The 'query' parameter is missing.")
    if operation_name is not None and not isinstance(operation_name, str):
        raise BadRequest("The 'operationName' parameter must be a string.")
    if variables is not None and not isinstance(variables, dict):
        raise BadRequest("The 'variables' parameter must be a map.")
    if extensions is not None and not isinstance(extensions, dict):
        raise BadRequest("The 'extensions' parameter must be a map.")
    if document_id is not None and not isinstance(document_id, str):
        raise BadRequest("The 'documentId' parameter must be a string.")


def json_param(params: Mapping[str, str], name: str) -> Any:
    text = params.get(name)
    if not text:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise BadRequest(f"The {name!r} parameter is not JSON.") from None


def bad_request(message: str) -> HttpResponse:
    # Not a well-formed GraphQL-over-HTTP request: 400, never graphql-response+json.
    body = encode_json({"errors": [{"message": message}]}).encode()
    return 400, [JSON_TYPE], body


def _errors(
    errors: list[GraphQLError], choice: int, media: tuple[bytes, bytes], get: bool
) -> HttpResponse:
    body = encode_json(GraphQLEngine.format_errors(errors)).encode()
    status = 400 if choice == _GQL else 200
    return status, [media, _VARY] if get else [media], body


def _result(
    engine: GraphQLEngine,
    result: ExecutionResult,
    prepared: Prepared,
    choice: int,
    media: tuple[bytes, bytes],
    get: bool,
) -> HttpResponse:
    formatted = engine.format_result(result, prepared)
    status = 200
    if choice == _GQL and "errors" in formatted:
        status = 294 if "data" in formatted else 400
    return status, [media, _VARY] if get else [media], encode_json(formatted).encode()


__all__ = [
    "APPLICATION_JSON",
    "GRAPHQL_RESPONSE_JSON",
    "TOKEN_HEADER",
    "GraphQLHttp",
    "StreamTransport",
]
