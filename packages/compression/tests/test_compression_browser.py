"""A real browser decodes what we send: headless Chromium fetches a compressed page and text,
and reads an event stream through `EventSource`, each event while the stream is still open.

Debian's `chromium` and `chromium-driver` are used as installed (Selenium is pointed at
`/usr/bin/chromedriver`, Selenium Manager is never consulted). Runs on Python 3.12 only (one
Python of the test matrix is enough for a browser); without Chromium it is skipped, unless `CI`
is set, where it fails.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from compression_wire_app import PAGE_TEXT

from bareasgi.testing import HypercornServer, chromium_or_skip, headless_chromium, run_hypercorn

pytestmark = pytest.mark.skipif(
    sys.version_info[:2] != (3, 12), reason="the browser test runs on Python 3.12 only"
)

TESTS_DIR: Final = Path(__file__).resolve().parent

FETCH_SCRIPT: Final = """
const done = arguments[arguments.length - 1];
(async () => {
  const chosen = await (await fetch('/negotiated')).text();
  const response = await fetch('/text');
  return {
    chosen: chosen,
    encoding: response.headers.get('content-encoding'),
    vary: response.headers.get('vary'),
    text: await response.text(),
  };
})().then(done, (error) => done({error: String(error)}));
"""

EVENTS_SCRIPT: Final = """
const done = arguments[arguments.length - 1];
const source = new EventSource('/events');
const seen = [];
source.onmessage = (event) => {
  seen.push(event.lastEventId + ' ' + event.data);
  if (seen.length === 3) { source.close(); done(seen); }
};
source.onerror = () => { source.close(); done({error: 'EventSource error', seen: seen}); };
"""


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    chromium_or_skip()
    with headless_chromium(tmp_path) as driver:
        yield driver


@pytest.fixture
def server() -> Iterator[HypercornServer]:
    with run_hypercorn("compression_wire_app:app", cwd=TESTS_DIR) as running:
        yield running


def test_chromium_reads_compressed_pages_and_events(browser: Any, server: HypercornServer) -> None:
    browser.get(server.base_url + "/")
    # The page itself came compressed (the browser asked), and rendered.
    assert browser.find_element("id", "text").text == PAGE_TEXT.strip()
    fetched = browser.execute_async_script(FETCH_SCRIPT)
    assert fetched.get("error") is None, fetched
    assert fetched["chosen"] in ("gzip", "br", "zstd"), fetched["chosen"]
    assert fetched["encoding"] == fetched["chosen"]
    assert fetched["vary"] == "accept-encoding"
    assert fetched["text"] == PAGE_TEXT
    # The stream never ends: three events seen means each was flushed as it was sent.
    seen = browser.execute_async_script(EVENTS_SCRIPT)
    assert seen == [f"{i} event {i} {'.' * 40}" for i in range(3)]
