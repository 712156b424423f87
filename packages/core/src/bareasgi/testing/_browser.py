"""Headless Chromium for tests that need a real browser as the judge (CORS, compression,
GraphiQL): Debian's `chromium` and `chromium-driver` as installed, driven by Selenium pointed
at `/usr/bin/chromedriver`, with Selenium Manager kept out (nothing is downloaded).

Selenium comes with the test extra of the package whose tests use it; it is imported only
here, when a browser is asked for.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

CHROMEDRIVER: Final = Path("/usr/bin/chromedriver")
APT_LINE: Final = "apt-get install -y --no-install-recommends chromium chromium-driver"
CHROMIUM_FLAGS: Final = (
    "--headless=new",
    "--no-sandbox",  # Chromium refuses to run as root with its sandbox
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # without these, a closed network refuses many
    "--disable-component-update",  # connections at every start
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-default-browser-check",
)
OFFLINE_FLAG: Final = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
"""No host name resolves, only the loopback address does: a page that reaches for a CDN fails."""


class BrowserUnavailable(Exception):
    """Chromium, ChromeDriver or Selenium is not installed (the message says how to get it)."""


def in_ci() -> bool:
    """Whether `CI` is set (to anything but empty, 0, false or no): there, a missing browser is
    a failure, not a reason to skip."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def chromium_or_skip() -> str:
    """The path of Chromium, after checking ChromeDriver and Selenium are there too; otherwise
    the calling test is skipped, or fails when `in_ci()`."""
    import pytest

    try:
        return _find_chromium()
    except BrowserUnavailable as error:
        if in_ci():
            pytest.fail(f"CI is set and {error}")
        pytest.skip(str(error))


def program_or_skip(name: str, install: str) -> str:
    """The path of the program `name` on PATH; otherwise the calling test is skipped, or fails
    when `in_ci()` (where the test command installs it), saying how to install it
    (`install`, e.g. "apt-get install -y curl")."""
    import pytest

    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed: as root, {install}"
        if in_ci():
            pytest.fail(f"CI is set and {message}")
        pytest.skip(message)
    return path


def _find_chromium() -> str:
    chromium = shutil.which("chromium")
    missing = [
        what
        for what, present in (("chromium", chromium), ("chromedriver", CHROMEDRIVER.is_file()))
        if not present
    ]
    if missing:
        raise BrowserUnavailable(f"{' and '.join(missing)} not installed: as root, {APT_LINE}")
    try:
        import selenium  # noqa: F401
    except ImportError as error:
        raise BrowserUnavailable(f"selenium is not installed: {error}") from None
    assert chromium is not None
    return chromium


@contextmanager
def headless_chromium(
    profile_dir: Path,
    *,
    flags: Sequence[str] = (),
    capabilities: Mapping[str, Any] | None = None,
    timeout: float = 30,
) -> Iterator[Any]:
    """A Selenium WebDriver on headless Chromium, quit on the way out.

    `profile_dir` holds the browser's fresh profile and ChromeDriver's log; `flags` are added
    to `CHROMIUM_FLAGS` (`OFFLINE_FLAG`, say); `capabilities` are set on the options. Page
    loads and scripts time out after `timeout` seconds. Selenium Manager is never consulted:
    asking it for a driver raises.

    Raises:
        BrowserUnavailable: Chromium, ChromeDriver or Selenium is missing.
    """
    chromium = _find_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.selenium_manager import SeleniumManager

    def offline(*args: object, **kwargs: object) -> None:
        raise AssertionError("Selenium Manager was asked for a driver: it must not go online")

    # A driver path in the Service keeps Selenium Manager out; make sure it stays out.
    saved_binary_paths = SeleniumManager.binary_paths
    saved_offline = os.environ.get("SE_OFFLINE")
    SeleniumManager.binary_paths = offline  # type: ignore[method-assign, assignment]
    os.environ["SE_OFFLINE"] = "true"
    try:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in (*CHROMIUM_FLAGS, *flags):
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile_dir / 'profile'}")
        for name, value in (capabilities or {}).items():
            options.set_capability(name, value)
        service = Service(
            executable_path=str(CHROMEDRIVER), log_output=str(profile_dir / "chromedriver.log")
        )
        driver = webdriver.Chrome(service=service, options=options)
        try:
            driver.set_page_load_timeout(timeout)
            driver.set_script_timeout(timeout)
            yield driver
        finally:
            driver.quit()
    finally:
        SeleniumManager.binary_paths = saved_binary_paths  # type: ignore[method-assign]
        if saved_offline is None:
            os.environ.pop("SE_OFFLINE", None)
        else:
            os.environ["SE_OFFLINE"] = saved_offline
