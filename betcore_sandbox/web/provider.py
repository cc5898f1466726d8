"""The aggregator's wallet endpoints, under /v1 and the real aggregator's base path."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Awaitable, Callable

from aiohttp import web

from ..authentication import authenticate
from ..bodies import parse_bet_request
from ..errors import SandboxError, Unauthorized
from ..journal import JournalEntry
from ..logs import REQUESTS
from ..state import SandboxState
from ..wallet import execute
from . import envelope
from .envelope import BodyTooLarge, Reply
from .keys import STATE

PREFIXES = ("/v1", "/betongames-mediator-service/api/v1")
ENDPOINTS = {
    "balance": ("GET", "/sessions/{sessionId}/balance"),
    "pay-in": ("POST", "/sessions/{sessionId}/bets/pay-in"),
    "pay-out": ("POST", "/sessions/{sessionId}/bets/pay-out"),
    "pay-in-out": ("POST", "/sessions/{sessionId}/bets/pay-in-out"),
    "refund": ("POST", "/sessions/{sessionId}/bets/refund"),
}
MAX_BODY = 64 * 1024


def add_routes(app: web.Application) -> None:
    for prefix in PREFIXES:
        for endpoint, (method, path) in ENDPOINTS.items():
            app.router.add_route(method, prefix + path, _handler(endpoint))


def _handler(endpoint: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await serve(request, endpoint)

    handle.__name__ = f"handle_{endpoint.replace('-', '_')}"
    return handle


async def serve(request: web.Request, endpoint: str) -> web.StreamResponse:
    state = request.app[STATE]
    started = time.perf_counter()
    entry = JournalEntry(
        time=time.time(),
        method=request.method,
        path=request.path_qs,
        endpoint=endpoint,
        session_id=request.match_info["sessionId"],
        headers=tuple(request.headers.items()),
        body=b"",
    )
    reply = await _answer(request, state, endpoint, entry)
    response = web.Response(body=reply.body, status=reply.status, content_type="application/json")
    _finish(state, entry, reply, started)
    return response


async def _answer(request: web.Request, state: SandboxState, endpoint: str, entry: JournalEntry) -> Reply:
    """Parse, authenticate, run the wallet operation; every failure becomes its response code here."""
    session_id = entry.session_id or ""
    counterparty_id: str | None = None
    try:
        entry.body = raw = await _read_body(request)
        try:
            counterparty_id = authenticate(
                method=request.method,
                headers=request.headers,
                body=raw,
                secrets=state.wallet.secrets,
                settings=state.settings,
                seen=state.seen_request_ids,
                now_ms=time.time_ns() // 1_000_000,
            )
        except Unauthorized as error:
            entry.signature, entry.signature_error, entry.signature_debug = "invalid", error.message, error.debug
            raise
        entry.signature, entry.counterparty_id = "valid", counterparty_id
        wallet = state.wallet
        if endpoint == "balance":
            amount, currency = wallet.balance(counterparty_id, session_id)
            return envelope.balance(state.codes, amount, currency, wallet.scale(currency))
        bet_request = parse_bet_request(endpoint, raw, session_id)
        entry.bet_id, entry.unknown_fields = bet_request.bet_id, bet_request.unknown_fields
        result = execute(wallet, endpoint, counterparty_id, session_id, bet_request, request.headers["X-Request-Id"])
        return envelope.outcome(state.codes, state.settings, result, wallet.scale(result.currency))
    except SandboxError as error:
        return envelope.failure(
            state.codes,
            error,
            balance_now=_balance_for(state, error, counterparty_id, session_id),
            explain=state.settings.explainSignatures,
        )
    except Exception as exc:  # a bug in the sandbox: answer 99 and make it visible
        entry.error = "".join(traceback.format_exception(exc))
        state.internal_errors.append(entry.error)
        logging.getLogger("betcore_sandbox").exception("unexpected failure handling %s", endpoint)
        return envelope.internal_error(state.codes, f"unexpected sandbox failure: {exc!r}")


async def _read_body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise BodyTooLarge(f"body of {request.content_length} bytes is over the {MAX_BODY}-byte limit")
    raw = await request.read()
    if len(raw) > MAX_BODY:
        raise BodyTooLarge(f"body of {len(raw)} bytes is over the {MAX_BODY}-byte limit")
    return raw


def _balance_for(state: SandboxState, error: SandboxError, counterparty_id: str | None, session_id: str):
    """The session's balance for an error body, only once the caller proved who it is."""
    if counterparty_id is None:
        return None
    if error.balance is not None and error.currency is not None:
        amount, currency = error.balance, error.currency
    else:
        known = state.wallet.session_balance(counterparty_id, session_id)
        if known is None:
            return None
        amount, currency = known
    return amount, currency, state.wallet.scale(currency)


def _finish(state: SandboxState, entry: JournalEntry, reply: Reply | None, started: float) -> None:
    entry.duration_ms = round((time.perf_counter() - started) * 1000, 3)
    if reply is not None:
        entry.status, entry.response = reply.status, reply.body
    state.journal.record(entry)
    if REQUESTS.isEnabledFor(logging.INFO):
        code = reply.code if reply is not None else None
        fault = entry.fault["kind"] if entry.fault else None
        REQUESTS.info(
            "%s session=%s bet=%s code=%s http=%s fault=%s %.1fms",
            entry.endpoint,
            entry.session_id,
            entry.bet_id or "-",
            code if code is not None else "-",
            entry.status if entry.status is not None else "-",
            fault or "-",
            entry.duration_ms,
            extra={
                "endpoint": entry.endpoint,
                "sessionId": entry.session_id,
                "betId": entry.bet_id,
                "responseCode": code,
                "status": entry.status,
                "fault": fault,
                "ms": entry.duration_ms,
            },
        )
