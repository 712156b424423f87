"""``python -m benchmarks.plugins.jinja2``: bareasgi-jinja2 against Starlette's Jinja2Templates.

A small page (a title, an escaped name, a five-item loop, about 1 KiB) rendered per request
through the `jinja2` plugin (`render_template`, async rendering as by default) and through
Starlette's `Jinja2Templates.TemplateResponse` (synchronous rendering), both served by the
harness's in-process driver (`benchmarks.driver`) and timed by its runner, in the same run.
For reference: the plugin with `enable_async=False`, and a raw-ASGI floor that calls
`template.render()` and sends the page (what rendering alone costs in this driver).

Target (issue 7): the plugin within **1.2x** Starlette's cost, with small pages sent in one
message (one `http.response.body`, with a content-length). Also reported, not a target: peak
traced memory while a 100,000-row page goes out (streamed by the plugin, joined by Starlette).

Both sides render the same template with the same context and must answer the same bytes
(checked before timing). Run it from the repository root, in an environment that has
bareasgi, bareasgi-jinja2 (both from this repository) and starlette.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import jinja2

from benchmarks.apps import Builder, Contender
from benchmarks.driver import (
    ASGIApp,
    Lifespan,
    Receive,
    RecordingExchange,
    Scope,
    Send,
    exchange_for,
    peak_memory,
)
from benchmarks.runner import run_scenarios
from benchmarks.scenarios import AppKind, Request, Scenario

TARGET_RATIO: Final = 1.2
NAMES: Final = 200
"""Distinct `/page/{name}` paths the scenario cycles through."""
ROWS: Final = 100_000

PAGE: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body>
<h1>Hello, {{ name }}!</h1>
<p>{{ note }}</p>
<ul>
{% for item in items %}  <li class="{{ item.kind }}">{{ item.label }}: {{ item.price }}</li>
{% endfor %}</ul>
<footer>{{ footer }}</footer>
</body></html>
"""
LARGE: Final = """<!doctype html><html><body><table>
{% for row in rows %}<tr><td>{{ row }}</td><td>{{ label }}</td></tr>
{% endfor %}</table></body></html>
"""
ITEMS: Final = tuple(
    {"kind": "odd" if i % 2 else "even", "label": f"item <{i}> & co", "price": f"{i * 1.25:.2f}"}
    for i in range(5)
)
STATIC_CONTEXT: Final = {
    "title": "A small page",
    "note": 'Quotes " and <tags> are escaped',
    "items": ITEMS,
    "footer": "bareASGI benchmarks",
}


def page_context(name: str) -> dict[str, Any]:
    return {**STATIC_CONTEXT, "name": name}


def rows() -> Iterator[int]:
    return iter(range(ROWS))


# -- the templates on disk ------------------------------------------------------------------------


def write_templates(folder: Path) -> None:
    (folder / "page.html").write_text(PAGE, encoding="utf-8")
    (folder / "large.html").write_text(LARGE, encoding="utf-8")


