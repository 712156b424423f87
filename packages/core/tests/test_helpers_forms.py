"""Forms (bareasgi.forms): urlencoded and multipart read as they stream, limits, filenames,
spooled files closed when the response is over — in-process and under a real hypercorn."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from bareutils.multipart import parse_form_data
from hypothesis import given
from hypothesis import strategies as st

from bareasgi import (
    Application,
    ClientDisconnected,
    Content,
    Form,
    HttpError,
    HttpResponse,
    Info,
    Matches,
    Scope,
    UploadFile,
    json_response,
    query_params,
    read_form,
)
from bareasgi.testing import TestClient, run_hypercorn

HERE = Path(__file__).parent
MIB = 1024 * 1024
BOUNDARY = b"----bareasgi-test-boundary"


_BODIES: list[Body] = []


@pytest.fixture(autouse=True)
def _run_cleanups() -> Iterator[None]:
    """What core does once a response is over: run each request body's clean-ups."""
    yield
    for body in _BODIES:
        for cleanup in body.cleanups:
            cleanup()
    _BODIES.clear()


class Body:
    """A request body standing in for core's: chunks, a limit, a clean-up hook."""

    def __init__(self, chunks: Sequence[bytes], limit: int = 10 * MIB, fail: bool = False) -> None:
        self.chunks = chunks
        self.limit = limit
        self.fail = fail
        self.cleanups: list[Callable[[], object]] = []
        _BODIES.append(self)

    def add_cleanup(self, cleanup: Callable[[], object]) -> None:
        self.cleanups.append(cleanup)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.fail:
            raise ClientDisconnected


def part(
    name: str, data: bytes, filename: str | None = None, content_type: str | None = None
) -> bytes:
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    head = f"content-disposition: {disposition}\r\n"
    if content_type is not None:
        head += f"content-type: {content_type}\r\n"
    return head.encode() + b"\r\n" + data


def multipart(*parts: bytes, close: bool = True) -> bytes:
    body = b"".join(b"--" + BOUNDARY + b"\r\n" + p + b"\r\n" for p in parts)
    return body + (b"--" + BOUNDARY + b"--\r\n" if close else b"")


def scope_for(content_type: bytes) -> Scope:
    return {"type": "http", "headers": [(b"content-type", content_type)]}


MULTIPART = b"multipart/form-data; boundary=" + BOUNDARY
URLENCODED = b"application/x-www-form-urlencoded"


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


async def read(
    data: bytes, content_type: bytes = MULTIPART, size: int = 65536, **options: Any
) -> Form:
    return await read_form(scope_for(content_type), Body(chunked(data, size)), **options)


async def refused(
    data: bytes, content_type: bytes = MULTIPART, size: int = 65536, **options: Any
) -> HttpError:
    with pytest.raises(HttpError) as raised:
        await read(data, content_type, size, **options)
    return raised.value


# ---- urlencoded --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 3, 1000])
async def test_urlencoded_fields_in_any_chunking(size: int) -> None:
    data = b"name=Ann+Lee&tag=a&tag=b%26c&empty=&flag&pct=100%&bad=%zz&utf=%C3%A9&&"
    form = await read(data, URLENCODED, size)
    assert form.fields == {
        "name": ["Ann Lee"],
        "tag": ["a", "b&c"],
        "empty": [""],
        "flag": [""],
        "pct": ["100%"],
        "bad": ["%zz"],
        "utf": ["é"],
    }
    assert form.files == {}
    assert form.get("name") == "Ann Lee"
    assert form.value("tag") == "a"
    assert form.get("none") is None


async def test_urlencoded_limits() -> None:
    many = b"&".join(b"f%d=1" % i for i in range(1001))
    assert (await refused(many, URLENCODED, 100)).status == 400
    assert (await refused(many, URLENCODED, len(many))).body == b"More than 1000 fields in the form"
    assert len((await read(many, URLENCODED, 100, max_fields=1001)).fields) == 1001
    big = b"a=" + b"x" * MIB
    error = await refused(big, URLENCODED, 4096)
    assert (error.status, error.body) == (413, b"A field of the form is larger than 1048576 bytes")
    assert (await refused(b"a=12345", URLENCODED, max_field_size=4)).status == 413
    assert (await refused(b"a=1&b=2", URLENCODED, max_size=5)).status == 413
    assert (await refused(b"a=1&b=2&c=3", URLENCODED, 2, max_fields=2)).status == 400


async def test_other_content_types_answer_415() -> None:
    for content_type in (b"", b"text/plain", b"application/json", b"multipart/mixed; boundary=x"):
        assert (await refused(b"a=1", content_type)).status == 415


