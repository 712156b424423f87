"""The metrics of one application: the middleware that counts, and the page that shows them."""

from __future__ import annotations

import asyncio
import os
from bisect import bisect_left
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from time import perf_counter
from typing import Any, Final, cast, final

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from bareasgi import (
    ROUTE_KEY,
    BindableMiddleware,
    BytesBody,
    ChunkedBody,
    ClientDisconnected,
    Content,
    HttpError,
    HttpHandler,
    HttpResponse,
    Info,
    Matches,
    Route,
    Scope,
    bindable,
    final_status,
)

from ._exposition import accepts_gzip, compress, header_value, negotiate
from ._options import MULTIPROC_DIR_VARIABLE, PrometheusOptions
from ._series import (
    ABANDONED_STATUS,
    DISCONNECTED_STATUS,
    LocalSeries,
    Pending,
    Series,
    SharedSeries,
)

UNMATCHED_ROUTE: Final = "<unmatched>"
"""The route label of requests that matched no route (404s, and 400s for bad paths)."""
OTHER_METHOD: Final = "other"
"""The method label of a method that is neither standard nor one of the matched route's."""
STANDARD_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"}
)

Headers = list[tuple[bytes, bytes]]

_CHECKED_MAX: Final = 1024
"""At most this many header pairs are remembered as valid (see `_remember_headers`)."""

_STATUS_TEXT: Final = tuple(str(status) for status in range(600))
_LABELS: Final = ("method", "route")
_STATUS_LABELS: Final = ("method", "route", "status")


def _help(prefix: str) -> dict[str, tuple[str, str]]:
    """Metric family names (without `_total`) and help texts."""
    return {
        "requests": (f"{prefix}_requests", "HTTP requests answered, by method, route and status."),
        "duration": (
            f"{prefix}_request_duration_seconds",
            "Time from the request reaching the middleware to the end of its response body.",
        ),
        "in_progress": (
            f"{prefix}_requests_in_progress",
            "HTTP requests being handled or sending their response body.",
        ),
        "bytes": (f"{prefix}_response_body_bytes", "Response body bytes sent."),
    }


