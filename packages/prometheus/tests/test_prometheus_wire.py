"""The plugin behind a real hypercorn: one worker, then two sharing a multiprocess directory.

Requests go over raw sockets on loopback (`raw_http`), each on a connection of its own, so
that with two workers either may take any of them. Every wait is bounded; nothing asserts a
duration.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_helpers import (
    Samples,
    families,
    label_values,
    openmetrics,
    promtool_check,
    samples,
    value,
)

from bareasgi.testing import (
    HypercornServer,
    RawHttpTimeout,
    RawResponse,
    parse_http_response,
    raw_http,
    run_hypercorn,
)
from bareasgi_prometheus import UNMATCHED_ROUTE, clear_multiprocess_directory

TESTS_DIR: Final = Path(__file__).resolve().parent
TIMEOUT: Final = 10.0
REQUESTS: Final = "bareasgi_requests_total"
DURATION_COUNT: Final = "bareasgi_request_duration_seconds_count"
IN_PROGRESS: Final = "bareasgi_requests_in_progress"
BYTES: Final = "bareasgi_response_body_bytes_total"
USERS: Final = "/users/{user_id:int}"


def get(server: HypercornServer, target: str, *headers: str) -> RawResponse:
    """One GET on a connection of its own."""
    extra = "".join(f"{header}\r\n" for header in headers)
    request = f"GET {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{extra}\r\n"
    return parse_http_response(
        raw_http(server.host, server.port, request.encode(), timeout=TIMEOUT)
    )


def pid_of(response: RawResponse) -> int:
    header = response.header(b"x-pid")
    assert header is not None
    return int(header)


def scrape(server: HypercornServer, timeout: float = TIMEOUT) -> tuple[int, Samples]:
    """(the pid of the worker that answered, the samples of its page)."""
    request = b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    response = parse_http_response(raw_http(server.host, server.port, request, timeout=timeout))
    assert response.status == 200
    return pid_of(response), samples(families(response.body.decode()))


def wait_for(
    server: HypercornServer, done: Callable[[Samples], bool], what: str
) -> tuple[int, Samples]:
    """Scrape until `done(samples)` holds: (the worker that answered, its samples); bounded.

    A scrape that a held worker took in before it blocked gets no answer: it is given up
    after a short while and tried again on a new connection.
    """
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            scraper, found = scrape(server, timeout=1.0)
        except RawHttpTimeout:
            scraper, found = 0, {}
        if found and done(found):
            return scraper, found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not seen within {TIMEOUT} s: {found}")
        time.sleep(0.02)


def wait_until_idle(server: HypercornServer) -> None:
    """Poll (bounded) until the worker runs no HTTP call besides the one asking."""
    deadline = time.monotonic() + TIMEOUT
    request = b"GET /asgi-calls HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    while True:
        answer = parse_http_response(raw_http(server.host, server.port, request, timeout=TIMEOUT))
        assert answer.status == 200
        if answer.body == b"0":
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{answer.body.decode()} calls still running after {TIMEOUT} s")
        time.sleep(0.02)


# ---- one worker ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def single() -> Iterator[HypercornServer]:
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ, "the single-process tests need it unset"
    with run_hypercorn("prometheus_wire_app:app", cwd=TESTS_DIR) as server:
        yield server


def test_the_page_over_the_wire_passes_promtool_and_the_parsers(single: HypercornServer) -> None:
    assert get(single, "/users/5").status == 200
    assert get(single, "/users/5?x=" + "y" * 4000).status == 200
    assert get(single, "/nowhere/at/all").status == 404
    response = get(single, "/metrics", "Accept-Encoding: identity")
    assert response.status == 200
    assert response.header(b"content-type") == b"text/plain; version=0.0.4; charset=utf-8"
    checked = promtool_check(response.body)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    found = samples(families(response.body.decode()))
    assert value(found, REQUESTS, method="GET", route=USERS, status="200") >= 2
    assert value(found, REQUESTS, method="GET", route=UNMATCHED_ROUTE, status="404") >= 1
    assert "process_cpu_seconds_total" in {name for name, _ in found}

    om = get(single, "/metrics", "Accept: application/openmetrics-text; version=1.0.0")
    assert (om.header(b"content-type") or b"").startswith(b"application/openmetrics-text")
    found = samples(openmetrics(om.body.decode()))
    assert value(found, REQUESTS, method="GET", route=USERS, status="200") >= 2


def test_a_405_over_the_wire_is_labelled_with_the_template(single: HypercornServer) -> None:
    request = b"DELETE /users/3 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    response = parse_http_response(raw_http(single.host, single.port, request, timeout=TIMEOUT))
    assert response.status == 405
    _, found = scrape(single)
    assert value(found, REQUESTS, method="DELETE", route=USERS, status="405") == 1


def test_a_client_cut_off_mid_body_is_counted_once_with_the_status_sent(
    single: HypercornServer,
) -> None:
    labels = {"method": "GET", "route": "/endless"}
    with socket.create_connection((single.host, single.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"GET /endless HTTP/1.1\r\nHost: test\r\n\r\n")
        received = b""
        while b"tick 2\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, "the server closed before streaming"
            received += chunk
        assert received.startswith(b"HTTP/1.1 200 ")
        # While it streams it is in progress and not yet counted.
        _, found = scrape(single)
        assert value(found, IN_PROGRESS, **labels) == 1
        assert value(found, REQUESTS, **labels, status="200") == 0
    _, found = wait_for(
        single,
        lambda found: value(found, REQUESTS, **labels, status="200") == 1,
        "the cut-off request counted",
    )
    assert value(found, IN_PROGRESS, **labels) == 0
    assert value(found, DURATION_COUNT, **labels) == 1
    assert value(found, BYTES, **labels) >= len(b"tick 0\ntick 1\ntick 2\n")
    wait_until_idle(single)  # the cut-off request's call has returned: nothing more comes of it
    _, again = scrape(single)
    assert value(again, REQUESTS, **labels, status="200") == 1
    assert label_values(again, "status") <= {"200", "404", "405"}


# ---- two workers ------------------------------------------------------------------------------


class Gate:
    """Holds one worker's event loop in `/pid?gate=...` until opened."""

    def __init__(self, server: HypercornServer, path: Path) -> None:
        self.path = path
        self.response: RawResponse | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(server,), daemon=True)
        self._thread.start()

    def _run(self, server: HypercornServer) -> None:
        try:
            self.response = get(server, f"/pid?gate={self.path}")
        except BaseException as error:  # reported by open()
            self.error = error

    def open(self) -> int:
        """Open the gate; the pid of the worker it held."""
        self.path.touch()
        self._thread.join(TIMEOUT + 35)
        assert not self._thread.is_alive(), "the gated request never ended"
        assert self.error is None, self.error
        assert self.response is not None
        assert self.response.status == 200
        assert int(self.response.body) == pid_of(self.response)
        return pid_of(self.response)


