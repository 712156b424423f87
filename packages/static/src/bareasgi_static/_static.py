"""Serving one folder under one mount: `StaticFiles`.

How a request is answered:

1. On the event loop, the route's `path` value is proven inside the folder by its text alone
   (`relative_segments`): no empty, `.` or `..` segment, no backslash, colon or control
   character, no dotfile unless allowed, bounded length and depth. A refused path is answered
   404 without a single filesystem call.
2. In one trip to a worker thread, the path is walked from the folder's real path one segment
   at a time with `lstat`; a symlink met on the way is resolved by its text against the names
   walked so far, so a target outside the folder is refused before anything outside is looked
   at (unless `allow_outside_symlinks`). A directory gives its index file (or a
   redirect to the URL with a trailing slash); a precompressed sibling is chosen by
   Accept-Encoding; the file is opened with O_NOFOLLOW and checked again (same inode as walked
   and, on Linux, its real path from /proc is inside the folder). The conditional headers and
   the Range are evaluated, and a small body is read there and then.
3. A larger body is a `FileBody`: one chunk read per thread trip, the next read while the
   current one is sent, the file closed when the response ends or the client goes away.
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final, final
from urllib.parse import quote

from bareasgi import Content, HttpResponse, Info, Matches, RouteSpec, Scope

from ._body import FileBody, Piece, read_exactly
from ._content_types import header_table, with_charset
from ._headers import (
    ANY_TAG,
    format_http_date,
    parse_entity_tags,
    parse_http_date,
    parse_range,
    preferred_encodings,
    strong_match,
    weak_match,
)
from ._settings import (
    ENCODING_SUFFIXES,
    FINGERPRINTED,
    IMMUTABLE_CACHE_CONTROL,
    StaticSettings,
    relative_segments,
)

if TYPE_CHECKING:
    from bareasgi import Application

MAX_PATH_LENGTH: Final = 1024
"""Characters of a requested path beyond which it is refused by its text."""
MAX_SEGMENTS: Final = 32
"""Segments of a requested path beyond which it is refused by its text."""
MAX_NAME_BYTES: Final = 255
"""Bytes of one file name beyond which it is refused (NAME_MAX on common file systems)."""

_OPEN_FLAGS: Final = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO swapped in must not block a thread
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_S_ISDIR: Final = stat.S_ISDIR
_S_ISREG: Final = stat.S_ISREG
_S_ISLNK: Final = stat.S_ISLNK
_SEGMENT_SAFE: Final = "!$&'()*+,;=@-._~"
_QUERY_OK: Final = re.compile(rb"[\x21-\x7e]*").fullmatch
_TEXT_PLAIN: Final = (b"content-type", b"text/plain; charset=utf-8")
_ACCEPT_RANGES: Final = (b"accept-ranges", b"bytes")
_VARY: Final = (b"vary", b"accept-encoding")
_ENCODINGS_CACHE_SIZE: Final = 128
_MAX_LINKS: Final = 40
"""Symlinks one request may follow (as Linux's own limit)."""

# Request headers this handler reads, and their slots.
_ACCEPT_ENCODING, _IF_MATCH, _IF_NONE_MATCH, _IF_MODIFIED_SINCE = 0, 1, 2, 3
_IF_UNMODIFIED_SINCE, _RANGE, _IF_RANGE = 4, 5, 6
_WANTED: Final = {
    b"accept-encoding": _ACCEPT_ENCODING,
    b"if-match": _IF_MATCH,
    b"if-none-match": _IF_NONE_MATCH,
    b"if-modified-since": _IF_MODIFIED_SINCE,
    b"if-unmodified-since": _IF_UNMODIFIED_SINCE,
    b"range": _RANGE,
    b"if-range": _IF_RANGE,
}
_LISTS: Final = frozenset({_ACCEPT_ENCODING, _IF_MATCH, _IF_NONE_MATCH})
"""Headers whose repeated lines join into one list; the others are void when repeated."""


class _NotFound(Exception):
    """Missing or not a regular file: answered 404, or with the fallback file."""


class _Refused(_NotFound):
    """Outside the folder (by a symlink, or swapped in): 404, never the fallback."""


_REDIRECT: Final = object()


@final
class _Handle:
    """A file descriptor that is open or not (-1); whoever holds it last closes it."""

    __slots__ = ("fd",)

    def __init__(self) -> None:
        self.fd = -1

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)


