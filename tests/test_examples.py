"""The article's programs and the demo, served by a real hypercorn on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bareasgi.testing import run_hypercorn

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("module", ["hello_world", "hello_world_router"])
def test_article_hello_world(module: str) -> None:
    with run_hypercorn(f"{module}:app", cwd=EXAMPLES) as server:
        response = httpx.get(f"{server.base_url}/hello-world")
        missing = httpx.get(f"{server.base_url}/hello")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain"
    assert response.text == "This is not a test"
    assert missing.status_code == 404


def test_article_rest_info() -> None:
    json_accept = {"accept": "application/json"}
    with (
        run_hypercorn("rest:app", cwd=EXAMPLES) as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        first = client.get("/info", headers=json_accept)
        assert first.status_code == 200
        assert first.headers["content-type"] == "application/json"
        assert first.json() == {"name": "Michael Caine"}

        posted = client.post("/info", json={"name": "Peter Sellers"})
        assert posted.status_code == 204

        assert client.get("/info", headers=json_accept).json() == {"name": "Peter Sellers"}

        wrong_type = client.post(
            "/info", content=b'{"name": "x"}', headers={"content-type": "text/plain"}
        )
        assert wrong_type.status_code == 500
        assert client.get("/info").status_code == 500  # no accept: application/json
        assert client.get("/info", headers=json_accept).json() == {"name": "Peter Sellers"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_serves_every_article_program_under_its_prefix() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "demo.py"), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                index = httpx.get(f"{base}/")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        assert index.status_code == 200
        assert "/hello/hello-world" in index.text
        # Compression: the index came compressed, and says with what.
        assert f"This page came with {index.headers['content-encoding']}" in index.text
        assert httpx.get(f"{base}/hello/hello-world").text == "This is not a test"
        assert httpx.get(f"{base}/hello-router/hello-world").text == "This is not a test"
        info = httpx.get(f"{base}/rest/info", headers={"accept": "application/json"})
        assert info.json() == {"name": "Michael Caine"}
        assert httpx.get(f"{base}/greet/Ada/2").text == "Hello, Ada!\nHello, Ada!"
        # The plugins, each visible: a static page, an escaped template, the metrics.
        static = httpx.get(f"{base}/static/")
        assert static.status_code == 200
        assert "etag" in static.headers
        page = httpx.get(f"{base}/page/%3Cb%3EWorld%3C%2Fb%3E")
        assert "&lt;b&gt;World&lt;/b&gt;" in page.text
        assert "<b>World</b>" not in page.text
        metrics = httpx.get(f"{base}/metrics").text
        assert 'route="/greet/{name}/{times:int}"' in metrics
        assert 'route="/page/{name}"' in metrics
        cors = httpx.get(f"{base}/cors/api", headers={"origin": "http://localhost:1234"})
        assert cors.headers["access-control-allow-origin"] == "http://localhost:1234"
        refused = httpx.get(f"{base}/cors/api", headers={"origin": "http://evil.example"})
        assert "access-control-allow-origin" not in refused.headers
        graphql = httpx.post(
            f"{base}/graphql", json={"query": 'mutation { addMessage(text: "hi") }'}
        )
        assert graphql.json()["data"]["addMessage"][-1] == "hi"
        graphiql = httpx.get(f"{base}/graphql", headers={"accept": "text/html"})
        assert "GraphiQL" in graphiql.text
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
