"""Header grammar every package needs: RFC 9110 tokens, lists and weighted (q-value) lists.

bareutils 5.1.1's list parsers split on `", "` exactly, raise on `gzip; q=0.5` and read `q=0`
as 1.0; these follow RFC 9110 (section 5.6 for lists and tokens, 12.4.2 for weights).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, NamedTuple

TOKEN_PATTERN: Final = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
"""RFC 9110's `token` (section 5.6.2): method names, field names, parameter names, codings."""

LOWER_TOKEN_PATTERN: Final = TOKEN_PATTERN.replace("A-Za-z", "a-z")
"""A token without upper case: a field name as ASGI carries it (lower-cased)."""

_TOKEN: Final = re.compile(TOKEN_PATTERN).fullmatch
_TOKEN_BYTES: Final = re.compile(TOKEN_PATTERN.encode()).fullmatch
_QVALUE: Final = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?").fullmatch
_OWS: Final = " \t"


def is_token(value: str | bytes) -> bool:
    """Whether `value` is one whole RFC 9110 token (not empty)."""
    if isinstance(value, str):
        return _TOKEN(value) is not None
    return _TOKEN_BYTES(value) is not None


def list_members(value: bytes) -> list[bytes]:
    """The members of a comma-separated field value (RFC 9110 section 5.6.1), lower case,
    optional whitespace stripped, empty members dropped: `vary`, `connection` and the like."""
    return [member for part in value.split(b",") if (member := part.strip(b" \t").lower())]


class Weighted(NamedTuple):
    """One member of a weighted list such as `accept-encoding: br;q=0.8`."""

    value: str
    """The member, lower case (`*` and `identity` as any other)."""
    q: float
    """Its weight, 0 to 1; 1 when not given. 0 means "not acceptable"."""
    params: tuple[str, ...]
    """Its other parameters as written (`version=1.0.0`), without the `q`."""


def parse_weighted(text: str) -> list[Weighted]:
    """The members of a weighted list, in the order given.

    Any spacing is allowed around commas, semicolons and `=`; empty members are skipped
    (RFC 9110 5.6.1), and so is a member whose `q` is not a valid qvalue (`q=2`, `q=0.1234`,
    `q=abc`): a recipient cannot tell what it meant.
    """
    members: list[Weighted] = []
    for member in text.split(","):
        value, *parameters = member.split(";")
        value = value.strip(_OWS).lower()
        if not value:
            continue
        q = 1.0
        valid = True
        kept: list[str] = []
        for parameter in parameters:
            name, equals, raw = parameter.partition("=")
            if name.strip(_OWS).lower() == "q" and equals:
                raw = raw.strip(_OWS)
                if _QVALUE(raw) is None:
                    valid = False
                    break
                q = float(raw)
            elif parameter.strip(_OWS):
                kept.append(parameter.strip(_OWS))
        if valid:
            members.append(Weighted(value, q, tuple(kept)))
    return members


def preferred(
    text: str, offered: Sequence[str], aliases: dict[str, str] | None = None
) -> tuple[str, ...]:
    """The members of `offered` that a weighted list accepts, best first.

    Ties keep `offered`'s order (the server's preference). A member the list does not name
    takes the weight of `*`, if given, else it is not acceptable; the first mention of a member
    counts. `aliases` maps names to the offered ones (`{'x-gzip': 'gzip'}`). `offered` must be
    lower case.
    """
    weights: dict[str, float] = {}
    for member in parse_weighted(text):
        name = aliases.get(member.value, member.value) if aliases else member.value
        weights.setdefault(name, member.q)
    star = weights.get("*", 0.0)
    ranked = []
    for position, name in enumerate(offered):
        weight = weights.get(name, star)
        if weight > 0:
            ranked.append((-weight, position, name))
    ranked.sort()
    return tuple(name for _, _, name in ranked)


__all__ = [
    "LOWER_TOKEN_PATTERN",
    "TOKEN_PATTERN",
    "Weighted",
    "is_token",
    "list_members",
    "parse_weighted",
    "preferred",
]