def _request_headers(headers: list[tuple[bytes, bytes]]) -> list[str | None]:
    values: list[str | None] = [None] * 7
    for name, raw in headers:
        slot = _WANTED.get(name)
        if slot is None:
            continue
        value = raw.decode("latin-1")
        old = values[slot]
        if old is None:
            values[slot] = value
        elif slot in _LISTS:
            values[slot] = f"{old}, {value}"
        else:
            values[slot] = ""  # a singleton field sent twice is invalid: parses as nothing
    return values


def _discard_result(future: Future[Any]) -> None:
    """Close the file of a response nobody will send (its request was cancelled)."""
    if future.cancelled() or future.exception() is not None:
        return
    response = future.result()
    if isinstance(response, tuple) and len(response) > 2 and isinstance(response[2], FileBody):
        response[2]._close()


@final
class StaticFiles:
    """The files of one folder, served under one mount.

    `handle` is the route handler for `{mount}/{path:path}` (GET; HEAD through it), and
    `handle_mount` answers the mount itself (`/static`) with a redirect to `/static/`.
    `routes()` lists both as `RouteSpec`s (the plugin and `add_static_files` add them).

    Args:
        settings: What to serve and how (see `StaticSettings`).
        app: The application, whose `not_found_response` answers missing files.

    Raises:
        ValueError: listing every problem with the settings.
    """

    def __init__(self, settings: StaticSettings, *, app: Application | None = None) -> None:
        problems = settings.problems()
        if problems:
            raise ValueError("invalid static files settings:\n  " + "\n  ".join(problems))
        assert settings.directory is not None
        self.settings = settings
        self.app = app
        self.directory = os.path.realpath(settings.directory)
        """The folder's real path: every file served is under it."""
        self._root = os.fsencode(self.directory)
        self._root_prefix = self._root if self._root.endswith(b"/") else self._root + b"/"
        self._dotfiles = settings.allow_dotfiles
        self._outside = settings.allow_outside_symlinks
        self._proc_check = not self._outside and os.path.isdir("/proc/self/fd")
        self._index = os.fsencode(settings.index) if settings.index is not None else None
        self._fallback: list[bytes] | None = None
        if settings.fallback is not None:
            names = relative_segments(settings.fallback, True)
            assert names is not None
            self._fallback = [os.fsencode(name) for name in names]
        self._types = header_table(settings.content_types, settings.charset)
        self._default_type = with_charset(settings.default_content_type, settings.charset).encode(
            "latin-1"
        )
        self._offered = tuple(settings.precompressed)
        self._encodings: dict[str, tuple[tuple[bytes, bytes, bytes], ...]] = {}
        self._cache_control = (
            settings.cache_control.encode("latin-1") if settings.cache_control else None
        )
        immutable = settings.immutable
        self._immutable: Callable[[str], object] | None = None
        if immutable:
            pattern = FINGERPRINTED if immutable is True else str(immutable)
            self._immutable = re.compile(pattern).search
        self._chunk = settings.chunk_size
        self._max_ranges = settings.max_ranges
        mount = "" if settings.mount == "/" else settings.mount
        self._mount = mount
        self._location_mount = quote(mount, safe="/" + _SEGMENT_SAFE)
        self._pool: ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"<StaticFiles {self.directory!r} at {self.settings.mount!r}>"

    # ---- routes -----------------------------------------------------------------------------

    @property
    def template(self) -> str:
        """The route template: `{mount}/{path:path}`."""
        return f"{self._mount}/{{path:path}}"

    def routes(self) -> list[RouteSpec]:
        """The routes to add: the files, and the bare mount when there is an index file."""
        specs = [RouteSpec({"GET"}, self.template, self.handle, name=self.settings.name)]
        if self._mount and self._index is not None:
            specs.append(RouteSpec({"GET"}, self._mount, self.handle_mount))
        return specs

    def url(self, path: str) -> str:
        """The URL path of a file in the folder (`css/site.css` → `/static/css/site.css`)."""
        names = path.lstrip("/").split("/")
        return self._location_mount + "/" + "/".join(quote(n, safe=_SEGMENT_SAFE) for n in names)

    # ---- the executor -----------------------------------------------------------------------

    def _executor(self) -> ThreadPoolExecutor:
        pool = self._pool
        if pool is None:
            pool = self._pool = ThreadPoolExecutor(thread_name_prefix="bareasgi-static")
        return pool

    def close(self) -> None:
        """Let the worker threads go (a new pool starts if another request comes)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    # ---- handlers ---------------------------------------------------------------------------

    async def handle(
        self, scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        """Answer `GET`/`HEAD {mount}/{path}`; `matches['path']` is the decoded path."""
        path: str = matches.get("path", "")
        if not path:
            return await self._run(scope, [], [], True)
        trailing = path[-1] == "/"
        if trailing:
            path = path[:-1]
        if len(path) > MAX_PATH_LENGTH:
            return self.not_found()
        names = relative_segments(path, self._dotfiles)
        if names is None or len(names) > MAX_SEGMENTS:
            return self.not_found()
        segments = [os.fsencode(name) for name in names]
        for segment in segments:
            if len(segment) > MAX_NAME_BYTES:
                return self.not_found()
        return await self._run(scope, segments, names, trailing)

    async def handle_mount(
        self, scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        """Answer the mount itself (`/static`): a redirect to `/static/` when it has an index."""
        return await self._run(scope, [], [], False)

    async def _run(
        self, scope: Scope, segments: list[bytes], names: list[str], trailing: bool
    ) -> HttpResponse:
        future = self._executor().submit(self._respond, scope, segments, names, trailing)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.add_done_callback(_discard_result)
            raise

    def not_found(self) -> HttpResponse:
        """The application's 404 response (a fresh copy), or a plain one."""
        if self.app is None:
            return 404, [_TEXT_PLAIN], b"Not Found"
        status, headers, body = self.app.not_found_response
        return status, list(headers), body

    # ---- in the worker thread ---------------------------------------------------------------

    def _respond(
        self, scope: Scope, segments: list[bytes], names: list[str], trailing: bool
    ) -> HttpResponse:
        try:
            found = self._locate(segments, trailing)
            if found is _REDIRECT:
                return self._redirect(scope, names)
            assert isinstance(found, tuple)
            path, status, name = found
        except _Refused:
            return self.not_found()
        except _NotFound:
            if self._fallback is None:
                return self.not_found()
            try:
                found = self._locate(self._fallback, False)
            except _NotFound:
                return self.not_found()
            if not isinstance(found, tuple):
                return self.not_found()
            path, status, name = found
        try:
            return self._file(scope, path, status, name)
        except _NotFound:
            return self.not_found()

    def _step(
        self, path: bytes, name: bytes, links: list[int] | None = None
    ) -> tuple[bytes, os.stat_result]:
        """`path/name` and its status, a symlink resolved (inside the folder, unless allowed).

        `path` is a real path inside the folder. `links` counts the symlinks one request may
        still follow (shared by every step of the request, so no chain of links can make the
        work grow beyond a bound).
        """
        candidate = path + b"/" + name if path != b"/" else b"/" + name
        try:
            status = os.lstat(candidate)
        except OSError:
            raise _NotFound from None
        if not _S_ISLNK(status.st_mode):
            return candidate, status
        if self._outside:  # the user allows links anywhere: the system resolves them
            real = os.path.realpath(candidate)
            try:
                return real, os.stat(real)
            except OSError:
                raise _NotFound from None
        return self._follow(path, candidate, [_MAX_LINKS] if links is None else links)

    def _names(self, path: bytes) -> list[bytes]:
        """The names of a real path inside the folder, from the folder down."""
        return path[len(self._root_prefix) :].split(b"/") if path != self._root else []

    def _follow(self, parent: bytes, link: bytes, links: list[int]) -> tuple[bytes, os.stat_result]:
        """Resolve the symlink `link` (in `parent`) by its text, one name at a time.

        The target's text is applied to the names of `parent`: `..` pops one (above the folder:
        refused), an absolute target must start with the folder's path. So every path looked
        at is inside the folder: nothing outside is touched, not even to see if it exists.
        """
        links[0] -= 1
        if links[0] < 0:
            raise _NotFound  # a loop, or a chain too long
        try:
            target = os.readlink(link)
        except OSError:
            raise _NotFound from None
        if target.startswith(b"/"):
            if target == self._root:
                names: list[bytes] = []
                rest = b""
            elif target.startswith(self._root_prefix):
                names, rest = [], target[len(self._root_prefix) :]
            else:
                raise _Refused
        else:
            names, rest = self._names(parent), target
        status: os.stat_result | None = None
        for name in rest.split(b"/"):
            if not name or name == b".":
                continue
            if name == b"..":
                if not names:
                    raise _Refused
                names.pop()
                status = None
                continue
            here = self._root_prefix + b"/".join(names) if names else self._root
            path, status = self._step(here, name, links)
            names = self._names(path)
        final = self._root_prefix + b"/".join(names) if names else self._root
        if status is None:  # ended on `..` (or the folder itself): a directory without links
            try:
                status = os.lstat(final)
            except OSError:
                raise _NotFound from None
        return final, status

    def _locate(
        self, segments: list[bytes], trailing: bool
    ) -> tuple[bytes, os.stat_result, str] | object:
        """The file for a request's segments: (real path, status, name), or `_REDIRECT`."""
        path = self._root
        links = [_MAX_LINKS]
        if segments:
            for segment in segments:
                path, status = self._step(path, segment, links)
        else:
            try:
                status = os.stat(path)
            except OSError:
                raise _NotFound from None
        mode = status.st_mode
        if _S_ISREG(mode):
            if trailing or not segments:
                raise _NotFound
            return path, status, os.fsdecode(segments[-1])
        if not _S_ISDIR(mode) or self._index is None:
            raise _NotFound
        index_path, index_status = self._step(path, self._index, links)
        if not _S_ISREG(index_status.st_mode):
            raise _NotFound
        if not trailing:
            return _REDIRECT
        assert self.settings.index is not None
        return index_path, index_status, self.settings.index

    def _redirect(self, scope: Scope, names: list[str]) -> HttpResponse:
        """301 to the directory's URL with a trailing slash: always a path on this host."""
        root_path = quote(scope.get("root_path") or "", safe="/" + _SEGMENT_SAFE)
        location = root_path + self._location_mount
        for name in names:
            location += "/" + quote(name, safe=_SEGMENT_SAFE)
        # One leading slash, whatever came before: `//host/` would leave this host.
        location = "/" + location.lstrip("/") + ("/" if location else "")
        if location == "//":
            location = "/"
        query: bytes = scope.get("query_string") or b""
        data = location.encode("ascii")
        if query and _QUERY_OK(query) is not None:
            data += b"?" + query
        return 301, [(b"location", data)], b""

    def _negotiate(self, accept_encoding: str) -> tuple[tuple[bytes, bytes, bytes], ...]:
        """(coding, file suffix, etag suffix) acceptable to the client, best first."""
        found = self._encodings.get(accept_encoding)
        if found is None:
            found = tuple(
                (coding.encode(), ENCODING_SUFFIXES[coding].encode(), b"-" + coding.encode())
                for coding in preferred_encodings(accept_encoding, self._offered)
            )
            if len(self._encodings) >= _ENCODINGS_CACHE_SIZE:
                self._encodings.clear()
            self._encodings[accept_encoding] = found
        return found

    def _open(self, path: bytes, walked: os.stat_result) -> tuple[int, os.stat_result]:
        """Open the walked file and prove it is the one that was checked."""
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except OSError:
            raise _NotFound from None
        try:
            status = os.fstat(fd)
            if (
                not _S_ISREG(status.st_mode)
                or status.st_ino != walked.st_ino
                or status.st_dev != walked.st_dev
            ):
                raise _Refused
            if self._proc_check:
                real = os.readlink(b"/proc/self/fd/%d" % fd)
                if not real.startswith(self._root_prefix):
                    raise _Refused
        except BaseException:
            os.close(fd)
            raise
        return fd, status

    def _file(self, scope: Scope, path: bytes, status: os.stat_result, name: str) -> HttpResponse:
        method = scope["method"]
        request = _request_headers(scope["headers"])
        coding = etag_suffix = b""
        accept_encoding = request[_ACCEPT_ENCODING]
        if self._offered and accept_encoding:
            for candidate, suffix, tag_suffix in self._negotiate(accept_encoding):
                try:
                    variant, variant_status = self._sibling(path + suffix)
                except _NotFound:
                    continue
                if _S_ISREG(variant_status.st_mode):
                    path, status, coding, etag_suffix = (
                        variant,
                        variant_status,
                        candidate,
                        tag_suffix,
                    )
                    break

        handle = _Handle()
        try:
            return self._answer(method, request, path, status, name, coding, etag_suffix, handle)
        finally:
            handle.close()  # unless a FileBody took the file

    def _sibling(self, path: bytes) -> tuple[bytes, os.stat_result]:
        """A precompressed sibling's path and status (symlinks resolved and checked)."""
        directory, _, name = path.rpartition(b"/")
        return self._step(directory or b"/", name)

    def _answer(
        self,
        method: str,
        request: list[str | None],
        path: bytes,
        status: os.stat_result,
        name: str,
        coding: bytes,
        etag_suffix: bytes,
        handle: _Handle,
    ) -> HttpResponse:
        """The response for a walked file. The file is opened (into `handle`) only when a
        body is needed: HEAD, 304, 412 and 416 never open it."""
        size = status.st_size
        mtime = status.st_mtime_ns // 1_000_000_000
        etag = b'"%x-%x%s"' % (status.st_mtime_ns, size, etag_suffix)
        etag_text = etag.decode("ascii")
        last_modified = format_http_date(mtime)
        cache_control = self._cache_control
        if self._immutable is not None and self._immutable(name):
            cache_control = IMMUTABLE_CACHE_CONTROL.encode()

        # Preconditions, in RFC 9110 section 13.2.2's order.
        if_match = request[_IF_MATCH]
        if if_match is not None:
            tags = parse_entity_tags(if_match)
            if tags is not None and not strong_match(tags, etag_text):
                return 412, [], b""
        else:
            unmodified_since = request[_IF_UNMODIFIED_SINCE]
            if unmodified_since is not None:
                since = parse_http_date(unmodified_since)
                if since is not None and mtime > since:
                    return 412, [], b""
        not_modified = False
        if_none_match = request[_IF_NONE_MATCH]
        tags = parse_entity_tags(if_none_match) if if_none_match is not None else None
        if tags is not None:
            not_modified = weak_match(tags, etag_text)
        else:
            modified_since = request[_IF_MODIFIED_SINCE]
            if modified_since is not None:
                since = parse_http_date(modified_since)
                not_modified = since is not None and mtime <= since
        if not_modified:
            headers = [(b"etag", etag), (b"last-modified", last_modified)]
            if cache_control is not None:
                headers.append((b"cache-control", cache_control))
            if self._offered:
                headers.append(_VARY)
            return 304, headers, b""

        dot = name.rfind(".")
        content_type = (
            self._types.get(name[dot + 1 :].lower(), self._default_type)
            if dot >= 0
            else self._default_type
        )
        headers = [
            (b"content-type", content_type),
            (b"etag", etag),
            (b"last-modified", last_modified),
            _ACCEPT_RANGES,
        ]
        if cache_control is not None:
            headers.append((b"cache-control", cache_control))
        if self._offered:
            headers.append(_VARY)
        if coding:
            headers.append((b"content-encoding", coding))

        ranges = None
        range_value = request[_RANGE]
        if range_value is not None and method == "GET":
            if_range = request[_IF_RANGE]
            if if_range is None or _if_range_holds(if_range, etag_text, mtime):
                ranges = parse_range(range_value, size, self._max_ranges)
        if ranges is not None and not ranges:
            return 416, [_ACCEPT_RANGES, (b"content-range", b"bytes */%d" % size)], b""

        if ranges is None:
            pieces: list[Piece] = [(0, size)]
            length = size
            answer = 200
        elif len(ranges) == 1:
            first, last = ranges[0]
            headers.append((b"content-range", b"bytes %d-%d/%d" % (first, last, size)))
            pieces = [(first, last + 1)]
            length = last + 1 - first
            answer = 206
        else:
            boundary = os.urandom(12).hex().encode()
            headers[0] = (b"content-type", b"multipart/byteranges; boundary=" + boundary)
            pieces = []
            for first, last in ranges:
                pieces.append(
                    (b"\r\n" if pieces else b"")
                    + b"--%s\r\ncontent-type: %s\r\ncontent-range: bytes %d-%d/%d\r\n\r\n"
                    % (boundary, content_type, first, last, size)
                )
                pieces.append((first, last + 1))
            pieces.append(b"\r\n--%s--\r\n" % boundary)
            length = sum(
                len(piece) if type(piece) is bytes else piece[1] - piece[0] for piece in pieces
            )
            answer = 206
        headers.insert(1, (b"content-length", b"%d" % length))

        if method == "HEAD":  # the headers alone
            return answer, headers, b""
        if handle.fd < 0:
            handle.fd, opened = self._open(path, status)
            if opened.st_mtime_ns != status.st_mtime_ns or opened.st_size != status.st_size:
                # Changed since it was walked: answer for the file as it was opened.
                return self._answer(
                    method, request, path, opened, name, coding, etag_suffix, handle
                )
        fd = handle.fd
        if length <= self._chunk:
            data = b"".join(
                piece if type(piece) is bytes else read_exactly(fd, piece[1] - piece[0], piece[0])
                for piece in pieces
            )
            return answer, headers, data
        first_chunk = b""
        if len(pieces) == 1:
            only = pieces[0]
            assert type(only) is tuple
            start, end = only
            first_chunk = read_exactly(fd, min(self._chunk, end - start), start)
        body = FileBody(fd, pieces, self._chunk, self._executor(), first_chunk)
        handle.fd = -1  # the body owns the file now
        return answer, headers, body


def _if_range_holds(value: str, etag: str, mtime: int) -> bool:
    """Whether If-Range's validator still matches: a strong etag, or the exact (strong) date."""
    value = value.strip(" \t")
    if value.startswith(('"', "W/")):
        tags = parse_entity_tags(value)
        return tags is not None and tags != ANY_TAG and len(tags) == 1 and strong_match(tags, etag)
    since = parse_http_date(value)
    # A date is a strong validator only if the file is at least a second older than now.
    return since is not None and since == mtime and mtime < time.time() - 1


__all__ = ["MAX_NAME_BYTES", "MAX_PATH_LENGTH", "MAX_SEGMENTS", "StaticFiles"]
