"""What core's in-process tests share (imported by name, as each package's `*_helpers`)."""

from __future__ import annotations

from bareasgi import Scope


def scope_for(path: str, method: str = "GET", body: bytes = b"") -> Scope:
    """An HTTP scope as a server builds one (ASGI 2.4), with a content-length for `body`."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-length", str(len(body)).encode())] if body else [],
    }
