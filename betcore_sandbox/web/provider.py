"""The aggregator's wallet endpoints, under /v1 and the real aggregator's base path.

A request is admitted (body read, signature checked, body validated), then the fault rules are asked whether
one fires: `before` it answers instead of the wallet, `after` the wallet operation is committed first and the
fault then replaces or loses its answer. A delay only ever sleeps outside the (synchronous) wallet operation.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import struct
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

from aiohttp import ClientPayloadError, web

from ..authentication import authenticate
from ..bodies import BetRequest, claimed_bet_id, parse_bet_request
from ..errors import InsufficientFunds, SandboxError, Unauthorized
from ..faults import FaultRule
from ..journal import JournalEntry
from ..limits import MAX_PROVIDER_BODY as MAX_BODY
from ..limits import UNTRUSTED_BODY_BYTES
from ..state import SandboxState
from ..text import clip, printable
from ..views import reason as reason_of
from . import envelope
from .connections import hold
from .envelope import BodyTimeout, BodyTooLarge, Reply
from .keys import STATE

PREFIXES = ("/v1", "/betongames-mediator-service/api/v1")
ENDPOINTS = {
    "balance": ("GET", "/sessions/{sessionId}/balance"),
    "pay-in": ("POST", "/sessions/{sessionId}/bets/pay-in"),
    "pay-out": ("POST", "/sessions/{sessionId}/bets/pay-out"),
    "pay-in-out": ("POST", "/sessions/{sessionId}/bets/pay-in-out"),
    "refund": ("POST", "/sessions/{sessionId}/bets/refund"),
}


@dataclass(slots=True)
class Admitted:
    """A request that passed every check: who sent it, and what it asks."""

    counterparty_id: str
    session_id: str
    request_id: str
    bet: BetRequest | None  # None for balance


def add_routes(app: web.Application) -> None:
    for prefix in PREFIXES:
        for endpoint, (method, path) in ENDPOINTS.items():
            app.router.add_route(method, prefix + path, _handler(endpoint))


def add_fallback(app: web.Application) -> None:
    """Last of all routes: a request no endpoint matched gets a JSON answer that says what exists."""
    # [\s\S], not `.`: a percent-encoded newline in the path must not slip past to aiohttp's plain-text 404.
    app.router.add_route("*", r"/{tail:[\s\S]*}", no_such_endpoint)


def _pattern(path: str) -> re.Pattern[str]:
    # The same segment rule as aiohttp's {sessionId}.
    return re.compile(re.escape(path).replace(re.escape("{sessionId}"), "[^{}/]+"))


# Each endpoint's path under both prefixes, to tell a wrong method on a real path from a path that is no endpoint.
_PATHS = tuple(
    (_pattern(prefix + path), endpoint, method) for prefix in PREFIXES for endpoint, (method, path) in ENDPOINTS.items()
)


def wrong_method(method: str, path: str) -> tuple[str, str] | None:
    """(endpoint, the method it takes) when `path` is an endpoint's and `method` is not its method; else None."""
    for pattern, endpoint, allowed in _PATHS:
        if pattern.fullmatch(path):
            return None if method == allowed else (endpoint, allowed)
    return None


async def no_such_endpoint(request: web.Request) -> web.Response:
    """Answer a request no endpoint takes (404, or 405 for a real path with the wrong method), and journal it as a
    truncated record with endpoint `unknown` and the reason, like a call that failed authentication."""
    state = request.app[STATE]
    started = time.perf_counter()
    arrived = time.time()
    path = printable(request.path)
    entry = JournalEntry(
        time=arrived,
        received=arrived,
        sandbox_time=state.clock.now() if state.clock.virtual else None,
        method=request.method,
        path=request.path_qs,
        endpoint="unknown",
        session_id=None,
        headers=request.raw_headers,
        body=_arrived_body(request),
    )
    if not entry.body:  # not read (still on its way, or over the limit): the journal says how much was announced
        entry.body_size = request.content_length or 0
    headers = {}
    bases = " and ".join(PREFIXES)
    if (found := wrong_method(request.method, request.path)) is not None:
        endpoint, allowed = found
        status, headers = 405, {"Allow": allowed}
        message = reason = f"{request.method} {clip(path)}: use {allowed}, {endpoint} takes only {allowed}"
    elif "{" in path or "}" in path:
        # The docs write paths as /v1/sessions/{{sessionId}}/...: a copied example with its placeholder.
        status, reason = 404, f"no endpoint {request.method} {clip(path)}: the path still has a placeholder in braces"
        message = (
            f"{reason}; replace {{{{sessionId}}}} (or {{sessionId}}) with a session id, e.g. "
            "/v1/sessions/session-eur/bets/pay-out"
        )
    else:
        known = ", ".join(f"{method} {PREFIXES[0]}{path}" for method, path in ENDPOINTS.values())
        status, reason = 404, f"no endpoint {request.method} {clip(path)}: wallet calls go under {bases}"
        message = (
            f"no endpoint {request.method} {clip(path)}; the endpoints are {known} "
            f"(also under {PREFIXES[1]}), and the admin API under /__admin"
        )
    code = state.codes.code("invalid_request")
    entry.reason = reason
    body = envelope.encoder.encode({"_responseCode": code, "message": message})
    response = web.Response(body=body, status=status, content_type="application/json", headers=headers)
    _finish(state, entry, Reply(status, code, body, reason=reason), started)
    return response


