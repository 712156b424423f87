"""A file's bytes as a response body: read in a worker thread, chunk by chunk, never whole."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import final

Piece = bytes | tuple[int, int]
"""Literal bytes (a multipart boundary), or a byte range of the file: (start, end), end excluded."""


class FileChanged(OSError):
    """The file ended before the bytes promised in content-length were read."""


def read_exactly(fd: int, size: int, offset: int) -> bytes:
    """`size` bytes at `offset`, or FileChanged when the file got shorter meanwhile."""
    data = os.pread(fd, size, offset)
    if len(data) == size:
        return data
    parts = [data]
    got = len(data)
    while got < size:
        more = os.pread(fd, size - got, offset + got)
        if not more:
            raise FileChanged("the file is shorter than when its response started")
        parts.append(more)
        got += len(more)
    return b"".join(parts)


@final
class FileBody:
    """An async iterable of the file's pieces, read `chunk` bytes at a time in `executor`.

    The next chunk is read while the current one is being sent. `aclose()` (which bareASGI
    calls when the response ends, the client goes away, or the request is a HEAD) closes the
    file; a read still running in its thread closes it when it finishes, so the descriptor is
    never closed under a thread that is using it.
    """

    __slots__ = (
        "_chunk",
        "_closed",
        "_executor",
        "_fd",
        "_index",
        "_offset",
        "_pending",
        "_pieces",
    )

    def __init__(
        self,
        fd: int,
        pieces: Sequence[Piece],
        chunk: int,
        executor: ThreadPoolExecutor,
        first: bytes = b"",
    ) -> None:
        self._fd = fd
        self._chunk = chunk
        self._executor = executor
        self._closed = False
        self._index = 0
        self._offset = -1  # the read position in the current range piece; -1: not started
        self._pending: Future[bytes] | None = None
        # A first chunk read together with the open (one thread hop saved) leads the pieces.
        self._pieces: list[Piece] = list(pieces)
        if first:
            head = self._pieces[0]
            assert type(head) is tuple  # a first chunk is only read for a single range
            start, end = head
            self._pieces[0:1] = [first, (start + len(first), end)]

    def __aiter__(self) -> FileBody:
        return self

    def _read(self, size: int, offset: int) -> bytes:
        # A bound method, so the running read keeps this object (and its fd) alive.
        return read_exactly(self._fd, size, offset)

    def _start_read(self) -> None:
        """Begin reading the next chunk of the current range piece, if there is one."""
        piece = self._pieces[self._index]
        assert type(piece) is tuple
        start, end = piece
        if self._offset < 0:
            self._offset = start
        size = min(self._chunk, end - self._offset)
        self._pending = self._executor.submit(self._read, size, self._offset)
        self._offset += size

    async def __anext__(self) -> bytes:
        while not self._closed and self._index < len(self._pieces):
            piece = self._pieces[self._index]
            if type(piece) is bytes:
                self._index += 1
                return piece
            assert type(piece) is tuple
            if self._pending is None:
                if piece[0] >= piece[1]:
                    self._index += 1
                    self._offset = -1
                    continue
                self._start_read()
            pending = self._pending
            assert pending is not None
            data = await asyncio.wrap_future(pending)
            self._pending = None
            if self._offset < piece[1]:
                self._start_read()  # read ahead while this chunk is sent
            else:
                self._index += 1
                self._offset = -1
            return data
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Close the file; nothing more is read."""
        self._close()

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        fd = self._fd
        pending, self._pending = self._pending, None
        if pending is not None and not pending.cancel() and not pending.done():
            pending.add_done_callback(lambda _: os.close(fd))
        else:
            os.close(fd)

    def __del__(self) -> None:
        # A body dropped without aclose (by some middleware) still closes its file.
        if not self._closed:
            self._close()

    def __repr__(self) -> str:
        return f"<FileBody fd={self._fd} {len(self._pieces)} piece(s)>"


__all__ = ["FileBody", "FileChanged", "Piece", "read_exactly"]
