"""Fixtures for the static files tests: a folder to serve, with neighbours it must not leak."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Final

import pytest

SECRET: Final = b"SECRET"
"""Every file outside the served folder (and every dotfile) holds this marker."""
BIG_SIZE: Final = 3 * 1024 * 1024 + 123
INDEX: Final = b"<!doctype html><h1>home</h1>\n"
CSS: Final = b"body { color: #333; }\n" * 20
CSS_GZ: Final = gzip.compress(CSS, mtime=0)


def _brotli(data: bytes) -> bytes:
    """Real Brotli when the `brotli` package is there: httpx then asks for `br` and decodes
    what it gets (as in a development environment with every package installed); any bytes do
    otherwise, as the server never decodes a precompressed sibling."""
    try:
        import brotli  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        return b"pretend-brotli:" + data[:40]
    compressed: bytes = brotli.compress(data)
    return compressed


CSS_BR: Final = _brotli(CSS)
SPACE_NAME: Final = "with space.txt"
UNICODE_NAME: Final = "naïve café ✓.txt"


_BIG: Final = (bytes(range(251)) * (BIG_SIZE // 251 + 1))[:BIG_SIZE]
"""A period of 251 bytes: any two offsets that differ (mod 251) read differently."""


def big_content() -> bytes:
    return _BIG


def make_tree(base: Path) -> Path:
    """`base/public` (served), `base/public2` (a sibling sharing its prefix), `base/secret.txt`."""
    public = base / "public"
    (public / "docs").mkdir(parents=True)
    (public / "empty").mkdir()
    (public / ".hidden").mkdir()
    (public / "%2e%2e").mkdir()  # a real folder named like an encoded '..': served as itself
    (public / "index.html").write_bytes(INDEX)
    (public / "site.css").write_bytes(CSS)
    (public / "site.css.gz").write_bytes(CSS_GZ)
    (public / "site.css.br").write_bytes(CSS_BR)
    (public / "app.js").write_bytes(b"console.log('hi');\n")
    (public / "app.3f2a9c1b.js").write_bytes(b"console.log('fingerprinted');\n")
    (public / "data.json").write_bytes(b'{"a": 1}\n')
    (public / "hello.txt").write_bytes(b"hello\n")
    (public / "picture.PNG").write_bytes(b"\x89PNG\r\n\x1a\n")
    (public / "unknown.qqq").write_bytes(b"???")
    (public / "noext").write_bytes(b"no extension")
    (public / "empty.txt").write_bytes(b"")
    (public / "docs" / "index.html").write_bytes(b"<h1>docs</h1>\n")
    (public / "docs" / "page.html").write_bytes(b"<h1>page</h1>\n")
    (public / "%2e%2e" / "inside.txt").write_bytes(b"literal name\n")
    (public / SPACE_NAME).write_bytes(b"space\n")
    (public / UNICODE_NAME).write_bytes("unicode ✓\n".encode())
    (public / ".env").write_bytes(SECRET + b" dotfile\n")
    (public / ".hidden" / "x.txt").write_bytes(SECRET + b" hidden\n")
    (public / "big.bin").write_bytes(big_content())
    (base / "secret.txt").write_bytes(SECRET + b" outside\n")
    (base / "public2").mkdir()
    (base / "public2" / "secret.txt").write_bytes(SECRET + b" sibling\n")
    os.symlink("site.css", public / "link-inside")
    os.symlink("../secret.txt", public / "link-outside")
    os.symlink(str(base / "secret.txt"), public / "link-absolute")
    os.symlink("../public2/secret.txt", public / "link-sibling")
    os.symlink("../public2", public / "dir-outside")
    os.symlink("docs", public / "dir-inside")
    os.symlink("missing", public / "broken")
    os.symlink(os.path.realpath(public / "hello.txt"), public / "link-absolute-inside")
    os.symlink("loop-b", public / "loop-a")
    os.symlink("loop-a", public / "loop-b")
    os.symlink("../public/site.css", public / "link-up-and-back")  # passes outside: refused
    os.symlink("docs/../../secret.txt", public / "link-dotdot")
    os.symlink(".", public / "link-self")
    os.mkfifo(public / "fifo")
    return public


@pytest.fixture
def public(tmp_path: Path) -> Path:
    return make_tree(tmp_path)
