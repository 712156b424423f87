"""HTML forms: `application/x-www-form-urlencoded` and `multipart/form-data`, read from the
request body as it streams, never whole in memory.

Multipart bodies go through python-multipart's streaming parser (imported as
`python_multipart`); file parts are spooled to a temporary file once larger than
`spool_max_size` (1 MiB), and closed — so removed — when the response is over, through the
request body's clean-up hook. bareutils 5.1.1's `parse_form_data` is not used: it buffers the
whole body and strips trailing CR/LF from file contents.
"""

from __future__ import annotations

import tempfile
from functools import cache
from io import BytesIO
from typing import IO, TYPE_CHECKING, Any, Final, final

from ._http import body_limit
from ._request import (
    add_pairs,
    count_fields,
    field_too_large,
    header_value,
    media_type,
    too_many_fields,
)
from .errors import HttpError
from .types import Content, Scope

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartParser

KIB: Final = 1024
MIB: Final = 1024 * KIB
DEFAULT_MAX_FIELDS: Final = 1000
"""More fields (multipart: parts, files included) than this answer 400."""
DEFAULT_MAX_FIELD_SIZE: Final = MIB
"""A field (not a file) larger than this answers 413."""
DEFAULT_MAX_PART_HEADER_SIZE: Final = 8 * KIB
"""A multipart part whose headers are larger than this answers 400."""
DEFAULT_SPOOL_MAX_SIZE: Final = MIB
"""A file part larger than this goes to a temporary file (Starlette's threshold too)."""
MAX_BOUNDARY_LENGTH: Final = 200


@cache
def _python_multipart() -> tuple[type[MultipartParser], type[Exception], frozenset[int]]:
    """python-multipart's parser, its error class, and the parser states before a part's data.

    Imported when a multipart body is first read, not by `import bareasgi`. The states before
    a part's data are fed in bounded pieces, so the headers' limit holds within one large
    chunk (and older python-multipart, which scans headers byte by byte, is never given more
    than the limit at once).
    """
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, MultipartState

    states = frozenset(
        state
        for state in MultipartState
        if state.name in {"START", "START_BOUNDARY", "BOUNDARY_PADDING"}
        or state.name.startswith("HEADER")
    )
    return MultipartParser, FormParserError, states


_PIECE: Final = 64 * KIB
_URLENCODED: Final = "application/x-www-form-urlencoded"
_MULTIPART: Final = "multipart/form-data"
_CONTROL: Final = frozenset(chr(i) for i in (*range(0x20), 0x7F))


