"""The request header parsers: HTTP dates, entity-tags, Accept-Encoding and Range."""

from __future__ import annotations

import calendar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bareasgi_static._content_types import CONTENT_TYPES, header_table, is_textual, with_charset
from bareasgi_static._headers import (
    ANY_TAG,
    format_http_date,
    parse_accept_encoding,
    parse_entity_tags,
    parse_http_date,
    parse_range,
    preferred_encodings,
    strong_match,
    weak_match,
)

SUNDAY = calendar.timegm((1994, 11, 6, 8, 49, 37, 0, 0, 0))

# ---- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate
        "Sunday, 06-Nov-94 08:49:37 GMT",  # RFC 850 (bareutils 5.1.1 fails on it)
        "Sun Nov  6 08:49:37 1994",  # asctime
        "  Sun, 06 Nov 1994 08:49:37 GMT ",
    ],
)
def test_the_three_http_date_formats_parse(text: str) -> None:
    assert parse_http_date(text) == SUNDAY


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "Sun, 06 Nov 1994 08:49:37 +0100",  # HTTP dates are GMT, spelled so
        "Sun, 06 Nov 1994 08:49:37",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 36 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT",
    ],
)
def test_invalid_http_dates_are_none(text: str) -> None:
    assert parse_http_date(text) is None


def test_rfc850_two_digit_years_are_never_far_in_the_future() -> None:
    parsed = parse_http_date("Thursday, 01-Jan-70 00:00:00 GMT")
    assert parsed is not None
    assert parsed in (0, calendar.timegm((2070, 1, 1, 0, 0, 0, 0, 0, 0)))
    assert parse_http_date("Friday, 01-Jan-99 00:00:00 GMT") == calendar.timegm(
        (1999, 1, 1, 0, 0, 0, 0, 0, 0)
    )


def test_dates_are_formatted_as_imf_fixdate() -> None:
    assert format_http_date(SUNDAY) == b"Sun, 06 Nov 1994 08:49:37 GMT"


@given(st.integers(min_value=0, max_value=4_102_444_800))
def test_formatted_dates_parse_back(seconds: int) -> None:
    assert parse_http_date(format_http_date(seconds).decode()) == seconds


# ---- entity-tags ---------------------------------------------------------------------------------


def test_entity_tag_lists_parse_with_weak_tags_and_commas_inside_tags() -> None:
    assert parse_entity_tags('"a", W/"b",  "c,d" ,"e"') == [
        (False, '"a"'),
        (True, '"b"'),
        (False, '"c,d"'),
        (False, '"e"'),
    ]
    assert parse_entity_tags(" * ") == ANY_TAG


@pytest.mark.parametrize("text", ["", "abc", '"unterminated', '"a" junk', 'W/ "a"', ",,"])
def test_malformed_entity_tag_lists_are_none(text: str) -> None:
    assert parse_entity_tags(text) is None


def test_weak_and_strong_comparison() -> None:
    tags = parse_entity_tags('W/"x", "y"')
    assert tags is not None
    assert weak_match(tags, '"x"')
    assert weak_match(tags, '"y"')
    assert not strong_match(tags, '"x"')  # a weak tag never matches strongly
    assert strong_match(tags, '"y"')
    assert weak_match(ANY_TAG, '"z"')
    assert strong_match(ANY_TAG, '"z"')


def test_entity_tag_parsing_is_linear() -> None:
    text = '"a",' * 100_000
    tags = parse_entity_tags(text)
    assert isinstance(tags, list)
    assert len(tags) == 100_000


# ---- Accept-Encoding: the cases bareutils 5.1.1 gets wrong ---------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gzip,br", ("br", "gzip")),  # bareutils: one token "gzip,br"
        ("gzip, br", ("br", "gzip")),
        ("gzip; q=0.5, br;q=0.4", ("gzip", "br")),  # bareutils raises on "; q="
        ("br;q=0, gzip", ("gzip",)),  # bareutils reads q=0 as 1.0
        ("BR;Q=1.0 , GZip", ("br", "gzip")),
        ("*", ("br", "gzip")),
        ("*;q=0", ()),
        ("*;q=0.1, br;q=0", ("gzip",)),
        ("x-gzip", ("gzip",)),
        ("identity", ()),
        ("deflate", ()),
        ("br;q=2, gzip", ("gzip",)),  # an invalid weight voids its member
        ("br;q=0.5000, gzip;q=0.6", ("gzip",)),
        ("gzip;q=1.000, br;q=1", ("br", "gzip")),  # a tie: the server's order
        (",,, ;q=1, gzip", ("gzip",)),
        ("", ()),
    ],
)
def test_accept_encoding_is_parsed_as_rfc_9110_says(text: str, expected: tuple[str, ...]) -> None:
    assert preferred_encodings(text, ("br", "gzip")) == expected


def test_accept_encoding_keeps_the_first_mention() -> None:
    assert parse_accept_encoding("gzip;q=0, gzip") == {"gzip": 0.0}


