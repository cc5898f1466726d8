"""The sandbox as the aggregator's lobby: list a provider's games, and launch a game session.

`games` and `launch` are the admin operations behind `GET /__admin/games` and `POST /__admin/launches` (and the
Python API's `Sandbox.games` / `Sandbox.launch`). Input is checked before anything changes; then a launch opens
the session, sends the Launch through `send` (the HTTP client in `web/outgoing.py`, passed in so that this module
knows nothing of HTTP), journals the call with direction `outgoing` and judges the answer. Whatever the provider
does (down, slow, garbage), the result is `failed` with the reason, never an error of the sandbox.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import partner
from .control import body_as
from .errors import AdminInputError
from .inputs import GamesQuery, LaunchCreate
from .journal import JournalEntry
from .partner import Answer, OutgoingRequest
from .text import printable, shown
from .views import Views, iso
from .wallet import Counterparty

if TYPE_CHECKING:
    from .state import SandboxState

Send = Callable[[OutgoingRequest, float], Awaitable[Answer]]
DEFAULT_MIN_BET = Decimal(1)  # whole units: representable in every currency
DEFAULT_MAX_BET = Decimal(100)


def launches(state: SandboxState) -> list[dict[str, Any]]:
    return state.launches.all()


async def games(state: SandboxState, query: Mapping[str, Any], send: Send) -> dict[str, Any]:
    """Call the provider's GET /v1/games; the valid games, a problem per bad one, and the exchange."""
    given = body_as(dict(query), GamesQuery)
    counterparty = _counterparty(state, given.counterparty_id)
    base_url = _provider_url(counterparty, given.provider_url)
    request = partner.games_request(base_url, counterparty.id, counterparty.secret, sign=given.sign)
    answer = await _call(state, request, send)
    found, problems = partner.read_games(answer, state.settings.gameNameField)
    problems = partner.base_url_hint(base_url, problems)
    return {
        "status": "failed" if problems else "ok",
        "counterpartyId": counterparty.id,
        "providerUrl": base_url,
        "games": found,
        "problems": problems,
        **partner.exchange_view(request, answer),
    }


async def launch(state: SandboxState, body: Any, send: Send) -> dict[str, Any]:
    """Open a session and hand it to the provider with a Launch; `status` launched or failed (with problems).

    A failed launch keeps its session, flagged `launchFailed`: a wallet call that still comes is answered and
    visible."""
    given = body_as(body, LaunchCreate)
    wallet = state.wallet
    counterparty = _counterparty(state, given.counterparty_id)
    base_url = _provider_url(counterparty, given.provider_url)
    demo = given.game_mode == "demo"
    balance: Decimal | None = given.balance
    if given.player_id is not None:
        if demo:
            raise AdminInputError("playerId: a demo launch plays with a player of its own: leave playerId out")
        if given.balance is not None:
            raise AdminInputError("playerId: give either playerId or currency + balance, not both")
        player = wallet.players.get(given.player_id)
        if player is None:
            raise AdminInputError(f"playerId: unknown player {shown(given.player_id)}")
        if given.currency is not None and given.currency != player.currency:
            raise AdminInputError(f"currency: player {shown(player.id)} plays in {player.currency}")
    elif given.currency is None:
        raise AdminInputError("currency: is required (or playerId for an existing player)")
    elif demo and balance is None:
        balance = Decimal(state.settings.demoBalance)
    if given.session_id is not None and given.session_id in wallet.sessions:
        raise AdminInputError(f"sessionId: session {shown(given.session_id)} already exists")
    try:
        session = wallet.open_session(  # checks the rest (currency, amounts, limits) and changes nothing if bad
            given.session_id,
            given.player_id,
            counterparty.id,
            currency=None if given.player_id is not None else given.currency,
            balance=balance,
            ttl_seconds=given.ttl_seconds,
            min_bet=DEFAULT_MIN_BET if given.min_bet is None else given.min_bet,
            max_bet=DEFAULT_MAX_BET if given.max_bet is None else given.max_bet,
        )
    except AdminInputError as exc:
        if balance is given.balance or not str(exc).startswith("balance:"):
            raise
        # The balance came from the setting, not the body: say so (the setting fits no currency's decimals alone).
        raise AdminInputError(f"demoBalance{str(exc).removeprefix('balance')} (the setting; or give balance)") from None
    if demo:
        session = wallet.flag_session(session.id, demo=True)
    await state.written()  # durable: the player and session are in the file before the provider hears of them
    shown_session = Views.of(wallet).session(session, wallet.clock())
    fields = {
        "sessionId": session.id,
        state.settings.playerIdField: session.player_id,
        "currency": shown_session["currency"],
        "language": given.language,
        "minBet": shown_session["minBet"],
        "maxBet": shown_session["maxBet"],
        "gameMode": given.game_mode,
    }
    request = partner.launch_request(
        base_url, counterparty.id, counterparty.secret, given.game_id, fields, sign=given.sign
    )
    answer = await _call(state, request, send)
    frame_uri, problems = partner.read_launch(answer)
    problems = partner.base_url_hint(base_url, problems)
    if problems and session.id in wallet.sessions:  # (an admin may have deleted it meanwhile)
        wallet.flag_session(session.id, launch_failed=True)
    current = wallet.sessions.get(session.id, session)
    result = {
        "status": "failed" if problems else "launched",
        "time": iso(time.time()),
        "gameId": given.game_id,
        "gameMode": given.game_mode,
        "counterpartyId": counterparty.id,
        "providerUrl": base_url,
        "session": Views.of(wallet).session(current, wallet.clock()),
        "frameUri": frame_uri,
        "problems": problems,
        **partner.exchange_view(request, answer),
    }
    await state.written()  # durable: a launch-failed flag is in the file before the answer
    return state.launches.add(result)


