"""JSON in and out: read a JSON request body, answer JSON, and JSON error bodies for an API.

(Named `jsonbody` so that no module of the package is called `json`.)
"""

from __future__ import annotations

import json
import logging
import re
from array import array
from collections.abc import Callable
from http import HTTPStatus
from itertools import accumulate
from typing import Any, Final

from ._request import media_type
from .applications import bindable
from .errors import ClientDisconnected, HttpError
from .streaming import BytesBody
from .types import (
    BindableMiddleware,
    Content,
    Headers,
    HttpHandler,
    HttpResponse,
    Info,
    Matches,
    Scope,
)

LOGGER: Final = logging.getLogger("bareasgi")

DEFAULT_MAX_DEPTH: Final = 512
"""JSON nested deeper than this (arrays and objects) answers 400."""
JSON_HEADER: Final = (b"content-type", b"application/json")
PROBLEM_HEADER: Final = (b"content-type", b"application/problem+json")

_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
"""Compact, ASCII, strict (no NaN or Infinity, which are not JSON): made once."""


class _NotJson(ValueError):
    """NaN, Infinity or -Infinity: Python's parser takes them, JSON has none."""


def _refuse_constant(name: str) -> Any:
    raise _NotJson(name)


_DECODER: Final = json.JSONDecoder(parse_constant=_refuse_constant)
"""Strict: made once (`json.loads` with options would make a decoder per call)."""
_STRING: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS_ONLY: Final = bytes(set(range(256)) - set(b"[]{}"))
_DEPTH_STEPS: Final = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
"""Opening brackets become 1 and closing ones -1 (as signed bytes)."""
_BLOCK: Final = 65536


def is_json(content_type: bytes | None) -> bool:
    """Whether a content-type is JSON: `application/json` or any `+json` type, with any
    parameters."""
    if content_type == b"application/json":
        return True
    kind, _ = media_type(content_type)
    return kind == "application/json" or ("/" in kind and kind.endswith("+json"))


async def read_json(
    scope: Scope, content: Content, *, max_depth: int | None = DEFAULT_MAX_DEPTH
) -> Any:
    """The request body parsed as JSON (read as UTF-8, RFC 8259).

    Raises:
        HttpError: 415 unless the content-type is `application/json` or a `+json` type;
            400 for malformed JSON (naming the position), text that is not UTF-8, or nesting
            deeper than `max_depth` (None: as deep as the parser's recursion allows, deeper
            still answers 400); 413 for a body over the route's limit (from `content`).
    """
    content_type: bytes | None = None
    for name, value in scope["headers"]:  # (inline: a call less than header_value)
        if name == b"content-type":
            content_type = value
            break
    if content_type != b"application/json" and not is_json(content_type):
        raise HttpError(415, "Unsupported media type: JSON expected (application/json)")
    chunks = [chunk async for chunk in content]
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if max_depth is not None and data.count(b"[") + data.count(b"{") > max_depth:
        _check_depth(data, max_depth)
    try:
        return _DECODER.decode(data.decode())
    except json.JSONDecodeError as error:
        raise HttpError(400, f"Invalid JSON: {error}") from None
    except UnicodeDecodeError as error:
        raise HttpError(400, f"Invalid JSON: not UTF-8 text (byte {error.start})") from None
    except RecursionError:
        raise HttpError(400, "Invalid JSON: nested too deeply") from None
    except _NotJson as error:
        raise HttpError(400, f"Invalid JSON: {error} is not a JSON value") from None


def json_depth_exceeds(data: bytes, max_depth: int) -> bool:
    """Whether arrays and objects in `data` nest deeper than `max_depth` (brackets inside
    strings do not count). Linear, C-speed steps, stops at the first block too deep."""
    steps = _STRING.sub(b"", data).translate(_DEPTH_STEPS, _BRACKETS_ONLY)
    level = 0
    for start in range(0, len(steps), _BLOCK):
        block = array("b", steps[start : start + _BLOCK])
        levels = list(accumulate(block, initial=level))
        if max(levels) > max_depth:
            return True
        level = levels[-1]
    return False


def _check_depth(data: bytes, max_depth: int) -> None:
    if json_depth_exceeds(data, max_depth):
        raise HttpError(400, f"Invalid JSON: nested deeper than {max_depth} levels")


