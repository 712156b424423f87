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
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from node_helpers import in_ci, skip_unless_one_python

from bareasgi.testing import HypercornServer, run_hypercorn

TESTS_DIR: Final = Path(__file__).resolve().parent
CHROMEDRIVER: Final = Path("/usr/bin/chromedriver")
APT_LINE: Final = "apt-get install -y --no-install-recommends chromium chromium-driver"
TIMEOUT: Final = 30
CHROMIUM_FLAGS: Final = (
    "--headless=new",
    "--no-sandbox",  # Chromium refuses to run as root with its sandbox
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-default-browser-check",
    # Offline: no host name resolves, only the loopback address does.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)

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


def _browser_or_skip() -> str:
    skip_unless_one_python()
    chromium = shutil.which("chromium")
    missing = [
        what
        for what, present in (("chromium", chromium), ("chromedriver", CHROMEDRIVER.is_file()))
        if not present
    ]
    if missing:
        message = f"{' and '.join(missing)} not installed: as root, {APT_LINE}"
        if in_ci():
            pytest.fail(f"CI is set and {message}")
        pytest.skip(message)
    assert chromium is not None
    return chromium


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    chromium = _browser_or_skip()
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.selenium_manager import SeleniumManager
    except ImportError as error:  # the package's `test` extra brings it
        if in_ci():
            pytest.fail(f"CI is set and selenium is missing: {error}")
        pytest.skip(f"selenium is not installed: {error}")

    def offline(*args: object, **kwargs: object) -> None:
        raise AssertionError("Selenium Manager was asked for a driver: it must not go online")

    monkeypatch.setattr(SeleniumManager, "binary_paths", offline)
    monkeypatch.setenv("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    service = Service(
        executable_path=str(CHROMEDRIVER), log_output=str(tmp_path / "chromedriver.log")
    )
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.set_page_load_timeout(TIMEOUT)
        driver.set_script_timeout(TIMEOUT)
        yield driver
    finally:
        driver.quit()


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


def test_without_chromium_it_skips_or_in_ci_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    skip_unless_one_python()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium not installed"):
        _browser_or_skip()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set and chromium not installed"):
        _browser_or_skip()
