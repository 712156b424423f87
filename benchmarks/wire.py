"""The wire section: hello world of bareASGI and of the raw floor under real servers.

Each (server, app) pair runs in a subprocess of its own, given a listening socket that this
process opened on 127.0.0.1 (port 0), so no fixed port is used and no start-up race exists.
A Python asyncio client then keeps N keep-alive connections busy with sequential requests (no
pipelining) for a fixed time or count, whichever ends first, and reports requests per second.
Runs are interleaved across the pairs and repeated; the median is reported. Every server
process is stopped by its PID (SIGTERM, then SIGKILL) with bounded waits.

Run on its own as ``python -m benchmarks --scenario wire``; the child side is
``python -m benchmarks.wire serve SERVER APP FD`` (used internally).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, Literal

from .apps import BY_KEY
from .driver import ASGIApp
from .scenarios import HELLO_PATH, HELLO_TEXT

Server = Literal["hypercorn", "uvicorn"]
SERVERS: Final[tuple[Server, ...]] = ("hypercorn", "uvicorn")
WIRE_APPS: Final = ("raw", "bareasgi")
ROOT: Final = Path(__file__).resolve().parent.parent
READY_TIMEOUT: Final = 30.0
STOP_TIMEOUT: Final = 5.0
MAX_SECONDS: Final = 10.0
"""No single load run lasts longer than this, whatever is asked."""

_EXPECTED_BODY: Final = HELLO_TEXT.encode()


# -- the server side (child process) -----------------------------------------------------------


def _serve(server: Server, app_key: str, fd: int) -> None:
    app: ASGIApp = BY_KEY[app_key].load()("hello")
    sock = socket.socket(fileno=fd)
    if server == "uvicorn":
        import uvicorn

        config = uvicorn.Config(
            app,
            interface="asgi3",
            lifespan="on",
            loop="asyncio",
            access_log=False,
            log_level="warning",
        )
        uvicorn.Server(config).run(sockets=[sock])
    else:
        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        hconfig = Config()
        hconfig.bind = [f"fd://{sock.detach()}"]
        hconfig.accesslog = None
        hconfig.loglevel = "WARNING"
        # hypercorn types apps with its own TypedDict scopes; ours take plain dicts.
        framework: Any = app
        asyncio.run(serve(framework, hconfig, mode="asgi"))


# -- the client ------------------------------------------------------------------------------------


@dataclass
class _Load:
    """Shared by every connection of one run."""

    deadline: float
    remaining: int
    done: int = 0
    errors: list[str] = field(default_factory=list)


class _Connection(asyncio.Protocol):
    """One keep-alive connection sending the next request when the last answer is complete."""

    def __init__(self, request: bytes, load: _Load, closed: asyncio.Future[None]) -> None:
        self._request = request
        self._load = load
        self._closed = closed
        self._transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._state = "head"
        self._need = 0
        self._loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._next()

    def _next(self) -> None:
        load = self._load
        assert self._transport is not None
        if load.remaining > 0 and self._loop.time() < load.deadline and not load.errors:
            load.remaining -= 1
            self._transport.write(self._request)
        else:
            self._transport.close()

    def _fail(self, problem: str) -> None:
        self._load.errors.append(problem)
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        while True:
            if self._state == "head":
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(buf[:end]).lower()
                del buf[: end + 4]
                if not head.startswith(b"http/1.1 200"):
                    self._fail(f"unexpected answer {head[:60]!r}")
                    return
                if b"transfer-encoding: chunked" in head:
                    self._state = "size"
                else:
                    start = head.find(b"content-length:")
                    if start < 0:
                        self._fail("answer without content-length or chunked encoding")
                        return
                    line_end = head.find(b"\r\n", start)
                    value = head[start + 15 : line_end if line_end >= 0 else len(head)]
                    self._need = int(value)
                    self._state = "body"
            elif self._state == "body":
                if len(buf) < self._need:
                    return
                if bytes(buf[: self._need]) != _EXPECTED_BODY:
                    self._fail(f"unexpected body {bytes(buf[: self._need])[:60]!r}")
                    return
                del buf[: self._need]
                self._complete()
            elif self._state == "size":
                end = buf.find(b"\r\n")
                if end < 0:
                    return
                size = int(bytes(buf[:end]).split(b";")[0], 16)
                del buf[: end + 2]
                if size:
                    self._need = size + 2
                    self._state = "chunk"
                else:
                    self._state = "trailer"
            elif self._state == "chunk":
                if len(buf) < self._need:
                    return
                del buf[: self._need]
                self._state = "size"
            else:  # trailer lines, up to the empty one
                end = buf.find(b"\r\n")
                if end < 0:
                    return
                del buf[: end + 2]
                if end == 0:
                    self._complete()

    def _complete(self) -> None:
        self._state = "head"
        self._load.done += 1
        self._next()

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self._load.errors.append(f"connection lost: {exc!r}")
        if not self._closed.done():
            self._closed.set_result(None)


async def _load(
    port: int, connections: int, seconds: float, count: int
) -> tuple[float, int, list[str]]:
    """Requests per second over ``connections`` keep-alive connections."""
    loop = asyncio.get_running_loop()
    request = f"GET {HELLO_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    load = _Load(deadline=0.0, remaining=count)
    closed: list[asyncio.Future[None]] = []
    started = time.perf_counter()
    load.deadline = loop.time() + min(seconds, MAX_SECONDS)

    def connection(future: asyncio.Future[None]) -> Callable[[], _Connection]:
        return lambda: _Connection(request, load, future)

    for _ in range(connections):
        future: asyncio.Future[None] = loop.create_future()
        closed.append(future)
        await loop.create_connection(connection(future), "127.0.0.1", port)
    try:
        await asyncio.wait_for(asyncio.gather(*closed), MAX_SECONDS + 10)
    except TimeoutError:
        load.errors.append("connections did not finish in time")
    elapsed = time.perf_counter() - started
    return load.done / elapsed, load.done, load.errors


# -- the parent side ------------------------------------------------------------------------------


@dataclass
class _Running:
    server: Server
    app: str
    port: int
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    def log_tail(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-2000:]


@dataclass
class WireResult:
    server: Server
    app: str
    rates: list[float] = field(default_factory=list)
    """Requests per second of wall-clock time, one per run."""
    per_cpu: list[float] = field(default_factory=list)
    """Requests per second of the server process's CPU time, one per run (Linux only)."""
    requests: int = 0
    problem: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.rates) if self.rates and self.problem is None else None

    @property
    def median_per_cpu(self) -> float | None:
        if not self.per_cpu or self.problem is not None:
            return None
        return statistics.median(self.per_cpu)


