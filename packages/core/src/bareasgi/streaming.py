"""Body helpers: the article's readers and writers.

`bytes_writer` and `text_writer` keep the article's signatures but return small async-iterable
objects instead of async generators: an async generator per response costs more than the rest of
a hello world. The application recognises these in-memory bodies, sends them without iterating
(a whole body in one message, with its content-length) and streams anything else. Each
`async for` over a writer starts afresh, so a writer kept in a module global is never used up.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import final


@final
class BytesBody(tuple[bytes]):
    """A whole in-memory body, sent in one message; made by `bytes_writer`/`text_writer`.

    A one-element tuple so that making one costs no Python-level call: it is made on every
    response of the article's shape.
    """

    __slots__ = ()

    @property
    def data(self) -> bytes:
        return self[0]

    def __aiter__(self) -> AsyncIterator[bytes]:
        return _ChunkIterator(self)

    def __repr__(self) -> str:
        return f"BytesBody({len(self[0])} bytes)"


@final
class ChunkedBody:
    """An in-memory body sent as several messages.

    From bytes, each chunk is sliced only as it is sent, so one chunk at a time is alive
    besides the buffer; from text (chunks counted in characters) the encoded chunks are kept.
    """

    __slots__ = ("_chunks", "_data", "_size", "length")

    def __init__(
        self,
        data: bytes | None = None,
        chunk_size: int = 0,
        chunks: tuple[bytes, ...] | None = None,
    ) -> None:
        self._data = data
        self._size = chunk_size
        self._chunks = chunks
        self.length = len(data) if data is not None else sum(map(len, chunks or ()))

    def iter_chunks(self) -> Iterator[bytes]:
        """The chunks, made one at a time."""
        if self._chunks is not None:
            return iter(self._chunks)
        data, size = self._data or b"", self._size
        return (data[i : i + size] for i in range(0, len(data), size))

    def __aiter__(self) -> AsyncIterator[bytes]:
        return _ChunkIterator(self.iter_chunks())

    def __repr__(self) -> str:
        return f"ChunkedBody({self.length} bytes)"


@final
class _ChunkIterator:
    __slots__ = ("_chunks",)

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)

    def __aiter__(self) -> _ChunkIterator:
        return self

    async def __anext__(self) -> bytes:
        for chunk in self._chunks:
            return chunk
        raise StopAsyncIteration


def bytes_writer(buf: bytes, chunk_size: int = -1) -> BytesBody | ChunkedBody:
    """A response body from bytes: whole, or in chunks of `chunk_size` bytes."""
    data = buf if type(buf) is bytes else bytes(buf)
    if chunk_size <= 0 or len(data) <= chunk_size:
        return BytesBody((data,))
    return ChunkedBody(data, chunk_size)


def text_writer(
    text: str, encoding: str = "utf-8", chunk_size: int = -1
) -> BytesBody | ChunkedBody:
    """A response body from text: whole, or in chunks of `chunk_size` characters."""
    if chunk_size <= 0 or len(text) <= chunk_size:
        return BytesBody((text.encode() if encoding == "utf-8" else text.encode(encoding),))
    return _text_chunks(text, encoding, chunk_size)


def _text_chunks(text: str, encoding: str, chunk_size: int) -> ChunkedBody:
    # Apart from `text_writer`: its generator expression would make `text_writer`'s arguments
    # closure cells, made on every call, for the hello-world path too.
    return ChunkedBody(
        chunks=tuple(
            text[i : i + chunk_size].encode(encoding) for i in range(0, len(text), chunk_size)
        )
    )


async def bytes_reader(content: AsyncIterable[bytes]) -> bytes:
    """Read the whole request body as bytes."""
    return b"".join([chunk async for chunk in content])


async def text_reader(content: AsyncIterable[bytes], encoding: str = "utf-8") -> str:
    """Read the whole request body as text.

    The bytes are joined, then decoded once: a character split between chunks decodes whole,
    and a body in one chunk (the usual case) is neither copied nor decoded in parts.
    """
    return b"".join([chunk async for chunk in content]).decode(encoding)


__all__ = [
    "BytesBody",
    "ChunkedBody",
    "bytes_reader",
    "bytes_writer",
    "text_reader",
    "text_writer",
]
