"""The metrics page: content negotiation between the text format and OpenMetrics, and gzip."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable
from typing import Any, Final

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder, generate_latest

from bareasgi.headers import parse_weighted, preferred

Encoder = Callable[[Any], bytes]

_MEDIA: Final = frozenset({"application/openmetrics-text", "text/plain"})
_GZIP: Final = ("gzip",)
_GZIP_ALIASES: Final = {"x-gzip": "gzip"}


def negotiate(accept: str) -> tuple[Encoder, str]:
    """The encoder and content type for an `Accept` header value.

    prometheus-client's `choose_encoder` takes the first OpenMetrics or text entry it meets and
    ignores `q` (so `q=0` still selects). Here the entries (core's `parse_weighted`: RFC 9110
    weights, an invalid `q` drops its entry) are ranked by `q` (ties in the order given, `q=0`
    refused), and each candidate in turn goes to `choose_encoder`, which knows the versions and
    escaping schemes the library can write; the first that it answers in its own media type
    wins. Without an acceptable candidate: the 0.0.4 text format.
    """
    candidates = [
        (-member.q, index, member)
        for index, member in enumerate(parse_weighted(accept))
        if member.q > 0.0 and member.value in _MEDIA
    ]
    for _, _, member in sorted(candidates):
        # Media types are case-insensitive (parse_weighted lower-cases them); choose_encoder
        # compares them exactly.
        encoder, content_type = choose_encoder(";".join([member.value, *member.params]))
        if content_type.startswith(member.value):
            return encoder, content_type
    return generate_latest, CONTENT_TYPE_PLAIN_0_0_4


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an `Accept-Encoding` value allows gzip (`q` honoured; `*` counts; `x-gzip` is
    gzip), by core's `preferred`."""
    return bool(preferred(accept_encoding, _GZIP, _GZIP_ALIASES))


def header_value(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str:
    """Every value of header `name`, joined with commas as RFC 9110 allows for lists."""
    values = [value for key, value in headers if key == name]
    return b",".join(values).decode("latin-1") if values else ""


def compress(data: bytes) -> bytes:
    """gzip at a moderate level; mtime 0 so equal pages compress equally."""
    return gzip.compress(data, compresslevel=6, mtime=0)


__all__ = ["Encoder", "accepts_gzip", "compress", "header_value", "negotiate"]
