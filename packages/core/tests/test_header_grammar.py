"""`bareasgi.headers`: the RFC 9110 grammar every package takes from core (tokens, lists,
weighted lists), tested here where it lives as well as through the plugins that use it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bareasgi.headers import is_token, list_members, parse_weighted, preferred

_TOKENS = st.text(
    alphabet="!#$%&'*+.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-",
    min_size=1,
    max_size=12,
)
_OWS = st.text(alphabet=" \t", max_size=3)


@given(st.lists(_TOKENS, max_size=8), st.data())
def test_list_members_reads_any_spacing_and_empty_members(
    tokens: list[str], data: st.DataObject
) -> None:
    parts = []
    for token in tokens:
        parts.append(data.draw(_OWS) + token + data.draw(_OWS))
        if data.draw(st.booleans()):
            parts.append(data.draw(_OWS))  # an empty member: `a, , b`
    value = ",".join(parts).encode("latin-1")
    assert list_members(value) == [token.lower().encode("latin-1") for token in tokens]


def test_list_members_of_a_vary() -> None:
    assert list_members(b"Origin,  Accept-Encoding ,") == [b"origin", b"accept-encoding"]
    assert list_members(b"") == []
    assert list_members(b" , ,\t") == []


@given(_TOKENS)
def test_every_token_is_one(token: str) -> None:
    assert is_token(token)
    assert is_token(token.encode())


def test_what_is_not_a_token() -> None:
    for value in ("", "a b", "a,b", 'a"b', "a\x00", "é"):
        assert not is_token(value)


def test_weighted_lists_follow_rfc_9110() -> None:
    members = parse_weighted("gzip;q=0.5 , br ,, identity; q = 0, x;q=abc, y;q=2, zstd;level=3")
    assert [(m.value, m.q, m.params) for m in members] == [
        ("gzip", 0.5, ()),
        ("br", 1.0, ()),
        ("identity", 0.0, ()),
        ("zstd", 1.0, ("level=3",)),
    ]
    assert preferred("gzip;q=0, *;q=1", ("zstd", "br", "gzip")) == ("zstd", "br")
    assert preferred("gzip;q=0.5, br;q=0.5", ("br", "gzip")) == ("br", "gzip")
    assert preferred("x-gzip", ("gzip",), {"x-gzip": "gzip"}) == ("gzip",)
    assert preferred("", ("gzip",)) == ()
