"""Multiprocess mode in this process: prometheus-client's mmap values in a test directory.

prometheus-client picks where values live when it is imported; the tests switch it to its
multiprocess value class for the duration of one test. Real workers are in
`test_prometheus_wire.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, ProcessCollector, values
from prometheus_helpers import families, openmetrics, samples, start_hanging_request, value

from bareasgi import Application, Content, HttpResponse, Info, Matches, Scope, text_writer
from bareasgi.testing import TestClient
from bareasgi_prometheus import (
    DISCONNECTED_STATUS,
    add_prometheus,
    clear_multiprocess_directory,
    prometheus_state,
)

TEXT = [(b"content-type", b"text/plain")]


@pytest.fixture
def directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = clear_multiprocess_directory(tmp_path / "multiproc")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(path))
    monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue())  # type: ignore[no-untyped-call]
    yield path
    values.ValueClass.close_all_files()


def db_files(directory: Path) -> set[str]:
    """The kinds of prometheus-client files in the directory."""
    return {path.name.split("_")[0] for path in directory.glob("*.db")}


async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, TEXT, text_writer("Hello, World!")


async def boom(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    raise RuntimeError("expected by the test")


async def stream(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    async def body() -> AsyncIterator[bytes]:
        yield b"abc"
        yield b"de"

    return 200, TEXT, body()


async def test_multiprocess_mode_counts_into_the_directory(
    directory: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = Application(plugins={"prometheus": {"prefix": "mp_one"}})
    assert prometheus_state(app).multiprocess
    app.http_router.add({"GET"}, "/users/{user_id:int}", hello)
    app.http_router.add({"GET"}, "/boom", boom)
    app.http_router.add({"GET"}, "/stream", stream)
    async with TestClient(app) as client:
        for user_id in range(3):
            await client.get(f"/users/{user_id}")
        await client.get("/boom")
        assert (await client.get("/stream")).content == b"abcde"
        await client.head("/stream")
        await client.get("/missing")
        text = (await client.get("/metrics")).text
        om = (await client.get("/metrics", headers={"accept": "application/openmetrics-text"})).text
    for parsed in (families(text), openmetrics(om)):
        found = samples(parsed)
        users = {"method": "GET", "route": "/users/{user_id:int}"}
        assert value(found, "mp_one_requests_total", **users, status="200") == 3
        assert value(found, "mp_one_request_duration_seconds_count", **users) == 3
        assert value(found, "mp_one_response_body_bytes_total", **users) == 39
        assert value(found, "mp_one_requests_in_progress", **users) == 0
        assert value(found, "mp_one_requests_total", method="GET", route="/boom", status="500") == 1
        stream_labels = {"method": "GET", "route": "/stream"}
        assert value(found, "mp_one_response_body_bytes_total", **stream_labels) == 5
        head = {"method": "HEAD", "route": "/stream", "status": "200"}
        assert value(found, "mp_one_requests_total", **head) == 1
        unmatched = {"method": "GET", "route": "<unmatched>", "status": "404"}
        assert value(found, "mp_one_requests_total", **unmatched) == 1
    # Lifespan shutdown dropped this process's live gauge file; the counters stay.
    assert db_files(directory) == {"counter", "histogram"}


async def test_a_cancelled_request_in_multiprocess_mode(directory: Path) -> None:
    app = Application(plugins={"prometheus": {"prefix": "mp_two"}})
    task = await start_hanging_request(app)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with TestClient(app) as client:
        found = samples(families((await client.get("/metrics")).text))
    labels = {"method": "GET", "route": "/forever"}
    assert value(found, "mp_two_requests_total", **labels, status=str(DISCONNECTED_STATUS)) == 1
    assert value(found, "mp_two_requests_in_progress", **labels) == 0


def test_multiprocess_mode_needs_the_variable_before_the_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setattr(values, "ValueClass", values.MutexValue)
    with pytest.raises(RuntimeError, match="imported before"):
        Application(plugins={"prometheus": {}})
    with pytest.raises(ValueError, match="builds its own registry"):
        add_prometheus(Application(), registry=CollectorRegistry())


def test_clear_multiprocess_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a" / "b"
    assert clear_multiprocess_directory(target) == target
    (target / "counter_1.db").write_bytes(b"x")
    (target / "keep.txt").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(target))
    clear_multiprocess_directory()
    assert [path.name for path in target.iterdir()] == ["keep.txt"]
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    with pytest.raises(ValueError, match="not set"):
        clear_multiprocess_directory()


async def test_a_registry_of_ones_own_with_process_collectors_already() -> None:
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    app = Application()
    app.http_router.add({"GET"}, "/hello", hello)
    metrics = add_prometheus(app, registry=registry, multiprocess=False)
    assert metrics.registry is registry
    async with TestClient(app) as client:
        await client.get("/hello")
        found = samples(families((await client.get("/metrics")).text))
    assert value(found, "bareasgi_requests_total", method="GET", route="/hello", status="200") == 1
