"""bareasgi-compression with the other plugins: a 304 through bareasgi-static with compression
on (the weak ETag matches, as RFC 9110's weak comparison for GET has it), precompressed
siblings passed through untouched, Range answers left alone, and the Jinja2 plugin's streamed
pages compressed as they stream."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from bareasgi import Application, Content, Info, Matches, Scope
from bareasgi.testing import TestClient

pytest.importorskip("bareasgi_compression")
pytest.importorskip("bareasgi_static")
pytest.importorskip("bareasgi_jinja2")
pytest.importorskip("bareasgi_cors")

SCRIPT = b"function hello() { return 'hello, world'; }\n" * 100


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "app.js").write_bytes(SCRIPT)
    (tmp_path / "pre.js").write_bytes(SCRIPT)
    (tmp_path / "pre.js.br").write_bytes(b"not really brotli, but served as such")
    (tmp_path / "page.html").write_text(
        "<ul>{% for i in range(rows) %}<li>row {{ i }}</li>{% endfor %}</ul>"
    )
    return tmp_path


def _app(folder: Path, order: str = "compression-first") -> Application:
    plugins: dict[str, Any] = {
        "compression": {},
        "static": {"directory": str(folder), "mount": "/static"},
        "jinja2": {"directory": str(folder), "buffer_size": 1024},
    }
    if order != "compression-first":
        plugins = {name: plugins[name] for name in ("static", "jinja2", "compression")}
    return Application(plugins=plugins)


async def _get(client: TestClient, path: str, **headers: str) -> Any:
    client.http.headers.pop("accept-encoding", None)
    async with client.stream("GET", path, headers=headers) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, body


@pytest.mark.parametrize("order", ["compression-first", "compression-last"])
async def test_a_304_through_static_with_compression_on(folder: Path, order: str) -> None:
    app = _app(folder, order)
    async with TestClient(app) as client:
        first, body = await _get(client, "/static/app.js", **{"accept-encoding": "gzip"})
        etag = first.headers["etag"]
        again, again_body = await _get(
            client, "/static/app.js", **{"accept-encoding": "gzip", "if-none-match": etag}
        )
        plain, plain_body = await _get(client, "/static/app.js")
    assert first.status_code == 200
    assert first.headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == SCRIPT
    assert etag.startswith('W/"')  # weak: these are not the file's bytes
    assert again.status_code == 304  # static compares weakly for If-None-Match
    assert again_body == b""
    assert again.headers["etag"] == etag
    assert "accept-encoding" in again.headers["vary"].lower()
    assert plain.status_code == 200
    assert plain.headers["etag"] == etag.removeprefix("W/")  # the file's own, strong
    assert plain_body == SCRIPT


async def test_precompressed_siblings_pass_untouched(folder: Path) -> None:
    app = _app(folder)
    async with TestClient(app) as client:
        response, body = await _get(client, "/static/pre.js", **{"accept-encoding": "br, gzip"})
    assert response.headers["content-encoding"] == "br"
    assert body == b"not really brotli, but served as such"  # exactly the sibling's bytes
    assert response.headers["content-length"] == str(len(body))
    assert not response.headers["etag"].startswith("W/")  # static's own tag for the sibling


async def test_a_range_is_never_compressed(folder: Path) -> None:
    app = _app(folder)
    async with TestClient(app) as client:
        response, body = await _get(
            client, "/static/app.js", **{"accept-encoding": "gzip", "range": "bytes=0-599"}
        )
    assert response.status_code == 206
    assert "content-encoding" not in response.headers
    assert body == SCRIPT[:600]


async def test_a_head_through_static(folder: Path) -> None:
    app = _app(folder)
    async with TestClient(app) as client:
        client.http.headers.pop("accept-encoding", None)
        get, _ = await _get(client, "/static/app.js", **{"accept-encoding": "gzip"})
        head = await client.head("/static/app.js", headers={"accept-encoding": "gzip"})
    assert head.headers["content-encoding"] == "gzip"
    assert "content-length" not in head.headers
    assert head.headers["etag"] == get.headers["etag"]


async def test_a_streamed_jinja2_page_is_compressed_as_it_streams(folder: Path) -> None:
    from bareasgi_jinja2 import render_template

    app = _app(folder)

    @app.on_http_request({"GET"}, "/page")
    async def page(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        return await render_template(scope, "page.html", {"rows": 5000})

    async with TestClient(app) as client:
        client.http.headers.pop("accept-encoding", None)
        async with client.stream("GET", "/page", headers={"accept-encoding": "gzip"}) as response:
            chunks = [chunk async for chunk in response.aiter_raw()]
    expected = "<ul>" + "".join(f"<li>row {i}</li>" for i in range(5000)) + "</ul>"
    assert response.headers["content-encoding"] == "gzip"
    assert "content-length" not in response.headers  # streamed
    assert gzip.decompress(b"".join(chunks)).decode() == expected
    assert len(b"".join(chunks)) < len(expected) // 5


@pytest.mark.parametrize("compression_first", [True, False])
async def test_vary_merged_with_cors_origin_either_order(compression_first: bool) -> None:
    cors = ("cors", {"allow_origins": ["https://a.example"]})
    compression: tuple[str, dict[str, Any]] = ("compression", {})
    app = Application(plugins=[compression, cors] if compression_first else [cors, compression])

    @app.on_http_request({"GET"}, "/")
    async def index(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        return 200, [(b"content-type", b"text/plain")], SCRIPT

    async with TestClient(app) as client:
        response, body = await _get(
            client, "/", **{"accept-encoding": "gzip", "origin": "https://a.example"}
        )
    tokens = sorted(
        token.strip().lower()
        for value in response.headers.get_list("vary")
        for token in value.split(",")
    )
    assert tokens == ["accept-encoding", "origin"]
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["access-control-allow-origin"] == "https://a.example"
    assert gzip.decompress(body) == SCRIPT
