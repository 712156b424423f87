"""Properties of the router, checked with hypothesis against simple reference models."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from bareasgi.errors import InvalidPath
from bareasgi.routing import HttpRouter, split_path
from bareasgi.types import Content, HttpHandler, Info, Matches, Scope

# No deadline: tests never assert a duration.
checked = settings(deadline=None, max_examples=300)


def make_handler(label: str) -> HttpHandler:
    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> int:
        return 200

    handler.__qualname__ = label
    return handler


# Any text a URL can carry: everything but lone surrogates, which have no UTF-8 form.
any_text = st.text(st.characters(exclude_categories=["Cs"]))
segment_text = any_text.filter(bool)
path_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\\\x00"), max_size=40
)


# ---- url_for then resolve gives the values back ---------------------------------------------


@checked
@given(name=segment_text, number=st.integers(), rest=path_text)
def test_url_for_round_trips(name: str, number: int, rest: str) -> None:
    router = HttpRouter()
    router.add({"GET"}, "/a/{name}/{number:int}/{rest:path}", make_handler("a"), name="a")
    url = router.url_for("a", name=name, number=number, rest=rest)
    assert url.isascii()
    found = router.resolve("GET", url.encode())
    assert found is not None
    assert found[1] == {"name": name, "number": number, "rest": rest}


@checked
@given(
    value=st.floats(allow_nan=False, allow_infinity=False),
    when=st.datetimes(min_value=datetime(1000, 1, 1)),
)
def test_url_for_round_trips_floats_and_datetimes(value: float, when: datetime) -> None:
    router = HttpRouter()
    router.add(
        {"GET"},
        "/f/{value:float}/{iso:datetime}/{day:datetime:%Y-%m-%d %H:%M:%S.%f}",
        make_handler("f"),
        name="f",
    )
    url = router.url_for("f", value=value, iso=when, day=when)
    found = router.resolve("GET", url.encode())
    assert found is not None
    assert found[1] == {"value": value, "iso": when, "day": when}


@checked
@given(literal=segment_text.filter(lambda text: "/" not in text and "{" not in text))
def test_url_for_round_trips_literals(literal: str) -> None:
    literal = literal.replace("}", "")
    if not literal:
        return
    router = HttpRouter()
    router.add({"GET"}, f"/{literal}/x", make_handler("a"), name="a")
    url = router.url_for("a")
    found = router.resolve("GET", url.encode())
    assert found is not None
    assert found[0].template == f"/{literal}/x"


# ---- hostile input: a route, None, or InvalidPath; nothing else ---------------------------------


ROUTER = HttpRouter()
for _index, _template in enumerate(
    [
        "/",
        "/a",
        "/a/",
        "/a/{s}",
        "/a/{n:int}",
        "/a/{f:float}/x",
        "/a/{d:datetime}/y",
        "/a/{d:datetime:%Y-%m-%d}/z",
        "/static/{p:path}",
        "/{x}/{y}/{z}",
    ]
):
    ROUTER.add({"GET"}, _template, make_handler(str(_index)))


@checked
@given(raw_path=st.binary(max_size=60).map(lambda raw: b"/" + raw))
def test_any_bytes_resolve_or_raise_invalid_path(raw_path: bytes) -> None:
    try:
        found = ROUTER.resolve("GET", raw_path)
    except InvalidPath:
        return
    ROUTER.allowed(raw_path)
    if found is not None:
        route, matches = found
        assert set(matches) == set(route._names)


@checked
@given(raw_path=st.binary(max_size=60))
def test_split_path_matches_a_reference(raw_path: bytes) -> None:
    try:
        segments: list[str] | None = split_path(raw_path)
    except InvalidPath:
        segments = None
    assert segments == reference_split(raw_path)


def reference_split(raw_path: bytes) -> list[str] | None:
    if not raw_path.startswith(b"/"):
        return None
    segments = []
    for raw in raw_path[1:].split(b"/"):
        out = bytearray()
        index = 0
        while index < len(raw):
            if raw[index] == ord("%"):
                pair = raw[index + 1 : index + 3]
                if len(pair) != 2 or not all(chr(c) in "0123456789abcdefABCDEF" for c in pair):
                    return None
                out.append(int(pair, 16))
                index += 3
            else:
                out.append(raw[index])
                index += 1
        try:
            segments.append(out.decode("utf-8"))
        except UnicodeDecodeError:
            return None
    return segments


# ---- the trie agrees with a linear reference matcher ------------------------------------------

LITERALS = ["a", "b", "1", "2.5", "2024-01-02"]
TYPES = ["int", "float", "datetime", "str"]
RANK = {"literal": 0, "int": 1, "float": 2, "datetime": 3, "str": 4, "path": 5}


def convert(kind: str, text: str) -> Any:
    """A reference converter: the value, or None."""
    if kind == "str":
        return text or None
    if kind == "int":
        digits = text[1:] if text.startswith("-") else text
        return int(text) if digits and all(c in "0123456789" for c in digits) else None
    if kind == "float":
        try:
            value = float(text)
        except ValueError:
            return None
        return value if text.replace("-", "", 1).replace(".", "", 1).isdigit() else None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


Shape = list[tuple[str, str]]  # (kind, literal text or parameter name)


@st.composite
def shapes(draw: st.DrawFn) -> Shape:
    length = draw(st.integers(0, 3))
    shape: Shape = []
    for index in range(length):
        kind = draw(st.sampled_from(["literal", "literal", *TYPES]))
        shape.append((kind, draw(st.sampled_from(LITERALS)) if kind == "literal" else f"p{index}"))
    if draw(st.booleans()):
        shape.append(("path", "rest"))
    # The template '/' is one empty segment, as the path b'/' is.
    return shape or [("literal", "")]


def template_of(shape: Shape) -> str:
    texts = []
    for kind, text in shape:
        texts.append(text if kind == "literal" else f"{{{text}:{kind}}}")
    return "/" + "/".join(texts)


def reference_match(shape: Shape, segments: list[str]) -> tuple[tuple[int, ...], dict[str, Any]]:
    """The route's priority key and matches for these segments; raises LookupError if none."""
    key: list[int] = []
    matches: dict[str, Any] = {}
    for index, (kind, text) in enumerate(shape):
        key.append(RANK[kind])
        if kind == "path":
            rest = segments[index:]
            if not rest or any(c in segment for segment in rest for c in "/\\\x00"):
                raise LookupError
            matches[text] = "/".join(rest)
            return tuple(key), matches
        if index >= len(segments):
            raise LookupError
        if kind == "literal":
            if segments[index] != text:
                raise LookupError
            continue
        value = convert(kind, segments[index])
        if value is None:
            raise LookupError
        matches[text] = value
    if len(shape) != len(segments):
        raise LookupError
    return tuple(key), matches


