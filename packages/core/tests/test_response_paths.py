"""The response fast path and the general path agree on every response, whatever came before.

`fast_response` takes the common shapes; anything it takes must go out exactly as the general
path (`unpack_response` + `send_response`) would send it, and anything the general path refuses
it must leave alone. The application's memory of checked header pairs must never change that.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from enum import IntEnum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bareasgi import Application, HttpError, bytes_writer, final_status, text_writer
from bareasgi._http import (
    CHECKED_MAX,
    HeaderMemory,
    RequestBody,
    ResponseError,
    check_headers,
    fast_response,
    send_response,
    unpack_response,
)
from bareasgi.testing import TestClient
from bareasgi.types import Content, Info, Matches, Message, Scope


class Status(IntEnum):
    OK = 200


class SubBytes(bytes):
    pass


class Pair(tuple[bytes, bytes]):
    pass


async def _generated() -> AsyncIterator[bytes]:
    yield b"streamed"


def _general(response: Any, method: str, checked: HeaderMemory) -> list[Message] | None:
    """What the general path sends for `response`, or None when it refuses it."""
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def run() -> None:
        status, headers, body, pushes = unpack_response(response)
        scope: Scope = {"type": "http", "method": method, "headers": []}
        content = RequestBody(scope, receive, 1 << 20)
        await send_response(scope, content, send, status, headers, body, pushes, None, checked)

    try:
        asyncio.run(run())
    except ResponseError:
        return None
    return sent


names = st.sampled_from(
    [b"content-type", b"x-a", b"cache-control", b"Upper", b"bad name", b"content-length"]
)
values = st.sampled_from([b"1", b"text/plain", b"a\r\nb", b"3"])


_REMEMBERED_PAIRS = [(b"content-type", b"text/plain"), (b"x-a", b"1"), (b"x-a", b"3")]


@st.composite
def headers(draw: st.DrawFn) -> Any:
    name: Any
    value: Any
    if draw(st.booleans()):  # often a lookalike of a pair the memory holds
        name, value = draw(st.sampled_from(_REMEMBERED_PAIRS))
    else:
        name, value = draw(names), draw(values)
    if draw(st.integers(0, 3)) == 0:
        name = SubBytes(name)
    kind = draw(st.sampled_from(["bytes", "bytearray", "subclass", "str", "memoryview"]))
    if kind == "bytearray":
        value = bytearray(value)
    elif kind == "subclass":
        value = SubBytes(value)
    elif kind == "str":
        value = value.decode("latin-1")
    elif kind == "memoryview":
        value = memoryview(value)
    shape = draw(st.sampled_from(["tuple", "tuple", "tuple", "list", "pair subclass", "triple"]))
    if shape == "list":
        return [name, value]
    if shape == "pair subclass":
        return Pair((name, value))
    if shape == "triple":
        return (name, value, b"")
    return (name, value)


statuses = st.one_of(
    st.integers(min_value=-1, max_value=700),
    st.sampled_from([100, 101, 103, 199, 200, 204, 304, 599, 600, True, Status.OK, 200.0, "200"]),
)
bodies = st.sampled_from(
    [
        None,
        b"",
        b"hello",
        bytearray(b"hello"),
        SubBytes(b"hello"),
        "hello",
        5,
        "writer",
        "text writer",
        "chunked",
        "generator",
    ]
)


def _body(token: Any) -> Any:
    if token == "writer":
        return bytes_writer(b"whole")
    if token == "text writer":
        return text_writer("whole text")
    if token == "chunked":
        return bytes_writer(b"abcdef", chunk_size=2)
    if token == "generator":
        return _generated()
    return token


@st.composite
def responses(draw: st.DrawFn) -> Any:
    status = draw(statuses)
    header_list: Any = draw(st.lists(headers(), max_size=2))
    if draw(st.booleans()):
        header_list = tuple(header_list)
    body = _body(draw(bodies))
    shape = draw(st.sampled_from([0, 1, 2, 3, 3, 3, 4, 5, -1]))
    if shape == -1:
        return status
    return (status, header_list, body, None, None)[:shape]


# Pairs a well-behaved application has sent before: what the memory holds when the tricky
# responses arrive (a lookalike of a remembered pair must not pass for it).
_REMEMBERED = [
    (200, [(b"content-type", b"text/plain"), (b"x-a", b"1")], b"ok"),
    (200, [(b"cache-control", b"3"), (b"x-a", b"3")]),
]


@settings(max_examples=1000, deadline=None)
@given(response=responses(), method=st.sampled_from(["GET", "HEAD"]), warm=st.booleans())
def test_fast_path_sends_what_the_general_path_sends(
    response: Any, method: str, warm: bool
) -> None:
    checked = HeaderMemory()
    if warm:
        for earlier in _REMEMBERED:
            assert _general(earlier, method, checked) is not None
        assert checked.values
        assert checked.ids
    fast = fast_response(response, checked)
    general = _general(response, method, HeaderMemory())
    if fast is None:
        return  # the general path decides; nothing to compare
    assert general is not None, f"fast path took {response!r}, which the general path refuses"
    status, sent_headers, data = fast
    expected_body = b"" if method == "HEAD" else data
    assert general == [
        {"type": "http.response.start", "status": status, "headers": sent_headers},
        {"type": "http.response.body", "body": expected_body},
    ]
    # The same again: what the first call remembered changes nothing.
    assert fast_response(response, checked) == fast


@settings(max_examples=300, deadline=None)
@given(response=responses())
def test_final_status_is_what_the_general_path_sends(response: Any) -> None:
    general = _general(response, "GET", HeaderMemory())
    expected = 500 if general is None else general[0]["status"]
    if general is not None and not isinstance(response, tuple):
        expected = general[0]["status"]
    assert final_status(response) == expected


def test_fast_path_takes_the_common_shapes() -> None:
    checked = HeaderMemory()
    hello = (200, [(b"content-type", b"text/plain")], text_writer("Hello, World!"))
    assert fast_response(hello, checked) is None  # headers not yet checked: the general path
    assert _general(hello, "GET", checked) is not None
    assert fast_response(hello, checked) == (
        200,
        [(b"content-type", b"text/plain"), (b"content-length", b"13")],
        b"Hello, World!",
    )
    assert fast_response((204, []), checked) == (204, [], b"")


@pytest.mark.parametrize(
    "lookalike",
    [
        (b"x-a", bytearray(b"1")),
        (b"x-a", SubBytes(b"1")),
        (SubBytes(b"x-a"), b"1"),
        Pair((b"x-a", b"1")),
    ],
)
async def test_a_valid_response_does_not_depend_on_history(
    lookalike: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """After good answers with `(b"x-a", b"1")`, a lookalike pair is judged on its own."""
    app = Application()

    async def good(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        return 200, [(b"x-a", b"1")], b"good"

    async def odd(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        return 200, [lookalike], b"odd"

    app.http_router.add({"GET"}, "/good", good)
    app.http_router.add({"GET"}, "/odd", odd)
    fresh = Application()
    fresh.http_router.add({"GET"}, "/odd", odd)
    async with TestClient(app) as client, TestClient(fresh) as fresh_client:
        for _ in range(3):
            assert (await client.get("/good")).status_code == 200
        with caplog.at_level(logging.ERROR, logger="bareasgi"):
            after_history = await client.get("/odd")
            on_a_fresh_app = await fresh_client.get("/odd")
    assert after_history.status_code == on_a_fresh_app.status_code
    if type(lookalike) is Pair:
        assert after_history.status_code == 200  # any pair of exact bytes is valid
    else:
        assert after_history.status_code == 500
        assert "ill-formed response" in caplog.text


async def test_a_1xx_status_is_answered_500_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    app = Application()

    async def early(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        return 103, [(b"content-type", b"text/plain")], b"hints"

    app.http_router.add({"GET"}, "/", early)
    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        async with TestClient(app) as client:
            answer = await client.get("/")
    assert answer.status_code == 500
    assert "the status 103 is not a final status" in caplog.text


async def test_applications_do_not_share_checked_headers() -> None:
    first, second = Application(), Application()

    async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        return 200, [(b"x-only-first", b"1")], b"hi"

    first.http_router.add({"GET"}, "/", hello)
    async with TestClient(first) as client:
        await client.get("/")
    assert (b"x-only-first", b"1") in first._checked.values
    assert not second._checked.values
    assert not second._checked.ids


def test_http_error_as_response_copies_and_types_its_body() -> None:
    error = HttpError(418, "teapot", [(b"x-a", b"1")])
    status, headers, body = error.as_response()
    assert (status, body) == (418, b"teapot")
    assert headers == [(b"x-a", b"1"), (b"content-type", b"text/plain; charset=utf-8")]
    headers.append((b"x-b", b"2"))
    assert error.as_response()[1] == [
        (b"x-a", b"1"),
        (b"content-type", b"text/plain; charset=utf-8"),
    ]
    assert HttpError(204).as_response() == (204, [], None)
    typed = HttpError(400, b"{}", [(b"content-type", b"application/json")])
    assert typed.as_response()[1] == [(b"content-type", b"application/json")]


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ("no-store", "not str"),
        ([(b"cache-control", "no-store")], "is not a (bytes, bytes) pair"),
        ([b"cache-control"], "is not a (bytes, bytes) pair"),
        ([(b"a", b"b", b"c")], "is not a (bytes, bytes) pair"),
    ],
)
def test_http_error_refuses_headers_that_are_not_pairs(headers: Any, problem: str) -> None:
    with pytest.raises(TypeError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        HttpError(500, headers=headers)


async def test_a_module_level_http_error_does_not_accumulate_headers() -> None:
    """The defect: a shared HttpError plus middleware appending in place grew by one a request."""
    refusal = HttpError(401, b"who?", [(b"www-authenticate", b"Basic")])

    async def guarded(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        raise refusal

    async def tag(
        scope: Scope, info: Info, matches: Matches, content: Content, handler: Any
    ) -> Any:
        status, headers, body = await handler(scope, info, matches, content)
        headers.append((b"x-tag", b"1"))
        return status, headers, body

    app = Application(middlewares=[tag])
    app.http_router.add({"GET"}, "/", guarded)
    async with TestClient(app) as client:
        answers = [await client.get("/") for _ in range(3)]
    for answer in answers:
        assert answer.status_code == 401
        assert answer.headers.get_list("x-tag") == ["1"]
        assert answer.headers["www-authenticate"] == "Basic"
        assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert refusal.headers == [(b"www-authenticate", b"Basic")]


def test_the_header_memory_stays_bounded_and_right() -> None:
    """Pairs made anew for each answer fill the identity memory: it starts afresh, and a
    remembered pair is still known, by value, as long as the value memory has it."""
    memory = HeaderMemory()
    constant = (b"content-type", b"text/plain")
    check_headers([constant], memory)
    assert memory.knows(constant)
    for number in range(CHECKED_MAX + 10):
        check_headers([(b"etag", f'"{number}"'.encode())], memory)
    assert len(memory.ids) <= CHECKED_MAX
    assert len(memory.values) <= CHECKED_MAX
    assert memory.knows(constant)  # by value
    assert memory.knows((b"content-type", b"text/plain"))
    assert not memory.knows((b"content-type", SubBytes(b"text/plain")))
    assert not memory.knows([b"content-type", b"text/plain"])
    assert fast_response((200, [constant], b"x"), memory) is not None
