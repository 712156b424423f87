"""Nothing outside the folder is served or touched: each attack in-process and on the wire.

In-process, every attack is a hand-built scope (`TestClient.raw_request` keeps the path byte
for byte) while the filesystem functions record their calls: a path refused by its text makes
no call at all, and a symlink pointing outside is refused without anything outside being
looked at. On the wire, the same bytes go over a raw socket to a real hypercorn; where
hypercorn itself refuses the request (a raw NUL, raw non-ASCII bytes) the answer is its 400.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from bareasgi import Application
from bareasgi.testing import HypercornServer, parse_http_response, raw_http, run_hypercorn
from bareasgi_static import add_static_files
from conftest import SECRET, make_tree

TESTS_DIR: Final = Path(__file__).resolve().parent
TIMEOUT: Final = 10.0

# Paths refused by their text (or by the router before the handler runs): no filesystem call.
TEXT_ATTACKS: Final[list[tuple[str, bytes]]] = [
    ("dot-dot", b"../secret.txt"),
    ("dot-dot deep", b"../../../../../../../../etc/passwd"),
    ("dot-dot after a folder", b"docs/../../secret.txt"),
    ("dot-dot to the sibling", b"../public2/secret.txt"),
    ("dot-dot in the middle", b"docs/../index.html"),
    ("encoded dots", b"%2e%2e/secret.txt"),
    ("encoded dots upper", b"%2E%2E/secret.txt"),
    ("half-encoded dots", b".%2e/secret.txt"),
    ("encoded slash", b"..%2fsecret.txt"),
    ("encoded slash upper", b"..%2Fsecret.txt"),
    ("encoded dots and slash", b"%2e%2e%2fsecret.txt"),
    ("encoded slash to the sibling", b"..%2fpublic2%2fsecret.txt"),
    ("encoded backslash", b"..%5csecret.txt"),
    ("encoded backslash upper", b"..%5Csecret.txt"),
    ("raw backslash", b"..\\secret.txt"),
    ("raw backslashes deep", b"docs\\..\\..\\secret.txt"),
    ("overlong dot", b"%c0%ae%c0%ae/secret.txt"),
    ("overlong slash", b"..%c0%afsecret.txt"),
    ("overlong three bytes", b"%e0%80%ae%e0%80%ae/secret.txt"),
    ("absolute", b"/etc/passwd"),
    ("absolute encoded", b"%2fetc%2fpasswd"),
    ("absolute to the secret", b"/%s"),  # filled in with the real path
    ("drive letter", b"C:/Windows/win.ini"),
    ("drive letter backslash", b"C:%5CWindows%5Cwin.ini"),
    ("drive-relative", b"c:secret.txt"),
    ("unc", b"%5c%5cserver%5cshare%5cfile"),
    ("ntfs stream", b"site.css::$DATA"),
    ("nul", b"secret.txt%00.css"),
    ("nul alone", b"%00"),
    ("nul after a real file", b"site.css%00"),
    ("control character", b"%09/secret.txt"),
    ("dotfile", b".env"),
    ("dotfile encoded", b"%2eenv"),
    ("dot folder", b".hidden/x.txt"),
    ("dot segment", b"./site.css"),
    ("dot segment inside", b"docs/./index.html"),
    ("empty segment", b"docs//index.html"),
    ("long name", b"a" * 300),
    ("long encoded name", b"%C3%A9" * 130),
    ("very long path", b"b" * 5000),
    ("many segments", b"a/" * 40 + b"x"),
    ("very many segments", b"a/" * 5000 + b"x"),
]

# Paths that are looked up (inside the folder) and refused or missing there.
LOOKUP_ATTACKS: Final[list[tuple[str, bytes]]] = [
    ("double-encoded dots", b"%252e%252e/secret.txt"),
    ("double-encoded dots and slash", b"%252e%252e%252fsecret.txt"),
    ("link outside", b"link-outside"),
    ("absolute link outside", b"link-absolute"),
    ("link to the sibling", b"link-sibling"),
    ("link to a folder outside", b"dir-outside/secret.txt"),
    ("link through dot-dots", b"link-dotdot"),
    ("link leaving and coming back", b"link-up-and-back"),
    ("link loop", b"loop-a"),
    ("link loop inside a path", b"loop-a/x"),
    ("broken link", b"broken"),
    ("fifo", b"fifo"),
]


def attack_path(mount: bytes, attack: bytes, base: Path) -> bytes:
    if attack == b"/%s":
        attack = os.fsencode(base / "secret.txt")
    return mount + b"/" + attack


def assert_refused(status: int, body: bytes, base: Path) -> None:
    assert status in (400, 404)
    assert SECRET not in body
    assert os.fsencode(base) not in body
    assert b"/tmp" not in body


# ---- in-process ---------------------------------------------------------------------------------


class Recorder:
    """Records every call of the filesystem functions the package (or anything) could use."""

    NAMES: Final = ("lstat", "stat", "open", "readlink", "scandir", "listdir", "access")

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, str]] = []
        self.on = False
        for name in self.NAMES:
            monkeypatch.setattr(os, name, self._wrap(name, getattr(os, name)))
        monkeypatch.setattr(os.path, "realpath", self._wrap("realpath", os.path.realpath))
        monkeypatch.setattr(builtins, "open", self._wrap("builtins.open", builtins.open))

    def _wrap(self, name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def recording(path: Any = ".", *args: Any, **kwargs: Any) -> Any:
            if self.on:
                shown = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else path
                self.calls.append((name, str(shown)))
            return real(path, *args, **kwargs)

        return recording


@pytest.fixture(params=[b"/static", b""], ids=["at /static", "at /"])
def mount(request: pytest.FixtureRequest) -> bytes:
    value: bytes = request.param
    return value


@pytest.fixture
async def client(public: Path, mount: bytes) -> AsyncIterator[Any]:
    from bareasgi.testing import TestClient

    app = Application()
    add_static_files(app, public, mount.decode() or "/", fallback=None)
    async with TestClient(app) as client:
        yield client


@pytest.mark.parametrize(("label", "attack"), TEXT_ATTACKS, ids=[a[0] for a in TEXT_ATTACKS])
async def test_paths_refused_by_text_make_no_filesystem_call(
    client: Any,
    public: Path,
    mount: bytes,
    monkeypatch: pytest.MonkeyPatch,
    label: str,
    attack: bytes,
) -> None:
    recorder = Recorder(monkeypatch)
    recorder.on = True
    response = await client.raw_request("GET", attack_path(mount, attack, public.parent))
    recorder.on = False
    assert_refused(response.status_code, response.content, public.parent)
    assert recorder.calls == []


@pytest.fixture
def root(public: Path) -> str:
    """The served folder's real path."""
    return str(public.resolve())


