"""The counting itself: bucket edges, the metered body, the deferred records of shared series."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from prometheus_helpers import call, families, samples, value

import bareasgi_prometheus._metrics as metrics_module
import bareasgi_prometheus._series as series_module
from bareasgi import Application, Content, HttpResponse, Info, Matches, Scope, text_writer
from bareasgi_prometheus import ABANDONED_STATUS
from bareasgi_prometheus._metrics import _MeteredBody
from bareasgi_prometheus._series import LocalSeries, Pending, SharedSeries


class FakeClock:
    """perf_counter stand-in: each request starts at 100 and lasts `durations[i]`."""

    def __init__(self, durations: list[float]) -> None:
        self._times: Iterator[float] = iter(
            [t for duration in durations for t in (100.0, 100.0 + duration)]
        )

    def __call__(self) -> float:
        return next(self._times)


def test_a_duration_equal_to_a_bound_is_in_that_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    bounds = (0.25, 0.5, 1.0)
    series = LocalSeries("/r", "GET", bounds)
    durations = [0.0, 0.25, 0.2500001, 0.5, 1.0, 1.5, 1000.0]
    # Each request starts at 0.0 and ends when the fake clock says.
    monkeypatch.setattr(series_module, "perf_counter", iter(durations).__next__)
    for _ in durations:
        series.begin()
        series.finish(200, 1, 0.0)
    assert series.buckets == [2, 2, 1, 2]
    assert series.statuses == {200: 7}
    assert series.in_progress == 0
    assert series.bytes == 7
    assert series.sum == pytest.approx(sum(durations))


async def test_the_inline_path_puts_durations_in_the_same_buckets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    durations = [0.0, 0.25, 0.2500001, 0.5, 1.0, 1.5, 1000.0]
    # The middleware keeps the clock it was built with: patch before building.
    monkeypatch.setattr(metrics_module, "perf_counter", FakeClock(durations))

    async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, [], text_writer("hi")

    app = Application(plugins={"prometheus": {"multiprocess": False, "buckets": [0.25, 0.5, 1.0]}})
    app.http_router.add({"GET"}, "/hello", hello)
    for _ in durations:
        assert await call(app, "GET", b"/hello") == (200, b"hi")
    _, page = await call(app, "GET", b"/metrics")
    found = samples(families(page.decode()))
    name = "bareasgi_request_duration_seconds_bucket"
    labels = {"method": "GET", "route": "/hello"}
    cumulative = [value(found, name, **labels, le=le) for le in ("0.25", "0.5", "1.0", "+Inf")]
    assert cumulative == [2, 4, 5, 7]
    total = value(found, "bareasgi_request_duration_seconds_sum", **labels)
    assert total == pytest.approx(sum(durations))


class Recorder:
    """A series that remembers what it was told."""

    def __init__(self) -> None:
        self.finished: list[tuple[int, int]] = []
        self.abandoned: list[tuple[int, int]] = []

    def begin(self) -> None:
        pass

    def finish(self, status: int, size: int, start: float) -> None:
        self.finished.append((status, size))

    def abandon(self, status: int, size: int, start: float) -> None:
        self.abandoned.append((status, size))


class Source:
    """An async iterator of chunks that can fail, and says whether it was closed."""

    def __init__(self, chunks: list[Any], fail_after: int | None = None) -> None:
        self.chunks = chunks
        self.fail_after = fail_after
        self.closed = False
        self.index = 0

    def __aiter__(self) -> Source:
        return self

    async def __anext__(self) -> Any:
        if self.fail_after is not None and self.index == self.fail_after:
            raise RuntimeError("the body failed")
        if self.index >= len(self.chunks):
            raise StopAsyncIteration
        self.index += 1
        return self.chunks[self.index - 1]

    async def aclose(self) -> None:
        self.closed = True


async def test_a_body_read_to_the_end_then_closed_is_recorded_once() -> None:
    recorder, source = Recorder(), Source([b"ab", bytearray(b"cde"), memoryview(b"f"), b""])
    body = _MeteredBody(source, recorder, 200, 0.0)
    assert [chunk async for chunk in body] == [b"ab", bytearray(b"cde"), memoryview(b"f"), b""]
    await body.aclose()
    assert recorder.finished == [(200, 6)]
    assert source.closed
    del body
    assert recorder.abandoned == []


async def test_a_body_closed_unread_closes_its_source_and_is_recorded_once() -> None:
    finally_ran = []

    async def generator() -> AsyncIterator[bytes]:
        try:
            yield b"never"
        finally:
            finally_ran.append(True)

    recorder = Recorder()
    started = generator()
    await anext(started)  # so that closing it runs its finally
    body = _MeteredBody(started, recorder, 304, 0.0)
    await body.aclose()
    await body.aclose()
    assert finally_ran == [True]
    assert recorder.finished == [(304, 0)]


async def test_a_body_that_fails_is_recorded_with_the_status_sent() -> None:
    recorder, source = Recorder(), Source([b"abc", b"def"], fail_after=1)
    body = _MeteredBody(source, recorder, 200, 0.0)
    iterator = aiter(body)
    assert aiter(body) is iterator
    assert await anext(iterator) == b"abc"
    with pytest.raises(RuntimeError, match="the body failed"):
        await anext(iterator)
    await body.aclose()
    assert recorder.finished == [(200, 3)]


async def test_a_body_without_aclose_and_one_dropped_unsent() -> None:
    class Plain:
        def __aiter__(self) -> AsyncIterator[bytes]:
            return Source([b"xyz"])

    recorder = Recorder()
    body = _MeteredBody(Plain(), recorder, 200, 0.0)
    assert [chunk async for chunk in body] == [b"xyz"]
    await body.aclose()
    assert recorder.finished == [(200, 3)]

    dropped = Recorder()
    _MeteredBody(Plain(), dropped, 200, 0.0)  # never iterated nor closed, then gone
    assert dropped.abandoned == [(ABANDONED_STATUS, 0)]
    assert dropped.finished == []


class FakeChild:
    def __init__(self, log: list[str], name: str) -> None:
        self.log = log
        self.name = name

    def labels(self, *values: str) -> FakeChild:
        return FakeChild(self.log, f"{self.name}{list(values)}")

    def inc(self, amount: float = 1) -> None:
        self.log.append(f"{self.name}+{amount}")

    def dec(self, amount: float = 1) -> None:
        self.log.append(f"{self.name}-{amount}")

    def observe(self, amount: float) -> None:
        self.log.append(f"{self.name} observed")


def test_a_shared_series_defers_what_a_finalizer_abandons() -> None:
    log: list[str] = []
    pending: list[Pending] = []
    requests, duration, live, size = (
        FakeChild(log, name) for name in ("requests", "duration", "live", "bytes")
    )
    first = SharedSeries("/a", "GET", requests, duration, live, size, pending=pending)
    second = SharedSeries("/b", "GET", requests, duration, live, size, pending=pending)
    first.begin()
    first.abandon(500, 0, 0.0)
    assert log == ["live['GET', '/a']+1"]  # nothing written from the finalizer
    second.begin()
    second.finish(200, 5, 0.0)
    assert log[1:] == [
        "live['GET', '/b']+1",
        "live['GET', '/a']-1",
        "requests['GET', '/a', '500']+1",
        "duration['GET', '/a'] observed",
        "live['GET', '/b']-1",
        "requests['GET', '/b', '200']+1",
        "duration['GET', '/b'] observed",
        "bytes['GET', '/b']+5",
    ]
    assert pending == []