def _cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process so far, from /proc (None where there is none)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start(server: Server, app: str) -> _Running:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1024)
        port = sock.getsockname()[1]
        fd = sock.fileno()
        sock.set_inheritable(True)
        log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by _stop, with the process)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.wire", "serve", server, app, str(fd)],
            pass_fds=[fd],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    finally:
        # The child holds its own copy of the listening socket.
        sock.close()
    return _Running(server, app, port, process, log)


def _stop(running: _Running) -> None:
    process = running.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)
    running.log.close()


async def _ready(running: _Running) -> str | None:
    """None once the server answers one request correctly; else what went wrong."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            return f"server exited with {running.process.returncode}:\n{running.log_tail()}"
        try:
            _, done, errors = await asyncio.wait_for(_load(running.port, 1, 5.0, 1), 10)
        except (OSError, TimeoutError):
            await asyncio.sleep(0.2)
            continue
        if errors:
            return f"{errors[0]}\n{running.log_tail()}"
        if done == 1:
            return None
    return f"no answer within {READY_TIMEOUT:.0f} s:\n{running.log_tail()}"


async def run(
    apps: Sequence[str],
    *,
    rounds: int,
    seconds: float,
    connections: int,
    max_requests: int,
    progress: bool = False,
) -> list[WireResult]:
    """Serve each app under each server; load them in turn, ``rounds`` times."""
    results = [WireResult(server, app) for server in SERVERS for app in apps]
    running: dict[tuple[str, str], _Running] = {}
    try:
        for result in results:
            running[result.server, result.app] = _start(result.server, result.app)
        for result in results:
            problem = await _ready(running[result.server, result.app])
            if problem is not None:
                result.problem = problem
            else:
                # Warm-up: a short untimed load.
                await _load(running[result.server, result.app].port, connections, 0.5, 10**9)
        for round_ in range(rounds):
            for result in results[round_ % len(results) :] + results[: round_ % len(results)]:
                if result.problem is not None:
                    continue
                server = running[result.server, result.app]
                cpu_before = _cpu_seconds(server.process.pid)
                rate, done, errors = await _load(server.port, connections, seconds, max_requests)
                cpu_after = _cpu_seconds(server.process.pid)
                if errors:
                    result.problem = errors[0]
                    continue
                result.rates.append(rate)
                result.requests += done
                if cpu_before is not None and cpu_after is not None and cpu_after > cpu_before:
                    result.per_cpu.append(done / (cpu_after - cpu_before))
                if progress:
                    print(
                        f"  wire round {round_ + 1}: {result.server} {result.app}: "
                        f"{rate:,.0f} req/s",
                        file=sys.stderr,
                        flush=True,
                    )
    finally:
        for each in running.values():
            with contextlib.suppress(Exception):
                _stop(each)
    return results


def main(argv: Sequence[str]) -> int:
    if len(argv) != 4 or argv[0] != "serve" or argv[1] not in SERVERS or argv[2] not in BY_KEY:
        print("usage: python -m benchmarks.wire serve {hypercorn|uvicorn} APP FD", file=sys.stderr)
        return 2
    server: Server = "uvicorn" if argv[1] == "uvicorn" else "hypercorn"
    _serve(server, argv[2], int(argv[3]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