@final
class UploadFile:
    """One uploaded file: read it with `file.read()` (positioned at its start) or `read()`.

    `filename` is the client's name for it reduced to its last path segment (`../../etc/passwd`
    is `passwd`; None when nothing is left): for display, never a path to write to. The file is
    an `io.BytesIO` up to the spool size, past it an unnamed temporary file
    (`tempfile.TemporaryFile`: removed once closed, never seen in the folder on Linux); it is
    closed when the response is over.
    """

    __slots__ = ("_pending", "content_type", "field_name", "file", "filename", "headers", "size")

    def __init__(
        self,
        field_name: str,
        filename: str | None,
        content_type: str,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        self.field_name = field_name
        self.filename = filename
        self.content_type = content_type
        """The part's content-type (its type/subtype, lower case), `application/octet-stream`
        when the client gave none."""
        self.headers = headers
        """The part's headers as sent, names lower case."""
        self.file: IO[bytes] = BytesIO()
        self.size = 0
        self._pending: list[memoryview] | None = []
        """The data while in memory, as views of the request's own chunks (joined once at the
        part's end: no copy per chunk); None once spooled to a temporary file."""

    @property
    def in_memory(self) -> bool:
        """Whether the file is in memory (not larger than the spool size)."""
        return isinstance(self.file, BytesIO)

    def _write(self, view: memoryview, spool_max_size: int, upload_dir: str | None) -> None:
        pending = self._pending
        if pending is None:
            self.file.write(view)
            return
        pending.append(view)
        if self.size > spool_max_size:
            self.file = tempfile.TemporaryFile(dir=upload_dir)  # noqa: SIM115 (closed by close)
            for piece in pending:
                self.file.write(piece)
            self._pending = None

    def _finish(self) -> None:
        pending = self._pending
        if pending is not None:
            self.file = BytesIO(b"".join(pending))  # shares the joined bytes until written
            self._pending = None
        else:
            self.file.seek(0)

    def read(self, size: int = -1) -> bytes:
        """Read from the file (from its start, unless read before)."""
        return self.file.read(size)

    def close(self) -> None:
        self._pending = None
        self.file.close()

    def __repr__(self) -> str:
        return f"UploadFile({self.field_name!r}, filename={self.filename!r}, size={self.size})"


@final
class Form:
    """A parsed form: `fields` (name → values) and `files` (name → `UploadFile`s), each in the
    order sent. `close()` closes the files; `read_form` has the request do that once the
    response is over."""

    __slots__ = ("_open", "fields", "files")

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}
        self.files: dict[str, list[UploadFile]] = {}
        self._open: list[UploadFile] = []

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of field `name`, or `default`."""
        values = self.fields.get(name)
        return values[0] if values else default

    def value(self, name: str) -> str:
        """The first value of field `name`.

        Raises:
            HttpError: 400 naming the field when the form has none.
        """
        values = self.fields.get(name)
        if not values:
            raise HttpError(400, f"Missing form field '{name}'")
        return values[0]

    def file(self, name: str) -> UploadFile:
        """The first file of field `name`.

        Raises:
            HttpError: 400 naming the field when the form has none.
        """
        files = self.files.get(name)
        if not files:
            raise HttpError(400, f"Missing file field '{name}'")
        return files[0]

    def close(self) -> None:
        """Close every file of the form (and one cut short): temporary files are removed."""
        for upload in self._open:
            upload.close()

    def __enter__(self) -> Form:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Form(fields={list(self.fields)}, files={list(self.files)})"


async def read_form(
    scope: Scope,
    content: Content,
    *,
    max_fields: int = DEFAULT_MAX_FIELDS,
    max_field_size: int = DEFAULT_MAX_FIELD_SIZE,
    max_file_size: int | None = None,
    max_part_header_size: int = DEFAULT_MAX_PART_HEADER_SIZE,
    max_size: int | None = None,
    spool_max_size: int = DEFAULT_SPOOL_MAX_SIZE,
    upload_dir: str | None = None,
) -> Form:
    """Read an urlencoded or multipart form from `content` as it arrives.

    Limits (each answered with the reason): more than `max_fields` fields or parts (400); a
    field over `max_field_size` bytes (413); a file over `max_file_size` (413; default: the
    route's body limit); a part's headers over `max_part_header_size` (400); more than
    `max_size` bytes in all (413; default: the route's body limit, which `content` enforces
    anyway). Malformed multipart — no boundary, no closing boundary, a part without a
    `content-disposition: form-data; name=...`, a filename with a control character — is 400.
    Files are spooled to `upload_dir` (the system's temporary folder by default) past
    `spool_max_size`, and closed when the response is over (with `content.add_cleanup`; a
    `content` without it leaves that to you: `form.close()` or `with form:`).

    Raises:
        HttpError: 415 unless the content-type is one of the two form types; 400/413 as above.
        ClientDisconnected: the client went away (files already closed).
    """
    kind, params = media_type(header_value(scope, b"content-type"))
    limit = getattr(content, "limit", None)
    if type(limit) is not int:
        limit = body_limit(scope)  # a body wrapped by middleware: the route's limit still holds
    total = limit if max_size is None else max_size
    if kind == _URLENCODED:
        return await _read_urlencoded(content, max_fields, max_field_size, total)
    if kind != _MULTIPART:
        raise HttpError(
            415,
            "Unsupported media type: a form expected"
            " (application/x-www-form-urlencoded or multipart/form-data)",
        )
    boundary = params.get("boundary", "")
    if not boundary or len(boundary) > MAX_BOUNDARY_LENGTH:
        raise HttpError(400, "Malformed multipart body: no valid boundary in the content-type")
    form = Form()
    add_cleanup = getattr(content, "add_cleanup", None)
    if add_cleanup is not None:
        add_cleanup(form.close)
    reader = _MultipartReader(
        form,
        boundary.encode("latin-1"),
        max_fields,
        max_field_size,
        limit if max_file_size is None else max_file_size,
        max_part_header_size,
        spool_max_size,
        upload_dir,
    )
    try:
        size = 0
        async for chunk in content:
            size += len(chunk)
            if size > total:
                raise HttpError(413, f"Form larger than {total} bytes")
            if reader.ended:
                continue  # an epilogue after the closing boundary: ignored, not parsed
            reader.feed(chunk)
        if not reader.ended:
            raise HttpError(400, "Malformed multipart body: no closing boundary")
    except BaseException:
        form.close()
        raise
    return form


async def _read_urlencoded(
    content: Content, max_fields: int, max_field_size: int, total: int
) -> Form:
    form = Form()
    fields = form.fields
    carry = b""
    count = size = 0
    async for chunk in content:
        size += len(chunk)
        if size > total:
            raise HttpError(413, f"Form larger than {total} bytes")
        pieces = (carry + chunk if carry else chunk).split(b"&")
        carry = pieces.pop()
        if len(carry) > max_field_size:
            raise field_too_large("form", max_field_size)
        if pieces:
            count += count_fields(pieces)
            if count > max_fields:
                raise too_many_fields("form", max_fields)
            add_pairs(pieces, fields, max_field_size)
    if carry:
        if count + 1 > max_fields:
            raise too_many_fields("form", max_fields)
        add_pairs([carry], fields, max_field_size)
    return form


@final
class _MultipartReader:
    """python-multipart's callbacks: parts into fields and spooled files, limits enforced."""

    __slots__ = (
        "_data",
        "_error",
        "_field",
        "_header_budget",
        "_header_name",
        "_header_size",
        "_header_states",
        "_header_value",
        "_headers",
        "_max_field_size",
        "_max_fields",
        "_max_file_size",
        "_max_header_size",
        "_parser",
        "_parts",
        "_progress",
        "_spool",
        "_upload",
        "_upload_dir",
        "ended",
        "form",
    )

    def __init__(
        self,
        form: Form,
        boundary: bytes,
        max_fields: int,
        max_field_size: int,
        max_file_size: int,
        max_header_size: int,
        spool_max_size: int,
        upload_dir: str | None,
    ) -> None:
        self.form = form
        self.ended = False
        self._max_fields = max_fields
        self._max_field_size = max_field_size
        self._max_file_size = max_file_size
        self._max_header_size = max_header_size
        self._spool = spool_max_size
        self._upload_dir = upload_dir
        self._parts = 0
        self._progress = 0
        """Counts part starts and header ends: whether a write crossed into another part."""
        self._headers: list[tuple[bytes, bytes]] = []
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._header_size = 0
        self._header_budget = max_header_size
        self._field: str | None = None
        self._data = bytearray()
        self._upload: UploadFile | None = None
        callbacks: Any = {
            "on_part_begin": self._part_begin,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_end": self._end,
        }
        parser_class, self._error, self._header_states = _python_multipart()
        self._parser = parser_class(boundary, callbacks)

    def feed(self, chunk: bytes) -> None:
        """Parse one chunk of the body.

        Before a part's data (its headers, or the start), the parser is given pieces no
        larger than what is left of the headers' limit; in a part's data, pieces of at most
        `_PIECE` bytes. So however large the chunk, a part's headers cost at most about the
        limit and one piece of parsing before they are refused (older python-multipart
        releases walk headers byte by byte and bound nothing themselves).
        """
        parser, header_states = self._parser, self._header_states
        try:
            while chunk and not self.ended:
                if parser.state in header_states:
                    budget = self._header_budget
                    if budget <= 0:
                        raise _headers_too_large(self._max_header_size)
                    piece, chunk = chunk[:budget], chunk[budget:]
                    progress = self._progress
                    parser.write(piece)
                    if self._progress == progress and parser.state in header_states:
                        self._header_budget -= len(piece)
                elif len(chunk) <= _PIECE:
                    parser.write(chunk)
                    return
                else:
                    piece, chunk = chunk[:_PIECE], chunk[_PIECE:]
                    parser.write(piece)
        except self._error as error:
            raise HttpError(400, f"Malformed multipart body: {error}") from None

    # ---- python-multipart's callbacks --------------------------------------------------------

    def _part_begin(self) -> None:
        self._parts += 1
        self._progress += 1
        if self._parts > self._max_fields:
            raise too_many_fields("form", self._max_fields)
        self._headers = []
        self._header_size = 0
        self._header_budget = self._max_header_size

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._grow_header(end - start)
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._grow_header(end - start)
        self._header_value += data[start:end]

    def _grow_header(self, size: int) -> None:
        self._header_size += size
        if self._header_size > self._max_header_size:
            raise _headers_too_large(self._max_header_size)

    def _header_end(self) -> None:
        self._headers.append(
            (bytes(self._header_name).lower().strip(), bytes(self._header_value).strip())
        )
        self._header_name = bytearray()
        self._header_value = bytearray()

    def _headers_finished(self) -> None:
        self._progress += 1
        self._header_budget = self._max_header_size
        disposition = next((v for n, v in self._headers if n == b"content-disposition"), None)
        kind, params = media_type(disposition, utf8=True)
        name = params.get("name")
        if kind != "form-data" or name is None:
            raise HttpError(
                400, "Malformed multipart body: a part without content-disposition: form-data; name"
            )
        if "filename" not in params:
            self._field = name
            self._data = bytearray()
            return
        self._field = None
        raw_filename = params["filename"]
        if any(char in _CONTROL for char in raw_filename):
            raise HttpError(400, "Malformed multipart body: a filename with a control character")
        part_type, _ = media_type(next((v for n, v in self._headers if n == b"content-type"), None))
        upload = UploadFile(
            name,
            _safe_filename(raw_filename),
            part_type or "application/octet-stream",
            self._headers,
        )
        self.form._open.append(upload)
        self._upload = upload

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        upload = self._upload
        if upload is not None:
            upload.size += end - start
            if upload.size > self._max_file_size:
                raise HttpError(
                    413, f"A file of the form is larger than {self._max_file_size} bytes"
                )
            # `data` is the chunk given to the parser (bytes: a view of it stays valid) or
            # python-multipart's own bytes for a boundary look-behind.
            view = (
                memoryview(data)[start:end] if type(data) is bytes else memoryview(data[start:end])
            )
            upload._write(view, self._spool, self._upload_dir)
        else:
            self._data += memoryview(data)[start:end]
            if len(self._data) > self._max_field_size:
                raise field_too_large("form", self._max_field_size)

    def _part_end(self) -> None:
        upload = self._upload
        if upload is not None:
            upload._finish()
            self.form.files.setdefault(upload.field_name, []).append(upload)
            self._upload = None
        elif self._field is not None:
            value = self._data.decode("utf-8", "replace")
            self.form.fields.setdefault(self._field, []).append(value)
            self._field = None

    def _end(self) -> None:
        self.ended = True


def _headers_too_large(limit: int) -> HttpError:
    return HttpError(400, f"Malformed multipart body: part headers larger than {limit} bytes")


def _safe_filename(raw: str) -> str | None:
    """The last segment of a client's filename (`/` and `\\` both separate), or None."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return None if name in ("", ".", "..") else name


__all__ = [
    "DEFAULT_MAX_FIELDS",
    "DEFAULT_MAX_FIELD_SIZE",
    "DEFAULT_MAX_PART_HEADER_SIZE",
    "DEFAULT_SPOOL_MAX_SIZE",
    "Form",
    "UploadFile",
    "read_form",
]
