"""Hypercorn with a bounded graceful shutdown: `python -m bareasgi serve module:app`.

On SIGTERM or SIGINT the server stops accepting and closes its idle connections; requests in
flight get `grace` seconds to finish; then what is left is cancelled (handlers' `finally`
blocks run, streamed bodies are closed, a request that has no answer yet gets 503, a WebSocket
is closed with 1001), the connections still open after that are closed, the lifespan shutdown
runs (the application's shutdown hooks), and the process exits.

Hypercorn alone cannot bound this: before it sends `lifespan.shutdown` it awaits
`Server.wait_closed()`, which (Python 3.12 and later) waits for every connection, however long
its handler runs. So `serve` installs an ASGI wrapper that knows the HTTP and WebSocket calls
in flight and ends them itself when the grace period is over. The wrapper exists only under
`serve`; the application is unchanged under any other server.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import importlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from multiprocessing.connection import wait as wait_for_processes
from typing import TYPE_CHECKING, Any, Final, final

from .types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from hypercorn.config import Config

LOGGER = logging.getLogger("bareasgi.serve")

DEFAULT_BIND: Final = "127.0.0.1:8000"
DEFAULT_GRACE: Final = 5.0
SETTLE: Final = 1.0
"""Seconds the server has, once the calls left are cancelled, to close their connections and
reach the lifespan shutdown before the connections still open are closed under it."""
FORCE_EXIT_MARGIN: Final = 10.0
"""The command line's last resort: this long after the grace period, a process that has still
not ended (a handler that swallows its cancellation, a shutdown hook that hangs) exits."""

_SHUTDOWN_BODY: Final = b"Service Unavailable: the server is shutting down\n"
_SHUTDOWN_HEADERS: Final = (
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", str(len(_SHUTDOWN_BODY)).encode()),
    (b"connection", b"close"),
    (b"retry-after", b"1"),
)
_STARTED: Final = frozenset(
    {"http.response.start", "websocket.accept", "websocket.http.response.start"}
)


@final
class _Call:
    """One HTTP or WebSocket call in flight, as far as shutdown cares; called, it is the `send`
    the application gets (it returns the server's own awaitable: no coroutine of its own)."""

    __slots__ = ("cancelled", "closed", "kind", "receive", "send", "started")

    def __init__(self, kind: str, receive: Receive, send: Send) -> None:
        self.kind = kind
        self.receive = receive
        self.send = send
        self.started = False  # a response (or the WebSocket handshake's answer) went out
        self.closed = False  # the WebSocket was closed, by either side
        self.cancelled = False  # cancelled by the shutdown, not by anything else

    def __call__(self, message: Message) -> Awaitable[None]:
        kind = message["type"]
        if kind in _STARTED:
            self.started = True
        elif kind == "websocket.close":
            self.closed = True
        return self.send(message)

    async def receive_websocket(self) -> Message:
        message = await self.receive()
        if message["type"] == "websocket.disconnect":
            self.closed = True
        return message


@final
class ShutdownTracker:
    """The ASGI wrapper `serve` puts around the application.

    It records each HTTP and WebSocket call's task and whether its answer started, and notes
    when the server sends `lifespan.shutdown`. `drain()` waits for the calls, bounded, then
    cancels those left and says goodbye for them: 503 for an HTTP request not yet answered,
    close 1001 for an open WebSocket.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.calls: dict[asyncio.Task[Any], _Call] = {}
        self.closing = False
        self.lifespan_shutdown = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.app(scope, self._lifespan_receive(receive), send)
            return
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        call = _Call(kind, receive, send)
        if self.closing:  # a request that came in after the grace period (a pipelined one)
            await _farewell(scope, call)
            return
        task = asyncio.current_task()
        assert task is not None
        calls = self.calls
        calls[task] = call
        try:
            await self.app(scope, call.receive_websocket if kind == "websocket" else receive, call)
        except asyncio.CancelledError:
            if call.cancelled:
                await _farewell(scope, call)
            raise
        finally:
            del calls[task]

    def _lifespan_receive(self, receive: Receive) -> Receive:
        async def lifespan_receive() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                self.lifespan_shutdown.set()
            return message

        return lifespan_receive

    async def drain(self, grace: float, hurry: asyncio.Event | None = None) -> int:
        """Wait up to `grace` seconds (less once `hurry` is set) for the calls in flight, then
        cancel those left; returns how many were cancelled."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        if self.calls:
            LOGGER.info(
                "Shutting down: %d request(s) in flight, %s s to finish", len(self.calls), grace
            )
        hurried = asyncio.ensure_future(hurry.wait()) if hurry is not None else None
        try:
            while self.calls and (hurried is None or not hurried.done()):
                left = deadline - loop.time()
                if left <= 0:
                    break
                waited: set[asyncio.Future[Any]] = set(self.calls)
                if hurried is not None:
                    waited.add(hurried)
                await asyncio.wait(waited, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if hurried is not None:
                hurried.cancel()
        self.closing = True
        left_over = list(self.calls.items())
        if left_over:
            LOGGER.warning(
                "Grace period over: cancelling %d request(s) still in flight", len(left_over)
            )
        for task, call in left_over:
            call.cancelled = True
            task.cancel()
        return len(left_over)


async def _farewell(scope: Scope, call: _Call) -> None:
    """The answer for a call the shutdown ended: 503 when nothing was answered yet, close 1001
    for an open WebSocket, nothing more for an answer already under way."""
    send = call.send
    with contextlib.suppress(Exception):  # the client may be gone; the server may refuse
        if call.kind == "http":
            if not call.started:
                await send(
                    {"type": "http.response.start", "status": 503, "headers": _SHUTDOWN_HEADERS}
                )
                await send({"type": "http.response.body", "body": _SHUTDOWN_BODY})
        elif call.closed:
            return
        elif call.started:
            await send({"type": "websocket.close", "code": 1001, "reason": "server shutdown"})
        else:
            if not call.cancelled:  # refused before the handler ran: take the connect first
                await call.receive()
            if "websocket.http.response" in (scope.get("extensions") or {}):
                await send(
                    {
                        "type": "websocket.http.response.start",
                        "status": 503,
                        "headers": _SHUTDOWN_HEADERS,
                    }
                )
                await send({"type": "websocket.http.response.body", "body": _SHUTDOWN_BODY})
            else:
                await send({"type": "websocket.close", "code": 1001})


# ---- connections left over -------------------------------------------------------------------


def _socket_fds() -> list[int]:
    for folder in ("/proc/self/fd", "/dev/fd"):
        try:
            return [int(name) for name in os.listdir(folder)]
        except OSError:
            continue
    return []


def _tcp_sockets() -> Iterator[socket.socket]:
    """A socket object on a duplicate of each of this process's inet stream sockets; the
    caller closes each (the duplicate, not the process's own)."""
    for fd in _socket_fds():
        try:
            sock = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
            yield sock
        else:
            sock.close()


def listening_ports() -> set[tuple[int, int]]:
    """The (family, port) of each TCP socket this process listens on."""
    ports: set[tuple[int, int]] = set()
    for sock in _tcp_sockets():
        with sock, contextlib.suppress(OSError):
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                ports.add((sock.family, sock.getsockname()[1]))
    return ports


def close_connections(ports: set[tuple[int, int]]) -> int:
    """Shut down every TCP connection this process accepted on one of `ports`.

    The server's transport then sees the connection end (even one waiting to send to a client
    that reads nothing) and lets go of it. Outgoing connections (to a database, say) have other
    local ports and are left alone. Returns how many were shut down.
    """
    closed = 0
    for sock in _tcp_sockets():
        with sock:
            try:
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                    continue
                if (sock.family, sock.getsockname()[1]) not in ports:
                    continue
                sock.getpeername()
                sock.shutdown(socket.SHUT_RDWR)
                closed += 1
            except OSError:
                continue
    return closed


# ---- serve -------------------------------------------------------------------------------


async def serve(
    app: ASGIApp,
    *,
    bind: Sequence[str] | None = None,
    grace: float = DEFAULT_GRACE,
    config: Config | None = None,
    shutdown_trigger: Callable[[], Awaitable[object]] | None = None,
    force_exit: float | None = None,
) -> None:
    """Serve `app` with hypercorn until SIGTERM or SIGINT (or `shutdown_trigger` returns), then
    shut down within a bounded time.

    Args:
        app: the ASGI application.
        bind: where to listen, in hypercorn's forms (`HOST:PORT`, `unix:PATH`, `fd://N`);
            default `config.bind`, which is `127.0.0.1:8000` unless set.
        grace: seconds in-flight requests have to finish once shutdown begins; after that
            they are cancelled.
        config: a hypercorn `Config` for everything else (TLS, timeouts, logging); it is
            copied, never changed. Its `graceful_timeout` is not used: `grace` bounds the
            shutdown.
        shutdown_trigger: an awaitable factory; shutdown begins when it returns. Without one,
            SIGTERM and SIGINT begin it, and a second signal cancels what is in flight at once.
        force_exit: seconds after shutdown began at which the process exits at once with
            status 1 (`os._exit`) if it has not ended by then; None (the default) never does.
    """
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    # A copy: `bind` and the graceful timeout below are this call's, never written into the
    # caller's own Config (which may serve again, or be read afterwards).
    config = copy.copy(config) if config is not None else Config()
    if bind is not None:
        config.bind = [bind] if isinstance(bind, str) else list(bind)
    # The wait for connections after `Server.wait_closed()`: by then every call has ended.
    config.graceful_timeout = SETTLE
    tracker = ShutdownTracker(app)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    hurry = asyncio.Event()
    drained: asyncio.Task[None] | None = None
    watchdog: threading.Timer | None = None

    def on_signal() -> None:
        if stop.is_set():
            LOGGER.warning("Second signal: cancelling what is in flight now")
            hurry.set()
        stop.set()

    async def finish(ports: set[tuple[int, int]]) -> None:
        cancelled = await tracker.drain(grace, hurry)
        if not cancelled:
            return
        try:
            await asyncio.wait_for(tracker.lifespan_shutdown.wait(), SETTLE)
        except TimeoutError:
            closed = close_connections(ports)
            if closed:
                LOGGER.warning("Closed %d connection(s) that outlived their requests", closed)

    async def trigger() -> None:
        nonlocal drained, watchdog
        if shutdown_trigger is not None:
            await shutdown_trigger()
        else:
            await stop.wait()
        LOGGER.info("Shutting down: no new connections, %s s grace for those in flight", grace)
        if force_exit is not None:
            watchdog = threading.Timer(force_exit, _force_exit, (force_exit,))
            watchdog.daemon = True
            watchdog.start()
        # The listening sockets are still open here: note their ports for close_connections.
        drained = loop.create_task(finish(listening_ports()))

    signals = (signal.SIGTERM, signal.SIGINT) if shutdown_trigger is None else ()
    for signum in signals:
        loop.add_signal_handler(signum, on_signal)
    try:
        await hypercorn_serve(tracker, config, shutdown_trigger=trigger)  # type: ignore[arg-type]
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
        if drained is not None and not drained.done():
            drained.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drained
        if watchdog is not None:
            watchdog.cancel()
    LOGGER.info("Shut down")


def _force_exit(after: float) -> None:
    LOGGER.error("Shutdown not finished %s s after it began: exiting now", after)
    logging.shutdown()
    os._exit(1)


# ---- the command line --------------------------------------------------------------------


def load_app(target: str) -> ASGIApp:
    """The object named by `module:attribute` (dotted attributes allowed), imported with the
    current directory first on `sys.path`."""
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"expected module:attribute, got {target!r}")
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    value: Any = importlib.import_module(module_name)
    for name in attribute.split("."):
        try:
            value = getattr(value, name)
        except AttributeError:
            raise ValueError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if not callable(value):
        raise ValueError(f"{target!r} is not an ASGI application (not callable)")
    app: ASGIApp = value
    return app


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
    )


