"""Bad input: every kind of Origin and preflight header a browser would never send."""

from __future__ import annotations

from typing import Any

import pytest
from cors_helpers import GOOD, build_app, cors_headers, raw, vary_tokens

from bareasgi.testing import TestClient

REGEX = r"https://([a-z0-9-]+\.)?good\.example\.com"
"""A careful pattern: good.example.com and its subdomains."""
LOOSE_REGEX = r"https://.*\.example\.com"
"""A careless pattern (`.*`): the origin syntax check must still keep paths and ports out."""

MALFORMED = [
    b"good.example.com",
    b"//good.example.com",
    b"https://good.example.com/",
    b"https://good.example.com/path",
    b"https://good.example.com?x",
    b"https://user@good.example.com",
    b"https://good.example.com:",
    b"https://good.example.com:443x",
    b"https://good.example.com:1234567",
    b"https:/good.example.com",
    b"https://",
    b"",
    b" https://good.example.com",
    b"https://good.example.com ",
    b"https://g\xc3\xb6od.example.com",
    b"https://good.example.com\x00",
    b"https://good..example.com",
    b"https://evil.net/.example.com",
    b"https://evil.net?.example.com",
    b"https://evil.net#.example.com",
    b"https://evil.net:1.example.com",
    b"https://evil.net\\.example.com",
    b"https://evil.net@a.example.com",
    b"*",
    b"null",
]

LOOKALIKES = [
    b"https://GOOD.example.com",
    b"HTTPS://good.example.com",
    b"https://good.Example.com",
    b"http://good.example.com",
    b"wss://good.example.com",
    b"https://good.example.com:443",
    b"https://good.example.com:8443",
    b"https://good.example.com.",
    b"https://good.example.com.evil.net",
    b"https://evilgood.example.com",
    b"https://good.example.co",
    b"https://good.example.comm",
    b"https://ood.example.com",
    b"https://good-example.com",
    b"https://goodxexample.com",
]


def _config(kind: str) -> dict[str, Any]:
    if kind == "exact":
        return {"allow_origins": [GOOD]}
    if kind == "regex":
        return {"allow_origin_regex": REGEX}
    return {"allow_origin_regex": LOOSE_REGEX}


@pytest.mark.parametrize("kind", ["exact", "regex", "loose-regex"])
@pytest.mark.parametrize("origin", MALFORMED, ids=repr)
async def test_a_malformed_origin_is_never_allowed(kind: str, origin: bytes) -> None:
    app, reached = build_app(**_config(kind))
    async with TestClient(app) as client:
        actual = await raw(client, "GET", [(b"origin", origin)])
        refused = await raw(
            client, "OPTIONS", [(b"origin", origin), (b"access-control-request-method", b"GET")]
        )
    assert actual.status_code == 200
    assert cors_headers(actual) == {}
    assert vary_tokens(actual) == ["origin"]
    assert refused.status_code == 400
    assert refused.text == "CORS preflight refused: origin not allowed"
    assert reached == ["GET /things"]


@pytest.mark.parametrize("origin", MALFORMED[:-1], ids=repr)
async def test_a_malformed_origin_gets_nothing_from_a_star_either(origin: bytes) -> None:
    app, _ = build_app(allow_origins=["*"])
    async with TestClient(app) as client:
        actual = await raw(client, "GET", [(b"origin", origin)])
        refused = await raw(
            client, "OPTIONS", [(b"origin", origin), (b"access-control-request-method", b"GET")]
        )
    assert cors_headers(actual) == {}
    assert refused.status_code == 400


async def test_null_is_allowed_only_when_listed_or_by_star() -> None:
    for options, allowed in (
        ({"allow_origins": [GOOD]}, None),
        ({"allow_origin_regex": ".*"}, None),
        ({"allow_origins": ["null"]}, "null"),
        ({"allow_origins": ["*"]}, "*"),
    ):
        app, _ = build_app(**options)
        async with TestClient(app) as client:
            response = await client.get("/things", headers={"origin": "null"})
        assert response.headers.get("access-control-allow-origin") == allowed, options


# The careless pattern allows every subdomain of example.com: that is what it says.
LOOSE_ALLOWS = (b"https://evilgood.example.com", b"https://ood.example.com")


@pytest.mark.parametrize(
    ("kind", "origin"),
    [
        (kind, origin)
        for kind in ("exact", "regex", "loose-regex")
        for origin in LOOKALIKES
        if not (kind == "loose-regex" and origin in LOOSE_ALLOWS)
    ],
    ids=repr,
)
async def test_origins_differing_in_case_port_scheme_or_name_are_refused(
    kind: str, origin: bytes
) -> None:
    app, _ = build_app(**_config(kind))
    async with TestClient(app) as client:
        actual = await raw(client, "GET", [(b"origin", origin)])
        refused = await raw(
            client, "OPTIONS", [(b"origin", origin), (b"access-control-request-method", b"GET")]
        )
    assert cors_headers(actual) == {}
    assert refused.status_code == 400


async def test_the_careful_regex_allows_the_subdomains_it_names() -> None:
    app, _ = build_app(allow_origin_regex=REGEX)
    async with TestClient(app) as client:
        for origin in (GOOD, "https://api.good.example.com", "https://a-b.good.example.com"):
            response = await client.get("/things", headers={"origin": origin})
            assert response.headers["access-control-allow-origin"] == origin


