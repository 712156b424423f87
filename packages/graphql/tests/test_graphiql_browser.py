"""GraphiQL in headless Chromium, offline: the page loads with no request leaving loopback,
a query typed into it returns its result, and a subscription streams into it (graphql-ws over
the same path).

Debian's `chromium` and `chromium-driver` are used as installed: Selenium is pointed at
`/usr/bin/chromedriver` and Selenium Manager is never consulted. Chromium is also told to
resolve no host name but 127.0.0.1, so a CDN reference could not load even by accident, and
every request the page makes is read from Chromium's performance log. Runs on Python 3.12
only; without Chromium it is skipped, unless `CI` is set, where it fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from node_helpers import skip_unless_one_python

from bareasgi.testing import (
    OFFLINE_FLAG,
    HypercornServer,
    chromium_or_skip,
    headless_chromium,
    run_hypercorn,
)

TESTS_DIR: Final = Path(__file__).resolve().parent

# Runs in the page: put `query` in GraphiQL's editor, run it, and wait until the response
# pane shows `expected` (or time out).
RUN_SCRIPT: Final = """
const [query, expected] = arguments;
const done = arguments[arguments.length - 1];
const started = Date.now();
function editor(selector) {
  const element = document.querySelector(selector + ' .CodeMirror');
  return element && element.CodeMirror;
}
(function attempt() {
  const input = editor('.graphiql-query-editor');
  const button = document.querySelector('.graphiql-execute-button');
  if (!input || !button) {
    if (Date.now() - started > 20000) { done({error: 'GraphiQL did not render'}); return; }
    setTimeout(attempt, 50);
    return;
  }
  input.setValue(query);
  button.click();
  let clicked = Date.now();
  (function wait() {
    const output = editor('.graphiql-response');
    const text = output ? output.getValue() : '';
    if (text.includes(expected)) { done({text}); return; }
    if (Date.now() - started > 20000) { done({error: 'no result', text}); return; }
    // GraphiQL parses the editor's text a moment after it changes, and picks the transport
    // (WebSocket for a subscription) from that parse: run it again once it has caught up.
    if (text.includes('"errors"') && Date.now() - clicked > 500) {
      button.click();
      clicked = Date.now();
    }
    setTimeout(wait, 50);
  })();
})();
"""


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    skip_unless_one_python()
    chromium_or_skip()
    logs = {"goog:loggingPrefs": {"performance": "ALL", "browser": "ALL"}}
    with headless_chromium(tmp_path, flags=(OFFLINE_FLAG,), capabilities=logs) as driver:
        yield driver


@pytest.fixture
def server() -> Iterator[HypercornServer]:
    with run_hypercorn("graphiql_app:app", cwd=TESTS_DIR) as running:
        yield running


def _requested(browser: Any) -> tuple[list[str], list[str]]:
    """Every URL the page asked for, and the ids of its requests carrying an introspection."""
    urls = []
    introspections = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            request = message["params"]["request"]
            urls.append(request["url"])
            if "IntrospectionQuery" in request.get("postData", ""):
                introspections.append(message["params"]["requestId"])
        elif message["method"] == "Network.webSocketCreated":
            urls.append(message["params"]["url"])
    return urls, introspections


def test_graphiql_offline_query_and_subscription(browser: Any, server: HypercornServer) -> None:
    base = f"http://{server.host}:{server.port}"
    browser.get(f"{base}/graphql")
    assert "GraphiQL" in browser.title
    result = browser.execute_async_script(RUN_SCRIPT, "{ hello }", '"hello": "world"')
    assert "error" not in result, result
    assert json.loads(result["text"]) == {"data": {"hello": "world"}}
    result = browser.execute_async_script(RUN_SCRIPT, "subscription { count(to: 3) }", '"count": 3')
    assert "error" not in result, result
    urls, introspections = _requested(browser)
    # GraphiQL's own introspection query passed the depth limit: the schema came back.
    assert introspections
    for request_id in introspections:
        answer = browser.execute_cdp_cmd("Network.getResponseBody", {"requestId": request_id})
        assert "__schema" in json.loads(answer["body"])["data"]
    assert f"{base}/graphql" in urls
    assert any(url.startswith(f"{base}/graphql/_assets/graphiql.min.js") for url in urls)
    assert f"ws://{server.host}:{server.port}/graphql" in urls
    # Network requests only (chrome:// pages are the browser's own, never on the network).
    network = [url for url in urls if url.startswith(("http:", "https:", "ws:", "wss:"))]
    leaving = [
        url
        for url in network
        if not url.startswith((base + "/", f"ws://{server.host}:{server.port}/"))
    ]
    assert leaving == []
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
