"""Serving files in-process: types, validators, conditionals, ranges, indexes, variants, streams."""

from __future__ import annotations

import asyncio
import email.parser
import os
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from bareasgi import Application
from bareasgi.testing import TestClient
from bareasgi_static import (
    IMMUTABLE_CACHE_CONTROL,
    FileBody,
    StaticFiles,
    StaticSettings,
    add_static_files,
)
from bareasgi_static._headers import format_http_date
from conftest import (
    BIG_SIZE,
    CSS,
    CSS_BR,
    CSS_GZ,
    INDEX,
    SPACE_NAME,
    UNICODE_NAME,
    big_content,
)

MIB = 1024 * 1024


@pytest.fixture
async def client(public: Path) -> AsyncIterator[TestClient]:
    app = Application()
    add_static_files(app, public, "/static", name="static")
    async with TestClient(app, headers={"accept-encoding": "identity"}) as client:
        yield client


def served(public: Path, **settings: Any) -> TestClient:
    app = Application()
    add_static_files(app, public, settings.pop("mount", "/static"), **settings)
    return TestClient(app, headers={"accept-encoding": "identity"})


# ---- what a file looks like ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("index.html", "text/html; charset=utf-8"),
        ("site.css", "text/css; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("data.json", "application/json; charset=utf-8"),
        ("hello.txt", "text/plain; charset=utf-8"),
        ("picture.PNG", "image/png"),
        ("unknown.qqq", "application/octet-stream"),
        ("noext", "application/octet-stream"),
        ("big.bin", "application/octet-stream"),
    ],
)
async def test_files_are_served_with_type_length_and_validators(
    client: TestClient, public: Path, name: str, content_type: str
) -> None:
    response = await client.get(f"/static/{name}")
    data = (public / name).read_bytes()
    status = (public / name).stat()
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == content_type
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["etag"] == f'"{status.st_mtime_ns:x}-{len(data):x}"'
    assert response.headers["last-modified"] == format_http_date(int(status.st_mtime)).decode()
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["vary"] == "accept-encoding"
    assert "content-encoding" not in response.headers
    assert "cache-control" not in response.headers


async def test_an_empty_file(client: TestClient) -> None:
    response = await client.get("/static/empty.txt")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "0"


async def test_head_has_the_headers_of_get_and_no_body(client: TestClient) -> None:
    get = await client.get("/static/big.bin")
    head = await client.head("/static/big.bin")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers == get.headers
    assert head.headers["content-length"] == str(BIG_SIZE)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_other_methods_are_405_with_allow(client: TestClient, method: str) -> None:
    response = await client.request(method, "/static/site.css")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize("name", [SPACE_NAME, UNICODE_NAME])
async def test_names_with_spaces_and_non_ascii_are_served(
    client: TestClient, public: Path, name: str
) -> None:
    response = await client.get("/static/" + quote(name))
    assert response.status_code == 200
    assert response.content == (public / name).read_bytes()


async def test_a_symlink_inside_the_folder_is_followed(client: TestClient) -> None:
    assert (await client.get("/static/link-inside")).content == CSS
    assert (await client.get("/static/dir-inside/page.html")).content == b"<h1>page</h1>\n"