@pytest.mark.parametrize(("label", "attack"), LOOKUP_ATTACKS, ids=[a[0] for a in LOOKUP_ATTACKS])
async def test_lookups_never_touch_anything_outside(
    client: Any,
    public: Path,
    root: str,
    mount: bytes,
    monkeypatch: pytest.MonkeyPatch,
    label: str,
    attack: bytes,
) -> None:
    recorder = Recorder(monkeypatch)
    recorder.on = True
    response = await client.raw_request("GET", attack_path(mount, attack, public.parent))
    recorder.on = False
    assert_refused(response.status_code, response.content, public.parent)
    assert response.status_code == 404
    assert recorder.calls, "the lookup happened"
    for name, path in recorder.calls:
        if path.startswith("/proc/"):
            continue
        assert path == root or path.startswith(root + "/"), (name, path)
        assert name not in ("open", "builtins.open"), "nothing refused is opened"


async def test_the_same_attacks_with_head(client: Any, public: Path, mount: bytes) -> None:
    for _, attack in TEXT_ATTACKS + LOOKUP_ATTACKS:
        response = await client.raw_request("HEAD", attack_path(mount, attack, public.parent))
        assert_refused(response.status_code, response.content, public.parent)


async def test_links_inside_the_folder_are_followed_by_their_text(
    client: Any, public: Path, mount: bytes
) -> None:
    for path, expected in [
        (b"link-inside", (public / "site.css").read_bytes()),
        (b"link-absolute-inside", b"hello\n"),
        (b"dir-inside/page.html", b"<h1>page</h1>\n"),
        (b"link-self/hello.txt", b"hello\n"),
        (b"link-self/link-self/docs/page.html", b"<h1>page</h1>\n"),
    ]:
        response = await client.raw_request("GET", mount + b"/" + path)
        assert response.status_code == 200, path
        assert response.content == expected


