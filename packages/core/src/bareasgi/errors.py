"""Exceptions that become HTTP answers."""

from __future__ import annotations

from typing import final

from .types import Headers


class HttpError(Exception):
    """Raise from a handler or middleware to answer with this response.

    Args:
        status: The HTTP status code.
        body: The response body; `str` is sent as UTF-8 text.
        headers: Response headers (a fresh copy is sent each time).
    """

    __slots__ = ("body", "headers", "status")

    def __init__(
        self, status: int, body: bytes | str | None = None, headers: Headers | None = None
    ) -> None:
        super().__init__(status, body)
        self.status = status
        self.body: bytes | None = body.encode() if isinstance(body, str) else body
        self.headers: Headers = list(headers) if headers else []

    def __repr__(self) -> str:
        return f"HttpError({self.status!r})"


@final
class ClientDisconnected(Exception):
    """The client went away while its request body was being read."""


@final
class InvalidPath(ValueError):
    """The request path has invalid percent-encoding or is not UTF-8 (answered 400)."""


__all__ = ["ClientDisconnected", "HttpError", "InvalidPath"]
