"""The soak suite: `nox -s soak` (or `python -m soak` from the repository's root).

Runs the demo application with every plugin (soak/app.py adds misbehaving routes) under
`python -m bareasgi serve` on 127.0.0.1, attacks it in bounded phases and prints a table of
what it measured against the targets of issue 14. Every phase is bounded in time and in
connections; the whole run takes a few minutes. `--quick` shortens every phase (a smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bareasgi.testing import RawHttpTimeout, parse_http_response, raw_http
from bareasgi.testing._server import ServerProcess, _run_on_socket

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
GRACE = 2.0


@dataclass
class Row:
    area: str
    check: str
    measured: str
    target: str
    met: bool | None  # None: reported, no target


ROWS: list[Row] = []


def row(area: str, check: str, measured: str, target: str = "", met: bool | None = None) -> None:
    ROWS.append(Row(area, check, measured, target, met))
    verdict = "" if met is None else ("met" if met else "MISSED")
    print(f"  {area}: {check}: {measured}  {target} {verdict}", flush=True)


# ---- the server ---------------------------------------------------------------------------


@contextlib.contextmanager
def server(kind: str, files: Path, markers: Path, grace: float = GRACE) -> Iterator[ServerProcess]:
    """The soak app under `kind`: serve (python -m bareasgi serve), uvicorn or hypercorn."""

    def command(fd: int) -> list[str]:
        if kind == "serve":
            args = ["bareasgi", "serve", "soak.app:app", "--bind", f"fd://{fd}"]
            args += ["--grace", str(grace)]
        elif kind == "uvicorn":
            args = ["uvicorn", "soak.app:app", "--fd", str(fd)]
            args += ["--timeout-graceful-shutdown", str(int(grace)), "--no-access-log"]
        else:
            args = ["hypercorn", "--bind", f"fd://{fd}", "--graceful-timeout", str(int(grace))]
            args += ["soak.app:app"]
        return [sys.executable, "-m", *args]

    ready = "Application startup complete" if kind == "uvicorn" else "Running on"
    with _run_on_socket(
        kind,
        command,
        lambda out: ready in out,
        ServerProcess,
        cwd=ROOT,
        env={"SOAK_FILES": str(files), "SOAK_MARKERS": str(markers), "PYTHONPATH": str(ROOT)},
        startup_timeout=60.0,
        stop_timeout=5.0,
    ) as running:
        yield running


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def debug_state(srv: ServerProcess) -> tuple[int, dict[str, int]]:
    answer = httpx.get(f"{srv.base_url}/soak/tasks", headers={"connection": "close"}, timeout=10)
    data = answer.json()
    return int(data["tasks"]), {str(k): int(v) for k, v in data["counts"].items()}


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# ---- bounded load -----------------------------------------------------------------------------

MIX: list[tuple[str, str, dict[str, str], bytes | None]] = [
    ("GET", "/", {}, None),
    ("GET", "/hello/hello-world", {}, None),
    ("GET", "/greet/Soak/3", {}, None),
    ("GET", "/page/%3Cb%3Esoak%3C%2Fb%3E", {}, None),
    ("GET", "/static/site.css", {"accept-encoding": "gzip"}, None),
    ("GET", "/static/", {}, None),
    ("GET", "/metrics", {}, None),
    ("GET", "/cors/api", {"origin": "http://localhost:9009"}, None),
    (
        "OPTIONS",
        "/cors/api",
        {"origin": "http://localhost:1", "access-control-request-method": "PUT"},
        None,
    ),
    ("GET", "/rest/info", {"accept": "application/json"}, None),
    ("POST", "/graphql", {"content-type": "application/json"}, b'{"query": "{ __typename }"}'),
]


async def load_run(srv: ServerProcess, seconds: float, connections: int) -> tuple[int, int]:
    """`connections` keep-alive clients cycling through MIX for `seconds`: (requests, errors)."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    done = errors = 0
    stop_at = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=srv.base_url, limits=limits, timeout=10) as client:

        async def worker(offset: int) -> None:
            nonlocal done, errors
            index = offset
            while time.monotonic() < stop_at:
                method, path, headers, body = MIX[index % len(MIX)]
                index += 1
                try:
                    answer = await client.request(method, path, headers=headers, content=body)
                    if answer.status_code >= 400:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                done += 1

        await asyncio.gather(*(worker(i) for i in range(connections)))
    return done, errors