def expected_pages(folder: Path) -> tuple[dict[str, str], int]:
    """What every app must answer for each name (plain sync Jinja2), and the large page's size."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder), autoescape=jinja2.select_autoescape()
    )
    page = env.get_template("page.html")
    pages = {f"user{i}": page.render(page_context(f"user{i}")) for i in range(NAMES)}
    large = env.get_template("large.html").render(rows=rows(), label="<x>")
    return pages, len(large.encode())


# -- the apps -------------------------------------------------------------------------------------


def bareasgi_builder(folder: Path, *, enable_async: bool) -> Builder:
    def build(kind: AppKind) -> ASGIApp:
        from bareasgi import Application
        from bareasgi.types import Content, HttpResponse, Info, Matches
        from bareasgi.types import Scope as BareScope
        from bareasgi_jinja2 import render_template

        app = Application(
            plugins={"jinja2": {"directory": str(folder), "enable_async": enable_async}}
        )

        async def page(
            scope: BareScope, info: Info, matches: Matches, content: Content
        ) -> HttpResponse:
            return await render_template(scope, "page.html", page_context(matches["name"]))

        async def large(
            scope: BareScope, info: Info, matches: Matches, content: Content
        ) -> HttpResponse:
            return await render_template(scope, "large.html", {"rows": rows(), "label": "<x>"})

        app.http_router.add({"GET"}, "/page/{name}", page)
        app.http_router.add({"GET"}, "/large", large)
        return app

    return build


def starlette_builder(folder: Path) -> Builder:
    def build(kind: AppKind) -> ASGIApp:
        from starlette.applications import Starlette
        from starlette.requests import Request as StarletteRequest
        from starlette.responses import Response
        from starlette.routing import Route
        from starlette.templating import Jinja2Templates

        templates = Jinja2Templates(directory=str(folder))

        async def page(request: StarletteRequest) -> Response:
            name = request.path_params["name"]
            return templates.TemplateResponse(request, "page.html", page_context(name))

        async def large(request: StarletteRequest) -> Response:
            return templates.TemplateResponse(
                request, "large.html", {"rows": rows(), "label": "<x>"}
            )

        app = Starlette(routes=[Route("/page/{name}", page), Route("/large", large)])
        return app

    return build


def floor_builder(folder: Path) -> Builder:
    """Raw ASGI: a prefix check, `template.render()`, two messages. Rendering's own cost."""

    def build(kind: AppKind) -> ASGIApp:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(folder), autoescape=jinja2.select_autoescape()
        )

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "lifespan":
                while True:
                    message = await receive()
                    if message["type"] == "lifespan.startup":
                        await send({"type": "lifespan.startup.complete"})
                    elif message["type"] == "lifespan.shutdown":
                        await send({"type": "lifespan.shutdown.complete"})
                        return
            path: str = scope["path"]
            if path.startswith("/page/"):
                text = env.get_template("page.html").render(page_context(path[6:]))
            else:
                text = env.get_template("large.html").render(rows=rows(), label="<x>")
            body = text.encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/html; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})

        return app

    return build


BAREASGI: Final = Contender("bareasgi-jinja2", "bareasgi-jinja2", "", "bareasgi-jinja2")
BAREASGI_SYNC: Final = Contender(
    "bareasgi-jinja2-sync", "  (enable_async=False)", "", "bareasgi-jinja2"
)
STARLETTE: Final = Contender("starlette", "Starlette Jinja2", "", "starlette")
FLOOR: Final = Contender("raw", "raw + render()", "", None)


# -- checks ---------------------------------------------------------------------------------------


async def messages_for_small_page(builder: Builder, request: Request) -> tuple[int, bool]:
    """Body messages and whether a content-length was sent, for one small page."""
    app = builder("hello")
    lifespan = Lifespan(app)
    await lifespan.startup()
    try:
        exchange = exchange_for(request, lifespan.state, record=True)
        assert isinstance(exchange, RecordingExchange)
        await app(exchange.scope, exchange.receive, exchange.send)
    finally:
        await lifespan.shutdown()
    bodies = exchange.types.count("http.response.body")
    has_length = any(name == b"content-length" for name, _ in exchange.headers)
    return bodies, has_length


async def large_page_memory(builder: Builder, size: int) -> str:
    app = builder("hello")
    lifespan = Lifespan(app)
    await lifespan.startup()
    try:
        peak, exchange = await peak_memory(app, Request("GET", "/large", 200, size), lifespan.state)
    finally:
        await lifespan.shutdown()
    if not exchange.complete or exchange.size != size:
        return f"FAILED: status {exchange.status}, {exchange.size} bytes of {size}"
    messages = exchange.types.count("http.response.body")
    return f"{peak:8.2f} MiB peak, {messages} body messages"


# -- main -----------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.plugins.jinja2",
        description="bareasgi-jinja2 against Starlette's Jinja2Templates, in one run.",
    )
    parser.add_argument("--rounds", type=int, default=9, help="timed rounds per app (9)")
    parser.add_argument("--batch", type=int, default=1000, help="requests per batch (1000)")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 300, no memory case")
    parser.add_argument("--no-memory", action="store_true", help="skip the 100,000-row case")
    parser.add_argument("--progress", action="store_true", help="print every round to stderr")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    return parser