# ---- multipart -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 7, 100, 65536])
async def test_multipart_fields_and_files_in_any_chunking(size: int) -> None:
    data = multipart(
        part("title", "café".encode()),
        part("doc", b"ab\r\n\r\n", "notes.txt", "Text/Plain; charset=utf-8"),
        part("doc", b"", ""),
        part("title", b"second"),
        part("blob", bytes(range(256)) * 4 + b"\r\n--" + BOUNDARY[:-1], "blob.bin"),
    )
    form = await read(data, size=size)
    assert form.fields == {"title": ["café", "second"]}
    first, empty = form.files["doc"]
    assert (first.filename, first.content_type, first.size) == ("notes.txt", "text/plain", 6)
    assert first.read() == b"ab\r\n\r\n"  # bareutils' parse_form_data strips the CR/LFs
    assert (empty.filename, empty.content_type, empty.size, empty.read()) == (
        None,
        "application/octet-stream",
        0,
        b"",
    )
    assert form.file("blob").read() == bytes(range(256)) * 4 + b"\r\n--" + BOUNDARY[:-1]
    assert first.headers[0][0] == b"content-disposition"
    assert "notes.txt" in repr(first)
    form.close()
    assert first.file.closed


def test_bareutils_parse_form_data_loses_trailing_newlines() -> None:
    """The defect this module exists to avoid (bareutils 5.1.1)."""
    _, files = parse_form_data(multipart(part("f", b"ab\r\n\r\n", "a.txt")), BOUNDARY)
    assert files["f"][0]["content"] == b"ab"


async def test_files_spool_to_disk_past_the_threshold(tmp_path: Path) -> None:
    small, large = b"s" * 1000, b"L" * 3000
    data = multipart(part("small", small, "s.bin"), part("large", large, "l.bin"))
    form = await read(data, size=512, spool_max_size=2000, upload_dir=str(tmp_path))
    assert form.file("small").in_memory
    assert not form.file("large").in_memory
    assert form.file("large").read() == large
    assert not os.listdir(tmp_path)  # an unnamed temporary file: nothing to leave behind


async def test_the_request_closes_the_files_once_the_response_is_over() -> None:
    app = Application()
    seen: list[UploadFile] = []

    @app.on_http_request({"POST"}, "/upload")
    async def upload(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        form = await read_form(scope, content, spool_max_size=100)
        seen.extend(upload for uploads in form.files.values() for upload in uploads)
        assert not seen[0].file.closed
        return json_response({name: [u.size for u in ups] for name, ups in form.files.items()})

    async with TestClient(app) as client:
        response = await client.post(
            "/upload", data={"a": "1"}, files={"f": ("f.bin", b"x" * 5000), "g": ("g.txt", b"hi")}
        )
    assert response.json() == {"f": [5000], "g": [2]}
    assert len(seen) == 2
    assert all(upload.file.closed for upload in seen)


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("/etc/passwd", "passwd"),
        ("C:\\Users\\me\\photo.jpg", "photo.jpg"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("dir/..", None),
        ("..", None),
        ("   ", None),
        ("résumé.pdf", "résumé.pdf"),
    ],
)
async def test_filenames_are_never_paths(filename: str, expected: str | None) -> None:
    form = await read(multipart(part("f", b"data", filename)))
    assert form.file("f").filename == expected


@pytest.mark.parametrize("filename", ["a\x00.txt", "evil\x00/../x", "a\x1b[31m.txt", "x\x7f"])
async def test_a_filename_with_a_control_character_answers_400(filename: str) -> None:
    error = await refused(multipart(part("f", b"data", filename)))
    assert error.status == 400
    assert b"control character" in (error.body or b"")


async def test_no_closing_boundary_answers_400_and_closes_files() -> None:
    data = multipart(part("f", b"x" * 5000, "f.bin"), close=False)
    body = Body(chunked(data, 1000))
    with pytest.raises(HttpError) as raised:
        await read_form(scope_for(MULTIPART), body, spool_max_size=10)
    assert (raised.value.status, raised.value.body) == (
        400,
        b"Malformed multipart body: no closing boundary",
    )
    assert len(body.cleanups) == 1


@pytest.mark.parametrize("size", [65536, 2 * MIB])
async def test_a_1_mib_part_header_answers_400(size: int) -> None:
    head = b'content-disposition: form-data; name="f"\r\nx-big: ' + b"h" * MIB + b"\r\n\r\n"
    data = b"--" + BOUNDARY + b"\r\n" + head + b"data\r\n--" + BOUNDARY + b"--\r\n"
    error = await refused(data, size=size)
    assert error.status == 400
    assert b"Malformed multipart body" in (error.body or b"")