def _config(binds: Sequence[str], log_level: str) -> Config:
    from hypercorn.config import Config

    config = Config()
    config.bind = list(binds)
    config.loglevel = log_level.upper()
    # Hypercorn's messages through the root logger, in the same format as ours.
    config.errorlog = logging.getLogger("hypercorn.error")
    return config


def run(
    target: str,
    *,
    bind: Sequence[str] = (DEFAULT_BIND,),
    workers: int = 1,
    grace: float = DEFAULT_GRACE,
    log_level: str = "info",
) -> int:
    """What `python -m bareasgi serve` does; returns the exit status."""
    _configure_logging(log_level)
    if workers < 1:
        raise ValueError("workers must be 1 or more")
    if workers == 1:
        app = load_app(target)
        asyncio.run(
            serve(
                app,
                config=_config(bind, log_level),
                grace=grace,
                force_exit=grace + FORCE_EXIT_MARGIN,
            )
        )
        return 0
    return _supervise(target, bind, workers, grace, log_level)


def _supervise(
    target: str, binds: Sequence[str], workers: int, grace: float, log_level: str
) -> int:
    """Open the sockets, start `workers` processes serving on them, pass SIGTERM and SIGINT
    on as SIGTERM, and wait for them (bounded)."""
    load_app(target)  # fail here, once, rather than in every worker
    sockets = _config(binds, log_level).create_sockets()
    listening = [*sockets.secure_sockets, *sockets.insecure_sockets]
    context = multiprocessing.get_context("spawn")
    processes: list[BaseProcess] = []
    stopping = False

    def stop(signum: int = signal.SIGTERM, frame: object = None) -> None:
        nonlocal stopping
        if stopping and signum != signal.SIGTERM:
            return
        stopping = True
        for process in processes:
            if process.pid is not None and process.exitcode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)

    # Workers inherit an ignored SIGINT (a Ctrl-C reaches the whole process group): the
    # supervisor alone passes it on, as SIGTERM, so each worker gets one signal.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for _ in range(workers):
            worker = context.Process(
                target=_worker, args=(target, listening, grace, log_level), daemon=False
            )
            worker.start()
            processes.append(worker)
    finally:
        signal.signal(signal.SIGINT, previous)
    for sock in listening:
        sock.close()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    try:
        running = list(processes)
        while running and not stopping:
            ended = set(wait_for_processes([p.sentinel for p in running]))
            for process in [p for p in running if p.sentinel in ended]:
                process.join()
                running.remove(process)
                if not stopping:
                    LOGGER.error(
                        "Worker %s exited with %s: stopping", process.pid, process.exitcode
                    )
                    status = 1
                    stop()
        deadline = time.monotonic() + grace + SETTLE + FORCE_EXIT_MARGIN
        for process in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.exitcode is None:
                LOGGER.error("Worker %s did not stop: killing it", process.pid)
                process.kill()
                process.join()
            if process.exitcode:
                status = 1
    finally:
        for process in processes:
            if process.exitcode is None:
                process.kill()
                process.join()
    return status


def _worker(target: str, listening: list[socket.socket], grace: float, log_level: str) -> None:
    _configure_logging(log_level)
    binds = [f"fd://{sock.detach()}" for sock in listening]
    app = load_app(target)

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await serve(
            app,
            config=_config(binds, log_level),
            grace=grace,
            shutdown_trigger=stop.wait,
            force_exit=grace + FORCE_EXIT_MARGIN,
        )

    asyncio.run(main())


__all__ = [
    "DEFAULT_BIND",
    "DEFAULT_GRACE",
    "ShutdownTracker",
    "close_connections",
    "listening_ports",
    "load_app",
    "run",
    "serve",
]