async def run(args: argparse.Namespace, folder: Path) -> bool:
    pages, large_size = expected_pages(folder)
    requests = tuple(
        Request("GET", f"/page/{name}", 200, len(text.encode()), expect_text=text)
        for name, text in pages.items()
    )
    scenario = Scenario(
        "jinja2",
        "small page: GET /page/{name} -> a ~1 KiB template, escaped values, a 5-item loop",
        "hello",
        requests,
        notes=f"{NAMES} distinct names",
    )
    contenders: Sequence[tuple[Contender, Builder]] = (
        (FLOOR, floor_builder(folder)),
        (BAREASGI, bareasgi_builder(folder, enable_async=True)),
        (BAREASGI_SYNC, bareasgi_builder(folder, enable_async=False)),
        (STARLETTE, starlette_builder(folder)),
    )
    rounds, batch = (3, 300) if args.quick else (args.rounds, args.batch)
    print(f"Python {platform.python_version()}, {rounds} rounds of {batch} requests")
    print(", ".join(f"{c.distribution} {c.version()}" for c, _ in contenders if c.distribution))
    print()

    (result,) = await run_scenarios(
        [scenario], contenders, rounds=rounds, batch=batch, progress=args.progress
    )
    floor = result.timing(FLOOR.key)
    floor_median = floor.median if floor is not None else None
    print(f"[{scenario.name}] {scenario.title} ({scenario.notes})")
    print(f"  {'app':<24} {'µs/req':>9} {'x floor':>8} {'x starlette':>12}   min - max µs")
    starlette = result.timing(STARLETTE.key)
    starlette_median = starlette.median if starlette is not None else None
    for timing in result.timings:
        label = timing.contender.label
        median = timing.median
        if timing.problem is not None or median is None:
            print(f"  {label:<24} {'FAILED':>9}   {timing.problem}")
            continue
        x_floor = f"{median / floor_median:.2f}" if floor_median else "-"
        x_star = f"{median / starlette_median:.2f}" if starlette_median else "-"
        spread = f"{min(timing.samples):.2f} - {max(timing.samples):.2f}"
        print(f"  {label:<24} {median:>9.2f} {x_floor:>8} {x_star:>12}   {spread}")
    print()

    one_message: dict[str, tuple[int, bool]] = {}
    for contender, builder in contenders:
        one_message[contender.key] = await messages_for_small_page(builder, requests[0])
    print("small page: body messages, content-length")
    for contender, _ in contenders:
        bodies, has_length = one_message[contender.key]
        print(f"  {contender.label:<24} {bodies} message(s), content-length {has_length}")
    print()

    if not (args.quick or args.no_memory):
        print(f"large page: {ROWS:,} rows, {large_size / 2**20:.1f} MiB, peak traced memory")
        for contender, builder in contenders:
            if contender is BAREASGI_SYNC:
                continue
            print(f"  {contender.label:<24} {await large_page_memory(builder, large_size)}")
        print()

    bare = result.timing(BAREASGI.key)
    bare_median = bare.median if bare is not None else None
    bodies, has_length = one_message[BAREASGI.key]
    single = bodies == 1 and has_length
    if bare_median is None or starlette_median is None:
        print("target: NOT RUN (an app failed; see above)")
        return False
    ratio = bare_median / starlette_median
    met = ratio <= TARGET_RATIO and single
    verdict = "MET" if met else "MISSED"
    assert bare is not None
    assert starlette is not None
    # The quietest rounds, for a machine shared with other work: a second view, not the target.
    best = min(bare.samples) / min(starlette.samples)
    print(
        f"target: {verdict}  bareasgi-jinja2 {bare_median:.2f} µs = {ratio:.2f}x Starlette's"
        f" {starlette_median:.2f} µs (at most {TARGET_RATIO}x; fastest rounds {best:.2f}x);"
        f" small page in {bodies} message(s){' with' if has_length else ' without'}"
        " content-length"
    )
    return met


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-jinja2-") as name:
        folder = Path(name)
        write_templates(folder)
        met = asyncio.run(run(args, folder))
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["main"]
