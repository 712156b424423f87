"""Test helpers for bareASGI and any ASGI 3 application.

- `TestClient`: in-process HTTP (streaming both ways, HEAD bodies kept, disconnects),
  WebSockets (through httpx-ws) and lifespan (through asgi-lifespan).
- `StreamingASGITransport`: the httpx transport under it, usable on its own.
- `run_hypercorn`, `raw_http`, `parse_http_response`: wire tests against a real server;
  `run_uvicorn` and `run_granian` run the same way under uvicorn and granian.
- `assert_plugin_exports`, `assert_state_from_app_and_scope`,
  `assert_accessor_refuses_without_plugin`, `assert_bindable_middleware`, `spy_bind_handler`:
  the plugin package shape, checked by each plugin's contract tests.
- `chromium_or_skip`, `program_or_skip`, `in_ci`: a browser or program a test needs, skipped
  without it, a failure under CI (`CI` set), where the test command installs it.

Needs the `testing` extra: `pip install -e 'packages/core[testing]'`.
"""

from __future__ import annotations

from httpx_ws import WebSocketDisconnect, WebSocketUpgradeError

from ._browser import (
    APT_LINE,
    CHROMEDRIVER,
    CHROMIUM_FLAGS,
    OFFLINE_FLAG,
    BrowserUnavailable,
    chromium_or_skip,
    headless_chromium,
    in_ci,
    program_or_skip,
)
from ._client import LifespanShutdownFailed, LifespanStartupFailed, TestClient
from ._common import ASGIProtocolError, ClientDisconnectedError
from ._http import PUSHES_KEY, TRAILERS_KEY, StreamingASGITransport
from ._plugin import (
    assert_accessor_refuses_without_plugin,
    assert_bindable_middleware,
    assert_plugin_exports,
    assert_state_from_app_and_scope,
    spy_bind_handler,
)
from ._server import (
    HypercornServer,
    RawHttpTimeout,
    RawResponse,
    ServerProcess,
    parse_http_response,
    parse_http_responses,
    raw_http,
    run_granian,
    run_hypercorn,
    run_uvicorn,
)
from ._websocket import WebSocketSession, WebSocketStream

__all__ = [
    "APT_LINE",
    "CHROMEDRIVER",
    "CHROMIUM_FLAGS",
    "OFFLINE_FLAG",
    "PUSHES_KEY",
    "TRAILERS_KEY",
    "ASGIProtocolError",
    "BrowserUnavailable",
    "ClientDisconnectedError",
    "HypercornServer",
    "LifespanShutdownFailed",
    "LifespanStartupFailed",
    "RawHttpTimeout",
    "RawResponse",
    "ServerProcess",
    "StreamingASGITransport",
    "TestClient",
    "WebSocketDisconnect",
    "WebSocketSession",
    "WebSocketStream",
    "WebSocketUpgradeError",
    "assert_accessor_refuses_without_plugin",
    "assert_bindable_middleware",
    "assert_plugin_exports",
    "assert_state_from_app_and_scope",
    "chromium_or_skip",
    "headless_chromium",
    "in_ci",
    "parse_http_response",
    "parse_http_responses",
    "program_or_skip",
    "raw_http",
    "run_granian",
    "run_hypercorn",
    "run_uvicorn",
    "spy_bind_handler",
]
