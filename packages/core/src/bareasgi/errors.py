"""Exceptions that become HTTP answers."""

from __future__ import annotations

from typing import Final, final

from .types import Headers

_TEXT: Final = (b"content-type", b"text/plain; charset=utf-8")


class HttpError(Exception):
    """Raise from a handler or middleware to answer with this response.

    Args:
        status: The HTTP status code.
        body: The response body; `str` is sent as UTF-8 text.
        headers: Response headers, a list of `(bytes, bytes)` pairs; checked here, so a
            mistake is reported where the error is made. Each answer gets a fresh copy.

    A body without a `content-type` among the headers is sent as
    `text/plain; charset=utf-8`.

    Raises:
        TypeError: `status` is not an int, `body` not bytes or str, or `headers` not a list
            of `(bytes, bytes)` pairs.
    """

    __slots__ = ("body", "headers", "status")

    def __init__(
        self, status: int, body: bytes | str | None = None, headers: Headers | None = None
    ) -> None:
        super().__init__(status, body)
        if type(status) is not int:
            raise TypeError(f"HttpError: the status must be an int, not {type(status).__name__}")
        if isinstance(body, str):
            body = body.encode()
        elif body is not None and type(body) is not bytes:
            raise TypeError(f"HttpError: the body must be bytes or str, not {type(body).__name__}")
        self.status = status
        self.body: bytes | None = body
        self.headers: Headers = _checked_pairs(headers)

    def as_response(self) -> tuple[int, Headers, bytes | None]:
        """The answer this error stands for: `(status, headers, body)`, the headers a new list.

        Everything that turns an `HttpError` into a response (core, middleware) calls this,
        so no answer shares its header list with another.
        """
        headers = [*self.headers]
        if self.body and not any(name == b"content-type" for name, _ in headers):
            headers.append(_TEXT)
        return self.status, headers, self.body

    def __repr__(self) -> str:
        return f"HttpError({self.status!r})"


def _checked_pairs(headers: object) -> Headers:
    if headers is None:
        return []
    if not isinstance(headers, (list, tuple)):
        raise TypeError(
            "HttpError: headers must be a list of (bytes, bytes) pairs,"
            f" not {type(headers).__name__}"
        )
    pairs: Headers = []
    for header in headers:
        if not (
            isinstance(header, tuple)
            and len(header) == 2
            and type(header[0]) is bytes
            and type(header[1]) is bytes
        ):
            raise TypeError(f"HttpError: header {header!r} is not a (bytes, bytes) pair")
        pairs.append(header)
    return pairs


@final
class ClientDisconnected(Exception):
    """The client went away while its request body was being read."""


@final
class InvalidPath(ValueError):
    """The request path has invalid percent-encoding or is not UTF-8 (answered 400)."""


__all__ = ["ClientDisconnected", "HttpError", "InvalidPath"]