def json_response(
    data: Any, status: int = 200, headers: Headers | None = None
) -> tuple[int, Headers, bytes]:
    """Answer `data` as JSON: `(status, [content-type: application/json, *headers], body)`.

    Compact and ASCII; NaN and infinities are refused (`ValueError`), as JSON has none.
    """
    body = _ENCODER.encode(data).encode()
    if headers is None:
        return status, [JSON_HEADER], body
    return status, [JSON_HEADER, *headers], body


def problem_body(status: int, detail: str | None = None) -> bytes:
    """An RFC 9457 problem details document for `status`, with `detail` when given."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    problem: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        problem["detail"] = detail
    return _ENCODER.encode(problem).encode()


def json_errors(prefix: str = "/") -> BindableMiddleware:
    """Middleware answering errors under `prefix` as RFC 9457 problem details JSON.

    Under `prefix` (whole segments: `/api` covers `/api` and `/api/...`, not `/apis`): an
    `HttpError`, and a plain-text error answer (status 400 or more with a text/plain or no
    content type: core's 404 and 405 among them), become `application/problem+json`
    `{"type": "about:blank", "title": ..., "status": ..., "detail": <the text>}`, other
    headers (such as `allow`) kept; any other exception is logged with its traceback and
    answered 500 in the same shape, revealing nothing of it. Elsewhere nothing changes.

    `app.add_middleware(json_errors("/api"))`.
    """
    if not prefix.startswith("/"):
        raise ValueError(f"json_errors: the prefix {prefix!r} must start with '/'")
    prefix = prefix.rstrip("/")
    under_prefix = _prefix_test(prefix)

    def bind(handler: HttpHandler) -> HttpHandler:
        async def answer(
            scope: Scope, info: Info, matches: Matches, content: Content
        ) -> HttpResponse:
            if not under_prefix(scope):
                try:
                    return await handler(scope, info, matches, content)
                except HttpError as error:
                    return error.as_response()
            try:
                response = await handler(scope, info, matches, content)
            except HttpError as error:
                return _problem(*error.as_response())
            except ClientDisconnected:
                raise
            except Exception:
                LOGGER.exception(
                    "Unhandled error answering %s %s", scope.get("method"), scope.get("path")
                )
                return 500, [PROBLEM_HEADER], problem_body(500)
            problem: HttpResponse = _problem_from(response)
            return problem

        return answer

    return bindable(bind, catches_http_error=True)


def _prefix_test(prefix: str) -> Callable[[Scope], bool]:
    if not prefix:
        return lambda scope: True
    with_slash = prefix + "/"

    def under(scope: Scope) -> bool:
        path: str = scope["path"]
        root: str = scope.get("root_path") or ""
        if root and path.startswith(root):
            path = path[len(root) :]
        return path == prefix or path.startswith(with_slash)

    return under


def _problem_from(response: Any) -> Any:
    """A plain-text error answer as problem details; anything else as it is."""
    if type(response) is int:
        return (_problem(response, [], None)) if response >= 400 else response
    if type(response) is not tuple or not response or type(response[0]) is not int:
        return response
    status = response[0]
    if status < 400 or len(response) > 3:
        return response
    headers = response[1] if len(response) > 1 else None
    body = response[2] if len(response) > 2 else None
    if isinstance(body, BytesBody):
        body = body.data
    if body is not None and type(body) is not bytes:
        return response  # a streamed error body is the handler's own
    if headers:
        content_type = next((v for n, v in headers if n == b"content-type"), None)
        if content_type is not None and not content_type.startswith(b"text/plain"):
            return response
    return _problem(status, list(headers or ()), body)


def _problem(status: int, headers: Headers, body: bytes | None) -> tuple[int, Headers, bytes]:
    kept = [h for h in headers if h[0] not in (b"content-type", b"content-length")]
    detail = body.decode("utf-8", "replace") if body else None
    return status, [PROBLEM_HEADER, *kept], problem_body(status, detail)


__all__ = [
    "DEFAULT_MAX_DEPTH",
    "JSON_HEADER",
    "PROBLEM_HEADER",
    "is_json",
    "json_depth_exceeds",
    "json_errors",
    "json_response",
    "problem_body",
    "read_json",
]