def test_two_workers_report_the_sum_over_both(tmp_path: Path) -> None:
    directory = clear_multiprocess_directory(tmp_path / "multiproc")
    user_count = 40
    with run_hypercorn(
        "prometheus_wire_app:app",
        cwd=TESTS_DIR,
        env={"PROMETHEUS_MULTIPROC_DIR": str(directory)},
        workers=2,
    ) as server:
        for index in range(user_count):
            assert get(server, f"/users/{index}").status == 200
        pid_requests = 0
        scraped_by: dict[int, Samples] = {}
        workers: set[int] = set()
        for round_ in range(20):
            # Hold one worker; only the other can answer the scrape meanwhile, and it must
            # see the held request in progress in the other worker's files.
            gate = Gate(server, tmp_path / f"gate-{round_}")
            pid_requests += 1
            scraper, found = wait_for(
                server,
                lambda found: value(found, IN_PROGRESS, method="GET", route="/pid") == 1,
                "the held request in progress",
            )
            scraped_by[scraper] = found
            held = gate.open()
            assert held != scraper
            workers |= {held, scraper}
            if len(scraped_by) == 2:
                break
        assert len(workers) == 2, workers
        assert len(scraped_by) == 2, "both workers served a scrape"
        user_bytes = sum(len(f"user {index}") for index in range(user_count))
        for found in scraped_by.values():
            labels = {"method": "GET", "route": USERS}
            assert value(found, REQUESTS, **labels, status="200") == user_count
            assert value(found, DURATION_COUNT, **labels) == user_count
            assert value(found, BYTES, **labels) == user_bytes
            assert value(found, IN_PROGRESS, **labels) == 0
        _, final = scrape(server)
        assert value(final, REQUESTS, method="GET", route="/pid", status="200") == pid_requests
        assert value(final, IN_PROGRESS, method="GET", route="/pid") == 0
        checked = promtool_check(get(server, "/metrics", "Accept-Encoding: identity").body)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        pids = {int(name.stem.rsplit("_", 1)[1]) for name in directory.glob("counter_*.db")}
        assert pids == workers
    # A worker drops its live gauge at its lifespan shutdown, but hypercorn's master SIGTERMs
    # the other workers as soon as one has exited, which can cut a worker's shutdown short: its
    # file may stay. What a scrape after the restart sees is what matters: no request in
    # progress, from the files of these two workers only; the counters stay.
    left = {int(name.stem.rsplit("_", 1)[1]) for name in directory.glob("gauge_livesum_*.db")}
    assert left <= workers, (left, workers)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    after = samples(families(generate_latest(registry).decode()))
    for (name, series), number in after.items():
        if name == IN_PROGRESS:
            assert number == 0, (dict(series), number)
    assert value(after, REQUESTS, method="GET", route="/pid", status="200") == pid_requests
    assert len(list(directory.glob("counter_*.db"))) == 2