async def test_chains_of_links_are_bounded(public: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long chain is refused; a "link bomb" (each link naming the next four times, 4**20
    resolutions if followed naively) costs a bounded number of calls."""
    for i in range(50):
        os.symlink(f"chain{i + 1}", public / f"chain{i}")
    os.symlink("site.css", public / "chain50")
    for i in range(20):
        os.symlink("/".join([f"bomb{i + 1}", ".."] * 3 + [f"bomb{i + 1}"]), public / f"bomb{i}")
    os.symlink("docs", public / "bomb20")
    app = Application()
    add_static_files(app, public, "/static")
    from bareasgi.testing import TestClient

    async with TestClient(app) as client:
        assert (await client.get("/static/chain45")).status_code == 200
        assert (await client.get("/static/chain0")).status_code == 404
        recorder = Recorder(monkeypatch)
        recorder.on = True
        response = await client.get("/static/bomb0/site.css")
        recorder.on = False
    assert response.status_code in (200, 404)
    assert len(recorder.calls) < 1000


async def test_a_folder_named_like_its_sibling_is_not_inside(tmp_path: Path) -> None:
    """Root `x/public`, sibling `x/public2`: a prefix test on text alone would let it in."""
    public = make_tree(tmp_path)
    os.symlink((tmp_path / "public2" / "secret.txt").resolve(), public / "prefix-trick")
    app = Application()
    add_static_files(app, public, "/static")
    from bareasgi.testing import TestClient

    async with TestClient(app) as client:
        for raw in (b"/static/prefix-trick", b"/static/link-sibling", b"/static/../public2/x"):
            response = await client.raw_request("GET", raw)
            assert_refused(response.status_code, response.content, tmp_path)


async def test_symlinks_outside_are_served_when_explicitly_allowed(tmp_path: Path) -> None:
    public = make_tree(tmp_path)
    app = Application()
    add_static_files(app, public, "/static", allow_outside_symlinks=True)
    from bareasgi.testing import TestClient

    async with TestClient(app) as client:
        assert (await client.get("/static/link-outside")).content == SECRET + b" outside\n"
        assert (await client.get("/static/dir-outside/secret.txt")).status_code == 200
        # Text checks still apply.
        assert (await client.raw_request("GET", b"/static/../secret.txt")).status_code == 404
        assert (await client.raw_request("GET", b"/static/loop-a")).status_code == 404


async def test_dotfiles_are_served_when_allowed_but_never_dot_segments(tmp_path: Path) -> None:
    public = make_tree(tmp_path)
    app = Application()
    add_static_files(app, public, "/static", allow_dotfiles=True)
    from bareasgi.testing import TestClient

    async with TestClient(app) as client:
        assert (await client.get("/static/.env")).status_code == 200
        assert (await client.get("/static/.hidden/x.txt")).status_code == 200
        for raw in (b"/static/../secret.txt", b"/static/./.env", b"/static/%2e%2e/secret.txt"):
            response = await client.raw_request("GET", raw)
            assert_refused(response.status_code, response.content, tmp_path)


async def test_a_file_swapped_for_a_link_after_its_check_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk sees a regular file; before it is opened, it becomes a link outside."""
    public = make_tree(tmp_path)
    real_open = os.open

    def swapping_open(path: Any, *args: Any, **kwargs: Any) -> int:
        if os.fsdecode(path).endswith("hello.txt"):
            os.unlink(path)
            os.symlink(tmp_path / "secret.txt", path)
        return real_open(path, *args, **kwargs)

    app = Application()
    add_static_files(app, public, "/static")
    from bareasgi.testing import TestClient

    async with TestClient(app) as client:
        monkeypatch.setattr(os, "open", swapping_open)
        response = await client.get("/static/hello.txt")
    assert_refused(response.status_code, response.content, tmp_path)


async def test_a_folder_swapped_for_a_link_after_its_check_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parent folder becomes a link outside between the walk and the open: /proc tells."""
    public = make_tree(tmp_path)
    (tmp_path / "public2" / "page.html").write_bytes(SECRET + b" swapped in\n")
    real_open = os.open

    def swapping_open(path: Any, *args: Any, **kwargs: Any) -> int:
        if os.fsdecode(path).endswith("docs/page.html"):
            os.rename(public / "docs", tmp_path / "docs-moved")
            os.symlink(tmp_path / "public2", public / "docs")
        return real_open(path, *args, **kwargs)

    app = Application()
    add_static_files(app, public, "/static")
    from bareasgi.testing import TestClient

    async with TestClient(app) as client:
        monkeypatch.setattr(os, "open", swapping_open)
        response = await client.get("/static/docs/page.html")
    assert_refused(response.status_code, response.content, tmp_path)


# ---- on the wire: a real hypercorn ------------------------------------------------------------


@pytest.fixture(scope="module")
def wire(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HypercornServer, Path]]:
    base = tmp_path_factory.mktemp("wire")
    public = make_tree(base)
    with run_hypercorn(
        "static_wire_app:app",
        cwd=TESTS_DIR,
        env={"BAREASGI_STATIC_ROOT": str(public)},
    ) as server:
        yield server, base


def wire_get(server: HypercornServer, target: bytes, method: bytes = b"GET") -> tuple[int, bytes]:
    request = method + b" " + target + b" HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n"
    data = raw_http(server.host, server.port, request, timeout=TIMEOUT)
    response = parse_http_response(data, head=method == b"HEAD")
    return response.status, data


WIRE_MOUNTS: Final = [b"/static", b"/files", b""]


@pytest.mark.parametrize(
    ("label", "attack"),
    TEXT_ATTACKS + LOOKUP_ATTACKS,
    ids=[a[0] for a in TEXT_ATTACKS + LOOKUP_ATTACKS],
)
def test_attacks_over_the_wire(
    wire: tuple[HypercornServer, Path], label: str, attack: bytes
) -> None:
    server, base = wire
    for mount in WIRE_MOUNTS:
        status, data = wire_get(server, attack_path(mount, attack, base))
        # `data` is the whole answer, headers included: no secret and no path anywhere.
        assert_refused(status, data, base)


@pytest.mark.parametrize(
    "target",
    [
        b"/static/secret.txt\x00",  # a raw NUL
        b"/static/\xc3\xa9",  # raw non-ASCII bytes
        b"/static/na\xefve",  # raw bytes that are not even UTF-8
    ],
    ids=["raw nul", "raw utf-8", "raw latin-1"],
)
def test_what_hypercorn_refuses_itself(wire: tuple[HypercornServer, Path], target: bytes) -> None:
    server, base = wire
    status, data = wire_get(server, target)
    assert status == 400
    assert_refused(status, data, base)


@pytest.mark.parametrize(
    "target", [b"//evil.example/", b"//evil.example", b"/%2fevil.example/", b"/\\evil.example/"]
)
def test_no_open_redirect_over_the_wire(wire: tuple[HypercornServer, Path], target: bytes) -> None:
    server, base = wire
    (base / "public" / "evil.example").mkdir(exist_ok=True)
    (base / "public" / "evil.example" / "index.html").write_bytes(b"local")
    status, data = wire_get(server, target)
    assert status in (400, 404)
    assert b"location" not in data.lower()
    status, data = wire_get(server, b"/evil.example")
    assert status == 301
    assert parse_http_response(data).header(b"location") == b"/evil.example/"


def test_files_over_the_wire(wire: tuple[HypercornServer, Path]) -> None:
    server, base = wire
    public = base / "public"
    status, data = wire_get(server, b"/static/big.bin")
    response = parse_http_response(data)
    assert status == 200
    assert response.body == (public / "big.bin").read_bytes()
    assert response.header(b"cache-control") == b"no-cache"

    status, data = wire_get(server, b"/files/big.bin", b"HEAD")
    head = parse_http_response(data, head=True)
    assert status == 200
    assert head.header(b"content-length") == str((public / "big.bin").stat().st_size).encode()
    assert data.endswith(b"\r\n\r\n")  # no body

    for target in (b"/static/with%20space.txt", b"/static/na%C3%AFve%20caf%C3%A9%20%E2%9C%93.txt"):
        status, data = wire_get(server, target)
        assert status == 200, target

    request = (
        b"GET /files/big.bin HTTP/1.1\r\nhost: test\r\nrange: bytes=10-19\r\n"
        b"connection: close\r\n\r\n"
    )
    ranged = parse_http_response(raw_http(server.host, server.port, request, timeout=TIMEOUT))
    assert ranged.status == 206
    assert ranged.body == (public / "big.bin").read_bytes()[10:20]

    etag = response.header(b"etag")
    assert etag is not None
    request = (
        b"GET /static/big.bin HTTP/1.1\r\nhost: test\r\nif-none-match: " + etag + b"\r\n"
        b"connection: close\r\n\r\n"
    )
    data = raw_http(server.host, server.port, request, timeout=TIMEOUT)
    not_modified = parse_http_response(data)
    assert not_modified.status == 304
    assert not_modified.body == b""

    status, data = wire_get(server, b"/static/site.css", b"POST")
    assert status == 405
    assert parse_http_response(data).header(b"allow") == b"GET, HEAD"
