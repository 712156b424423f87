"""The metrics page: content negotiation between the text format and OpenMetrics, and gzip."""

from __future__ import annotations

import gzip
import math
from collections.abc import Callable, Iterable
from typing import Any, Final

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder, generate_latest

Encoder = Callable[[Any], bytes]

_OPENMETRICS: Final = "application/openmetrics-text"
_TEXT: Final = "text/plain"


def _quality(params: list[str]) -> float | None:
    """The `q` of a list element's parameters: 1.0 when absent, None when not a valid q."""
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return None
            return q if 0.0 <= q <= 1.0 else None
    return 1.0


def negotiate(accept: str) -> tuple[Encoder, str]:
    """The encoder and content type for an `Accept` header value.

    prometheus-client's `choose_encoder` takes the first OpenMetrics or text entry it meets and
    ignores `q` (so `q=0` still selects). Here the entries are ranked by `q` (ties in the
    order given, `q=0` refused), and each candidate in turn goes to `choose_encoder`, which
    knows the versions and escaping schemes the library can write; the first that it answers
    in its own media type wins. Without an acceptable candidate: the 0.0.4 text format.
    """
    candidates: list[tuple[float, int, str, str]] = []
    for index, item in enumerate(accept.split(",")):
        media, *params = item.split(";")
        media = media.strip().lower()
        if media not in (_OPENMETRICS, _TEXT):
            continue
        q = _quality(params)
        if q is None or q <= 0.0 or math.isnan(q):
            continue
        # Media types are case-insensitive; choose_encoder compares them exactly.
        candidates.append((-q, index, media, ";".join([media, *params])))
    for _, _, media, item in sorted(candidates):
        encoder, content_type = choose_encoder(item)
        if content_type.startswith(media):
            return encoder, content_type
    return generate_latest, CONTENT_TYPE_PLAIN_0_0_4


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an `Accept-Encoding` value allows gzip (`q` honoured; `*` counts)."""
    gzip_q: float | None = None
    star_q: float | None = None
    for item in accept_encoding.split(","):
        coding, *params = item.split(";")
        coding = coding.strip().lower()
        if coding in ("gzip", "x-gzip"):
            q = _quality(params)
            if q is not None:
                gzip_q = max(gzip_q or 0.0, q)
        elif coding == "*":
            star_q = _quality(params)
    if gzip_q is not None:
        return gzip_q > 0.0
    return star_q is not None and star_q > 0.0


def header_value(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str:
    """Every value of header `name`, joined with commas as RFC 9110 allows for lists."""
    values = [value for key, value in headers if key == name]
    return b",".join(values).decode("latin-1") if values else ""


def compress(data: bytes) -> bytes:
    """gzip at a moderate level; mtime 0 so equal pages compress equally."""
    return gzip.compress(data, compresslevel=6, mtime=0)


__all__ = ["Encoder", "accepts_gzip", "compress", "header_value", "negotiate"]