@settings(deadline=None, max_examples=200)
@given(
    routes=st.lists(st.tuples(shapes(), st.sampled_from(["GET", "POST"])), max_size=12),
    requests=st.lists(
        st.tuples(
            st.lists(st.sampled_from([*LITERALS, "-3", "x", "", "a%2Fb"]), max_size=5),
            st.sampled_from(["GET", "POST"]),
        ),
        max_size=12,
    ),
)
def test_the_trie_agrees_with_a_linear_search(
    routes: list[tuple[Shape, str]], requests: list[tuple[list[str], str]]
) -> None:
    router = HttpRouter()
    added: list[tuple[Shape, str, str]] = []
    for index, (shape, method) in enumerate(routes):
        label = str(index)
        try:
            router.add({method}, template_of(shape), make_handler(label))
        except ValueError:
            # Only a same-shape conflict may be refused.
            assert any(
                [(k, t if k == "literal" else "") for k, t in other]
                == [(k, t if k == "literal" else "") for k, t in shape]
                and m == method
                for other, m, _ in added
            )
            continue
        added.append((shape, method, label))

    for raw_segments, method in requests:
        raw_path = ("/" + "/".join(raw_segments)).encode()
        # As split from the raw path: b'/' is one empty segment.
        segments = [segment.replace("%2F", "/") for segment in "/".join(raw_segments).split("/")]
        candidates = []
        for shape, route_method, label in added:
            if route_method != method:
                continue
            try:
                key, matches = reference_match(shape, segments)
            except LookupError:
                continue
            candidates.append((key, label, matches))
        found = router.resolve(method, raw_path)
        if not candidates:
            assert found is None, (raw_path, method)
        else:
            _, label, matches = min(candidates, key=lambda candidate: candidate[0])
            assert found is not None, (raw_path, method)
            assert found[0].handler.__qualname__ == label
            assert found[1] == matches

        # allowed(): every method of every route matching the path, HEAD wherever GET is.
        expected_methods = set()
        for shape, route_method, _ in added:
            try:
                reference_match(shape, segments)
            except LookupError:
                continue
            expected_methods.add(route_method)
            if route_method == "GET":
                expected_methods.add("HEAD")
        allowed = router.allowed(raw_path)
        if expected_methods:
            assert allowed is not None, raw_path
            assert allowed[1] == frozenset(expected_methods)
        else:
            assert allowed is None, raw_path


def test_quote_is_what_url_for_uses() -> None:
    # url_for's contract for values is urllib.parse.quote(safe=''): pin it.
    router = HttpRouter()
    router.add({"GET"}, "/v/{value}", make_handler("v"), name="v")
    text = "a/b c%é?#+&="
    assert router.url_for("v", value=text) == "/v/" + quote(text, safe="")
