"""The live feed: `GET /__admin/events`, a server-sent event stream of what happens to the sandbox.

Events (each `data:` is one JSON object):
* `request` — a provider request was journaled: its summary (direction, endpoint, session, betId, code, HTTP
  status, fault, duration, signature verdict); the whole entry is at `GET /__admin/requests/{id}`. A Games or
  Launch call the sandbox makes (`direction` outgoing, with its `url`) is journaled when it is sent, unanswered.
  A wallet call a `delay` or `timeout` fault holds is journaled when the hold begins, unanswered, its `reason`
  saying so (`held by fault fault-1 (timeout, after) for 30000 ms`).
* `completed` — that outgoing or held call's answer (or failure) is in: its summary again, same id (a held wallet
  call's `balance` and `bet` follow, as they stand then).
* `balance` — the balance of the request's session after it (`sessionId`, `playerId`, `balance`, `currency`).
* `bet` — the request's bet as it stands now (the admin API's bet view, without ledger entries).
* `changed` — an admin call changed something (`method`, `path`): views showing state should reload.
* `cleared` — the journal was cleared (or the sandbox reset).
* `missed` — this client fell behind and the oldest `missed` events were dropped for it.

Each client has a bounded queue: a browser that reads slowly loses the oldest events (and is told how many), it
never makes the sandbox hold more. The stream ends when the server shuts down, so it never delays the shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import web

from .. import views
from ..journal import JournalEntry
from ..state import SandboxState
from ..text import printable
from ..views import Views, request_summary
from . import dashboard
from .keys import ADMIN_TOKEN, STATE

__all__ = [
    "HEARTBEAT_SECONDS",
    "MAX_CLIENTS",
    "QUEUE_LIMIT",
    "Hub",
    "Subscriber",
    "announce_changes",
    "install",
    "request_summary",
    "stream_events",
]

QUEUE_LIMIT = 1000  # events held for one client before the oldest are dropped
MAX_CLIENTS = 64  # open streams at once; more get 503
LOG = logging.getLogger("betcore_sandbox")
HEARTBEAT_SECONDS = 15.0  # a comment line this often, so a client that went away is noticed


class Subscriber:
    """One client's queue: at most `limit` encoded events; past that the oldest go and are counted as missed."""

    def __init__(self, limit: int = QUEUE_LIMIT) -> None:
        self._queue: deque[bytes] = deque()
        self._limit = limit
        self._wakeup = asyncio.Event()
        self.missed = 0
        self.closed = False

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, message: bytes) -> None:
        if len(self._queue) >= self._limit:
            self._queue.popleft()
            self.missed += 1
        self._queue.append(message)
        self._wakeup.set()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._wakeup.set()

    def take(self) -> list[bytes]:
        """Everything queued, led by a `missed` event when some were dropped since the last take."""
        taken = []
        if self.missed:
            taken.append(encode("missed", {"missed": self.missed}))
            self.missed = 0
        taken.extend(self._queue)
        self._queue.clear()
        self._wakeup.clear()
        return taken

    async def wait(self, timeout: float) -> None:
        """Until something is queued or the stream is closed, or `timeout` seconds."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wakeup.wait()


_encoder = msgspec.json.Encoder()


def encode(event: str, data: Any, *, amounts: bool = False) -> bytes:
    """One event. `amounts`: data holds Decimals, written as the admin API writes them (a slower walk)."""
    body = views.encode(data) if amounts else _encoder.encode(data)
    return b"event: " + event.encode() + b"\ndata: " + body + b"\n\n"


class Hub:
    """Turns journal entries and admin changes into events for every connected client."""

    def __init__(self, state: SandboxState, queue_limit: int = QUEUE_LIMIT) -> None:
        self.state = state
        self.queue_limit = queue_limit
        self.subscribers: set[Subscriber] = set()
        self.closed = False
        self._stop_listening = state.journal.listen(self._journaled, self._completed)

    def subscribe(self) -> Subscriber:
        subscriber = Subscriber(self.queue_limit)
        if self.closed:
            subscriber.close()
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    def publish(self, event: str, data: Any, *, amounts: bool = False) -> None:
        if not self.subscribers:
            return  # nobody watching: not even the encoding is paid
        message = encode(event, data, amounts=amounts)
        for subscriber in self.subscribers:
            subscriber.put(message)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._stop_listening()
        for subscriber in self.subscribers:
            subscriber.close()

    def _journaled(self, entry: JournalEntry | None) -> None:
        self._guarded(lambda: self._announce(entry))

    def _completed(self, entry: JournalEntry) -> None:
        self._guarded(lambda: self._announce(entry, "completed"))

    def _guarded(self, announce: Callable[[], None]) -> None:
        if not self.subscribers:
            return
        try:
            announce()
        except Exception as exc:  # a bug here must not fail the request or the outgoing call being journaled
            self.state.record_internal_error("".join(traceback.format_exception(exc)))
            LOG.error("the event stream failed on a journal entry", exc_info=exc)

    def _announce(self, entry: JournalEntry | None, event: str = "request") -> None:
        if entry is None:
            self.publish("cleared", {})
            return
        self.publish(event, request_summary(entry))
        if entry.direction != "incoming" or entry.signature != "valid" or entry.session_id is None:
            return  # nothing moved: the wallet never saw it
        wallet = self.state.wallet
        session = wallet.sessions.get(entry.session_id)
        if session is not None and session.counterparty_id == entry.counterparty_id:
            player = wallet.players[session.player_id]
            balance = format(wallet.decimal(player.currency, player.balance), "f")
            self.publish(
                "balance",
                {"sessionId": session.id, "playerId": player.id, "balance": balance, "currency": player.currency},
            )
        if entry.bet_id is not None and entry.counterparty_id is not None:
            bet = wallet.bets.get((entry.counterparty_id, entry.bet_id))
            if bet is not None:
                self.publish("bet", Views.of(wallet).bet(bet, with_entries=False), amounts=True)


HUB = web.AppKey("event_hub", Hub)


def install(app: web.Application) -> None:
    """Give an app built by create_app its hub; the shutdown ends every stream at once."""
    app[HUB] = Hub(app[STATE])
    app.on_shutdown.append(_close)


async def _close(app: web.Application) -> None:
    app[HUB].close()


async def stream_events(request: web.Request) -> web.StreamResponse:
    hub = request.config_dict[HUB]
    if len(hub.subscribers) >= MAX_CLIENTS:
        return web.json_response({"error": f"too many event streams open (at most {MAX_CLIENTS})"}, status=503)
    # A stream a browser opened with its login ends with that login (at the next event or heartbeat).
    token = request.config_dict.get(ADMIN_TOKEN)
    by_login = token is not None and not dashboard.by_bearer(request, token)
    subscriber = hub.subscribe()
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    try:
        await response.prepare(request)
        # Tells the client it is connected; a reconnecting browser retries after 1 s.
        await response.write(b"retry: 1000\nevent: hello\ndata: {}\n\n")
        while not subscriber.closed:
            await subscriber.wait(HEARTBEAT_SECONDS)
            if by_login and not dashboard.logged_in(request):
                break
            pieces = subscriber.take()
            await response.write(b"".join(pieces) if pieces else b": keep-alive\n\n")
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client went away
    finally:
        hub.unsubscribe(subscriber)
    return response


@web.middleware
async def announce_changes(request: web.Request, handler: Any) -> web.StreamResponse:
    """After an admin call that changed something, tell the streams (the dashboard reloads what it shows)."""
    response: web.StreamResponse = await handler(request)
    changed = request.method not in ("GET", "HEAD", "OPTIONS") and response.status < 400
    # Logging in or out changes no state (and needs no token: it must not make every open page reload).
    if changed and request.match_info.route.name not in dashboard.OPEN_ROUTES and HUB in request.config_dict:
        request.config_dict[HUB].publish("changed", {"method": request.method, "path": printable(request.path)})
    return response
