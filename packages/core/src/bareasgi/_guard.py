"""The request time limit and cancelling on a disconnect: a layer around the routes that ask.

A route that has neither (the default) is called as it is, and pays nothing for either. For a
route that has them, `guard` puts one layer outside its middleware:

- **time limit**: a timer cancels the request's task when the time is up. A handler that has
  not answered by then is cancelled (its `finally` runs) and the answer is 503, with a log line
  naming the route; a response still streaming then is cut off (the connection ends, as it
  must once the status line has gone), also logged.
- **cancel on disconnect**: the request body's watcher (the one a streamed response uses) reads
  `receive()` from the start; when the client goes away before the handler answers, the
  handler is cancelled and nothing is sent (logged at debug: a normal event).
"""

from __future__ import annotations

import asyncio
from typing import Any, Final, final

from ._http import LOGGER, RequestBody, describe
from .errors import ClientDisconnected, HttpError
from .routing import Route
from .types import Content, HttpHandler, HttpResponse, Info, Matches, Scope

_TIMED_OUT: Final = HttpError(
    503,
    b"Service Unavailable: the request took too long",
    [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")],
)


def guard(route: Route, call: HttpHandler, timeout: float | None, cancel: bool) -> HttpHandler:
    """`call` with the time limit `timeout` (None: none) and, when `cancel`, cancelled when
    the client goes away before it answers; `call` itself when it has neither."""
    if timeout is None and not cancel:
        return call

    async def guarded(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        task = asyncio.current_task()
        assert task is not None
        body: RequestBody | None = content if type(content) is RequestBody else None
        limit = _TimeLimit(task, timeout) if timeout is not None else None
        if body is not None:
            if limit is not None:
                body.time_limit = limit
                body.add_cleanup(limit.finish)
            if cancel:
                body.watch(task)
                body.add_cleanup(body.stop_watching)
                if body.disconnected:
                    raise ClientDisconnected
        try:
            response = await call(scope, info, matches, content)
        except asyncio.CancelledError:
            if limit is not None and limit.expired and task.uncancel() == 0:
                return _timed_out(route, scope, limit)
            if body is not None and body.disconnected and task.uncancel() == 0:
                LOGGER.debug(
                    "%s: the client went away before it answered: cancelled",
                    describe(route, scope),
                )
                raise ClientDisconnected from None
            raise
        finally:
            if body is not None and cancel:
                body.disarm()  # a streamed answer re-arms it
        if limit is not None and limit.expired:  # the handler swallowed its cancellation
            task.uncancel()
            return _timed_out(route, scope, limit)
        if limit is not None and not _streams(response):
            limit.finish()  # a whole body goes out at once: the limit is for the handler
        return response

    guarded.__qualname__ = f"guarded({getattr(call, '__qualname__', call)!s})"
    return guarded


def _streams(response: Any) -> bool:
    """Whether core will stream this response's body (an async iterable, not bytes)."""
    if type(response) is not tuple or len(response) < 3:
        return False
    body = response[2]
    return body is not None and hasattr(body, "__aiter__")


def _timed_out(route: Route, scope: Scope, limit: _TimeLimit) -> HttpResponse:
    LOGGER.warning(
        "%s did not answer within its time limit of %gs: cancelled, answered 503",
        describe(route, scope),
        limit.seconds,
    )
    return _TIMED_OUT.as_response()


@final
class _TimeLimit:
    """Cancels the request's task once `seconds` have passed (until `finish`)."""

    __slots__ = ("expired", "handle", "seconds", "task")

    def __init__(self, task: asyncio.Task[Any], seconds: float) -> None:
        self.task = task
        self.seconds = seconds
        self.expired = False
        self.handle: asyncio.TimerHandle | None = task.get_loop().call_later(seconds, self._expire)

    def _expire(self) -> None:
        self.handle = None
        if not self.task.done():
            self.expired = True
            self.task.cancel()

    def finish(self) -> None:
        """The request is over (or no longer bounded): the timer goes."""
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
