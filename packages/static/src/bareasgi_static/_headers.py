"""Request header parsing for static files: dates, entity-tags, Accept-Encoding and Range.

Written here rather than taken from bareutils 5.1.1, whose date helpers miss RFC 850 dates;
Accept-Encoding is read with core's RFC 9110 weighted lists (`bareasgi.headers`), which
bareutils also gets wrong. Every parser is linear in the length of its input.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Sequence
from typing import Final

from bareasgi.headers import parse_weighted, preferred

# ---- HTTP dates (RFC 9110 section 5.6.7) ------------------------------------------------------

_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
_MONTH_NUMBER: Final = {name: number for number, name in enumerate(_MONTHS, 1)}
_MONTH = "(" + "|".join(_MONTHS) + ")"
_IMF_FIXDATE: Final = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) " + _MONTH + r" (\d{4}) (\d\d):(\d\d):(\d\d) GMT"
).fullmatch
_RFC850_DATE: Final = re.compile(
    r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d\d)-"
    + _MONTH
    + r"-(\d\d) (\d\d):(\d\d):(\d\d) GMT"
).fullmatch
_ASCTIME_DATE: Final = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) " + _MONTH + r" ( \d|\d\d) (\d\d):(\d\d):(\d\d) (\d{4})"
).fullmatch


def format_http_date(seconds: int) -> bytes:
    """An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), whatever the locale."""
    t = time.gmtime(seconds)
    return b"%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _DAYS[t.tm_wday].encode(),
        t.tm_mday,
        _MONTHS[t.tm_mon - 1].encode(),
        t.tm_year,
        t.tm_hour,
        t.tm_min,
        t.tm_sec,
    )


def parse_http_date(text: str) -> int | None:
    """Seconds since the epoch for an HTTP-date in any of its three formats, else None."""
    text = text.strip(" \t")
    match = _IMF_FIXDATE(text)
    if match is not None:
        day, month, year, hour, minute, second = match.groups()
    else:
        match = _RFC850_DATE(text)
        if match is not None:
            day, month, short_year, hour, minute, second = match.groups()
            # RFC 9110: a two-digit year more than 50 years ahead is in the past century.
            this_year = time.gmtime().tm_year
            full_year = this_year - this_year % 100 + int(short_year)
            if full_year > this_year + 50:
                full_year -= 100
            year = str(full_year)
        else:
            match = _ASCTIME_DATE(text)
            if match is None:
                return None
            month, day, hour, minute, second, year = match.groups()
    numbers = int(year), _MONTH_NUMBER[month], int(day), int(hour), int(minute), int(second)
    if not (1 <= numbers[2] <= 31 and numbers[3] < 24 and numbers[4] < 60 and numbers[5] <= 60):
        return None
    return calendar.timegm((*numbers, 0, 0, 0))


# ---- entity-tags (RFC 9110 section 8.8.3) -----------------------------------------------------

ANY_TAG: Final = "*"
"""`If-None-Match: *` / `If-Match: *`: any current representation matches."""


def parse_entity_tags(text: str) -> list[tuple[bool, str]] | str | None:
    """`*`, or the list of (weak, quoted opaque tag) in an If-None-Match / If-Match value.

    None when the value is malformed (the header is then treated as absent). An opaque tag may
    hold commas, so the list is scanned quote by quote rather than split.
    """
    if text.strip(" \t") == "*":
        return ANY_TAG
    tags: list[tuple[bool, str]] = []
    index, end = 0, len(text)
    while index < end:
        char = text[index]
        if char in " \t,":
            index += 1
            continue
        weak = text.startswith("W/", index)
        if weak:
            index += 2
        if not text.startswith('"', index):
            return None
        close = text.find('"', index + 1)
        if close < 0:
            return None
        tags.append((weak, text[index : close + 1]))
        index = close + 1
        if index < end and text[index] not in " \t,":
            return None
    return tags if tags else None


def weak_match(tags: list[tuple[bool, str]] | str, etag: str) -> bool:
    """RFC 9110 weak comparison against our (strong) `etag`: for If-None-Match."""
    if isinstance(tags, str):
        return True
    return any(tag == etag for _, tag in tags)


def strong_match(tags: list[tuple[bool, str]] | str, etag: str) -> bool:
    """RFC 9110 strong comparison against our (strong) `etag`: for If-Match and If-Range."""
    if isinstance(tags, str):
        return True
    return any(not weak and tag == etag for weak, tag in tags)


# ---- Accept-Encoding (RFC 9110 section 12.5.3) -----------------------------------------------

_ALIASES: Final = {"x-gzip": "gzip"}
"""RFC 9110 section 12.5.3: `x-gzip` is `gzip`."""


def parse_accept_encoding(text: str) -> dict[str, float]:
    """Each coding (lower case, `*` included) with its weight; malformed members are skipped.

    The first mention of a coding wins. `identity` and `*` are reported like any other coding.
    """
    weights: dict[str, float] = {}
    for member in parse_weighted(text):
        weights.setdefault(_ALIASES.get(member.value, member.value), member.q)
    return weights


def preferred_encodings(text: str, offered: Sequence[str]) -> tuple[str, ...]:
    """The codings of `offered` the client accepts, best first (ties: `offered`'s order).

    A coding not named takes the weight of `*`, if given; weight 0 means "not acceptable".
    Without a header (empty text), nothing is acceptable but identity.
    """
    if not text:
        return ()
    return preferred(text, offered, _ALIASES)


# ---- Range (RFC 9110 section 14) --------------------------------------------------------------

_RANGE_SPEC: Final = re.compile(r"([0-9]*)-([0-9]*)").fullmatch
_HUGE: Final = 1 << 62
"""Stands in for a position with more digits than any file size (never parsed in full)."""


def _position(digits: str) -> int:
    # Parsing a 100,000-digit number is not linear; no file is that large anyway.
    return int(digits) if len(digits) <= 18 else _HUGE


def parse_range(text: str, size: int, max_ranges: int) -> list[tuple[int, int]] | None:
    """The byte ranges of a Range value as sorted, merged (first, last) pairs, both included.

    None when the header is to be ignored: another unit, bad syntax, or more than
    `max_ranges` ranges. An empty list when the set is valid but no range is satisfiable.
    """
    unit, equals, ranges = text.partition("=")
    if not equals or unit.strip(" \t").lower() != "bytes":
        return None
    # Count before splitting, so a header of a million commas costs one scan.
    if ranges.count(",") >= max_ranges:
        return None
    found: list[tuple[int, int]] = []
    seen = False
    for spec in ranges.split(","):
        spec = spec.strip(" \t")
        if not spec:
            continue
        match = _RANGE_SPEC(spec)
        if match is None:
            return None
        first_digits, last_digits = match.groups()
        seen = True
        if first_digits:
            first = _position(first_digits)
            last = _position(last_digits) if last_digits else _HUGE
            if last < first:
                return None
            if first < size:
                found.append((first, min(last, size - 1)))
        elif last_digits:
            length = _position(last_digits)
            if length > 0 and size > 0:
                found.append((max(0, size - length), size - 1))
        else:
            return None
    if not seen:
        return None
    if not found:
        return found
    found.sort()
    merged = [found[0]]
    for first, last in found[1:]:
        previous_first, previous_last = merged[-1]
        if first <= previous_last + 1:  # overlapping or adjacent: one part is cheaper
            merged[-1] = (previous_first, max(previous_last, last))
        else:
            merged.append((first, last))
    return merged


__all__ = [
    "ANY_TAG",
    "format_http_date",
    "parse_accept_encoding",
    "parse_entity_tags",
    "parse_http_date",
    "parse_range",
    "preferred_encodings",
    "strong_match",
    "weak_match",
]
