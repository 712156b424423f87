"""Redirects (bareasgi.redirects): the answer, client-supplied targets, trailing slashes."""

from __future__ import annotations

import pytest

from bareasgi import (
    Application,
    Content,
    HttpResponse,
    Info,
    Matches,
    Scope,
    query_value,
    redirect,
    redirect_slashes,
    safe_redirect_target,
    text_writer,
)
from bareasgi.redirects import encode_location
from bareasgi.testing import TestClient


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_answers(status: int) -> None:
    assert redirect("/done", status) == (status, [(b"location", b"/done")], b"")


def test_redirect_defaults_to_303_and_keeps_extra_headers() -> None:
    answer = redirect("/next", headers=[(b"set-cookie", b"a=1")])
    assert answer == (303, [(b"location", b"/next"), (b"set-cookie", b"a=1")], b"")


@pytest.mark.parametrize("status", [200, 304, 404, 300])
def test_redirect_refuses_other_statuses(status: int) -> None:
    with pytest.raises(ValueError):
        redirect("/", status)


@pytest.mark.parametrize(
    ("location", "encoded"),
    [
        ("/a b", b"/a%20b"),
        ("/x\r\nSet-Cookie: a=1", b"/x%0D%0ASet-Cookie:%20a=1"),
        ("/\x00", b"/%00"),
        ("/café?q=é#frag", b"/caf%C3%A9?q=%C3%A9#frag"),
        ("/already%20encoded", b"/already%20encoded"),
        ("/100%", b"/100%25"),
        ("/%zz", b"/%25zz"),
        ('/"<>\\^`{|}', b"/%22%3C%3E%5C%5E%60%7B%7C%7D"),
        ("https://example.com/a?b=c&d=e", b"https://example.com/a?b=c&d=e"),
    ],
)
def test_the_location_is_percent_encoded(location: str, encoded: bytes) -> None:
    assert encode_location(location) == encoded
    assert redirect(location)[1][0] == (b"location", encoded)


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        " //evil.example",
        "\x00//evil.example",
        "http:evil.example",
        "https:/evil.example",
        "javascript:alert(1)",
        "data:text/html,x",
        "evil.example",
        "relative/path",
        "https://good.example@evil.example/",
        "",
        None,
    ],
)
def test_off_site_targets_are_refused(target: str | None) -> None:
    assert safe_redirect_target(target) == "/"
    assert safe_redirect_target(target, allowed_hosts=["good.example"], fallback="/home") == "/home"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/account", "/account"),
        ("/a/b?c=d#e", "/a/b?c=d#e"),
        ("/a\\b", "/a/b"),
        ("/x\n", "/x"),
        ("https://good.example/p", "https://good.example/p"),
        ("HTTP://GOOD.EXAMPLE:8443/p", "HTTP://GOOD.EXAMPLE:8443/p"),
        ("//good.example/p", "//good.example/p"),
    ],
)
def test_on_site_and_allowed_targets_pass(target: str, expected: str) -> None:
    assert safe_redirect_target(target, allowed_hosts=["Good.Example"]) == expected


async def test_a_next_parameter_end_to_end() -> None:
    app = Application()

    @app.on_http_request({"POST", "GET"}, "/login")
    async def login(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return redirect(safe_redirect_target(query_value(scope, "next", default=None)))

    async with TestClient(app) as client:
        inside = await client.post("/login?next=/account%3Ftab%3D1")
        outside = await client.post("/login?next=//evil.example/x")
        backslash = await client.get("/login?next=/%5Cevil.example")
    assert (inside.status_code, inside.headers["location"]) == (303, "/account?tab=1")
    assert outside.headers["location"] == "/"
    assert backslash.headers["location"] == "/"


# ---- redirect_slashes -------------------------------------------------------------------------


async def ok(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, [(b"content-type", b"text/plain")], text_writer(scope["path"])


def slash_app(enabled: bool) -> Application:
    app = Application()
    app.http_router.add({"GET"}, "/docs/", ok)
    app.http_router.add({"GET", "POST"}, "/items", ok)
    app.http_router.add({"GET"}, "/users/{name}", ok)
    app.http_router.add({"GET"}, "/files/{path:path}", ok)
    app.http_router.add({"GET"}, "/", ok)
    if enabled:
        redirect_slashes(app)
    return app


async def test_off_by_default() -> None:
    async with TestClient(slash_app(False)) as client:
        assert (await client.get("/docs")).status_code == 404
        assert (await client.get("/items/")).status_code == 404


async def test_redirect_slashes_answers_308_to_the_route_that_exists() -> None:
    async with TestClient(slash_app(True)) as client:
        missing = await client.get("/docs?x=1&y=%20")
        extra = await client.post("/items/")
        param = await client.get("/users/ann%20b/")
        head = await client.head("/docs")
        exact = await client.get("/docs/")
        neither = await client.get("/nothing/")
        wrong_method = await client.delete("/items/")
    assert (missing.status_code, missing.headers["location"]) == (308, "/docs/?x=1&y=%20")
    assert (extra.status_code, extra.headers["location"]) == (308, "/items")
    assert param.headers["location"] == "/users/ann%20b"
    assert head.status_code == 308
    assert exact.status_code == 200
    assert neither.status_code == 404
    assert wrong_method.status_code == 404


async def test_never_a_protocol_relative_location() -> None:
    async with TestClient(slash_app(True)) as client:
        response = await client.raw_request("GET", b"//evil.example/")
    assert response.status_code == 404
    assert "location" not in response.headers


async def test_a_route_handler_s_own_404_is_left_alone() -> None:
    app = Application()

    async def gone(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 404

    app.http_router.add({"GET"}, "/gone", gone)
    app.http_router.add({"GET"}, "/gone/", ok)
    redirect_slashes(app)
    async with TestClient(app) as client:
        assert (await client.get("/gone")).status_code == 404


async def test_redirect_slashes_under_a_root_path() -> None:
    outer = Application()
    outer.mount("/app", slash_app(True))
    async with TestClient(outer) as client:
        response = await client.get("/app/docs")
    assert (response.status_code, response.headers["location"]) == (308, "/app/docs/")


def test_redirect_slashes_status_is_a_redirect() -> None:
    with pytest.raises(ValueError):
        redirect_slashes(Application(), status=303)
