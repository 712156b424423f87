"""A real browser is the judge: headless Chromium fetches across two loopback origins.

The page is served by one hypercorn (`cors_browser_app:page`) and loaded from
`http://127.0.0.1:P1` (the allowed origin) or `http://localhost:P1` (another origin, not
allowed); the API is another hypercorn (`cors_browser_app:api`) on `http://127.0.0.1:P2`. The
page's script runs `fetch()` for each case and reports what the browser let it see; that verdict
is the assertion. Debian's `chromium` and `chromium-driver` are used as installed: Selenium is
pointed at `/usr/bin/chromedriver` and Selenium Manager is never consulted (nothing is
downloaded). Without Chromium the test is skipped, unless `CI` is set, where it fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from bareasgi.testing import (
    HypercornServer,
    chromium_or_skip,
    headless_chromium,
    parse_http_response,
    raw_http,
    run_hypercorn,
)

TESTS_DIR: Final = Path(__file__).resolve().parent

# Runs in the page; reports each case as "<status> <body>" or "blocked: <error>".
CASES_SCRIPT: Final = """
const api = arguments[0];
const done = arguments[arguments.length - 1];
async function attempt(request) {
  try { return await request(); } catch (error) { return 'blocked: ' + error.name; }
}
async function text(response) { return response.status + ' ' + await response.text(); }
(async () => {
  const results = {};
  results.simple = await attempt(async () => text(await fetch(api + '/simple')));
  results.login = await attempt(
    async () => text(await fetch(api + '/login', {credentials: 'include'})));
  results.credentialed = await attempt(
    async () => text(await fetch(api + '/whoami', {credentials: 'include'})));
  results.uncredentialed = await attempt(async () => text(await fetch(api + '/whoami')));
  results.preflighted_put = await attempt(async () => text(await fetch(api + '/things', {
    method: 'PUT', headers: {'X-Custom': 'hello', 'Content-Type': 'application/json'},
    body: '{"a": 1}'})));
  results.disallowed_method = await attempt(
    async () => text(await fetch(api + '/things', {method: 'DELETE'})));
  results.disallowed_header = await attempt(async () => text(await fetch(api + '/things', {
    method: 'PUT', headers: {'X-Forbidden': 'no'}})));
  results.exposed = await attempt(async () => {
    const response = await fetch(api + '/headers');
    return [response.headers.get('x-visible'), response.headers.get('x-hidden')];
  });
  return results;
})().then(done, (error) => done({error: String(error)}));
"""

OTHER_ORIGIN_SCRIPT: Final = """
const api = arguments[0];
const done = arguments[arguments.length - 1];
fetch(api + '/simple').then(
  async (response) => done(response.status + ' ' + await response.text()),
  (error) => done('blocked: ' + error.name));
"""


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    chromium_or_skip()
    with headless_chromium(tmp_path) as driver:
        yield driver


@pytest.fixture
def origins() -> Iterator[tuple[HypercornServer, HypercornServer]]:
    with run_hypercorn("cors_browser_app:page", cwd=TESTS_DIR) as page:
        env = {"CORS_BROWSER_PAGE_ORIGIN": page.base_url}
        with run_hypercorn("cors_browser_app:api", cwd=TESTS_DIR, env=env) as api:
            yield page, api


def _server_side(api: HypercornServer) -> dict[str, list[str]]:
    request = b"GET /reached HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    response = parse_http_response(raw_http(api.host, api.port, request, timeout=10.0))
    assert response.status == 200
    answer: dict[str, list[str]] = json.loads(response.body)
    return answer


def test_the_browser_agrees(browser: Any, origins: tuple[HypercornServer, HypercornServer]) -> None:
    page, api = origins
    assert page.base_url.startswith("http://127.0.0.1:")
    browser.get(page.base_url + "/")
    results = browser.execute_async_script(CASES_SCRIPT, api.base_url)
    assert results == {
        "simple": "200 simple",
        "login": "200 logged in",
        "credentialed": "200 alice",  # the cookie went with a credentialed request
        "uncredentialed": "200 nobody",  # and not without credentials
        "preflighted_put": '200 PUT hello {"a": 1}',
        "disallowed_method": "blocked: TypeError",
        "disallowed_header": "blocked: TypeError",
        "exposed": ["yes", None],
    }

    # The same page from another origin (localhost is not 127.0.0.1 to a browser).
    other = page.base_url.replace("127.0.0.1", "localhost")
    browser.get(other + "/")
    assert browser.execute_script("return location.origin") == other
    assert browser.execute_async_script(OTHER_ORIGIN_SCRIPT, api.base_url) == "blocked: TypeError"

    seen = _server_side(api)
    # The browser really preflighted, and the refused requests never reached a route.
    assert "OPTIONS /things PUT" in seen["received"]
    assert "OPTIONS /things DELETE" in seen["received"]
    assert seen["reached"].count("PUT /things") == 1
    assert "DELETE /things" not in seen["reached"]
    assert seen["reached"].count("GET /simple") == 2  # the other origin's arrives, unread