async def test_part_headers_within_the_limit() -> None:
    head = b'content-disposition: form-data; name="f"\r\nx-a: ' + b"h" * 3000 + b"\r\n"
    head += b"x-b: " + b"h" * 3000 + b"\r\n\r\n"
    data = b"--" + BOUNDARY + b"\r\n" + head + b"data\r\n--" + BOUNDARY + b"--\r\n"
    assert (await read(data, size=1)).fields == {"f": ["data"]}
    assert (await refused(data, max_part_header_size=4096)).status == 400


async def test_a_long_preamble_of_newlines_is_bounded() -> None:
    data = b"\r\n" * MIB + multipart(part("a", b"1"))
    assert (await refused(data)).status == 400


async def test_10000_parts_answer_400() -> None:
    data = multipart(*(part(f"f{i}", b"v") for i in range(10_000)))
    error = await refused(data)
    assert (error.status, error.body) == (400, b"More than 1000 fields in the form")
    assert len((await read(data, max_fields=10_000)).fields) == 10_000


async def test_multipart_size_limits() -> None:
    assert (await refused(multipart(part("f", b"x" * 101)), max_field_size=100)).status == 413
    error = await refused(multipart(part("f", b"x" * 101, "f.bin")), max_file_size=100)
    assert (error.status, error.body) == (413, b"A file of the form is larger than 100 bytes")
    assert (await refused(multipart(part("f", b"x" * 1000)), max_size=500)).status == 413


async def test_the_file_limit_defaults_to_the_route_s_body_limit() -> None:
    data = multipart(part("f", b"x" * 2000, "f.bin"))
    with pytest.raises(HttpError) as raised:
        await read_form(scope_for(MULTIPART), Body([data], limit=1000))
    assert raised.value.status == 413


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        (b"multipart/form-data", multipart(part("a", b"1"))),
        (b"multipart/form-data; boundary=" + b"b" * 201, multipart(part("a", b"1"))),
        (MULTIPART, multipart(b'content-disposition: attachment; name="a"\r\n\r\n1')),
        (MULTIPART, multipart(b"content-type: text/plain\r\n\r\n1")),
        (MULTIPART, multipart(b"content-disposition: form-data\r\n\r\n1")),
        (MULTIPART, b"garbage before --" + BOUNDARY + b"\r\n"),
        (MULTIPART, b"--" + BOUNDARY + b"XX\r\n"),
    ],
)
async def test_malformed_multipart_answers_400(content_type: bytes, data: bytes) -> None:
    error = await refused(data, content_type)
    assert error.status == 400
    assert (error.body or b"").startswith(b"Malformed multipart body")


async def test_an_epilogue_is_ignored() -> None:
    data = multipart(part("a", b"1")) + b"epilogue " * 100_000
    assert (await read(data)).fields == {"a": ["1"]}


async def test_percent_garbage_in_multipart_field_is_kept() -> None:
    form = await read(multipart(part("q", b"100%25 %zz +")))
    assert form.fields == {"q": ["100%25 %zz +"]}  # multipart values are not percent-decoded


async def test_a_client_that_goes_away_mid_upload_leaves_no_open_file(tmp_path: Path) -> None:
    data = multipart(part("f", b"x" * 5000, "f.bin"), close=False)
    body = Body(chunked(data, 1000), fail=True)
    form_files: list[UploadFile] = []
    original = Form.close

    def spy(self: Form) -> None:
        form_files.extend(self._open)
        original(self)

    try:
        Form.close = spy  # type: ignore[method-assign]
        with pytest.raises(ClientDisconnected):
            await read_form(
                scope_for(MULTIPART), body, spool_max_size=100, upload_dir=str(tmp_path)
            )
    finally:
        Form.close = original  # type: ignore[method-assign]
    assert form_files
    assert all(upload.file.closed for upload in form_files)


async def test_a_content_without_a_clean_up_hook() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield multipart(part("f", b"abc", "a.txt"))

    with await read_form(scope_for(MULTIPART), chunks()) as form:
        upload = form.file("f")
        assert upload.read() == b"abc"
    assert upload.file.closed
    with pytest.raises(HttpError):
        form.file("missing")
    with pytest.raises(HttpError):
        form.value("missing")


# ---- a real hypercorn -------------------------------------------------------------------------


def _open_uploads(client: httpx.Client) -> int:
    count: int = client.get("/open-uploads").json()
    return count


