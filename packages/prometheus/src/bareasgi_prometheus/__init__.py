"""Prometheus metrics for bareASGI.

Requests counted by method, route template and status; latency to the end of the response
body; requests in progress; response body bytes. Served at `/metrics` in the text format, or
OpenMetrics when the scraper asks. Single-process mode counts in plain slots read at scrape
time; with `PROMETHEUS_MULTIPROC_DIR` set, workers share prometheus-client's mmap files.

    app = Application(plugins={"prometheus": {}})      # the plugin
    metrics = add_prometheus(app)                       # or the plain function
"""

from __future__ import annotations

from ._metrics import (
    OTHER_METHOD,
    STANDARD_METHODS,
    UNMATCHED_ROUTE,
    PrometheusMetrics,
    add_prometheus,
    metrics_for,
)
from ._multiprocess import clear_multiprocess_directory
from ._options import DEFAULT_BUCKETS, MULTIPROC_DIR_VARIABLE, PrometheusOptions
from ._series import ABANDONED_STATUS, DISCONNECTED_STATUS

__all__ = [
    "ABANDONED_STATUS",
    "DEFAULT_BUCKETS",
    "DISCONNECTED_STATUS",
    "MULTIPROC_DIR_VARIABLE",
    "OTHER_METHOD",
    "STANDARD_METHODS",
    "UNMATCHED_ROUTE",
    "PrometheusMetrics",
    "PrometheusOptions",
    "add_prometheus",
    "clear_multiprocess_directory",
    "metrics_for",
]
