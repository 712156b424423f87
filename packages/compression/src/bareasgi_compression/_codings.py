"""The content codings: gzip from the standard library, Brotli and Zstandard when installed.

Each coding compresses a whole body in one call, and makes stream encoders for bodies that
arrive in chunks. The optional packages are imported once, when a coding is made (never at
import time), and reached through `importlib` so that no type stubs are needed.
"""

from __future__ import annotations

import importlib
import zlib
from types import ModuleType
from typing import Any, Final, Protocol, final


class StreamEncoder(Protocol):
    """Compresses one streamed body, chunk by chunk."""

    def compress(self, chunk: bytes) -> bytes:
        """What the encoder has to give for `chunk`: possibly nothing yet."""

    def flush(self, chunk: bytes) -> bytes:
        """`chunk` compressed and everything so far flushed: the client can decode it all."""

    def finish(self) -> bytes:
        """The end of the compressed body."""


class Coding(Protocol):
    """One content coding, its parameters bound."""

    @property
    def name(self) -> str:
        """The coding's name, as `accept-encoding` has it."""

    @property
    def token(self) -> bytes:
        """The `content-encoding` value."""

    @property
    def header(self) -> tuple[bytes, bytes]:
        """The `content-encoding` header (made once)."""

    def compress(self, data: bytes) -> bytes:
        """A whole body, compressed."""

    def stream(self) -> StreamEncoder:
        """A new encoder for one streamed body."""


@final
class Gzip:
    """gzip (RFC 1952) through zlib: no file header fields, so equal bodies compress equally."""

    __slots__ = ("level",)
    name: Final = "gzip"
    token: Final = b"gzip"
    header: Final = (b"content-encoding", b"gzip")

    def __init__(self, level: int) -> None:
        self.level = level

    def compress(self, data: bytes) -> bytes:
        return zlib.compress(data, self.level, 31)

    def stream(self) -> StreamEncoder:
        return _GzipStream(zlib.compressobj(self.level, zlib.DEFLATED, 31))


@final
class _GzipStream:
    __slots__ = ("_compressor", "compress")

    def __init__(self, compressor: Any) -> None:
        self._compressor = compressor
        self.compress = compressor.compress

    def flush(self, chunk: bytes) -> bytes:
        compressor = self._compressor
        out: bytes = compressor.compress(chunk)
        tail: bytes = compressor.flush(zlib.Z_SYNC_FLUSH)
        return out + tail if out else tail

    def finish(self) -> bytes:
        out: bytes = self._compressor.flush(zlib.Z_FINISH)
        return out


@final
class Brotli:
    """Brotli (RFC 7932) from the `brotli` package."""

    __slots__ = ("_module", "quality")
    name: Final = "br"
    token: Final = b"br"
    header: Final = (b"content-encoding", b"br")

    def __init__(self, module: ModuleType, quality: int) -> None:
        self._module = module
        self.quality = quality

    def compress(self, data: bytes) -> bytes:
        out: bytes = self._module.compress(data, quality=self.quality)
        return out

    def stream(self) -> StreamEncoder:
        return _BrotliStream(self._module.Compressor(quality=self.quality))


@final
class _BrotliStream:
    __slots__ = ("_compressor", "compress")

    def __init__(self, compressor: Any) -> None:
        self._compressor = compressor
        self.compress = compressor.process

    def flush(self, chunk: bytes) -> bytes:
        compressor = self._compressor
        out: bytes = compressor.process(chunk)
        tail: bytes = compressor.flush()
        return out + tail if out else tail

    def finish(self) -> bytes:
        out: bytes = self._compressor.finish()
        return out


@final
class Zstd:
    """Zstandard (RFC 8878) from the `zstandard` package.

    Whole bodies share one compressor (a call that never awaits, so never two at once); each
    stream has its own, since a compressor serves one operation at a time.
    """

    __slots__ = ("_module", "_whole", "level")
    name: Final = "zstd"
    token: Final = b"zstd"
    header: Final = (b"content-encoding", b"zstd")

    def __init__(self, module: ModuleType, level: int) -> None:
        self._module = module
        self.level = level
        self._whole = module.ZstdCompressor(level=level)

    def compress(self, data: bytes) -> bytes:
        out: bytes = self._whole.compress(data)
        return out

    def stream(self) -> StreamEncoder:
        module = self._module
        compressor = module.ZstdCompressor(level=self.level).compressobj()
        return _ZstdStream(compressor, module.COMPRESSOBJ_FLUSH_BLOCK)


@final
class _ZstdStream:
    __slots__ = ("_block", "_compressor", "compress")

    def __init__(self, compressor: Any, block: int) -> None:
        self._compressor = compressor
        self._block = block
        self.compress = compressor.compress

    def flush(self, chunk: bytes) -> bytes:
        compressor = self._compressor
        out: bytes = compressor.compress(chunk)
        tail: bytes = compressor.flush(self._block)
        return out + tail if out else tail

    def finish(self) -> bytes:
        out: bytes = self._compressor.flush()
        return out


def optional_module(name: str) -> ModuleType | None:
    """The package behind an optional coding, or None when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def make_codings(
    names: tuple[str, ...], gzip_level: int, brotli_quality: int, zstd_level: int
) -> tuple[Coding, ...]:
    """The codings named, in order, leaving out those whose package is not installed."""
    codings: list[Coding] = []
    for name in names:
        if name == "gzip":
            codings.append(Gzip(gzip_level))
        elif name == "br":
            brotli = optional_module("brotli")
            if brotli is not None:
                codings.append(Brotli(brotli, brotli_quality))
        elif name == "zstd":
            zstandard = optional_module("zstandard")
            if zstandard is not None:
                codings.append(Zstd(zstandard, zstd_level))
    return tuple(codings)


__all__ = ["Brotli", "Coding", "Gzip", "StreamEncoder", "Zstd", "make_codings", "optional_module"]