def _wait_for(predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_uploads_under_hypercorn(tmp_path: Path) -> None:
    payload = os.urandom(3 * MIB) + b"\r\n\r\n"
    small = b"ab\r\n\r\n"
    with (
        run_hypercorn(
            "helpers_forms_app:app", cwd=HERE, env={"UPLOAD_DIR": str(tmp_path)}
        ) as server,
        httpx.Client(base_url=server.base_url, timeout=30) as client,
    ):
        response = client.post(
            "/upload",
            data={"title": "a % b", "tag": ["x", "y"]},
            files={"big": ("../../etc/passwd", payload), "small": ("s.txt", small)},
        )
        form = client.post("/small", data={"q": "%zz+1"})
        over = client.post("/small", files={"big": ("big.bin", b"x" * (11 * MIB))})
        assert _open_uploads(client) == 0
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["fields"] == {"title": ["a % b"], "tag": ["x", "y"]}
    assert answer["files"]["big"] == [
        {
            "filename": "passwd",
            "size": len(payload),
            "sha256": hashlib.sha256(payload).hexdigest(),
            "in_memory": False,
        }
    ]
    assert answer["files"]["small"][0]["size"] == 6
    assert form.json()["fields"] == {"q": ["%zz+1"]}  # httpx sent q=%25zz%2B1
    assert over.status_code == 413  # /small keeps the application's 10 MiB


def test_per_route_body_limit_under_hypercorn(tmp_path: Path) -> None:
    """An upload route takes 1 GiB while the rest keep 10 MiB (a 24 MiB file here)."""
    size = 24 * MIB

    def stream() -> Any:
        yield b"--" + BOUNDARY + b"\r\n" + part("f", b"", "big.bin")
        for _ in range(size // MIB):
            yield b"z" * MIB
        yield b"\r\n--" + BOUNDARY + b"--\r\n"

    headers = {"content-type": MULTIPART.decode()}
    with (
        run_hypercorn(
            "helpers_forms_app:app", cwd=HERE, env={"UPLOAD_DIR": str(tmp_path)}
        ) as server,
        httpx.Client(base_url=server.base_url, timeout=60) as client,
    ):
        big = client.post("/upload", content=stream(), headers=headers)
        refused = client.post("/small", content=stream(), headers=headers)
    assert big.status_code == 200, big.text
    assert big.json()["files"]["f"][0]["size"] == size
    assert refused.status_code == 413


def test_a_client_stopping_mid_upload_under_hypercorn(tmp_path: Path) -> None:
    """The spooled temporary file is closed (so removed) when the client goes away."""
    head = b"--" + BOUNDARY + b"\r\n" + part("f", b"", "big.bin")
    declared = len(head) + 8 * MIB
    with (
        run_hypercorn(
            "helpers_forms_app:app", cwd=HERE, env={"UPLOAD_DIR": str(tmp_path)}
        ) as server,
        httpx.Client(base_url=server.base_url, timeout=30) as client,
    ):
        sock = socket.create_connection((server.host, server.port), timeout=30)
        try:
            sock.sendall(
                b"POST /upload HTTP/1.1\r\nhost: test\r\ncontent-type: "
                + MULTIPART
                + b"\r\ncontent-length: "
                + str(declared).encode()
                + b"\r\n\r\n"
                + head
            )
            for _ in range(3):
                sock.sendall(b"q" * MIB)  # past the 1 MiB spool threshold: a file on disk
            _wait_for(lambda: _open_uploads(client) == 1, "the upload's temporary file")
        finally:
            sock.close()  # the client stops sending, 5 MiB short
        _wait_for(lambda: _open_uploads(client) == 0, "the temporary file to be closed")
        assert list(tmp_path.iterdir()) == []
        assert client.post("/small", data={"after": "1"}).json()["fields"] == {"after": ["1"]}


def test_json_of_the_app_is_strict() -> None:
    # The app answers with json_response: a quick guard that what it sends is plain JSON.
    assert json.loads(json_response({"a": 1})[2]) == {"a": 1}


def test_import_bareasgi_leaves_python_multipart_unimported() -> None:
    code = "import sys, bareasgi; print(sorted(m for m in sys.modules if 'multipart' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@given(
    st.lists(
        st.sampled_from([b"a", b"b", b"=", b"&", b"%", b"2", b"6", b"+", b"\xc3", b"\xa9"]),
        max_size=60,
    ),
    st.integers(min_value=1, max_value=8),
)
async def test_urlencoded_streaming_agrees_with_the_whole_body(
    pieces: list[bytes], size: int
) -> None:
    """However the body is cut into messages, the form is the query-string reading of it."""
    data = b"".join(pieces)
    form = await read_form(scope_for(URLENCODED), Body(chunked(data, size)), max_fields=10_000)
    assert form.fields == query_params({"query_string": data}, max_fields=10_000)
