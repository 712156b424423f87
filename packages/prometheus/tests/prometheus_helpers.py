"""Reading metrics pages back in the tests, with prometheus-client's own parsers."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import unquote_to_bytes

from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from bareasgi.testing import program_or_skip
from bareasgi.types import ASGIApp

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

APT_LINE: Final = "apt-get install -y --no-install-recommends prometheus"


def families(text: str) -> list[Metric]:
    """The metric families of a text-format page (prometheus-client's parser)."""
    return list(text_string_to_metric_families(text))


def openmetrics(text: str) -> list[Metric]:
    """The metric families of an OpenMetrics page (prometheus-client's strict parser)."""
    return list(openmetrics_families(text))  # type: ignore[no-untyped-call]


def samples(parsed: Iterable[Metric]) -> Samples:
    """Every sample, by (sample name, labels)."""
    found: Samples = {}
    for family in parsed:
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when absent (a counter that never moved)."""
    return found.get((name, frozenset(labels.items())), 0.0)


def label_values(found: Samples, label: str, prefix: str = "bareasgi_") -> set[str]:
    """Every value `label` takes among the samples whose names start with `prefix`."""
    return {
        dict(labels)[label]
        for (name, labels) in found
        if name.startswith(prefix) and label in dict(labels)
    }


def series_names(
    found: Samples, prefix: str = "bareasgi_"
) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    return {key for key in found if key[0].startswith(prefix)}


def promtool() -> str:
    """promtool's path; fails under CI (never skips silently), skips elsewhere."""
    return program_or_skip("promtool", APT_LINE)


def promtool_check(text: str | bytes) -> subprocess.CompletedProcess[str]:
    """Run `promtool check metrics` on a page; its exit code and what it said."""
    data = text if isinstance(text, str) else text.decode()
    return subprocess.run(
        [promtool(), "check", "metrics"],
        input=data,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def headers_of(pairs: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.encode(), value.encode()) for name, value in pairs.items()]


async def call(
    app: ASGIApp,
    method: str,
    raw_path: bytes,
    query_string: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> tuple[int, bytes]:
    """One request straight through the ASGI interface: (status, body).

    For bulk and odd requests that httpx would refuse or normalise (non-ASCII bytes in the
    path or query): the scope carries the bytes as a server would.
    """
    sent: list[Mapping[str, Any]] = []
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not sent:
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: Mapping[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            finished.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote_to_bytes(raw_path).decode("utf-8", "replace"),
        "raw_path": raw_path,
        "query_string": query_string,
        "root_path": "",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    status = next(message["status"] for message in sent if message["type"] == "http.response.start")
    body = b"".join(
        message.get("body", b"") for message in sent if message["type"] == "http.response.body"
    )
    return status, body


async def start_hanging_request(app: Any) -> asyncio.Task[None]:
    """Route GET /forever to a handler that never answers, call it, return once it is inside."""
    entered = asyncio.Event()

    async def forever(scope: Any, info: Any, matches: Any, content: Any) -> int:
        entered.set()
        await asyncio.Event().wait()
        return 200

    app.http_router.add({"GET"}, "/forever", forever)

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()
        return {}

    async def send(message: Any) -> None:
        pass

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/forever",
        "raw_path": b"/forever",
        "query_string": b"",
        "headers": [],
    }
    task = asyncio.create_task(app(scope, receive, send))
    await asyncio.wait_for(entered.wait(), 10)
    return task
