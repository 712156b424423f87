"""Whatever clients send, the series count stays flat and nothing raw becomes a label value."""

from __future__ import annotations

import asyncio
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_helpers import (
    call,
    families,
    label_values,
    promtool_check,
    samples,
    series_names,
    value,
)

from bareasgi import Application, Content, HttpResponse, Info, Matches, Scope, text_writer
from bareasgi.testing import TestClient
from bareasgi_prometheus import OTHER_METHOD, STANDARD_METHODS, UNMATCHED_ROUTE, prometheus_state

TEXT = [(b"content-type", b"text/plain")]
TEMPLATES = {"/hello", "/users/{user_id:int}", "/files/{path:path}"}
STATUSES = {"200", "400", "404", "405"}


async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, TEXT, text_writer("Hello, World!")


def make_app() -> Application:
    app = Application(plugins={"prometheus": {"multiprocess": False}})
    for template in TEMPLATES:
        app.http_router.add({"GET"}, template, hello)
    return app


def check_labels(text: str) -> None:
    found = samples(families(text))
    assert label_values(found, "route") <= TEMPLATES | {UNMATCHED_ROUTE}
    assert label_values(found, "method") <= STANDARD_METHODS | {OTHER_METHOD}
    assert label_values(found, "status") <= STATUSES


async def test_thousands_of_unmatched_paths_odd_methods_and_huge_queries_keep_series_flat() -> None:
    app = make_app()
    metrics = prometheus_state(app)
    odd_methods = ["BREW", "X" * 200, "get", "G€T", "PROPFIND", "M-SEARCH"]
    huge_query = b"q=" + b"x" * 100_000
    async with TestClient(app) as client:

        async def burst(start: int, count: int) -> None:
            for index in range(start, start + count):
                method = odd_methods[index % len(odd_methods)] if index % 3 == 0 else "GET"
                raw_path = f"/nowhere-{index}/\u00e9{index * 7919}".encode()
                query = huge_query if index % 50 == 0 else b"id=%d" % index
                assert (await call(app, method, raw_path, query))[0] == 404
                if index % 10 == 0:
                    many = b"a=1&" * 500
                    assert (await call(app, "GET", b"/users/%d" % index, many))[0] == 200
                    deep = b"/files/%d/%s" % (index, b"deep/" * 50)
                    assert (await call(app, "GET", deep))[0] == 200
                    assert (await call(app, "GET", b"/hello/%ZZ"))[0] == 400
                    assert (await call(app, "GET", b"/%C3%28"))[0] == 400
                    assert (await call(app, method, b"/hello"))[0] in (200, 405)

        await burst(0, 60)
        settled = metrics.series_count
        first = series_names(samples(families((await client.get("/metrics")).text)))
        await burst(60, 3000)
        assert metrics.series_count == settled
        text = (await client.get("/metrics")).text
    found = samples(families(text))
    assert series_names(found) == first
    check_labels(text)
    assert value(
        found, "bareasgi_requests_total", method="GET", route=UNMATCHED_ROUTE, status="404"
    )
    for raw in ("nowhere", "xxxx", "BREW", "deep", "%", "\u00e9"):
        assert raw not in text
    checked = promtool_check(text)
    assert checked.returncode == 0, checked.stdout + checked.stderr


METHOD_CHARACTERS = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    requests=st.lists(
        st.tuples(
            st.text(alphabet=METHOD_CHARACTERS, min_size=1, max_size=12),
            st.binary(max_size=40),
            st.binary(max_size=40),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_no_request_turns_into_a_label(requests: list[tuple[str, bytes, bytes]]) -> None:
    async def run() -> str:
        app = make_app()
        for method, path, query in requests:
            await call(app, method, b"/" + path, query)
        # 3 templates x (9 standard methods + other), plus the unmatched label's 10
        assert prometheus_state(app).series_count <= 4 * 10
        status, body = await call(app, "GET", b"/metrics")
        assert status == 200
        return body.decode()

    check_labels(asyncio.run(run()))
