"""The demo application: the article's programs, each under its own prefix, in one process,
with the plugins enabled: CORS across two origins at /cors, static files at /static/, Jinja2
pages at /page/{name}, Prometheus metrics at /metrics, GraphQL (and GraphiQL) at /graphql,
and responses compressed as the browser asks (the index says with what).

    ./dev demo            (= cd examples && python -m bareasgi serve demo:app --bind 127.0.0.1:9009)
                          (or: python examples/demo.py [--bind HOST:PORT] [--grace SECONDS])

then browse to http://127.0.0.1:9009/.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import hello_world
import hello_world_router
import rest

from bareasgi import (
    Application,
    Content,
    HttpResponse,
    Info,
    Matches,
    Scope,
    WebSocket,
    text_writer,
)
from bareasgi.serve import DEFAULT_GRACE, serve
from bareasgi_compression import compression_state
from bareasgi_jinja2 import render_template

MOUNTS = {
    "/hello": (hello_world.app, "/hello-world", "hello world, decorator routing"),
    "/hello-router": (hello_world_router.app, "/hello-world", "hello world, router.add"),
    "/rest": (rest.app, "/info", "the REST example (GET with accept: application/json)"),
}

HERE = Path(__file__).parent

app = Application(
    plugins={
        # First is outermost: every request below, preflights and static files included,
        # is counted.
        "prometheus": {},
        # gzip, Brotli or Zstandard, as the browser asks; metrics count what was answered.
        "compression": {},
        "cors": {
            # The page at http://localhost:PORT/cors calls this server as
            # http://127.0.0.1:PORT: to a browser those are two origins.
            "allow_origin_regex": r"http://localhost:\d+",
            "allow_methods": ["GET", "PUT"],
            "allow_headers": ["x-demo"],
            "expose_headers": ["x-demo"],
            "guard_websockets": True,
        },
        "static": {
            "directory": str(HERE / "public"),
            "mount": "/static",
            "cache_control": "public, max-age=60",
        },
        "jinja2": {"directory": str(HERE / "templates")},
        # GraphQL over HTTP, GraphiQL (offline) and subscriptions at /graphql.
        "graphql": {"schema": "demo_graphql:schema", "path": "/graphql"},
    }
)
for prefix, (mounted, _, _) in MOUNTS.items():
    app.mount(prefix, mounted)


@app.on_http_request({"GET"}, "/", name="index")
async def index(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    links = "".join(
        f'<li><a href="{html.escape(prefix + path)}">{html.escape(prefix + path)}</a>'
        f" &mdash; {html.escape(text)}</li>"
        for prefix, (_, path, text) in MOUNTS.items()
    )
    port = scope["server"][1] if scope.get("server") else 9009
    greeting = app.url_for("greet", name="World", times=3)
    templated = app.url_for("page", name="<b>World</b>")
    asked = b", ".join(v for n, v in scope["headers"] if n == b"accept-encoding")
    coding = compression_state(scope).negotiate(asked or None) or "no coding"
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>bareASGI demo</title></head>"
        "<body><h1>bareASGI demo</h1><ul>"
        f"{links}"
        '<li><a href="/rest/upload">/rest/upload</a> &mdash; a form with a file upload (core\'s '
        "request helpers: read_form, redirect)</li>"
        f'<li><a href="{greeting}">{greeting}</a> &mdash; typed route parameters</li>'
        '<li><a href="/static/">/static/</a> &mdash; static files (bareasgi-static): index, '
        "ETag/304, ranges, gzip sibling</li>"
        f'<li><a href="{html.escape(templated)}">{html.escape(templated)}</a> &mdash; a Jinja2 '
        "template (bareasgi-jinja2), values escaped</li>"
        '<li><a href="/metrics">/metrics</a> &mdash; Prometheus metrics of this app '
        "(bareasgi-prometheus)</li>"
        f'<li><a href="http://localhost:{port}/cors">/cors</a> &mdash; CORS across two origins '
        "(bareasgi-cors)</li>"
        '<li><a href="/graphql">/graphql</a> &mdash; GraphQL and GraphiQL (bareasgi-graphql): '
        "a query, a mutation and a ticking subscription</li>"
        "</ul><p>WebSocket echo at <code>/ws/echo</code>.</p>"
        f"<p>This page came with {html.escape(coding)} (bareasgi-compression: your browser "
        f"asked for <code>{html.escape(asked.decode('latin-1')) or 'nothing'}</code>).</p>"
        "</body></html>"
    )
    return 200, [(b"content-type", b"text/html; charset=utf-8")], text_writer(page)


@app.on_http_request({"GET"}, "/greet/{name}/{times:int}", name="greet")
async def greet(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    text = "\n".join(f"Hello, {matches['name']}!" for _ in range(min(matches["times"], 100)))
    return 200, [(b"content-type", b"text/plain; charset=utf-8")], text_writer(text)


@app.on_http_request({"GET"}, "/page/{name}", name="page")
async def page(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    items = ["a <b>bold</b> claim", "Tom & Jerry", 'it\'s "quoted"']
    return await render_template(scope, "page.html", {"name": matches["name"], "items": items})


CORS_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>CORS</title></head>
<body><h1>CORS</h1><p id="where"></p><pre id="out"></pre><script>
const out = document.getElementById('out');
const api = `http://127.0.0.1:${location.port}/cors/api`;
document.getElementById('where').textContent = location.hostname === 'localhost'
  ? `This page (${location.origin}) calls ${api}, another origin:`
  : 'Open this page as http://localhost:' + location.port + '/cors to see CORS at work.';
async function show(label, request) {
  try {
    const response = await request();
    out.textContent += `${label}: ${response.status} ${await response.text()}`
      + ` (x-demo: ${response.headers.get('x-demo')},`
      + ` x-hidden: ${response.headers.get('x-hidden')})\\n`;
  } catch (error) { out.textContent += `${label}: refused by the browser (${error})\\n`; }
}
(async () => {
  await show('GET', () => fetch(api));
  await show('PUT with X-Demo (preflighted)',
             () => fetch(api, {method: 'PUT', headers: {'X-Demo': '1'}}));
  await show('DELETE (not allowed)', () => fetch(api, {method: 'DELETE'}));
})();
</script></body></html>"""


@app.on_http_request({"GET"}, "/cors")
async def cors_page(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, [(b"content-type", b"text/html; charset=utf-8")], text_writer(CORS_PAGE)


@app.on_http_request({"GET", "PUT", "DELETE"}, "/cors/api")
async def cors_api(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"x-demo", b"exposed"),
        (b"x-hidden", b"not exposed"),
    ]
    return 200, headers, text_writer(f"{scope['method']} answered across origins")


@app.on_ws_request("/ws/echo")
async def echo(scope: Scope, info: Info, matches: Matches, web_socket: WebSocket) -> None:
    await web_socket.accept()
    while (message := await web_socket.receive()) is not None:
        await web_socket.send(message)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bind", default="127.0.0.1:9009")
    parser.add_argument("--grace", type=float, default=DEFAULT_GRACE)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    print(f"bareASGI demo on http://{args.bind}/  (Ctrl-C stops it)", flush=True)
    # What `python -m bareasgi serve` does: hypercorn, and a shutdown bounded by the grace period.
    asyncio.run(serve(app, bind=[args.bind], grace=args.grace))


if __name__ == "__main__":
    main()
