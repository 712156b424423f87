"""Cookies (bareasgi.cookies): RFC 6265 parsing and a set-cookie builder that refuses
injection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bareutils.cookies import decode_cookies

from bareasgi import (
    Application,
    Content,
    HttpResponse,
    Info,
    Matches,
    Scope,
    delete_cookie_header,
    json_response,
    request_cookies,
    set_cookie_header,
)
from bareasgi.testing import TestClient


def cookies_of(*headers: bytes) -> dict[str, str]:
    return request_cookies({"headers": [(b"cookie", header) for header in headers]})


def test_with_and_without_spaces_alike() -> None:
    assert cookies_of(b"a=1;b=2") == {"a": "1", "b": "2"}
    assert cookies_of(b"a=1; b=2") == {"a": "1", "b": "2"}
    assert cookies_of(b" a = 1 ;\tb=2 ; ") == {"a": "1", "b": "2"}
    # bareutils 5.1.1, which this replaces, reads the first as one cookie:
    assert decode_cookies(b"a=1;b=2") == {b"a": [b"1;b=2"]}


def test_details() -> None:
    assert cookies_of(b'q="quoted"; e=; x=a=b; =novalue; flag; a=1; a=2') == {
        "q": "quoted",
        "e": "",
        "x": "a=b",
        "a": "1",  # the first wins: the most specific path comes first
    }
    assert cookies_of(b"a=1", b"b=2") == {"a": "1", "b": "2"}  # HTTP/2 splits the header
    assert cookies_of(b"u=%C3%A9; v=\xc3\xa9; w=\xff") == {"u": "%C3%A9", "v": "é", "w": "\ufffd"}
    assert request_cookies({"headers": [(b"accept", b"*/*")]}) == {}


def test_8_kib_header_with_1000_pairs() -> None:
    header = b"; ".join(b"c%03d=%s" % (i, b"v" * 3) for i in range(1000))
    assert len(header) >= 8 * 1024
    cookies = cookies_of(header)
    assert len(cookies) == 1000
    assert cookies["c999"] == "vvv"


async def test_in_and_out_through_an_app() -> None:
    app = Application()

    @app.on_http_request({"GET"}, "/")
    async def index(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        seen = request_cookies(scope)
        status, headers, body = json_response(seen)
        headers.append(set_cookie_header("session", "abc123"))
        headers.append(delete_cookie_header("old"))
        return status, headers, body

    async with TestClient(app) as client:
        response = await client.get("/", headers={"cookie": "a=1;b=2"})
    assert response.json() == {"a": "1", "b": "2"}
    assert response.headers.get_list("set-cookie") == [
        "session=abc123; Path=/; Secure; HttpOnly; SameSite=Lax",
        "old=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; Secure; HttpOnly;"
        " SameSite=Lax",
    ]


def test_builder_options() -> None:
    name, value = set_cookie_header(
        "__Host-id",
        "x.y-z_~!",
        max_age=timedelta(hours=1),
        expires=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
        same_site="Strict",
        partitioned=True,
    )
    assert name == b"set-cookie"
    assert value == (
        b"__Host-id=x.y-z_~!; Expires=Wed, 02 Jan 2030 03:04:05 GMT; Max-Age=3600; Path=/;"
        b" Secure; HttpOnly; SameSite=Strict; Partitioned"
    )
    _, plain = set_cookie_header(
        "t", "1", path=None, secure=False, http_only=False, same_site=None, domain="example.com"
    )
    assert plain == b"t=1; Domain=example.com"


@pytest.mark.parametrize(
    "value",
    ["a;b", "a\r\nSet-Cookie: x=1", "a\nb", "a b", 'a"b', "a,b", "a\\b", "é", "a\x00"],
)
def test_values_that_would_inject_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="encode it first"):
        set_cookie_header("session", value)


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        (("a;b", "1"), {}, "not a token"),
        (("", "1"), {}, "not a token"),
        (("a", "1"), {"path": "/x; Domain=evil.example"}, "path"),
        (("a", "1"), {"path": "/x\r\n"}, "path"),
        (("a", "1"), {"path": ""}, "path"),
        (("a", "1"), {"domain": "evil.example; Secure"}, "domain"),
        (("a", "1"), {"same_site": "Sometimes"}, "same_site"),
        (("a", "1"), {"same_site": "None", "secure": False}, "SameSite=None"),
        (("__Secure-a", "1"), {"secure": False}, "__Secure-"),
        (("__Host-a", "1"), {"path": "/x"}, "__Host-"),
        (("__Host-a", "1"), {"domain": "example.com"}, "__Host-"),
        (("a", "1"), {"max_age": "10; Domain=x"}, "max_age"),
        (("a", "1"), {"max_age": True}, "max_age"),
    ],
)
def test_other_refusals(args: tuple[str, str], options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        set_cookie_header(*args, **options)  # type: ignore[arg-type]
