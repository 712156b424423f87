"""Errors and checks shared by the in-process transports."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote_to_bytes

HeaderList = list[tuple[bytes, bytes]]


class ASGIProtocolError(RuntimeError):
    """The application broke the ASGI protocol (message order, types, or header form)."""


class ClientDisconnectedError(OSError):
    """Raised by `send()` once the client has gone away (ASGI HTTP spec 2.4)."""


def decode_path(raw_path: bytes) -> str:
    """Percent-decode a raw path as a server does (UTF-8, invalid bytes replaced)."""
    return unquote_to_bytes(raw_path).decode("utf-8", "replace")


def check_headers(value: object, what: str) -> HeaderList:
    """Return the headers as a list, or raise if they are not lower-case byte pairs."""
    if not isinstance(value, Iterable) or isinstance(value, bytes | str):
        raise ASGIProtocolError(f"{what}: headers must be an iterable of pairs, got {value!r}")
    headers: HeaderList = []
    for pair in value:
        try:
            name, header_value = pair
        except (TypeError, ValueError):
            raise ASGIProtocolError(f"{what}: header {pair!r} is not a pair") from None
        if not isinstance(name, bytes) or not isinstance(header_value, bytes):
            raise ASGIProtocolError(f"{what}: header {pair!r} is not a pair of bytes")
        if name != name.lower():
            raise ASGIProtocolError(f"{what}: header name {name!r} is not lower-case")
        headers.append((name, header_value))
    return headers