@final
class PrometheusMetrics:
    """Request metrics for one application, and the registry they are exposed from.

    The `prometheus` plugin's state (`add_prometheus` enables the plugin); handlers reach it
    with `prometheus_state(app)` or `prometheus_state(scope)`.

    Attributes:
        options: The options it was made with.
        registry: The registry `/metrics` shows. In single-process mode, register your own
            metrics here (`Counter(..., registry=metrics.registry)`); in multiprocess mode it
            holds prometheus-client's `MultiProcessCollector`, which shows every metric
            written to the multiprocess directory.
        multiprocess: Whether metrics are shared between workers through the directory.
    """

    def __init__(self, options: PrometheusOptions | None = None) -> None:
        options = options if options is not None else PrometheusOptions()
        problems = options.problems()
        if problems:
            raise ValueError("invalid Prometheus options: " + "; ".join(problems))
        self.options = options
        self.multiprocess = options.use_multiprocess
        self._bounds = options.finite_buckets
        self._tables: dict[Route, dict[str, Series]] = {}
        """Each matched route's table, shared by routes with the same template."""
        self._by_label: dict[str, dict[str, Series]] = {}
        """method label -> series, by route label."""
        self._unmatched = self._table(UNMATCHED_ROUTE)
        self._series: list[Series] = []
        excluded = set(options.exclude_paths)
        if options.exclude_metrics_route:
            excluded.add(options.path)
        self._excluded: frozenset[str] = frozenset(excluded)
        self._directory: str | None = None
        self._shared: tuple[Any, Any, Any, Any] | None = None
        """prometheus-client's metrics, in multiprocess mode."""
        self._pending: list[Pending] = []
        self._checked: set[tuple[bytes, bytes]] = set()
        """Header pairs `final_status` found valid: the middleware's fast path trusts these."""
        if self.multiprocess:
            self.registry = self._multiprocess_registry()
        else:
            registry = options.registry
            self.registry = registry if registry is not None else CollectorRegistry()
            self.registry.register(_LocalCollector(self))
            if options.process_metrics:
                _add_process_collectors(self.registry)
        self.middleware: BindableMiddleware = _make_middleware(self)
        """The tuple middleware that counts (add it once, outermost for the fullest view)."""

    # ---- series -----------------------------------------------------------------------------

    def _table(self, label: str) -> dict[str, Series]:
        table = self._by_label.get(label)
        if table is None:
            table = self._by_label[label] = {}
        return table

    def series_for(self, route: Route | None, method: str) -> Series | None:
        """The series a request is counted in; None when its route is excluded.

        The slow path, taken once per (route, method) and for every method outside the
        standard ones and the route's own (counted as 'other').
        """
        table: dict[str, Series] | None
        if route is None:
            table = self._unmatched
        else:
            if route.template in self._excluded:
                return None
            table = self._tables.get(route)
            if table is None:
                table = self._tables[route] = self._table(route.template)
        if method in STANDARD_METHODS or (route is not None and method in route.methods):
            label = method
        else:
            label = OTHER_METHOD
        series = table.get(label)
        if series is None:
            series = table[label] = self._new_series(
                route.template if route is not None else UNMATCHED_ROUTE, label
            )
            self._series.append(series)
        return series

    def _new_series(self, route: str, method: str) -> Series:
        if self._shared is not None:
            return SharedSeries(route, method, *self._shared, pending=self._pending)
        return LocalSeries(route, method, self._bounds)

    @property
    def series_count(self) -> int:
        """How many (route, method) series exist: bounded by the routes, never by requests."""
        return len(self._series)

    def is_excluded_path(self, path: str) -> bool:
        """Whether an unmatched request to `path` is left out."""
        return path in self._excluded

    # ---- multiprocess -----------------------------------------------------------------------

    def _multiprocess_registry(self) -> CollectorRegistry:
        from prometheus_client import Counter, Gauge, Histogram, values
        from prometheus_client.multiprocess import MultiProcessCollector

        directory = os.environ.get(MULTIPROC_DIR_VARIABLE)
        if not directory or not Path(directory).is_dir():
            raise ValueError(
                f"multiprocess mode needs ${MULTIPROC_DIR_VARIABLE} set to an existing "
                f"directory (it is {directory!r})"
            )
        if not getattr(values.ValueClass, "_multiprocess", False):
            raise RuntimeError(
                f"prometheus_client was imported before ${MULTIPROC_DIR_VARIABLE} was set, so "
                "its metrics live in memory only: set the variable in the server's environment"
            )
        self._directory = directory
        names = _help(self.options.prefix)
        name, text = names["requests"]
        requests = Counter(name, text, _STATUS_LABELS, registry=None)
        name, text = names["duration"]
        duration = Histogram(name, text, _LABELS, registry=None, buckets=self._bounds)
        name, text = names["in_progress"]
        # livesum: the sum over live workers; a worker's file goes at its shutdown.
        in_progress = Gauge(name, text, _LABELS, registry=None, multiprocess_mode="livesum")
        name, text = names["bytes"]
        size = Counter(name, text, _LABELS, registry=None)
        self._shared = (requests, duration, in_progress, size)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        return registry

    def mark_process_dead(self, pid: int | None = None) -> None:
        """Drop a worker's live gauges from the multiprocess directory (default: this one's).

        The lifespan does it for the worker itself at shutdown; a process manager that
        restarts crashed workers can call it for them.
        """
        if self._directory is not None:
            from prometheus_client.multiprocess import mark_process_dead

            pid = os.getpid() if pid is None else pid
            mark_process_dead(pid, self._directory)  # type: ignore[no-untyped-call]

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """At shutdown, in multiprocess mode, drop this worker's in-progress gauge."""
        try:
            yield
        finally:
            self.mark_process_dead()

    # ---- the page ---------------------------------------------------------------------------

    def _finish_page(
        self, data: bytes, content_type: str, accept_encoding: str
    ) -> tuple[bytes, Headers]:
        headers: Headers = [(b"content-type", content_type.encode("latin-1"))]
        if self.options.gzip:
            headers.append((b"vary", b"accept, accept-encoding"))
            if accept_encoding and accepts_gzip(accept_encoding):
                data = compress(data)
                headers.append((b"content-encoding", b"gzip"))
        else:
            headers.append((b"vary", b"accept"))
        return data, headers

    async def endpoint(
        self, scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        """The metrics route's handler."""
        request_headers = scope["headers"]
        accept = header_value(request_headers, b"accept")
        accept_encoding = header_value(request_headers, b"accept-encoding")
        encoder, content_type = negotiate(accept)
        if self.multiprocess:
            # Reading every worker's files is disk work: keep it off the event loop.
            data = await asyncio.to_thread(encoder, self.registry)
        else:
            data = encoder(self.registry)
        body, headers = self._finish_page(data, content_type, accept_encoding)
        return 200, headers, body

    # ---- the collector ----------------------------------------------------------------------

    def collect(self) -> list[Metric]:
        """The request metrics as metric families (single-process mode)."""
        names = _help(self.options.prefix)
        requests = CounterMetricFamily(*names["requests"], labels=_STATUS_LABELS)
        duration = HistogramMetricFamily(*names["duration"], labels=_LABELS, unit="seconds")
        in_progress = GaugeMetricFamily(*names["in_progress"], labels=_LABELS)
        size = CounterMetricFamily(*names["bytes"], labels=_LABELS, unit="bytes")
        les = [*(_go_float(bound) for bound in self._bounds), "+Inf"]
        # Copies, so that a scrape from another thread never sees a dict change size.
        for series in tuple(self._series):
            if not isinstance(series, LocalSeries):
                continue
            labels = [series.method, series.route]
            for status, count in sorted(series.statuses.copy().items()):
                requests.add_metric([*labels, _STATUS_TEXT[status]], count)
            buckets = []
            total = 0
            for le, count in zip(les, tuple(series.buckets), strict=True):
                total += count
                buckets.append((le, float(total)))
            duration.add_metric(labels, buckets, series.sum)
            in_progress.add_metric(labels, series.in_progress)
            size.add_metric(labels, series.bytes)
        return [requests, duration, in_progress, size]

    def describe(self) -> list[Metric]:
        names = _help(self.options.prefix)
        return [
            CounterMetricFamily(*names["requests"], labels=_STATUS_LABELS),
            HistogramMetricFamily(*names["duration"], labels=_LABELS, unit="seconds"),
            GaugeMetricFamily(*names["in_progress"], labels=_LABELS),
            CounterMetricFamily(*names["bytes"], labels=_LABELS, unit="bytes"),
        ]


def _go_float(value: float) -> str:
    """A bucket bound written as prometheus-client writes `le` labels."""
    text: str = floatToGoString(value)  # type: ignore[no-untyped-call]
    return text


@final
class _LocalCollector(Collector):
    """Shows a `PrometheusMetrics`' slots at scrape time."""

    def __init__(self, metrics: PrometheusMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self._metrics.collect()

    def describe(self) -> Iterable[Metric]:
        return self._metrics.describe()


def _add_process_collectors(registry: CollectorRegistry) -> None:
    from prometheus_client import GCCollector, PlatformCollector, ProcessCollector

    for collector in (ProcessCollector, PlatformCollector, GCCollector):
        try:
            collector(registry=registry)
        except ValueError:
            pass  # a registry of the user's (the global one, say) may have it already


# ---- the middleware ---------------------------------------------------------------------------


def _failure_status(error: BaseException) -> int:
    """The status counted for a request whose handler raised `error` (not an HttpError)."""
    if isinstance(error, ClientDisconnected) or not isinstance(error, Exception):
        return DISCONNECTED_STATUS  # the client left, or the task was cancelled
    return 500  # core answers 500, outside this middleware


def _answer(response: Any, method: str, checked: set[tuple[bytes, bytes]]) -> tuple[int, Any, int]:
    """(status, body to meter or None, body size) of a handler's answer, as core sends it.

    The general path: the status is core's own `final_status`. The headers of an answer core
    sends are remembered in `checked`, for the fast path in `measured`.
    """
    status = final_status(response, method)
    if type(response) is not tuple or len(response) < 3:
        if status != ABANDONED_STATUS and type(response) is tuple and len(response) == 2:
            _remember_headers(response[1], checked)
        return status, None, 0
    body = response[2]
    body_type = type(body)
    if body_type is BytesBody:
        size = len(body.data)
    elif body is None:
        size = 0
    elif body_type is ChunkedBody:
        size = body.length
    elif isinstance(body, (bytes, bytearray, memoryview)):
        size = memoryview(body).nbytes
    elif hasattr(body_type, "__aiter__"):
        return status, body, 0
    else:
        return ABANDONED_STATUS, None, 0  # not a body: core answers 500
    if status != ABANDONED_STATUS:
        _remember_headers(response[1], checked)
    return status, None, 0 if method == "HEAD" else size


def _remember_headers(headers: Any, checked: set[tuple[bytes, bytes]]) -> None:
    """Remember the pairs of `headers`, which `final_status` has just found valid.

    Only tuples of two exact `bytes` are kept, and the fast path trusts a hit only for a pair of
    those exact types, so what the set holds never changes what is counted. Content-length is
    left to the general path, as core leaves it to its own.
    """
    if type(headers) is not list or len(checked) >= _CHECKED_MAX:
        return
    for header in headers:
        if (
            type(header) is tuple
            and type(header[0]) is bytes
            and type(header[1]) is bytes
            and header[0] != b"content-length"
        ):
            checked.add(header)


def _metered(response: Any, body: Any, series: Series, status: int, start: float) -> HttpResponse:
    """The response with its streamed body wrapped, to be counted when the body ends."""
    metered = _MeteredBody(body, series, status, start)
    return cast(HttpResponse, (*response[:2], metered, *response[3:]))


async def _unmetered(
    handler: HttpHandler, scope: Scope, info: Info, matches: Matches, content: Content
) -> HttpResponse:
    """`handler`'s answer, an HttpError's included, for a request not counted."""
    try:
        return await handler(scope, info, matches, content)
    except HttpError as error:
        return error.as_response()


def _make_middleware(metrics: PrometheusMetrics) -> BindableMiddleware:
    tables = metrics._tables
    unmatched = metrics._unmatched
    excluded = metrics._excluded
    series_for = metrics.series_for
    clock = perf_counter
    bounds = metrics._bounds
    first_bound = bounds[0]
    local = not metrics.multiprocess
    checked = metrics._checked

    def bind_handler(handler: HttpHandler) -> HttpHandler:
        """Metrics around `handler`: core composes through this, a call less per request."""

        async def measured(
            scope: Scope, info: Info, matches: Matches, content: Content
        ) -> HttpResponse:
            route: Route | None = scope.get(ROUTE_KEY)
            method: str = scope["method"]
            series: Any
            if route is None:
                if excluded and scope["path"] in excluded:
                    return await _unmetered(handler, scope, info, matches, content)
                series = unmatched.get(method)
            else:
                table = tables.get(route)
                series = table.get(method) if table is not None else None
            if series is None:
                series = series_for(route, method)
                if series is None:
                    return await _unmetered(handler, scope, info, matches, content)

            if local:
                series.in_progress += 1
            else:
                series.begin()
            start = clock()
            response: Any
            try:
                response = await handler(scope, info, matches, content)
            except HttpError as error:  # see `catches_http_error` below: counted as its answer
                response = error.as_response()
            except BaseException as error:
                series.finish(_failure_status(error), 0, start)
                raise

            if local and type(response) is tuple and len(response) == 3:
                # The fast path: the usual answers, `(status, headers, text_writer(...))` and
                # core's own error responses (bytes), counted inline (a method call here is a
                # noticeable share of a hello world). It takes a final status (core's rule:
                # 200-599) and headers whose every pair the general path (`_answer`, by
                # `final_status`) found valid before; anything else goes the general way, so
                # both count what core sends (a property test feeds both the same answers).
                body: Any
                headers: Any
                status, headers, body = response
                body_type = type(body)
                fast = (
                    (body_type is BytesBody or body_type is bytes)
                    and type(status) is int
                    and 200 <= status <= 599
                    and type(headers) is list
                )
                if fast:
                    try:
                        for header in headers:
                            # A hit is trusted only for a tuple of exact bytes (not one merely
                            # equal to a remembered pair).
                            if (
                                header not in checked
                                or type(header) is not tuple
                                or type(header[0]) is not bytes
                                or type(header[1]) is not bytes
                            ):
                                fast = False
                                break
                    except TypeError:  # an unhashable header: the general path decides
                        fast = False
                if fast:
                    duration = clock() - start
                    series.in_progress -= 1
                    statuses = series.statuses
                    try:
                        statuses[status] += 1
                    except KeyError:
                        statuses[status] = 1
                    # Most answers fall in the first bucket: skip the search for them. bisect_left
                    # puts a value equal to a bound in that bound's bucket (`le`).
                    if duration <= first_bound:
                        series.buckets[0] += 1
                    else:
                        series.buckets[bisect_left(bounds, duration)] += 1
                    series.sum += duration
                    if method != "HEAD":
                        series.bytes += len(body.data if body_type is BytesBody else body)
                    return cast(HttpResponse, response)

            status, streamed, size = _answer(response, method, checked)
            if streamed is not None:
                return _metered(response, streamed, series, status, start)
            series.finish(status, size, start)
            return cast(HttpResponse, response)

        return measured

    # The middleware turns HttpError into a response itself, so when it is innermost core
    # binds it to the route's handler without a wrapper doing that.
    return bindable(bind_handler, catches_http_error=True)


def _chunk_size(chunk: Any) -> int:
    if type(chunk) is bytes:
        return len(chunk)
    if isinstance(chunk, (bytearray, memoryview)):
        return memoryview(chunk).nbytes
    return 0


@final
class _MeteredBody:
    """A streamed body that records its request when it ends, fails, or is closed (once)."""

    __slots__ = ("_body", "_done", "_iterator", "_series", "_size", "_start", "_status")

    def __init__(self, body: AsyncIterable[bytes], series: Series, status: int, start: float):
        self._body = body
        self._iterator: AsyncIterator[bytes] | None = None
        self._series = series
        self._status = status
        self._start = start
        self._size = 0
        self._done = False

    def __aiter__(self) -> _MeteredBody:
        if self._iterator is None:
            self._iterator = aiter(self._body)
        return self

    async def __anext__(self) -> bytes:
        iterator = self._iterator
        if iterator is None:
            iterator = self._iterator = aiter(self._body)
        try:
            chunk = await anext(iterator)
        except BaseException:  # the end, a failure, or cancellation when the client left
            self._finish()
            raise
        self._size += _chunk_size(chunk)
        return chunk

    async def aclose(self) -> None:
        """Close the wrapped body (its `finally` runs) and record the request."""
        try:
            target = self._iterator if self._iterator is not None else self._body
            close = getattr(target, "aclose", None)
            if close is not None:
                await close()
        finally:
            self._finish()

    def _finish(self) -> None:
        if not self._done:
            self._done = True
            self._series.finish(self._status, self._size, self._start)

    def __del__(self) -> None:
        # Neither iterated to the end nor closed: core refused the response and sent a 500.
        if not self._done:
            self._done = True
            self._series.abandon(ABANDONED_STATUS, self._size, self._start)


__all__ = [
    "OTHER_METHOD",
    "STANDARD_METHODS",
    "UNMATCHED_ROUTE",
    "PrometheusMetrics",
]