def _counterparty(state: SandboxState, counterparty_id: str | None) -> Counterparty:
    counterparties = state.wallet.counterparties
    if counterparty_id is None:
        return next(iter(counterparties.values()))
    found = counterparties.get(counterparty_id)
    if found is None:
        raise AdminInputError(f"counterpartyId: unknown counterparty {shown(counterparty_id)}")
    return found


def _provider_url(counterparty: Counterparty, given: str | None) -> str:
    url = str(given) if given else counterparty.provider_url
    if url is None:
        raise AdminInputError(
            f"providerUrl: counterparty {shown(counterparty.id)} has no providerUrl in the fixture: give one"
        )
    return url


async def _call(state: SandboxState, request: OutgoingRequest, send: Send) -> Answer:
    """Send, journaled: the entry goes in when the call leaves (so it sits before the wallet calls the provider
    makes while answering) and is completed when the answer comes."""
    entry = JournalEntry(
        time=time.time(),
        method=request.method,
        path=request.path,
        endpoint=request.endpoint,
        session_id=request.session_id,
        headers=tuple((name.encode(), value.encode()) for name, value in request.headers.items()),
        body=request.body,
        counterparty_id=request.headers.get("X-Counterparty-Id"),
        signature="signed" if "X-Sign" in request.headers else "unsigned",
        direction="outgoing",
        url=request.url,
    )
    state.journal.record(entry)
    answer = await send(request, state.settings.partnerTimeoutMs / 1000)
    entry.status = answer.status
    entry.response = answer.body
    entry.duration_ms = answer.duration_ms
    entry.error = answer.error
    state.journal.completed(entry)
    # One line per outgoing call too, next to the wallet calls' lines (the URL is the admin's input, printable).
    state.request_log.logger.info(
        "outgoing %s %s http=%s %.1fms%s",
        request.endpoint,
        printable(request.url),
        "-" if answer.status is None else answer.status,
        answer.duration_ms,
        "" if answer.error is None else f" error={answer.error}",
        extra={"direction": "outgoing", "endpoint": request.endpoint, "sessionId": request.session_id},
    )
    return answer


__all__ = ["Send", "games", "launch", "launches"]