async def test_repeated_origin_headers_are_trusted_by_no_one() -> None:
    app, reached = build_app(allow_origins=[GOOD, "https://other.example.com"])
    both_allowed = [(b"origin", GOOD.encode()), (b"origin", b"https://other.example.com")]
    one_evil = [(b"origin", b"https://evil.example.net"), (b"origin", GOOD.encode())]
    same_twice = [(b"origin", GOOD.encode()), (b"origin", GOOD.encode())]
    async with TestClient(app) as client:
        for headers in (both_allowed, one_evil, same_twice):
            actual = await raw(client, "GET", headers)
            assert cors_headers(actual) == {}
            assert vary_tokens(actual) == ["origin"]
            refused = await raw(
                client, "OPTIONS", [*headers, (b"access-control-request-method", b"GET")]
            )
            assert refused.status_code == 400
            assert refused.text == "CORS preflight refused: repeated Origin header"
    assert reached == ["GET /things"] * 3


async def test_repeated_request_method_headers_are_refused() -> None:
    app, _ = build_app(allow_origins=[GOOD])
    async with TestClient(app) as client:
        response = await raw(
            client,
            "OPTIONS",
            [
                (b"origin", GOOD.encode()),
                (b"access-control-request-method", b"GET"),
                (b"access-control-request-method", b"GET"),
            ],
        )
    assert response.status_code == 400
    assert response.text == (
        "CORS preflight refused: repeated Access-Control-Request-Method header"
    )


@pytest.mark.parametrize("method", [b"", b"PU T", b"GET,PUT", b"G\xc3\xa9T", b"(GET)", b"\t"])
async def test_a_request_method_that_is_not_a_method_is_refused(method: bytes) -> None:
    app, _ = build_app(allow_origins=[GOOD], allow_methods=["*"])
    async with TestClient(app) as client:
        response = await raw(
            client,
            "OPTIONS",
            [(b"origin", GOOD.encode()), (b"access-control-request-method", method)],
        )
    assert response.status_code == 400
    assert response.text == "CORS preflight refused: Access-Control-Request-Method is not a method"


@pytest.mark.parametrize("requested", [b"x-a;x-b", b"x-a, x b", b"x-\xc3\xa9", b'"x-a"'])
async def test_requested_headers_that_are_not_names_are_refused(requested: bytes) -> None:
    app, _ = build_app(allow_origins=[GOOD], allow_headers=["*"])
    async with TestClient(app) as client:
        response = await raw(
            client,
            "OPTIONS",
            [
                (b"origin", GOOD.encode()),
                (b"access-control-request-method", b"GET"),
                (b"access-control-request-headers", requested),
            ],
        )
    assert response.status_code == 400
    assert "not a name" in response.text


async def test_empty_entries_in_requested_headers_are_ignored() -> None:
    app, _ = build_app(allow_origins=[GOOD], allow_headers=["x-a"])
    async with TestClient(app) as client:
        for requested in (b"", b",", b" , x-a ,, "):
            response = await raw(
                client,
                "OPTIONS",
                [
                    (b"origin", GOOD.encode()),
                    (b"access-control-request-method", b"GET"),
                    (b"access-control-request-headers", requested),
                ],
            )
            assert response.status_code == 204, requested


async def test_hundreds_of_requested_headers() -> None:
    names = [f"x-h{i}" for i in range(500)]
    requested = ",".join(names).encode()
    request = [
        (b"origin", GOOD.encode()),
        (b"access-control-request-method", b"PUT"),
        (b"access-control-request-headers", requested),
    ]
    allowed_all, _ = build_app(allow_origins=[GOOD], allow_methods=["PUT"], allow_headers=names)
    allowed_any, _ = build_app(allow_origins=[GOOD], allow_methods=["PUT"], allow_headers=["*"])
    allowed_few, reached = build_app(allow_origins=[GOOD], allow_methods=["PUT"])
    async with TestClient(allowed_all) as client:
        every = await raw(client, "OPTIONS", request)
    async with TestClient(allowed_any) as client:
        star = await raw(client, "OPTIONS", request)
        # The same names, split over many headers, in upper case, with spaces.
        spread = [
            *request[:2],
            *((b"access-control-request-headers", f" X-H{i} ".encode()) for i in range(500)),
        ]
        star_spread = await raw(client, "OPTIONS", spread)
    async with TestClient(allowed_few) as client:
        refused = await raw(client, "OPTIONS", request)
    assert every.status_code == 204
    assert every.headers["access-control-allow-headers"].startswith("x-h0, x-h1, ")
    assert star.status_code == 204
    assert star.headers["access-control-allow-headers"] == requested.decode()
    assert star_spread.status_code == 204
    assert star_spread.headers["access-control-allow-headers"] == requested.decode()
    assert refused.status_code == 400
    shown = ", ".join(names[:10])
    assert refused.text == f"CORS preflight refused: headers not allowed: {shown} and 490 more"
    assert reached == []


async def test_a_private_network_request_header_with_another_value_is_ignored() -> None:
    app, _ = build_app(allow_origins=[GOOD])
    async with TestClient(app) as client:
        response = await raw(
            client,
            "OPTIONS",
            [
                (b"origin", GOOD.encode()),
                (b"access-control-request-method", b"GET"),
                (b"access-control-request-private-network", b"false"),
            ],
        )
    assert response.status_code == 204
    assert "access-control-allow-private-network" not in response.headers
