"""A real browser decodes what we send: headless Chromium fetches a compressed page and text,
and reads an event stream through `EventSource`, each event while the stream is still open.

Debian's `chromium` and `chromium-driver` are used as installed (Selenium is pointed at
`/usr/bin/chromedriver`, Selenium Manager is never consulted). Runs on Python 3.12 only (one
Python of the test matrix is enough for a browser); without Chromium it is skipped, unless `CI`
is set, where it fails.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from compression_wire_app import PAGE_TEXT

from bareasgi.testing import HypercornServer, run_hypercorn

pytestmark = pytest.mark.skipif(
    sys.version_info[:2] != (3, 12), reason="the browser test runs on Python 3.12 only"
)

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
)

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


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _browser_or_skip() -> str:
    chromium = shutil.which("chromium")
    missing = [
        what
        for what, present in (("chromium", chromium), ("chromedriver", CHROMEDRIVER.is_file()))
        if not present
    ]
    if missing:
        message = f"{' and '.join(missing)} not installed: as root, {APT_LINE}"
        if _in_ci():
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
        if _in_ci():
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