def phase_load(srv: ServerProcess, seconds: float, connections: int) -> None:
    print("bounded load", flush=True)
    asyncio.run(load_run(srv, min(3.0, seconds), connections))  # warm-up
    sizes, total, failed = [], 0, 0
    for _ in range(3):
        done, errors = asyncio.run(load_run(srv, seconds, connections))
        total += done
        failed += errors
        sizes.append(rss_kib(srv.pid))
    drift = (sizes[-1] - sizes[0]) / sizes[0] * 100
    row("load", f"requests ({connections} connections, 3 x {seconds:g} s)", f"{total}")
    row("load", "errors", f"{failed}", "0", failed == 0)
    rss = " / ".join(f"{size / 1024:.1f}" for size in sizes)
    row("load", "RSS after each run (MiB)", rss)
    row("load", "RSS drift, run 1 to run 3", f"{drift:+.1f}%", "< 5%", abs(drift) < 5)


# ---- slow clients -------------------------------------------------------------------------------


async def latencies(srv: ServerProcess, seconds: float) -> list[float]:
    times: list[float] = []
    stop_at = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=srv.base_url, timeout=10) as client:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            answer = await client.get("/hello/hello-world")
            times.append(time.perf_counter() - started)
            assert answer.status_code == 200
    return times


def p95(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


async def slowloris(srv: ServerProcess, stop: asyncio.Event) -> None:
    with contextlib.suppress(OSError):
        _, writer = await asyncio.open_connection(srv.host, srv.port)
        writer.write(b"GET / HTTP/1.1\r\nhost: x\r\n")
        while not stop.is_set():
            writer.write(b"x-a: b\r\n")
            await writer.drain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
        writer.close()


async def slow_reader(srv: ServerProcess, path: str, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    with sock, contextlib.suppress(OSError):
        await loop.sock_connect(sock, (srv.host, srv.port))
        await loop.sock_sendall(sock, f"GET {path} HTTP/1.1\r\nhost: x\r\n\r\n".encode())
        while not stop.is_set():
            if not await loop.sock_recv(sock, 1024):
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.1)


async def slow_phase(srv: ServerProcess, seconds: float) -> tuple[float, float, int]:
    unloaded = p95(await latencies(srv, seconds))
    stop = asyncio.Event()
    slow = [asyncio.create_task(slowloris(srv, stop)) for _ in range(50)]
    slow += [asyncio.create_task(slow_reader(srv, "/soak-files/big.bin", stop)) for _ in range(10)]
    slow += [asyncio.create_task(slow_reader(srv, "/soak/stream", stop)) for _ in range(10)]
    await asyncio.sleep(1.0)
    loaded = p95(await latencies(srv, seconds))
    stop.set()
    await asyncio.wait(slow, timeout=10)
    return unloaded, loaded, len(slow)


def phase_slow(srv: ServerProcess, seconds: float) -> None:
    print("slow clients", flush=True)
    unloaded, loaded, count = asyncio.run(slow_phase(srv, seconds))
    ratio = loaded / unloaded
    row("slow clients", "hello p95 unloaded", f"{unloaded * 1000:.2f} ms")
    row(
        "slow clients",
        f"hello p95 beside {count} slow clients (50 slowloris, 10+10 slow readers)",
        f"{loaded * 1000:.2f} ms ({ratio:.1f}x)",
        "within 3x",
        ratio <= 3,
    )


# ---- disconnects ------------------------------------------------------------------------------


def leave(srv: ServerProcess, request: bytes, read: int, pause: float = 0.0) -> None:
    sock = socket.create_connection((srv.host, srv.port), timeout=10)
    with sock:
        sock.sendall(request)
        got = 0
        while got < read:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += len(chunk)
        if pause:
            time.sleep(pause)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def ws_handshake(path: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: upgrade\r\n"
        f"sec-websocket-key: {key}\r\nsec-websocket-version: 13\r\n\r\n"
    ).encode()


def masked_text(text: bytes) -> bytes:
    mask = os.urandom(4)
    return (
        bytes([0x81, 0x80 | len(text)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(text))
    )


def ws_leave(srv: ServerProcess, path: str, early: bool = False) -> None:
    """A WebSocket client that opens, sends a message, reads its echo and vanishes (a reset);
    `early`: one that sends its message before the handshake's answer (RFC 6455 forbids it)."""
    sock = socket.create_connection((srv.host, srv.port), timeout=10)
    with sock:
        if early:
            sock.sendall(ws_handshake(path) + masked_text(b"hi"))
            time.sleep(0.05)
        else:
            sock.sendall(ws_handshake(path))
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                answer += chunk
            rest = answer.split(b"\r\n\r\n", 1)[1]
            sock.sendall(masked_text(b"hi"))
            while len(rest) < 4:  # the echo: a 2-byte header and "hi"
                chunk = sock.recv(4096)
                if not chunk:
                    break
                rest += chunk
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def hello_ms(srv: ServerProcess) -> float:
    started = time.perf_counter()
    answer = httpx.get(f"{srv.base_url}/hello/hello-world", timeout=30)
    assert answer.status_code == 200
    return (time.perf_counter() - started) * 1000


STAGES: list[tuple[str, bytes, int]] = [
    (
        "mid-upload",
        b"POST /soak/upload HTTP/1.1\r\nhost: x\r\ncontent-length: 10000000\r\n\r\n" + b"u" * 65536,
        0,
    ),
    ("mid-stream, a body that awaits", b"GET /soak/stream HTTP/1.1\r\nhost: x\r\n\r\n", 4096),
    ("mid-stream, a body that never awaits", b"GET /soak/flood HTTP/1.1\r\nhost: x\r\n\r\n", 65536),
]


def hung_after_leaving(srv: ServerProcess, route: str, clients: int) -> int:
    """How many of `clients` handlers of /soak/`route` still run 3 s after their clients left."""
    before = debug_state(srv)[1]
    for _ in range(clients):
        leave(srv, f"GET /soak/{route} HTTP/1.1\r\nhost: x\r\n\r\n".encode(), 0, pause=0.05)

    def count(state: dict[str, int], what: str) -> int:
        return state.get(f"{route}-{what}", 0) - before.get(f"{route}-{what}", 0)

    wait_until(lambda: count(debug_state(srv)[1], "started") >= clients, 10)
    wait_until(lambda: count(debug_state(srv)[1], "finally") >= clients, 3.0)
    after = debug_state(srv)[1]
    return count(after, "started") - count(after, "finally")


def phase_disconnects(srv: ServerProcess, clients: int) -> None:
    print("disconnects", flush=True)
    base_tasks, _ = debug_state(srv)
    base_fds = open_fds(srv.pid)
    worst_stall = 0.0
    for _stage, request, read in STAGES:
        for _ in range(clients):
            leave(srv, request, read, pause=0.05 if read == 0 else 0.0)
        worst_stall = max(worst_stall, hello_ms(srv))
    for _ in range(clients):
        ws_leave(srv, "/soak/ws")
    settled = wait_until(
        lambda: debug_state(srv)[0] <= base_tasks and open_fds(srv.pid) <= base_fds, 10.0
    )
    tasks, counts = debug_state(srv)
    fds = open_fds(srv.pid)
    stages = "mid-upload, mid-stream (awaiting, never awaiting), mid-WebSocket"
    row(
        "disconnects",
        f"{clients} clients leaving at each stage ({stages}): tasks / fds vs baseline",
        f"{tasks}/{fds} vs {base_tasks}/{base_fds}",
        "back to baseline",
        settled,
    )
    ended = all(
        counts.get(f"{what}-started", 0) == counts.get(f"{what}-finally", 0)
        for what in ("upload", "stream", "flood", "ws")
    )
    detail = ", ".join(
        f"{what} {counts.get(f'{what}-finally', 0)}/{counts.get(f'{what}-started', 0)}"
        for what in ("upload", "stream", "flood", "ws")
    )
    row("disconnects", "handlers ended (finally ran / started)", detail, "all", ended)
    row(
        "disconnects",
        "slowest next hello world after a batch (finding 5: the stall)",
        f"{worst_stall:.1f} ms",
        "answered (no stall)",
        worst_stall < 1000,
    )
    row("disconnects", "the next hello world", f"{hello_ms(srv):.1f} ms", "answered", True)
    # Finding 1: a handler still working when its client leaves, before it answers.
    for route, option in (
        ("hang", "route without cancel_on_disconnect (the default)"),
        ("hang-cancelled", "route with cancel_on_disconnect=True"),
    ):
        left = hung_after_leaving(srv, route, clients)
        row(
            "disconnects",
            f"hung handlers still running 3 s after their {clients} clients left, {option}"
            " (finding 1)",
            f"{left}",
            "" if route == "hang" else "0",
            None if route == "hang" else left == 0,
        )
    # A client that sends a frame before the handshake's answer and then vanishes.
    before = debug_state(srv)[1]
    for _ in range(clients):
        ws_leave(srv, "/soak/ws", early=True)
    wait_until(
        lambda: debug_state(srv)[1].get("ws-finally", 0) >= before.get("ws-finally", 0) + clients,
        3.0,
    )
    after = debug_state(srv)[1]
    stuck = (after.get("ws-started", 0) - before.get("ws-started", 0)) - (
        after.get("ws-finally", 0) - before.get("ws-finally", 0)
    )
    row(
        "disconnects",
        f"WebSocket handlers left waiting after {clients} clients sent a frame before the 101"
        " and vanished (a hypercorn defect)",
        f"{stuck}",
        "(reported: hypercorn's; the shutdown ends them)",
        None,
    )


# ---- faults ---------------------------------------------------------------------------------


async def fault_phase(srv: ServerProcess, seconds: float) -> dict[str, Any]:
    stop_at = time.monotonic() + seconds
    statuses: dict[str, dict[str, int]] = {}
    hello_errors = hello_count = 0

    def note(kind: str, status: str) -> None:
        statuses.setdefault(kind, {}).setdefault(status, 0)
        statuses[kind][status] += 1

    async with httpx.AsyncClient(base_url=srv.base_url, timeout=4) as client:

        async def faulty(path: str) -> None:
            while time.monotonic() < stop_at:
                try:
                    answer = await client.get(path)
                    note(path, str(answer.status_code))
                except httpx.TimeoutException:
                    note(path, "no answer in 4 s")
                except httpx.HTTPError as error:
                    note(path, type(error).__name__)

        async def hello() -> None:
            nonlocal hello_errors, hello_count
            while time.monotonic() < stop_at:
                try:
                    answer = await client.get("/hello/hello-world")
                    hello_errors += answer.status_code != 200
                except httpx.HTTPError:
                    hello_errors += 1
                hello_count += 1

        jobs = [faulty("/soak/raise"), faulty("/soak/garbage")]
        jobs += [faulty("/soak/hang") for _ in range(5)]
        jobs += [faulty("/soak/hang-limited") for _ in range(5)]
        jobs += [hello() for _ in range(4)]
        await asyncio.gather(*jobs)
    return {"statuses": statuses, "hello": hello_count, "hello_errors": hello_errors}


def phase_faults(srv: ServerProcess, seconds: float) -> None:
    print("handler faults", flush=True)
    before = debug_state(srv)[1]
    result = asyncio.run(fault_phase(srv, seconds))
    statuses = result["statuses"]

    def show(path: str) -> str:
        return ", ".join(f"{k}: {v}" for k, v in sorted(statuses.get(path, {}).items()))

    row(
        "faults",
        "hello world beside raising, garbage and hanging handlers",
        f"{result['hello']} answered, {result['hello_errors']} errors",
        "0 errors",
        result["hello_errors"] == 0,
    )
    row(
        "faults",
        "raising handler",
        show("/soak/raise"),
        "500",
        set(statuses["/soak/raise"]) == {"500"},
    )
    row(
        "faults",
        "garbage response",
        show("/soak/garbage"),
        "500",
        set(statuses["/soak/garbage"]) == {"500"},
    )
    row("faults", "hanging handler, no time limit", show("/soak/hang"))
    limited = statuses.get("/soak/hang-limited", {})
    after = debug_state(srv)[1]
    started = after.get("hang-limited-started", 0) - before.get("hang-limited-started", 0)
    ended = after.get("hang-limited-finally", 0) - before.get("hang-limited-finally", 0)
    row(
        "faults",
        "hanging handler, route timeout=1 s: answers; handlers cancelled / started",
        f"{show('/soak/hang-limited')}; {ended}/{started}",
        "503, all cancelled",
        set(limited) == {"503"} and started == ended,
    )


# ---- fuzzing --------------------------------------------------------------------------------


def phase_fuzz(srv: ServerProcess, examples: int) -> None:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    print("fuzzing", flush=True)
    bad: list[str] = []
    counts: dict[str, int] = {}
    config = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )

    def send(kind: str, request: bytes) -> None:
        counts[kind] = counts.get(kind, 0) + 1
        try:
            data = raw_http(srv.host, srv.port, request, timeout=10, read_until_close=False)
        except RawHttpTimeout as error:
            bad.append(f"{kind}: no answer in 10 s to {request[:200]!r} ({error.received[:80]!r})")
            return
        if not data:
            return  # the server refused the bytes by closing (h11 does for some malformed input)
        try:
            status = parse_http_response(data, head=request.startswith(b"HEAD ")).status
        except ValueError:
            bad.append(f"{kind}: unparsable answer {data[:120]!r} to {request[:200]!r}")
            return
        if status >= 500:
            bad.append(f"{kind}: {status} for {request[:300]!r}")

    segment = st.one_of(
        st.sampled_from(
            [
                "",
                ".",
                "..",
                "%2e%2e",
                "%2F",
                "%00",
                "%ff",
                "%",
                "%zz",
                "static",
                "page",
                "greet",
                "hello",
                "rest",
                "info",
                "cors",
                "api",
                "metrics",
                "graphql",
                "soak-files",
                "big.bin",
                "site.css",
                "notes",
                "hello%20world.txt",
                "~",
                "%C3%A9",
                "-1",
                "1e9",
            ]
        ),
        st.text(alphabet="abcXYZ019-._~!$&'()*+,;=:@%", max_size=12),
    )
    paths = st.lists(segment, min_size=1, max_size=6).map(lambda parts: "/" + "/".join(parts))
    token = st.text(
        alphabet="abcdefghijklmnopqrstuvwxyz-0123456789!#$%&'*+.^_`|~", min_size=1, max_size=20
    )
    value = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
    methods = st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "FOO"])

    def head(
        method: str, path: str, headers: Sequence[tuple[str, str]], body: bytes = b""
    ) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", "host: x", "connection: close"]
        lines += [f"{name}: {text}" for name, text in headers]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"content-length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    @config
    @given(methods, paths, st.lists(st.tuples(token, value), max_size=6), st.binary(max_size=300))
    def requests(method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> None:
        send("paths, headers, bodies", head(method, path, headers, body))

    ranges = st.one_of(
        st.from_regex(r"\Abytes=[0-9,\- ]{0,30}\Z"),
        st.builds(
            lambda a, b: f"bytes={a}-{b}", st.integers(-5, 20_000_000), st.integers(-5, 20_000_000)
        ),
        value,
    )

    @config
    @given(
        st.sampled_from(["/static/site.css", "/soak-files/big.bin", "/static/hello%20world.txt"]),
        ranges,
        st.sampled_from(["GET", "HEAD"]),
    )
    def static_ranges(path: str, header: str, method: str) -> None:
        send("static: Range", head(method, path, [("range", header)]))

    encodings = st.lists(
        st.tuples(
            st.sampled_from(["gzip", "br", "zstd", "identity", "*", "deflate", "x"]),
            st.one_of(st.none(), st.from_regex(r"\A[0-9.]{0,5}\Z")),
        ),
        max_size=5,
    ).map(lambda items: ", ".join(name + (f";q={q}" if q is not None else "") for name, q in items))

    @config
    @given(
        st.sampled_from(["/static/site.css", "/static/", "/metrics", "/page/x"]),
        st.one_of(encodings, value),
    )
    def accept_encoding(path: str, header: str) -> None:
        send("Accept-Encoding", head("GET", path, [("accept-encoding", header)]))

    origins = st.one_of(
        st.builds(lambda port: f"http://localhost:{port}", st.integers(-1, 99999)),
        st.sampled_from(
            ["null", "http://127.0.0.1:9009", "https://evil.example", "http://localhost", ""]
        ),
        value,
    )

    @config
    @given(
        origins, st.sampled_from(["GET", "OPTIONS", "PUT", "DELETE"]), st.one_of(st.none(), value)
    )
    def cors(origin: str, method: str, requested: str | None) -> None:
        headers = [("origin", origin)]
        if requested is not None:
            headers += [
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", requested),
            ]
        send("cors: Origin", head(method, "/cors/api", headers))

    @config
    @given(st.text(max_size=40))
    def template_values(name: str) -> None:
        from urllib.parse import quote

        send("jinja2: template values", head("GET", "/page/" + quote(name, safe=""), []))

    documents = st.one_of(
        st.text(
            alphabet="{}()[]:,.!$@#\"'abc __typename query mutation subscription fragment"
            " on ...\n 0123",
            max_size=80,
        ),
        st.recursive(
            st.just("__typename"), lambda inner: inner.map(lambda x: "{ " + x + " }"), max_leaves=40
        ),
    )

    @config
    @given(documents, st.sampled_from(["json", "raw", "get"]))
    def graphql(document: str, form: str) -> None:
        from urllib.parse import quote

        if form == "get":
            send(
                "graphql: documents",
                head(
                    "GET",
                    "/graphql?query=" + quote(document, safe=""),
                    [("accept", "application/json")],
                ),
            )
            return
        body = json.dumps({"query": document}).encode() if form == "json" else document.encode()
        send(
            "graphql: documents",
            head(
                "POST",
                "/graphql",
                [("content-type", "application/json"), ("accept", "application/json")],
                body,
            ),
        )

    for test in (requests, static_ranges, accept_encoding, cors, template_values, graphql):
        test()
    alive = srv.process.poll() is None and hello_ms(srv) >= 0
    total = sum(counts.values())
    detail = ", ".join(f"{kind} {count}" for kind, count in counts.items())
    row("fuzz", f"requests ({detail})", f"{total}")
    row("fuzz", "5xx, unanswered or unparsable answers", f"{len(bad)}", "0", not bad)
    row("fuzz", "server alive, hello world answered", "yes" if alive else "no", "yes", alive)
    for line in bad[:10]:
        print(f"    {line}", flush=True)


# ---- shutdown ---------------------------------------------------------------------------------


def start_in_flight(srv: ServerProcess) -> list[socket.socket]:
    """A long stream, a slow upload, five hung handlers and a WebSocket, all in flight."""
    socks: list[socket.socket] = []

    def open_with(request: bytes) -> socket.socket:
        sock = socket.create_connection((srv.host, srv.port), timeout=30)
        sock.sendall(request)
        socks.append(sock)
        return sock

    open_with(b"GET /soak/stream HTTP/1.1\r\nhost: x\r\n\r\n").recv(1024)
    open_with(
        b"POST /soak/upload HTTP/1.1\r\nhost: x\r\ncontent-length: 100000000\r\n\r\n" + b"u" * 1000
    )
    for _ in range(5):
        open_with(b"GET /soak/hang HTTP/1.1\r\nhost: x\r\n\r\n")
    open_with(ws_handshake("/soak/ws")).recv(1024)
    return socks


def phase_shutdown(kind: str, files: Path, work: Path) -> None:
    print(f"SIGTERM under {kind}", flush=True)
    markers = work / f"markers-{kind}.txt"
    markers.write_text("")
    limit = 15.0
    with server(kind, files, markers) as srv:
        socks = start_in_flight(srv)
        wait_until(lambda: debug_state(srv)[1].get("hang-started", 0) >= 5, 10)
        wait_until(lambda: debug_state(srv)[1].get("upload-started", 0) >= 1, 10)
        started = time.monotonic()
        os.kill(srv.pid, signal.SIGTERM)
        try:
            srv.process.wait(limit)
            took = time.monotonic() - started
        except subprocess.TimeoutExpired:
            took = None
        for sock in socks:
            sock.close()
    hook = "shutdown-hook" in markers.read_text()
    target = f"<= {GRACE + 1:g} s (grace {GRACE:g} s + 1 s)"
    name = {
        "serve": "python -m bareasgi serve --grace 2",
        "uvicorn": "uvicorn --timeout-graceful-shutdown 2",
        "hypercorn": "hypercorn --graceful-timeout 2",
    }[kind]
    measured = f"{took:.2f} s" if took is not None else f"no exit in {limit:g} s (killed)"
    noted = kind != "serve"
    row(
        "shutdown",
        f"{name}: SIGTERM with a stream, a slow upload, 5 hung handlers, a WebSocket in flight",
        measured,
        "" if noted else target,
        None if noted else (took is not None and took <= GRACE + 1),
    )
    row(
        "shutdown",
        f"{name}: the shutdown hook ran",
        "yes" if hook else "no",
        "" if noted else "yes",
        None if noted else hook,
    )


# ---- main -------------------------------------------------------------------------------------


def print_table() -> None:
    print()
    print("| area | check | measured | target | met |")
    print("| --- | --- | --- | --- | --- |")
    for r in ROWS:
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        print(f"| {r.area} | {r.check} | {r.measured} | {r.target} | {met} |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short phases (a smoke run)")
    parser.add_argument(
        "--no-compare", action="store_true", help="skip the uvicorn and hypercorn shutdown runs"
    )
    args = parser.parse_args(argv)
    quick = args.quick
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        work = Path(folder)
        files = work / "files"
        files.mkdir()
        (files / "big.bin").write_bytes(os.urandom(16 * 1024 * 1024))
        markers = work / "markers.txt"
        with server("serve", files, markers) as srv:
            phase_load(srv, 3.0 if quick else 15.0, 16)
            phase_slow(srv, 2.0 if quick else 5.0)
            phase_disconnects(srv, 5 if quick else 20)
            phase_faults(srv, 3.0 if quick else 8.0)
            phase_fuzz(srv, 20 if quick else 150)
            alive = srv.process.poll() is None
        row(
            "server",
            "python -m bareasgi serve alive through every phase",
            "yes" if alive else "no",
            "yes",
            alive,
        )
        phase_shutdown("serve", files, work)
        if not args.no_compare:
            phase_shutdown("uvicorn", files, work)
            phase_shutdown("hypercorn", files, work)
    print_table()
    print(f"\nsoak took {time.monotonic() - started:.0f} s")
    missed = [r for r in ROWS if r.met is False]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