@pytest.mark.parametrize(
    "path", ["/static/missing.txt", "/static/docs/missing", "/static/broken", "/static/fifo"]
)
async def test_missing_files_broken_links_and_fifos_are_404(client: TestClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.content == b"Not Found"


async def test_a_file_with_a_trailing_slash_is_404(client: TestClient) -> None:
    assert (await client.get("/static/site.css/")).status_code == 404


async def test_the_applications_404_response_is_used(public: Path) -> None:
    app = Application(not_found_response=(404, [(b"content-type", b"text/html")], b"<p>gone"))
    add_static_files(app, public, "/static")
    async with TestClient(app) as client:
        response = await client.get("/static/nothing-here")
    assert response.status_code == 404
    assert response.content == b"<p>gone"
    assert response.headers["content-type"] == "text/html"


async def test_a_literal_percent_name_is_not_decoded_twice(client: TestClient) -> None:
    # `%252e%252e` is the folder named `%2e%2e`, inside the root: never `..`.
    response = await client.get("/static/%252e%252e/inside.txt")
    assert response.status_code == 200
    assert response.content == b"literal name\n"


async def test_the_file_changes_between_requests(client: TestClient, public: Path) -> None:
    first = await client.get("/static/hello.txt")
    (public / "hello.txt").write_bytes(b"changed!\n")
    os.utime(public / "hello.txt", ns=(1, 1_000_000_000))
    second = await client.get("/static/hello.txt")
    assert second.content == b"changed!\n"
    assert second.headers["etag"] != first.headers["etag"]


# ---- conditional requests ------------------------------------------------------------------------


async def validators(client: TestClient, path: str = "/static/site.css") -> tuple[str, str]:
    response = await client.get(path)
    return response.headers["etag"], response.headers["last-modified"]


@pytest.mark.parametrize(
    "if_none_match",
    [
        "{etag}",
        "W/{etag}",  # weak comparison
        '"other", {etag}',
        '"other",{etag} , "more"',
        "*",
    ],
)
async def test_if_none_match_answers_304_without_a_body(
    client: TestClient, if_none_match: str
) -> None:
    etag, last_modified = await validators(client)
    response = await client.get(
        "/static/site.css", headers={"if-none-match": if_none_match.format(etag=etag)}
    )
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["last-modified"] == last_modified
    assert response.headers["vary"] == "accept-encoding"
    assert "content-length" not in response.headers


async def test_if_none_match_lists_split_over_several_lines(client: TestClient) -> None:
    etag, _ = await validators(client)
    response = await client.raw_request(
        "GET",
        b"/static/site.css",
        headers=[(b"if-none-match", b'"a"'), (b"if-none-match", etag.encode())],
    )
    assert response.status_code == 304


async def test_if_none_match_that_fails_is_a_full_200(client: TestClient) -> None:
    response = await client.get("/static/site.css", headers={"if-none-match": '"nope", W/"x"'})
    assert response.status_code == 200
    assert response.content == CSS


async def test_if_none_match_takes_precedence_over_if_modified_since(client: TestClient) -> None:
    _, last_modified = await validators(client)
    response = await client.get(
        "/static/site.css",
        headers={"if-none-match": '"stale"', "if-modified-since": last_modified},
    )
    assert response.status_code == 200  # the etag does not match: the date is not looked at


async def test_a_malformed_if_none_match_leaves_if_modified_since_in_charge(
    client: TestClient,
) -> None:
    _, last_modified = await validators(client)
    response = await client.get(
        "/static/site.css", headers={"if-none-match": "garbage", "if-modified-since": last_modified}
    )
    assert response.status_code == 304


@pytest.mark.parametrize(
    ("offset", "status"), [(0, 304), (3600, 304), (-3600, 200)], ids=["same", "later", "earlier"]
)
async def test_if_modified_since(
    client: TestClient, public: Path, offset: int, status: int
) -> None:
    mtime = int((public / "site.css").stat().st_mtime)
    since = format_http_date(mtime + offset).decode()
    response = await client.get("/static/site.css", headers={"if-modified-since": since})
    assert response.status_code == status
    assert (response.content == b"") == (status == 304)


async def test_if_modified_since_in_rfc850_and_asctime_formats(
    client: TestClient, public: Path
) -> None:
    os.utime(public / "site.css", (784_111_777, 784_111_777))  # Sun, 06 Nov 1994 08:49:37
    for since in ("Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"):
        response = await client.get("/static/site.css", headers={"if-modified-since": since})
        assert response.status_code == 304, since


@pytest.mark.parametrize("since", ["not a date", "Sun, 06 Nov 1994 08:49:37 +0000"])
async def test_an_invalid_if_modified_since_is_ignored(client: TestClient, since: str) -> None:
    response = await client.get("/static/site.css", headers={"if-modified-since": since})
    assert response.status_code == 200


async def test_if_modified_since_sent_twice_is_ignored(client: TestClient) -> None:
    _, last_modified = await validators(client)
    response = await client.raw_request(
        "GET",
        b"/static/site.css",
        headers=[(b"if-modified-since", last_modified.encode())] * 2,
    )
    assert response.status_code == 200


async def test_head_gets_304_too(client: TestClient) -> None:
    etag, _ = await validators(client)
    response = await client.head("/static/site.css", headers={"if-none-match": etag})
    assert response.status_code == 304


async def test_if_match_and_if_unmodified_since_answer_412(client: TestClient) -> None:
    etag, last_modified = await validators(client)
    assert (await client.get("/static/site.css", headers={"if-match": etag})).status_code == 200
    assert (await client.get("/static/site.css", headers={"if-match": "*"})).status_code == 200
    failed = await client.get("/static/site.css", headers={"if-match": f"W/{etag}"})
    assert failed.status_code == 412  # If-Match compares strongly
    assert failed.content == b""
    assert (await client.get("/static/site.css", headers={"if-match": '"x"'})).status_code == 412
    early = format_http_date(0).decode()
    response = await client.get("/static/site.css", headers={"if-unmodified-since": early})
    assert response.status_code == 412
    response = await client.get("/static/site.css", headers={"if-unmodified-since": last_modified})
    assert response.status_code == 200
    # If-Match present: If-Unmodified-Since is not evaluated.
    response = await client.get(
        "/static/site.css", headers={"if-match": etag, "if-unmodified-since": early}
    )
    assert response.status_code == 200


# ---- ranges --------------------------------------------------------------------------------------


async def test_a_single_range_is_206_with_content_range(client: TestClient) -> None:
    data = big_content()
    for header, first, last in [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-", 1000, BIG_SIZE - 1),
        ("bytes=-500", BIG_SIZE - 500, BIG_SIZE - 1),
        (f"bytes=10-{BIG_SIZE * 2}", 10, BIG_SIZE - 1),
    ]:
        response = await client.get("/static/big.bin", headers={"range": header})
        assert response.status_code == 206, header
        assert response.headers["content-range"] == f"bytes {first}-{last}/{BIG_SIZE}"
        assert response.headers["content-length"] == str(last - first + 1)
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.content == data[first : last + 1]


def parse_multipart(response: httpx.Response) -> list[tuple[str, str, bytes]]:
    """(content-type, content-range, data) of each part of a multipart/byteranges body."""
    head = f"content-type: {response.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser().parsebytes(head + response.content)
    assert message.is_multipart()
    parts = []
    for part in message.get_payload():
        assert not isinstance(part, str)
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        parts.append((part["content-type"], part["content-range"], payload))
    return parts


async def test_several_ranges_are_multipart_byteranges(client: TestClient) -> None:
    data = big_content()
    response = await client.get(
        "/static/big.bin", headers={"range": "bytes=2000000-2999999, 0-9, -5"}
    )
    assert response.status_code == 206
    assert response.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert "content-range" not in response.headers
    assert response.headers["content-length"] == str(len(response.content))
    assert parse_multipart(response) == [
        ("application/octet-stream", f"bytes 0-9/{BIG_SIZE}", data[0:10]),
        ("application/octet-stream", f"bytes 2000000-2999999/{BIG_SIZE}", data[2000000:3000000]),
        ("application/octet-stream", f"bytes {BIG_SIZE - 5}-{BIG_SIZE - 1}/{BIG_SIZE}", data[-5:]),
    ]


async def test_small_multipart_ranges_and_their_boundaries_differ(client: TestClient) -> None:
    first = await client.get("/static/site.css", headers={"range": "bytes=0-1,5-6"})
    second = await client.get("/static/site.css", headers={"range": "bytes=0-1,5-6"})
    assert [data for _, _, data in parse_multipart(first)] == [CSS[0:2], CSS[5:7]]
    assert first.headers["content-type"] != second.headers["content-type"]


async def test_overlapping_ranges_are_merged_into_one(client: TestClient) -> None:
    response = await client.get("/static/site.css", headers={"range": "bytes=0-9,5-19,20-29"})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 0-29/{len(CSS)}"
    assert response.content == CSS[:30]


@pytest.mark.parametrize("header", ["bytes=999999999-", "bytes=-0", "bytes=5000000-6000000"])
async def test_an_unsatisfiable_range_is_416(client: TestClient, header: str) -> None:
    response = await client.get("/static/big.bin", headers={"range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{BIG_SIZE}"
    assert response.content == b""


async def test_a_range_of_an_empty_file_is_416(client: TestClient) -> None:
    response = await client.get("/static/empty.txt", headers={"range": "bytes=0-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */0"


@pytest.mark.parametrize(
    "header", ["bytes=9-0", "bytes=abc", "pages=1-2", "bytes=0-1;", "bytes", "bytes=--1"]
)
async def test_a_malformed_range_is_ignored(client: TestClient, header: str) -> None:
    response = await client.get("/static/site.css", headers={"range": header})
    assert response.status_code == 200
    assert response.content == CSS


async def test_too_many_ranges_are_ignored(client: TestClient) -> None:
    header = "bytes=" + ",".join(f"{i * 3}-{i * 3}" for i in range(17))
    response = await client.get("/static/site.css", headers={"range": header})
    assert response.status_code == 200


async def test_max_ranges_is_settable(public: Path) -> None:
    async with served(public, max_ranges=1) as client:
        response = await client.get("/static/site.css", headers={"range": "bytes=0-1,4-5"})
    assert response.status_code == 200


async def test_two_range_headers_are_ignored(client: TestClient) -> None:
    response = await client.raw_request(
        "GET", b"/static/site.css", headers=[(b"range", b"bytes=0-1"), (b"range", b"bytes=2-3")]
    )
    assert response.status_code == 200


async def test_head_ignores_range(client: TestClient) -> None:
    response = await client.head("/static/site.css", headers={"range": "bytes=0-1"})
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(CSS))


async def test_if_range(client: TestClient, public: Path) -> None:
    os.utime(public / "site.css", (1_000_000_000, 1_000_000_000))
    etag, last_modified = await validators(client)
    cases = [
        (etag, 206),
        (f"W/{etag}", 200),  # If-Range compares strongly
        ('"other"', 200),
        (last_modified, 206),
        (format_http_date(1_000_000_001).decode(), 200),  # only the exact date matches
        ("garbage", 200),
    ]
    for if_range, status in cases:
        response = await client.get(
            "/static/site.css", headers={"range": "bytes=0-4", "if-range": if_range}
        )
        assert response.status_code == status, if_range
        assert response.content == (CSS[:5] if status == 206 else CSS)


async def test_if_range_with_a_date_too_recent_to_be_strong(
    client: TestClient, public: Path
) -> None:
    now = int(time.time()) + 5  # "modified" now: the date cannot tell two versions apart
    os.utime(public / "site.css", (now, now))
    _, last_modified = await validators(client)
    response = await client.get(
        "/static/site.css", headers={"range": "bytes=0-4", "if-range": last_modified}
    )
    assert response.status_code == 200


async def test_a_304_wins_over_a_range(client: TestClient) -> None:
    etag, _ = await validators(client)
    response = await client.get(
        "/static/site.css", headers={"range": "bytes=0-4", "if-none-match": etag}
    )
    assert response.status_code == 304


# ---- directories, indexes, redirects and the SPA fallback ----------------------------------------


async def test_the_mount_and_directories_serve_their_index(client: TestClient) -> None:
    root = await client.get("/static/")
    assert root.status_code == 200
    assert root.content == INDEX
    assert root.headers["content-type"] == "text/html; charset=utf-8"
    docs = await client.get("/static/docs/")
    assert docs.content == b"<h1>docs</h1>\n"


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/static", "/static/"),
        ("/static/docs", "/static/docs/"),
        ("/static/docs?a=1&b=%20", "/static/docs/?a=1&b=%20"),
        ("/static/dir-inside", "/static/dir-inside/"),
    ],
)
async def test_a_directory_without_its_slash_redirects(
    client: TestClient, path: str, location: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 301
    assert response.headers["location"] == location
    assert response.content == b""


async def test_a_directory_without_an_index_is_404(client: TestClient) -> None:
    assert (await client.get("/static/empty/")).status_code == 404
    assert (await client.get("/static/empty")).status_code == 404


async def test_no_index_means_directories_are_404(public: Path) -> None:
    async with served(public, index=None) as client:
        assert (await client.get("/static/")).status_code == 404
        assert (await client.get("/static/docs")).status_code == 404
        assert (await client.get("/static")).status_code == 404


async def test_another_index_name(public: Path) -> None:
    async with served(public, index="page.html") as client:
        assert (await client.get("/static/docs/")).content == b"<h1>page</h1>\n"
        assert (await client.get("/static/")).status_code == 404


@pytest.mark.parametrize(
    "raw_path",
    [
        b"//evil.example/",
        b"//evil.example",
        b"/%2Fevil.example",
        b"/%2fevil.example/",
        b"/\\evil.example",
        b"/%5Cevil.example",
        b"/%09/evil.example",
        b"///evil.example",
    ],
)
async def test_the_redirect_is_never_open(public: Path, raw_path: bytes) -> None:
    (public / "evil.example").mkdir()
    (public / "evil.example" / "index.html").write_bytes(b"local")
    app = Application()
    add_static_files(app, public, "/")  # mounted at '/': the riskiest place
    async with TestClient(app) as client:
        response = await client.raw_request("GET", raw_path)
        assert response.status_code in (400, 404)
        assert "location" not in response.headers
        # The one legitimate redirect is to a path on this host.
        local = await client.raw_request("GET", b"/evil.example")
    assert local.status_code == 301
    assert local.headers["location"] == "/evil.example/"


async def test_the_redirect_honours_root_path_and_encodes_names(public: Path) -> None:
    (public / "a dir é").mkdir()
    (public / "a dir é" / "index.html").write_bytes(b"x")
    app = Application()
    add_static_files(app, public, "/static")
    async with TestClient(app, root_path="/app") as client:
        response = await client.raw_request("GET", b"/app/static/a%20dir%20%C3%A9")
    assert response.status_code == 301
    assert response.headers["location"] == "/app/static/a%20dir%20%C3%A9/"


@pytest.mark.parametrize("query", [b"a=b c", b"a=\x7f", b"a=\tb"])
async def test_a_query_with_unsafe_bytes_is_dropped_from_the_redirect(
    client: TestClient, query: bytes
) -> None:
    # (Bytes above 0x7f cannot go through raw_request: httpx refuses them in a URL.)
    response = await client.raw_request("GET", b"/static/docs", query_string=query)
    assert response.status_code == 301
    assert response.headers["location"] == "/static/docs/"


async def test_the_spa_fallback_serves_a_file_for_missing_paths(public: Path) -> None:
    async with served(public, fallback="index.html", mount="/") as client:
        for path in ("/some/client/route", "/missing.txt", "/docs/missing"):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert response.content == INDEX
            assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert (await client.get("/site.css")).content == CSS  # real files still win
        for refused in (b"/../secret.txt", b"/.env", b"/link-outside"):
            assert (await client.raw_request("GET", refused)).status_code == 404, refused


async def test_a_missing_fallback_file_is_404(public: Path) -> None:
    async with served(public, fallback="nope.html") as client:
        assert (await client.get("/static/missing")).status_code == 404


# ---- precompressed siblings ----------------------------------------------------------------------


async def raw_get(
    client: TestClient, path: str, headers: dict[str, str]
) -> tuple[httpx.Response, bytes]:
    """The response and its body as sent (httpx would decode a gzip body)."""
    async with client.stream("GET", path, headers=headers) as response:
        data = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, data


@pytest.mark.parametrize(
    ("accept_encoding", "coding", "content"),
    [
        ("gzip, deflate, br", "br", CSS_BR),
        ("gzip", "gzip", CSS_GZ),
        ("gzip,br", "br", CSS_BR),
        ("br;q=0.5, gzip", "gzip", CSS_GZ),
        ("br;q=0, gzip", "gzip", CSS_GZ),
        ("gzip; q=0.5, br;q=0.4", "gzip", CSS_GZ),
        ("*", "br", CSS_BR),
        ("identity", None, CSS),
        ("*;q=0", None, CSS),
        ("deflate", None, CSS),
        ("", None, CSS),
    ],
)
async def test_precompressed_siblings_are_chosen_by_accept_encoding(
    client: TestClient, accept_encoding: str, coding: str | None, content: bytes
) -> None:
    response, data = await raw_get(client, "/static/site.css", {"accept-encoding": accept_encoding})
    assert response.status_code == 200
    assert response.headers.get("content-encoding") == coding
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    assert response.headers["vary"] == "accept-encoding"
    assert data == content
    assert response.headers["content-length"] == str(len(content))


async def test_each_variant_has_its_own_etag_and_304(client: TestClient) -> None:
    etags = {}
    for coding in ("br", "gzip", "identity"):
        response = await client.raw_request(
            "GET", b"/static/site.css", headers=[(b"accept-encoding", coding.encode())]
        )
        etags[coding] = response.headers["etag"]
    assert len(set(etags.values())) == 3
    assert etags["br"].endswith('-br"')
    assert etags["gzip"].endswith('-gzip"')
    for coding, etag in etags.items():
        response = await client.raw_request(
            "GET",
            b"/static/site.css",
            headers=[(b"accept-encoding", coding.encode()), (b"if-none-match", etag.encode())],
        )
        assert response.status_code == 304
        assert response.headers["etag"] == etag
    # Another variant's etag does not match this one.
    response = await client.raw_request(
        "GET",
        b"/static/site.css",
        headers=[(b"accept-encoding", b"br"), (b"if-none-match", etags["gzip"].encode())],
    )
    assert response.status_code == 200


async def test_a_range_of_a_variant_is_a_range_of_its_bytes(client: TestClient) -> None:
    response, data = await raw_get(
        client, "/static/site.css", {"accept-encoding": "gzip", "range": "bytes=0-3"}
    )
    assert response.status_code == 206
    assert data == CSS_GZ[:4]
    assert response.headers["content-range"] == f"bytes 0-3/{len(CSS_GZ)}"


async def test_precompressed_can_be_turned_off_or_reordered(public: Path) -> None:
    async with served(public, precompressed=()) as client:
        response = await client.raw_request(
            "GET", b"/static/site.css", headers=[(b"accept-encoding", b"br, gzip")]
        )
        assert "content-encoding" not in response.headers
        assert "vary" not in response.headers
    async with served(public, precompressed=("gzip", "br")) as client:
        response = await client.raw_request(
            "GET", b"/static/site.css", headers=[(b"accept-encoding", b"br, gzip")]
        )
        assert response.headers["content-encoding"] == "gzip"


async def test_an_index_file_has_variants_too(public: Path) -> None:
    (public / "index.html.gz").write_bytes(b"gz-index")
    async with served(public) as client:
        response, data = await raw_get(client, "/static/", {"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert data == b"gz-index"


async def test_a_variant_that_is_a_link_outside_is_not_served(public: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path / "secret.txt", public / "hello.txt.gz")
    async with served(public) as client:
        response = await client.raw_request(
            "GET", b"/static/hello.txt", headers=[(b"accept-encoding", b"gzip")]
        )
    assert response.status_code == 200
    assert response.content == b"hello\n"
    assert "content-encoding" not in response.headers


# ---- cache-control -------------------------------------------------------------------------------


async def test_cache_control_is_settable(public: Path) -> None:
    async with served(public, cache_control="public, max-age=60") as client:
        response = await client.get("/static/site.css")
        assert response.headers["cache-control"] == "public, max-age=60"
        etag = response.headers["etag"]
        not_modified = await client.get("/static/site.css", headers={"if-none-match": etag})
        assert not_modified.headers["cache-control"] == "public, max-age=60"


async def test_fingerprinted_names_are_immutable_on_request(public: Path) -> None:
    async with served(public, cache_control="no-cache", immutable=True) as client:
        fingerprinted = await client.get("/static/app.3f2a9c1b.js")
        plain = await client.get("/static/app.js")
    assert fingerprinted.headers["cache-control"] == IMMUTABLE_CACHE_CONTROL
    assert plain.headers["cache-control"] == "no-cache"
    async with served(public) as client:
        default = await client.get("/static/app.3f2a9c1b.js")
    assert "cache-control" not in default.headers


async def test_immutable_takes_a_pattern(public: Path) -> None:
    async with served(public, immutable=r"^app\.js$") as client:
        assert (await client.get("/static/app.js")).headers["cache-control"] == (
            IMMUTABLE_CACHE_CONTROL
        )
        assert "cache-control" not in (await client.get("/static/app.3f2a9c1b.js")).headers


@pytest.mark.parametrize(
    ("name", "immutable"),
    [
        ("app.3f2a9c1b.js", True),
        ("main-0d8e41ab77ff.css", True),
        ("chunk.1234abcd.min.js", False),  # the hash must come right before the extension
        ("report.20240101.csv", False),  # all digits: a date, not a hash
        ("decade.deadbeef.js", False),  # all letters: a word
        ("app.3F2A9C1B.js", False),
        ("app.3f2a9c1.js", False),
    ],
)
def test_the_default_fingerprint_pattern(public: Path, name: str, immutable: bool) -> None:
    import re

    from bareasgi_static import FINGERPRINTED

    assert (re.search(FINGERPRINTED, name) is not None) == immutable


# ---- several mounts, mounting at '/', url_for ----------------------------------------------------


async def test_several_mounts_on_one_app(public: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "site.css").write_bytes(b"other css")
    app = Application()
    add_static_files(app, public, "/static")
    add_static_files(app, other, "/assets/v2", cache_control="max-age=1")
    async with TestClient(app) as client:
        assert (await client.get("/static/site.css")).content == CSS
        response = await client.get("/assets/v2/site.css")
        assert response.content == b"other css"
        assert response.headers["cache-control"] == "max-age=1"
        assert (await client.get("/assets/v2")).status_code == 404  # no index there


async def test_routes_of_the_app_win_over_a_root_mount(public: Path) -> None:
    from bareasgi import text_writer

    app = Application()

    @app.on_http_request({"GET"}, "/site.css")
    async def own(*_: Any) -> Any:
        return 200, [(b"content-type", b"text/plain")], text_writer("the app's")

    add_static_files(app, public, "/")
    async with TestClient(app) as client:
        assert (await client.get("/site.css")).text == "the app's"
        assert (await client.get("/app.js")).status_code == 200
        assert (await client.get("/")).content == INDEX


async def test_url_for_and_url(public: Path) -> None:
    app = Application()
    (files,) = add_static_files(app, public, "/static", name="static").files
    assert app.url_for("static", path="css/site.css") == "/static/css/site.css"
    assert files.url("a dir/é.txt") == "/static/a%20dir/%C3%A9.txt"
    assert files.template == "/static/{path:path}"
    assert "StaticFiles" in repr(files)


def test_settings_problems_are_reported_together(tmp_path: Path) -> None:
    app = Application()
    with pytest.raises(ValueError, match="invalid static files settings") as caught:
        add_static_files(
            app,
            tmp_path / "missing",
            "static/",
            index="a/b",
            fallback="../x",
            precompressed=("br", "lzma", "br"),
            cache_control="a\r\nb",
            immutable="(",
            content_types={"": "text/x", "x": "nonsense"},
            default_content_type="bad",
            charset="utf 8",
            chunk_size=1,
            max_ranges=0,
            name="",
        )
    message = str(caught.value)
    for option in (
        "directory",
        "mount",
        "index",
        "fallback",
        "precompressed",
        "names a coding twice",
        "cache_control",
        "immutable",
        "content_types",
        "default_content_type",
        "charset",
        "chunk_size",
        "max_ranges",
        "name",
    ):
        assert option in message
    with pytest.raises(TypeError):
        add_static_files(app, tmp_path, "/x", colour="red")


@pytest.mark.parametrize("mount", ["/", "/static", "/a/b c"])
def test_good_mounts(tmp_path: Path, mount: str) -> None:
    assert StaticSettings(directory=str(tmp_path), mount=mount).problems() == []


@pytest.mark.parametrize("mount", ["", "static", "/static/", "//x", "/a/../b", "/{x}", "/a\\b"])
def test_bad_mounts(tmp_path: Path, mount: str) -> None:
    assert StaticSettings(directory=str(tmp_path), mount=mount).problems() != []


async def test_a_mount_with_a_space_in_it(public: Path) -> None:
    async with served(public, mount="/my files") as client:
        assert (await client.get("/my%20files/site.css")).content == CSS
        response = await client.get("/my%20files")
        assert response.headers["location"] == "/my%20files/"


async def test_content_types_and_charset_are_settable(public: Path) -> None:
    async with served(
        public,
        content_types={"qqq": "text/x-q", "css": "text/plain"},
        default_content_type="text/plain",
        charset="iso-8859-1",
    ) as client:
        assert (await client.get("/static/unknown.qqq")).headers["content-type"] == (
            "text/x-q; charset=iso-8859-1"
        )
        assert (await client.get("/static/site.css")).headers["content-type"] == (
            "text/plain; charset=iso-8859-1"
        )
        assert (await client.get("/static/noext")).headers["content-type"] == (
            "text/plain; charset=iso-8859-1"
        )


# ---- streaming, disconnects, memory --------------------------------------------------------------


async def test_a_large_file_is_streamed_in_chunks(public: Path) -> None:
    async with served(public, chunk_size=64 * 1024) as client:
        chunks = []
        async with client.stream("GET", "/static/big.bin") as response:
            assert response.headers["content-length"] == str(BIG_SIZE)
            async for chunk in response.aiter_raw():
                chunks.append(len(chunk))
    assert sum(chunks) == BIG_SIZE
    assert max(chunks) <= 64 * 1024
    assert len(chunks) >= BIG_SIZE // (64 * 1024)


async def test_a_client_that_goes_away_stops_the_read_and_closes_the_file(
    public: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    real_pread = os.pread

    def counting_pread(fd: int, size: int, offset: int) -> bytes:
        reads.append(offset)
        return real_pread(fd, size, offset)

    monkeypatch.setattr(os, "pread", counting_pread)
    closed: list[FileBody] = []
    real_close = FileBody._close

    def recording_close(self: FileBody) -> None:
        closed.append(self)
        real_close(self)

    monkeypatch.setattr(FileBody, "_close", recording_close)
    # The body closes its file once no read is in flight: after that, nothing can read it.
    file_closed = threading.Event()
    real_os_close = os.close

    def recording_os_close(fd: int) -> None:
        real_os_close(fd)
        if any(body._fd == fd for body in closed):
            file_closed.set()

    monkeypatch.setattr(os, "close", recording_os_close)
    open_before = len(os.listdir("/proc/self/fd"))
    async with served(public, chunk_size=4096) as client:
        async with client.stream("GET", "/static/big.bin") as response:
            async for _ in response.aiter_raw():
                break  # leaving the block disconnects
        await client.wait_for_app_tasks()
        assert closed
        assert await asyncio.to_thread(file_closed.wait, 10), "the file was never closed"
        # Reads stopped: at most the chunk sent, the one read ahead, and one in flight.
        count = len(reads)
        assert count < 10
    assert len(reads) == count
    assert len(os.listdir("/proc/self/fd")) <= open_before


async def test_head_304_412_and_416_never_open_the_file(
    public: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[object] = []
    real_open = os.open

    def recording_open(path: Any, *args: Any, **kwargs: Any) -> int:
        opened.append(path)
        return real_open(path, *args, **kwargs)

    async with served(public) as client:
        etag = (await client.get("/static/big.bin")).headers["etag"]
        monkeypatch.setattr(os, "open", recording_open)
        assert (await client.head("/static/big.bin")).status_code == 200
        response = await client.get("/static/big.bin", headers={"if-none-match": etag})
        assert response.status_code == 304
        response = await client.get("/static/big.bin", headers={"if-match": '"x"'})
        assert response.status_code == 412
        response = await client.get("/static/big.bin", headers={"range": "bytes=99999999-"})
        assert response.status_code == 416
        assert opened == []
        assert (await client.get("/static/big.bin")).status_code == 200
    assert len(opened) == 1


async def test_a_file_changed_between_its_check_and_its_opening(
    public: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def changing_open(path: Any, *args: Any, **kwargs: Any) -> int:
        if os.fsdecode(path).endswith("hello.txt"):
            with open(path, "wb") as file:
                file.write(b"a longer greeting\n")
        return real_open(path, *args, **kwargs)

    async with served(public) as client:
        monkeypatch.setattr(os, "open", changing_open)
        response = await client.get("/static/hello.txt")
    # The answer describes the file as it was opened: length, etag and bytes agree.
    assert response.content == b"a longer greeting\n"
    assert response.headers["content-length"] == str(len(response.content))
    assert response.headers["etag"].endswith(f'-{len(response.content):x}"')


async def test_a_body_dropped_without_aclose_still_closes_its_file(public: Path) -> None:
    files = StaticFiles(StaticSettings(directory=str(public), chunk_size=4096))
    scope = {"method": "GET", "headers": [], "root_path": "", "query_string": b""}
    response: Any = await files.handle(scope, {}, {"path": "big.bin"}, _no_content())
    body = response[2]
    assert isinstance(body, FileBody)
    fd = body._fd
    os.fstat(fd)
    del body, response
    await asyncio.sleep(0)  # the loop lets go of the finished future
    import gc

    gc.collect()
    with pytest.raises(OSError):
        os.fstat(fd)
    files.close()


async def test_a_request_cancelled_while_its_file_opens_closes_the_file(
    public: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    opened: list[int] = []
    real_open = os.open

    def slow_open(path: Any, *args: Any, **kwargs: Any) -> int:
        entered.set()
        release.wait(10)
        fd = real_open(path, *args, **kwargs)
        opened.append(fd)
        return fd

    files = StaticFiles(StaticSettings(directory=str(public), chunk_size=4096))
    monkeypatch.setattr(os, "open", slow_open)
    scope = {"method": "GET", "headers": [], "root_path": "", "query_string": b""}
    task = asyncio.ensure_future(files.handle(scope, {}, {"path": "big.bin"}, _no_content()))
    assert await asyncio.to_thread(entered.wait, 10)
    task.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(200):  # the worker finishes, then the file it opened is closed
        if opened:
            try:
                os.fstat(opened[0])
            except OSError:
                break
        await asyncio.sleep(0.01)
    else:
        pytest.fail("the file of the cancelled request is still open")
    files.close()


async def _no_content() -> AsyncIterator[bytes]:
    nothing: tuple[bytes, ...] = ()
    for chunk in nothing:
        yield chunk


async def test_a_file_that_shrinks_while_streaming_ends_the_response(
    public: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        served(public, chunk_size=64 * 1024) as client,
        client.stream("GET", "/static/big.bin") as response,
    ):
        stream = response.aiter_raw()
        await anext(stream)
        os.truncate(public / "big.bin", 1000)
        with pytest.raises(httpx.HTTPError):
            async for _ in stream:
                pass
    assert "failed while streaming" in caplog.text


async def test_a_gigabyte_is_served_with_flat_memory(tmp_path: Path) -> None:
    """1 GiB (sparse, so no disk is used) through the app: the peak stays a few chunks."""
    folder = tmp_path / "huge"
    folder.mkdir()
    size = 1024 * MIB
    (folder / "huge.bin").touch()
    os.truncate(folder / "huge.bin", size)
    app = Application()
    add_static_files(app, folder, "/static", chunk_size=1024 * 1024)
    received = 0
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        nonlocal received
        if message["type"] == "http.response.body":
            received += len(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/static/huge.bin",
        "raw_path": b"/static/huge.bin",
        "query_string": b"",
        "root_path": "",
        "headers": [],
    }
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        await app(scope, receive, send)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == size
    assert (peak - base) < 8 * MIB