def _arrived_body(request: web.Request) -> bytes:
    """The body of a request no endpoint takes, if it came with the request (nothing is waited for: anyone can send
    these); the journal keeps only its first bytes."""
    content = request.content
    if content.is_eof() and (request.content_length or 0) <= MAX_BODY:
        return content.read_nowait()
    return b""


def _handler(endpoint: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await serve(request, endpoint)

    handle.__name__ = f"handle_{endpoint.replace('-', '_')}"
    return handle


async def serve(request: web.Request, endpoint: str) -> web.StreamResponse:
    state = request.app[STATE]
    started = time.perf_counter()
    clock = state.clock
    arrived = time.time()
    entry = JournalEntry(
        time=arrived,
        received=arrived,
        sandbox_time=clock.now() if clock.virtual else None,  # both times, when they differ
        method=request.method,
        path=request.path_qs,
        endpoint=endpoint,
        session_id=request.match_info["sessionId"],
        headers=request.raw_headers,
        body=b"",
    )
    try:
        admitted = await _admit(request, state, endpoint, entry)
    except ClientGone:  # nobody to answer: journaled, not a sandbox failure
        entry.error = "the client closed the connection before its body had arrived"
        _finish(state, entry, None, started)
        return web.Response(status=400)  # never sent: the connection is gone
    except asyncio.CancelledError:  # the same, where the server cancels the handler of a lost connection
        entry.error = "the request ended before its body had arrived (the client left, or the server stopped)"
        _finish(state, entry, None, started)
        raise
    if isinstance(admitted, Reply):
        return _respond(state, entry, admitted, started)

    rule = _fire(state, endpoint, admitted)
    if rule is None:
        reply = _operate(state, endpoint, admitted, entry)
        if state.store is not None:
            reply = await _written(state, reply)
        return _respond(state, entry, reply, started)
    entry.fault = rule.summary()
    try:
        if rule.phase == "before" and (injected := await _inject(request, state, rule, admitted, entry, started)):
            return injected
        reply = _operate(state, endpoint, admitted, entry)
        if state.store is not None:
            reply = await _written(state, reply)
        if rule.phase == "after" and (injected := await _inject(request, state, rule, admitted, entry, started, reply)):
            return injected
    except asyncio.CancelledError:  # the client left, or the server shut down, while the fault held the request
        transport = request.transport
        if transport is None or transport.is_closing():
            entry.error = "the client closed the connection while a fault held this request; no answer was sent"
        else:
            entry.error = "the server shut down while a fault held this request; no answer was sent"
        _finish(state, entry, None, started)
        raise
    return _respond(state, entry, reply, started)


async def _admit(request: web.Request, state: SandboxState, endpoint: str, entry: JournalEntry) -> Admitted | Reply:
    session_id = entry.session_id or ""
    counterparty_id = None
    try:
        entry.body = raw = await _read_body(request, state.settings.bodyReadTimeoutMs)
        try:
            counterparty_id = authenticate(
                method=request.method,
                headers=request.headers,
                body=raw,
                secrets=state.wallet.secrets,
                settings=state.settings,
                seen=state.seen_request_ids,
                now_ms=state.clock.now_ms(),
                clock_offset_ms=state.clock.offset_ms if state.clock.virtual else None,
            )
        except Unauthorized as error:
            entry.signature, entry.signature_error, entry.signature_debug = "invalid", error.message, error.debug
            if endpoint != "balance":  # shown, never trusted: read from the bytes the journal keeps of the body
                entry.bet_id = claimed_bet_id(raw[:UNTRUSTED_BODY_BYTES])
            raise
        entry.signature, entry.counterparty_id = "valid", counterparty_id
        bet = None
        if endpoint != "balance":
            bet = parse_bet_request(endpoint, raw, session_id, state.settings)
            entry.bet_id, entry.unknown_fields = bet.bet_id, bet.unknown_fields
        return Admitted(counterparty_id, session_id, printable(request.headers["X-Request-Id"]), bet)
    except SandboxError as error:
        return _error_reply(state, error, counterparty_id, session_id)
    except ClientGone:
        raise
    except Exception as exc:
        return _unexpected(state, entry, exc)


class ClientGone(Exception):
    """The client went away while its request was being read."""


def _operate(state: SandboxState, endpoint: str, admitted: Admitted, entry: JournalEntry) -> Reply:
    """The wallet operation; every domain error becomes its response code here."""
    wallet = state.wallet
    try:
        if admitted.bet is None:
            return envelope.balance(state.codes, wallet.balance(admitted.counterparty_id, admitted.session_id))
        result = wallet.apply(admitted.counterparty_id, admitted.session_id, admitted.bet.command, admitted.request_id)
        if admitted.bet.warnings or result.warnings:  # only a request let through carries them
            entry.warnings = (admitted.bet.warnings or []) + (result.warnings or [])
        return envelope.outcome(state.codes, state.settings, endpoint, result)
    except SandboxError as error:
        return _error_reply(state, error, admitted.counterparty_id, admitted.session_id)
    except Exception as exc:
        return _unexpected(state, entry, exc)


async def _written(state: SandboxState, reply: Reply) -> Reply:
    """Durable mode: the answer waits for the write of this loop turn's changes; when that fails, it is an error
    (nothing of the operation was kept)."""
    assert state.store is not None
    failure = await state.store.settled()
    return reply if failure is None else envelope.failure(state.codes, failure)


def _fire(state: SandboxState, endpoint: str, admitted: Admitted) -> FaultRule | None:
    if not len(state.faults):
        return None
    session = state.wallet.sessions.get(admitted.session_id)
    player_id = session.player_id if session is not None else None
    bet_id = admitted.bet.bet_id if admitted.bet is not None else None
    return state.faults.fire(endpoint, admitted.session_id, player_id, bet_id)


async def _inject(
    request: web.Request,
    state: SandboxState,
    rule: FaultRule,
    admitted: Admitted,
    entry: JournalEntry,
    started: float,
    answered: Reply | None = None,
) -> web.StreamResponse | None:
    """Answer as the fault says: a replaced answer, or a connection that never gets one.
    A delay only waits, and returns None: the normal answer follows. answered: the wallet's answer, after it."""
    message = f"injected fault {rule.id} ({rule.kind}, {rule.phase})"
    if rule.kind == "delay":
        _hold_begins(state, entry, rule, started)
        await asyncio.sleep(rule.delay_ms / 1000)  # type: ignore[operator]
        entry.reason = None  # the answer that follows says how it ended
        return None
    if rule.kind == "http_error":
        reply = envelope.internal_error(state.codes, message, rule.status)
    elif rule.kind == "response_code":
        code = rule.response_code if rule.response_code is not None else state.codes.code("internal_error")
        reply = envelope.injected(
            code, message, _balance_for(state, None, admitted.counterparty_id, admitted.session_id)
        )
    elif rule.kind == "insufficient_funds":
        reply = _error_reply(state, InsufficientFunds(message), admitted.counterparty_id, admitted.session_id)
    elif rule.kind == "malformed_body":
        if answered is None and admitted.bet is None:  # a balance: reading it changes nothing
            answered = _operate(state, "balance", admitted, entry)
        reply = envelope.malformed(None if answered is None else answered.body)
    else:
        if rule.kind == "timeout":
            _hold_begins(state, entry, rule, started)
            await hold(request, rule.delay_ms / 1000)  # type: ignore[operator]  # shutdown lets it go at once
            entry.reason = None  # completed: the fault's own words say why no answer came
        transport = request.transport  # None if the client already gave up
        if transport is not None:
            if rule.kind == "connection_reset":
                _reset(transport)
            else:
                transport.close()
        _finish(state, entry, None, started)
        return web.Response(status=204)  # never reaches the client: the connection is gone
    return _respond(state, entry, reply, started)


def _hold_begins(state: SandboxState, entry: JournalEntry, rule: FaultRule, started: float) -> None:
    """Journal a call a fault is about to hold, so the journal, the event stream and a test's report show it while
    it waits (a client that times out sees it there); `_finish` completes the same entry when the hold ends."""
    entry.reason = f"held by fault {rule.id} ({rule.kind}, {rule.phase}) for {rule.delay_ms} ms"
    entry.duration_ms = round((time.perf_counter() - started) * 1000, 3)
    entry.time = time.time()
    state.journal.record(entry)


def _reset(transport: asyncio.BaseTransport) -> None:
    """Close with a TCP RST, as a crashed peer or a middlebox would."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()  # type: ignore[attr-defined]


async def _read_body(request: web.Request, timeout_ms: int) -> bytes:
    """The body, read only up to the limit (a chunked body has no length to check first), within the timeout."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise BodyTooLarge(f"body of {request.content_length} bytes is over the {MAX_BODY}-byte limit")
    content = request.content
    if content.is_eof():
        # The whole body is here already (the usual case): nothing to wait for, so no timer. A timer per
        # request would leave thousands of cancelled handles in the loop's heap under load.
        raw = content.read_nowait()
        if len(raw) > MAX_BODY:
            raise BodyTooLarge(f"body of {len(raw)} bytes is over the {MAX_BODY}-byte limit")
        return raw
    try:
        async with asyncio.timeout(timeout_ms / 1000):
            raw = await request.content.read(MAX_BODY + 1)
            while len(raw) <= MAX_BODY and not request.content.at_eof():
                raw += await request.content.read(MAX_BODY + 1 - len(raw))
    except TimeoutError:
        raise BodyTimeout(f"the body did not arrive within {timeout_ms} ms (setting bodyReadTimeoutMs)") from None
    except (ConnectionError, asyncio.IncompleteReadError, ClientPayloadError):
        raise ClientGone from None
    if len(raw) > MAX_BODY:
        raise BodyTooLarge(f"body of more than {MAX_BODY} bytes is over the {MAX_BODY}-byte limit")
    return raw


def _error_reply(state: SandboxState, error: SandboxError, counterparty_id: str | None, session_id: str) -> Reply:
    return envelope.failure(
        state.codes,
        error,
        balance_now=_balance_for(state, error, counterparty_id, session_id),
        explain=state.settings.explainSignatures,
    )


def _unexpected(state: SandboxState, entry: JournalEntry, exc: Exception) -> Reply:
    """A bug in the sandbox: answer 99 and make it visible (log, journal, teardown check)."""
    entry.error = "".join(traceback.format_exception(exc))
    state.record_internal_error(entry.error)
    logging.getLogger("betcore_sandbox").exception("unexpected failure handling %s", entry.endpoint)
    return envelope.internal_error(state.codes, f"unexpected sandbox failure: {exc!r}")


def _balance_for(
    state: SandboxState, error: SandboxError | None, counterparty_id: str | None, session_id: str
) -> tuple[Decimal, str, int] | None:
    """The session's balance for an error body, only once the caller proved who it is."""
    if counterparty_id is None:
        return None
    if error is not None and error.balance is not None and error.currency is not None:
        amount, currency = error.balance, error.currency
    else:
        known = state.wallet.session_balance(counterparty_id, session_id)
        if known is None:
            return None
        amount, currency = known
    return amount, currency, state.wallet.scale(currency)


def _respond(state: SandboxState, entry: JournalEntry, reply: Reply, started: float) -> web.Response:
    response = web.Response(body=reply.body, status=reply.status, content_type="application/json")
    if reply.close:
        response.force_close()
    _finish(state, entry, reply, started)
    return response


def _finish(state: SandboxState, entry: JournalEntry, reply: Reply | None, started: float) -> None:
    entry.duration_ms = round((time.perf_counter() - started) * 1000, 3)
    if reply is not None:
        entry.status, entry.response = reply.status, reply.body
    if entry.id:  # journaled when a fault began to hold it: completed in place, keeping its place and time
        state.journal.completed(entry)
    else:
        entry.time = time.time()  # its place in the journal: now, when it is recorded
        state.journal.record(entry)
    log = state.request_log
    # The reason by the one rule the journal view, the feed and the report use; worked out only for a line written.
    reason = reason_of(entry) if log.logger.isEnabledFor(logging.INFO) else None
    log.record(
        entry.endpoint,
        entry.session_id,
        entry.bet_id,
        reply.code if reply is not None else None,
        entry.status,
        entry.fault["kind"] if entry.fault else None,
        entry.duration_ms,
        reason,
    )
