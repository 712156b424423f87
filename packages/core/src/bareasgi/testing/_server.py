"""A real hypercorn, uvicorn or granian in a subprocess, and raw-socket HTTP helpers for wire
tests."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple, final

_POLL = 0.05


def _group_alive(pgid: int) -> bool:
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


@contextlib.contextmanager
def run_hypercorn(
    app: str,
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    workers: int = 1,
    args: Sequence[str] = (),
    startup_timeout: float = 20.0,
    stop_timeout: float = 10.0,
) -> Iterator[HypercornServer]:
    """Run `python -m hypercorn APP` on a socket this process opened on 127.0.0.1:0.

    The socket is handed over with `--bind fd://N` (which also works with several
    workers: hypercorn's master passes it on to them). It waits, bounded, until every
    worker logs "Running on" (so keep hypercorn's info log on stderr), stops it with
    SIGTERM (SIGKILL to its process group after `stop_timeout`), and raises with the
    output if it dies or does not start in time. `env` is added to this environment.
    Hypercorn also speaks HTTP/2 with prior knowledge (h2c) on this plain socket.
    """
    with _run_on_socket(
        "hypercorn",
        lambda fd: [
            sys.executable,
            "-m",
            "hypercorn",
            "--bind",
            f"fd://{fd}",
            "--workers",
            str(workers),
            *args,
            app,
        ],
        lambda out: out.count("Running on") >= max(workers, 1),
        lambda name, process, port, log: HypercornServer(process, port, log),
        cwd=cwd,
        env=env,
        startup_timeout=startup_timeout,
        stop_timeout=stop_timeout,
    ) as server:
        yield server


class RawHttpTimeout(TimeoutError):
    """`raw_http` ran out of time; `received` holds what came back until then."""

    def __init__(self, message: str, received: bytes) -> None:
        super().__init__(message)
        self.received = received


def raw_http(
    host: str,
    port: int,
    data: bytes,
    *,
    timeout: float = 10.0,
    read_until_close: bool = True,
    max_bytes: int = 64 * 1024 * 1024,
) -> bytes:
    """Send `data` over a plain socket while reading; return what the server sent.

    Writing runs in a thread, so a server that answers early (413 before the body is
    sent) neither blocks nor loses its answer; a reset after the answer ends the read.
    Reads until the server closes (or, with `read_until_close=False`, until one whole
    response has come), `max_bytes` came, or `timeout` (raises `RawHttpTimeout`).
    """
    head = data.startswith(b"HEAD ")
    received = bytearray()
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, port), timeout=timeout) as sock:

        def write() -> None:
            with contextlib.suppress(OSError):
                sock.sendall(data)

        writer = threading.Thread(target=write, name="raw_http writer", daemon=True)
        writer.start()
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(sock, selectors.EVENT_READ)
                while len(received) < max_bytes:
                    if not read_until_close and _complete_response(bytes(received), head):
                        break
                    left = deadline - time.monotonic()
                    if left <= 0 or not selector.select(left):
                        raise RawHttpTimeout(
                            f"no end of the answer within {timeout} s", bytes(received)
                        )
                    try:
                        chunk = sock.recv(min(65536, max_bytes - len(received)))
                    except (ConnectionResetError, BrokenPipeError):
                        break
                    if not chunk:
                        break
                    received += chunk
        finally:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            writer.join(timeout)
    return bytes(received)


class RawResponse(NamedTuple):
    """A parsed HTTP/1.x response: unpacks as `(status, headers, body)`."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        """The first value of header `name` (lower-case), if any."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


class IncompleteResponse(ValueError):
    """The bytes end before the response does."""


def _parse_one(data: bytes, start: int, head: bool) -> tuple[RawResponse, int]:
    end = data.find(b"\r\n\r\n", start)
    if end < 0:
        raise IncompleteResponse("no end of headers")
    lines = data[start:end].split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
        raise ValueError(f"not an HTTP status line: {lines[0]!r}")
    status = int(parts[1])
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise ValueError(f"bad header line: {line!r}")
        headers.append((name.strip().lower(), value.strip()))
    pos = end + 4
    response = RawResponse(status, headers, b"")
    if head or status < 200 or status in (204, 304):
        return response, pos
    encoding = (response.header(b"transfer-encoding") or b"").lower()
    if encoding.endswith(b"chunked"):
        body = bytearray()
        while True:
            line_end = data.find(b"\r\n", pos)
            if line_end < 0:
                raise IncompleteResponse("chunk size missing")
            size = int(data[pos:line_end].split(b";")[0].strip(), 16)
            pos = line_end + 2
            if size == 0:
                trailer_end = data.find(b"\r\n\r\n", pos - 2)
                if trailer_end < 0:
                    raise IncompleteResponse("chunked trailer missing")
                return response._replace(body=bytes(body)), trailer_end + 4
            if len(data) < pos + size + 2:
                raise IncompleteResponse("chunk cut short")
            body += data[pos : pos + size]
            pos += size + 2
    length = response.header(b"content-length")
    if length is not None:
        size = int(length)
        if len(data) < pos + size:
            raise IncompleteResponse("body shorter than content-length")
        return response._replace(body=data[pos : pos + size]), pos + size
    return response._replace(body=data[pos:]), len(data)


def parse_http_response(data: bytes, *, head: bool = False) -> RawResponse:
    """Parse the first final response in `data` (1xx interim ones are skipped).

    Handles content-length, chunked and read-to-close bodies; `head=True` for the
    answer to a HEAD request (no body whatever the headers say).
    """
    pos = 0
    while True:
        response, pos = _parse_one(data, pos, head)
        if response.status >= 200 or response.status == 101:
            return response


def parse_http_responses(data: bytes, *, head: bool = False) -> list[RawResponse]:
    """Parse every response in `data` (pipelined answers), interim 1xx ones included."""
    responses: list[RawResponse] = []
    pos = 0
    while pos < len(data):
        response, pos = _parse_one(data, pos, head)
        responses.append(response)
    return responses


def _complete_response(data: bytes, head: bool) -> bool:
    if b"\r\n\r\n" not in data:
        return False
    try:
        response = _parse_final(data, head)
    except IncompleteResponse:
        return False
    except ValueError:
        return True  # not HTTP: nothing more to wait for
    framed = response.header(b"content-length") is not None or (
        (response.header(b"transfer-encoding") or b"").lower().endswith(b"chunked")
    )
    return head or framed or response.status < 200 or response.status in (204, 304)


def _parse_final(data: bytes, head: bool) -> RawResponse:
    pos = 0
    while True:
        response, pos = _parse_one(data, pos, head)
        if response.status >= 200 or response.status == 101:
            return response


# ---- uvicorn and granian ---------------------------------------------------------------------


class ServerProcess:
    """A running server (`name`: hypercorn, uvicorn, granian): where it listens, its PID,
    what it printed."""

    def __init__(self, name: str, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.name = name
        self.process = process
        self.host = "127.0.0.1"
        self.port = port
        self.base_url = f"http://{self.host}:{port}"
        self.pid = process.pid
        self._log = log
        self._final_output: str | None = None

    def output(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        if self._final_output is not None:
            return self._final_output
        try:
            return self._log.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def alive(self) -> bool:
        """Whether any process of the server's process group still runs (zombies aside)."""
        return _group_alive(self.pid)

    def _stop(self, timeout: float) -> None:
        process = self.process
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout)
        # Workers (or multiprocessing's resource tracker) left behind share its group:
        # they have until `timeout` to go by themselves (a worker runs its lifespan shutdown once
        # its connections are gone), then they are killed.
        deadline = time.monotonic() + timeout
        while _group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(_POLL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        self._final_output = self.output()
        with contextlib.suppress(FileNotFoundError):
            self._log.unlink()


@final
class HypercornServer(ServerProcess):
    """A running hypercorn (what `run_hypercorn` yields)."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        super().__init__("hypercorn", process, port, log)


def _spawn(
    name: str,
    command: list[str],
    *,
    cwd: str | os.PathLike[str] | None,
    env: Mapping[str, str] | None,
    pass_fds: Sequence[int],
) -> tuple[subprocess.Popen[bytes], Path]:
    """Start a server process in a session of its own, its output going to a log file."""
    fd, log_name = tempfile.mkstemp(prefix=f"{name}-", suffix=".log")
    log = Path(log_name)
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    try:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=subprocess.STDOUT,
            pass_fds=tuple(pass_fds),
            start_new_session=True,
        )
    except BaseException:
        log.unlink()
        raise
    finally:
        os.close(fd)
    return process, log


def _start(
    name: str,
    command: list[str],
    port: int,
    *,
    cwd: str | os.PathLike[str] | None,
    env: Mapping[str, str] | None,
    pass_fds: Sequence[int],
) -> ServerProcess:
    process, log = _spawn(name, command, cwd=cwd, env=env, pass_fds=pass_fds)
    return ServerProcess(name, process, port, log)


def _wait_until(
    server: ServerProcess, ready: Callable[[str], bool], startup_timeout: float
) -> None:
    deadline = time.monotonic() + startup_timeout
    while not ready(server.output()):
        code = server.process.poll()
        if code is not None:
            raise RuntimeError(
                f"{server.name} exited with {code} during start-up:\n{server.output()}"
            )
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{server.name} did not start within {startup_timeout} s:\n{server.output()}"
            )
        time.sleep(_POLL)


@contextlib.contextmanager
def _run_on_socket[S: ServerProcess](
    name: str,
    command: Callable[[int], list[str]],
    ready: Callable[[str], bool],
    make: Callable[[str, subprocess.Popen[bytes], int, Path], S],
    *,
    cwd: str | os.PathLike[str] | None,
    env: Mapping[str, str] | None,
    startup_timeout: float,
    stop_timeout: float,
) -> Iterator[S]:
    """Run the server `command(fd)` gives, handed a socket this process opened on
    127.0.0.1:0 as `fd`; wait, bounded, until `ready(output)`; stop it on the way out."""
    sock = _listening_socket()
    port = sock.getsockname()[1]
    try:
        process, log = _spawn(
            name, command(sock.fileno()), cwd=cwd, env=env, pass_fds=(sock.fileno(),)
        )
    finally:
        sock.close()  # the server holds the listening socket now
    server = make(name, process, port, log)
    try:
        _wait_until(server, ready, startup_timeout)
        yield server
    finally:
        server._stop(stop_timeout)


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def run_uvicorn(
    app: str,
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    workers: int = 1,
    args: Sequence[str] = (),
    startup_timeout: float = 20.0,
    stop_timeout: float = 10.0,
) -> Iterator[ServerProcess]:
    """Run `python -m uvicorn APP` on a socket this process opened on 127.0.0.1:0.

    The listening socket is handed over with `--fd N` (with several workers uvicorn's parent
    passes it on). It waits, bounded, until uvicorn logs "Uvicorn running on" and every
    worker "Started server process" (keep uvicorn's info log: the socket already listens, so
    a connection made while a worker still starts waits in the backlog), stops it with
    SIGTERM (SIGKILL to its process group after `stop_timeout`), and raises with the output
    if it dies or does not start in time. `env` is added to this environment.
    """
    with _run_on_socket(
        "uvicorn",
        lambda fd: [
            sys.executable,
            "-m",
            "uvicorn",
            "--fd",
            str(fd),
            "--workers",
            str(workers),
            *args,
            app,
        ],
        lambda out: "Uvicorn running on" in out and out.count("Started server process") >= workers,
        ServerProcess,
        cwd=cwd,
        env=env,
        startup_timeout=startup_timeout,
        stop_timeout=stop_timeout,
    ) as server:
        yield server


@contextlib.contextmanager
def run_granian(
    app: str,
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    workers: int = 1,
    args: Sequence[str] = (),
    startup_timeout: float = 20.0,
    stop_timeout: float = 10.0,
) -> Iterator[ServerProcess]:
    """Run `python -m granian --interface asgi APP` on a free port of 127.0.0.1.

    Granian cannot be handed an open socket (no `fd://` or `--fd`), and with port 0 each
    worker binds a port of its own that granian does not report. So this binds a socket to
    127.0.0.1:0 with SO_REUSEPORT, without listening (it takes no connections), and keeps it
    while granian binds the same port (granian sets SO_REUSEPORT on Linux, where its workers
    bind the address themselves): the port is held for us throughout, no other program can
    take it in between. Where SO_REUSEPORT is missing, the socket is closed just before
    granian starts (a small window in which another program could take the port).

    It waits, bounded, until every worker logs "Started worker" and the port accepts a
    connection, then closes the reserving socket; stops granian with SIGTERM (SIGKILL to its
    process group after `stop_timeout`), and raises with the output if it dies or does not
    start in time. `env` is added to this environment.
    """
    reserve = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        reuse_port = getattr(socket, "SO_REUSEPORT", None)
        if reuse_port is not None and sys.platform == "linux":
            reserve.setsockopt(socket.SOL_SOCKET, reuse_port, 1)
        else:
            reuse_port = None
        reserve.bind(("127.0.0.1", 0))
        port = reserve.getsockname()[1]
        if reuse_port is None:
            reserve.close()
        command = [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "info",
            *args,
            app,
        ]
        server = _start("granian", command, port, cwd=cwd, env=env, pass_fds=())
        try:
            _wait_until(
                server,
                lambda out: out.count("Started worker") >= workers and _accepts(server.host, port),
                startup_timeout,
            )
        except BaseException:
            server._stop(stop_timeout)
            raise
    finally:
        reserve.close()
    try:
        yield server
    finally:
        server._stop(stop_timeout)
