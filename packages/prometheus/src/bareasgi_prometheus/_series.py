"""Where one (route, method) pair counts its requests.

Single-process mode counts in plain Python slots (`LocalSeries`): an int per status, a list of
bucket counts, a float sum. prometheus-client's `labels()`/`observe()` take a lock, hash the
label values and check types on every call, which costs more than a whole bareASGI hello world;
the slots are read by a custom collector only when the metrics are scraped.

Multiprocess mode must write to prometheus-client's mmap files, so `SharedSeries` holds the
library's own metric children, looked up once per (route, method) and status.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from time import perf_counter
from typing import Any, Final, Protocol, final

DISCONNECTED_STATUS: Final = 499
"""Counted when the client went away before any answer (nginx's convention)."""
ABANDONED_STATUS: Final = 500
"""Counted for a streaming body dropped unsent (core answered 500 instead)."""


class Series(Protocol):
    """What the middleware records into."""

    def begin(self) -> None:
        """A request starts."""

    def finish(self, status: int, size: int, start: float) -> None:
        """A request ended with `status` after `size` body bytes; `start` from `perf_counter`."""

    def abandon(self, status: int, size: int, start: float) -> None:
        """As `finish`, but safe to call from a finalizer (`__del__`)."""


@final
class LocalSeries:
    """Counters for one (route, method) pair, in plain slots."""

    __slots__ = ("bounds", "buckets", "bytes", "in_progress", "method", "route", "statuses", "sum")

    def __init__(self, route: str, method: str, bounds: tuple[float, ...]) -> None:
        self.route = route
        self.method = method
        self.bounds = bounds
        self.statuses: dict[int, int] = {}
        self.buckets = [0] * (len(bounds) + 1)
        """Per-bucket counts, not cumulative; the last is `+Inf`."""
        self.sum = 0.0
        self.in_progress = 0
        self.bytes = 0

    def begin(self) -> None:
        self.in_progress += 1

    def finish(self, status: int, size: int, start: float) -> None:
        duration = perf_counter() - start
        self.in_progress -= 1
        statuses = self.statuses
        try:
            statuses[status] += 1
        except KeyError:
            statuses[status] = 1
        # bisect_left: a value equal to a bound belongs to that bound's bucket (`le`).
        self.buckets[bisect_left(self.bounds, duration)] += 1
        self.sum += duration
        self.bytes += size

    abandon = finish  # plain arithmetic: safe anywhere


Pending = tuple["SharedSeries", int, int, float]
"""An abandoned request waiting to be recorded: series, status, size, duration."""


@final
class SharedSeries:
    """One (route, method) pair's children of prometheus-client's multiprocess metrics."""

    __slots__ = (
        "_bytes",
        "_duration",
        "_in_progress",
        "_labels",
        "_pending",
        "_requests",
        "_statuses",
    )

    def __init__(
        self,
        route: str,
        method: str,
        requests: Any,
        duration: Any,
        in_progress: Any,
        size: Any,
        pending: list[Pending],
    ) -> None:
        self._labels = (method, route)
        self._requests = requests
        self._statuses: dict[int, Any] = {}
        self._duration = duration.labels(method, route)
        self._in_progress = in_progress.labels(method, route)
        self._bytes = size.labels(method, route)
        self._pending = pending

    def begin(self) -> None:
        self._in_progress.inc()

    def finish(self, status: int, size: int, start: float) -> None:
        duration = perf_counter() - start
        pending = self._pending
        while pending:
            series, late_status, late_size, late_duration = pending.pop()
            series._record(late_status, late_size, late_duration)
        self._record(status, size, duration)

    def abandon(self, status: int, size: int, start: float) -> None:
        # prometheus-client's mmap values hold a non-reentrant lock while writing, and a
        # finalizer may run inside such a write: defer to the next request's `finish`.
        self._pending.append((self, status, size, perf_counter() - start))

    def _record(self, status: int, size: int, duration: float) -> None:
        self._in_progress.dec()
        child = self._statuses.get(status)
        if child is None:
            child = self._statuses[status] = self._requests.labels(*self._labels, str(status))
        child.inc()
        self._duration.observe(duration)
        if size:
            self._bytes.inc(size)


SeriesFactory = Callable[[str, str], Series]
"""Makes the series for (route label, method label)."""

__all__ = [
    "ABANDONED_STATUS",
    "DISCONNECTED_STATUS",
    "LocalSeries",
    "Pending",
    "Series",
    "SeriesFactory",
    "SharedSeries",
]