def test_x_gzip_is_gzip_and_the_first_mention_counts() -> None:
    assert parse_accept_encoding("x-gzip;q=0.5, gzip") == {"gzip": 0.5}
    assert preferred_encodings("x-gzip;q=0, gzip", ("br", "gzip")) == ()
    assert preferred_encodings("X-GZIP ; q=0.2, br;q=0.1", ("br", "gzip")) == ("gzip", "br")


@given(st.text(alphabet="brgzip-x*,;q=0.15 \t", max_size=40))
def test_preferred_encodings_follows_the_parsed_weights(text: str) -> None:
    offered = ("br", "zstd", "gzip")
    weights = parse_accept_encoding(text)
    star = weights.get("*", 0.0)
    ranked = sorted(
        (-weights.get(coding, star), position, coding)
        for position, coding in enumerate(offered)
        if weights.get(coding, star) > 0
    )
    assert preferred_encodings(text, offered) == tuple(coding for _, _, coding in ranked)


# ---- Range ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bytes=0-9", [(0, 9)]),
        ("bytes=90-", [(90, 99)]),
        ("bytes=-10", [(90, 99)]),
        ("bytes=-1000", [(0, 99)]),
        ("bytes=0-1000", [(0, 99)]),
        ("bytes=99-99", [(99, 99)]),
        ("BYTES=0-0", [(0, 0)]),
        ("bytes=0-9, 20-29", [(0, 9), (20, 29)]),
        ("bytes=20-29,0-9", [(0, 9), (20, 29)]),
        ("bytes=0-9,5-15", [(0, 15)]),  # overlapping ranges merge
        ("bytes=0-9,10-19", [(0, 19)]),  # so do adjacent ones
        ("bytes=0-9,,20-29", [(0, 9), (20, 29)]),  # empty list members are allowed
        ("bytes=100-", []),
        ("bytes=100-200, 300-", []),
        ("bytes=-0", []),
        ("bytes=50-59, 200-", [(50, 59)]),
        (f"bytes=0-{'9' * 40}", [(0, 99)]),
        (f"bytes={'9' * 40}-", []),
        (f"bytes=-{'9' * 40}", [(0, 99)]),
    ],
)
def test_ranges(text: str, expected: list[tuple[int, int]]) -> None:
    assert parse_range(text, 100, 16) == expected


@pytest.mark.parametrize(
    "text",
    [
        "bytes",
        "bytes=",
        "bytes=-",
        "bytes=a-b",
        "bytes=9-0",
        "bytes=0-9;",
        "bytes=0 -9",
        "bytes=1-2-3",
        "items=0-9",
        "0-9",
        "bytes=0-9, x",
        "bytes=+1-2",
    ],
)
def test_malformed_ranges_are_ignored(text: str) -> None:
    assert parse_range(text, 100, 16) is None


def test_the_number_of_ranges_is_capped() -> None:
    sixteen = "bytes=" + ",".join(f"{i * 5}-{i * 5}" for i in range(16))
    assert parse_range(sixteen, 100, 16) is not None
    seventeen = sixteen + ",90-90"
    assert parse_range(seventeen, 100, 16) is None


def test_range_parsing_stays_linear_on_huge_headers() -> None:
    # A megabyte of commas or of digits is refused or parsed in one pass each.
    assert parse_range("bytes=" + "," * 1_000_000, 100, 16) is None
    assert parse_range("bytes=0-" + "9" * 1_000_000, 100, 16) == [(0, 99)]
    assert parse_range("bytes=" + "1" * 1_000_000 + "-", 100, 16) == []


@given(st.text(alphabet="bytes=0123456789-, \t", max_size=60), st.integers(0, 1000))
def test_ranges_are_always_inside_the_file_and_sorted(text: str, size: int) -> None:
    ranges = parse_range(text, size, 16)
    if ranges:
        previous = -2
        for first, last in ranges:
            assert 0 <= first <= last < size
            assert first > previous + 1
            previous = last


# ---- content types -------------------------------------------------------------------------------


def test_text_types_get_a_charset_and_others_do_not() -> None:
    table = header_table({"Foo": "text/x-foo", ".bar": "application/x-bar"}, "utf-8")
    assert table["html"] == b"text/html; charset=utf-8"
    assert table["js"] == b"text/javascript; charset=utf-8"
    assert table["json"] == b"application/json; charset=utf-8"
    assert table["webmanifest"] == b"application/manifest+json; charset=utf-8"
    assert table["svg"] == b"image/svg+xml; charset=utf-8"
    assert table["png"] == b"image/png"
    assert table["woff2"] == b"font/woff2"
    assert table["foo"] == b"text/x-foo; charset=utf-8"
    assert table["bar"] == b"application/x-bar"
    assert with_charset("text/plain; charset=latin-1", "utf-8") == "text/plain; charset=latin-1"
    assert with_charset("text/plain", None) == "text/plain"
    assert is_textual("application/rss+xml")


def test_the_table_is_lower_case_extensions_without_dots() -> None:
    assert all(ext == ext.lower() and "." not in ext for ext in CONTENT_TYPES)
