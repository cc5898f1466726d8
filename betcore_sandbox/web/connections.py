"""Connections the server ends on its own: ones that never deliver a request head, ones a fault holds, and the
in-flight ones left when the shutdown grace runs out.

aiohttp has no read timeout for a request head: a client that sends part of one and goes quiet keeps its connection
(and a task) until the keep-alive timer ends it (75 s as the CLI runs it, an hour by aiohttp's default).
`SandboxRunner` serves the app with `HeaderTimeoutHandler`, aiohttp's own connection protocol plus one timer: the
protocol is the only place that sees bytes arrive before a request exists, and aiohttp has no setting or hook for it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from ..limits import DEFAULT_HEADER_TIMEOUT

AFTER_CANCEL_SECONDS = 0.25  # for a handler to unwind once the shutdown grace is over

HEADER_TIMEOUT = web.AppKey("header_timeout", float)

LOG = logging.getLogger("betcore_sandbox")


class HeldConnections:
    """Requests a `timeout` fault keeps open without an answer.

    On shutdown they are let go at once: they would get no answer anyway, and aiohttp would otherwise wait for them
    with the grace that in-flight requests need. A released request ends as its fault says (connection closed, no
    bytes), and is journalled and logged as usual.
    """

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()
        self._closing = False

    def __len__(self) -> int:
        return len(self._waiters)

    async def hold(self, seconds: float) -> None:
        """Wait `seconds`, or less if the server shuts down first."""
        if self._closing:
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        timer = loop.call_later(seconds, _wake, waiter)
        self._waiters.add(waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiters.discard(waiter)

    def release_all(self) -> None:
        self._closing = True
        for waiter in self._waiters:
            _wake(waiter)


HELD = web.AppKey("held_connections", HeldConnections)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def install(app: web.Application, header_timeout: float = DEFAULT_HEADER_TIMEOUT) -> None:
    if header_timeout <= 0:
        raise ValueError("header_timeout must be positive")
    app[HEADER_TIMEOUT] = float(header_timeout)
    app[HELD] = HeldConnections()
    app.on_shutdown.append(_release_held)


async def _release_held(app: web.Application) -> None:
    app[HELD].release_all()


async def hold(request: web.Request, seconds: float) -> None:
    """Hold a request for a fault, registered so that shutdown can end it early."""
    held = request.app.get(HELD)
    if held is None:  # an app not built by create_app
        await asyncio.sleep(seconds)
    else:
        await held.hold(seconds)


def header_timeout(app: web.Application) -> float:
    return app.get(HEADER_TIMEOUT, DEFAULT_HEADER_TIMEOUT)


class HeaderTimeoutHandler(RequestHandler):
    """aiohttp's connection protocol, plus: a request head must be complete `header_timeout` seconds after the
    connection opens, or after the first byte of a later request on it. Otherwise the connection is closed.

    A keep-alive connection waiting for its next request is not timed until a byte arrives (aiohttp's keep-alive
    timer applies as before), and a request body is not timed here. A partial head pipelined behind a request in
    progress is left to the keep-alive timer.
    """

    __slots__ = ("_head_started", "_head_timer", "_header_timeout")

    def __init__(self, manager: web.Server, *, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._header_timeout = header_timeout
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_started = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        parsed = self._request_count
        super().data_received(data)
        if self._request_count != parsed:
            self._cancel_head_timer()
        elif data and (self._head_timer is not None or self._awaiting_head()):
            self._head_started = True
            if self._head_timer is None:
                self._arm_head_timer()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    async def shutdown(self, timeout: float | None = 15.0) -> None:
        # aiohttp's own shutdown waits `timeout` for the handler, then cancels the request's payload and waits
        # `timeout` again: a handler that is not reading (a delay) costs twice the grace. So wait once here, then
        # cancel it; aiohttp's shutdown is then left only a handler that ignored the cancellation.
        # A timeout of 0 (an embedded sandbox stopping at a test's end) cancels the handler at once.
        self._force_close = True  # as aiohttp's shutdown starts: no lingering, no next request on this connection
        task = self._task_handler  # so it ends with the current request
        if task is None and self._current_request is not None:
            # the client already left: aiohttp let go of the task, which still runs the request (a held fault)
            task = self._current_request.task
        if timeout is not None and task is not None and not task.done():
            if timeout > 0:
                await asyncio.wait((task,), timeout=timeout)
            if not task.done():
                task.cancel()
                await asyncio.wait((task,), timeout=AFTER_CANCEL_SECONDS)
        # aiohttp reads a timeout of 0 as none at all: it gets the short bound instead
        await super().shutdown(None if timeout is None else min(timeout, AFTER_CANCEL_SECONDS) or AFTER_CANCEL_SECONDS)

    def _awaiting_head(self) -> bool:
        """Between requests: the connection waits for a complete head."""
        waiter = self._waiter
        return waiter is not None and not waiter.done()

    def _arm_head_timer(self) -> None:
        self._head_timer = self._loop.call_later(self._header_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        self._head_started = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport is None or not self._awaiting_head():
            return
        if self._head_started:  # a fresh connection that never sent a byte is closed quietly
            LOG.info(
                "closed connection from %s: no complete request head within %g s",
                _peer(self.peername),
                self._header_timeout,
            )
        self.force_close()


def _peer(peername: Any) -> str:
    if isinstance(peername, tuple) and len(peername) >= 2:
        return f"{peername[0]}:{peername[1]}"
    return str(peername)


class SandboxServer(web.Server):
    """web.Server whose connections use HeaderTimeoutHandler."""

    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout

    def __call__(self) -> RequestHandler:
        return HeaderTimeoutHandler(self, loop=self._loop, header_timeout=self.header_timeout, **self._kwargs)


class SandboxRunner(web.AppRunner):
    """AppRunner serving through SandboxServer, with the app's header timeout (see create_app)."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return SandboxServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=server._loop,
            header_timeout=header_timeout(self.app),
            **server._kwargs,
        )
