"""Admin operations on a running sandbox, shared by the HTTP admin API and the Python `Sandbox` API.

Inputs are decoded JSON values (numbers as Decimal); outputs are views with Decimal amounts.
AdminInputError names a bad field; NotFound an unknown id.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from . import audit as money_audit
from . import snapshot, views
from .errors import AdminInputError, NotFound
from .settings import SettingError
from .state import SandboxState
from .wallet import OPEN, REFUNDED, SETTLED

BET_STATUSES = (OPEN, SETTLED, REFUNDED)
PLAYER_FIELDS = ("id", "currency", "balance", "blocked")
SESSION_FIELDS = ("id", "playerId", "currency", "balance", "counterpartyId", "ttlSeconds", "minBet", "maxBet")
SESSION_PATCH_FIELDS = ("status", "ttlSeconds", "minBet", "maxBet")


def reset(state: SandboxState) -> None:
    state.reset()


def export_state(state: SandboxState) -> dict[str, Any]:
    return snapshot.export_state(state)


def import_state(state: SandboxState, body: Any) -> dict[str, Any]:
    snapshot.import_state(state, body)
    return snapshot.export_state(state)


# -- players ---------------------------------------------------------------------------------------


def players(state: SandboxState) -> list[dict[str, Any]]:
    with state.wallet.lock:
        return [views.player(p) for p in state.wallet.players.values()]


def player(state: SandboxState, player_id: str) -> dict[str, Any]:
    with state.wallet.lock:
        return views.player(state.wallet.player(player_id))


def create_player(state: SandboxState, body: Any) -> dict[str, Any]:
    body = _fields(body, PLAYER_FIELDS)
    if "currency" not in body:
        raise AdminInputError("currency: is required")
    created = state.wallet.create_player(
        body.get("id"), body["currency"], body.get("balance", 0), body.get("blocked", False)
    )
    return views.player(created)


def update_player(state: SandboxState, player_id: str, body: Any) -> dict[str, Any]:
    body = _fields(body, ("balance", "blocked"))
    updated = state.wallet.update_player(player_id, balance=body.get("balance"), blocked=body.get("blocked"))
    return views.player(updated)


# -- sessions --------------------------------------------------------------------------------------


def sessions(state: SandboxState) -> list[dict[str, Any]]:
    wallet = state.wallet
    with wallet.lock:
        now = wallet.clock()
        return [_session_view(state, s.id, now) for s in wallet.sessions.values()]


def session(state: SandboxState, session_id: str) -> dict[str, Any]:
    with state.wallet.lock:
        state.wallet.session(session_id)
        return _session_view(state, session_id, state.wallet.clock())


def create_session(state: SandboxState, body: Any) -> dict[str, Any]:
    """With `playerId`, or with an inline `currency` + `balance` that creates the player too."""
    body = _fields(body, SESSION_FIELDS)
    wallet = state.wallet
    with wallet.lock:
        if "playerId" in body:
            if "currency" in body or "balance" in body:
                raise AdminInputError("playerId: give either playerId or currency + balance, not both")
            player_id = body["playerId"]
            if not isinstance(player_id, str):
                raise AdminInputError("playerId: must be a string")
        else:
            if "currency" not in body:
                raise AdminInputError("playerId: is required (or currency + balance to create the player)")
            player_id = None
        created_player = None
        if player_id is None:
            created_player = wallet.create_player(None, body["currency"], body.get("balance", 0))
            player_id = created_player.id
        try:
            created = wallet.create_session(
                body.get("id"),
                player_id,
                body.get("counterpartyId"),
                ttl_seconds=body.get("ttlSeconds"),
                min_bet=body.get("minBet"),
                max_bet=body.get("maxBet"),
            )
        except AdminInputError:
            if created_player is not None:  # all or nothing
                del wallet.players[created_player.id]
            raise
        return _session_view(state, created.id, wallet.clock())


def update_session(state: SandboxState, session_id: str, body: Any) -> dict[str, Any]:
    body = _fields(body, SESSION_PATCH_FIELDS)
    changes = {
        "status": body.get("status"),
        "ttl_seconds": body.get("ttlSeconds"),
        "min_bet": body.get("minBet"),
        "max_bet": body.get("maxBet"),
    }
    state.wallet.update_session(session_id, **changes)
    return session(state, session_id)


def delete_session(state: SandboxState, session_id: str) -> None:
    state.wallet.delete_session(session_id)


def _session_view(state: SandboxState, session_id: str, now: float) -> dict[str, Any]:
    s = state.wallet.sessions[session_id]
    p = state.wallet.players[s.player_id]
    return {**views.session(s, now), "balance": p.balance, "currency": p.currency}


# -- bets, transactions, requests ------------------------------------------------------------------


def bets(
    state: SandboxState, *, session_id: str | None = None, player_id: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    if status is not None and status not in BET_STATUSES:
        raise AdminInputError(f"status: must be one of {', '.join(BET_STATUSES)}")
    with state.wallet.lock:
        return [
            views.bet(b)
            for b in state.wallet.bets.values()
            if (session_id is None or b.session_id == session_id)
            and (player_id is None or b.player_id == player_id)
            and (status is None or b.status == status)
        ]


def bet(state: SandboxState, bet_id: str, counterparty_id: str | None = None) -> dict[str, Any]:
    with state.wallet.lock:
        found = [
            b
            for (cp, bid), b in state.wallet.bets.items()
            if bid == bet_id and (counterparty_id is None or cp == counterparty_id)
        ]
        if not found:
            raise NotFound(f"no bet {bet_id!r}")
        if len(found) > 1:
            raise AdminInputError(f"counterpartyId: bet {bet_id!r} exists for several counterparties, name one")
        return views.bet(found[0])


def bets_json(
    state: SandboxState, *, session_id: str | None = None, player_id: str | None = None, status: str | None = None
) -> Iterator[bytes]:
    """The bets as a JSON array in pieces, from a consistent copy (for streaming to a client)."""
    if status is not None and status not in BET_STATUSES:
        raise AdminInputError(f"status: must be one of {', '.join(BET_STATUSES)}")
    found = (
        b
        for b in state.wallet.consistent_copy().bets
        if (session_id is None or b.session_id == session_id)
        and (player_id is None or b.player_id == player_id)
        and (status is None or b.status == status)
    )
    return views.json_array(found, views.bet)


def transactions_json(
    state: SandboxState, *, player_id: str | None = None, session_id: str | None = None, bet_id: str | None = None
) -> Iterator[bytes]:
    """The ledger as a JSON array in pieces, from a consistent copy (for streaming to a client)."""
    found = (
        e
        for e in state.wallet.consistent_copy().entries()
        if (player_id is None or e.player_id == player_id)
        and (session_id is None or e.session_id == session_id)
        and (bet_id is None or e.bet_id == bet_id)
    )
    return views.json_array(found, views.entry)


def transactions(
    state: SandboxState, *, player_id: str | None = None, session_id: str | None = None, bet_id: str | None = None
) -> list[dict[str, Any]]:
    with state.wallet.lock:
        return [
            views.entry(e)
            for e in state.wallet.ledger
            if (player_id is None or e.player_id == player_id)
            and (session_id is None or e.session_id == session_id)
            and (bet_id is None or e.bet_id == bet_id)
        ]


def requests(
    state: SandboxState,
    *,
    endpoint: str | None = None,
    session_id: str | None = None,
    bet_id: str | None = None,
    limit: Any = None,
) -> list[dict[str, Any]]:
    found = state.journal.find(endpoint=endpoint, session_id=session_id, bet_id=bet_id, limit=_limit(limit))
    return [views.request(e) for e in found]


def requests_json(
    state: SandboxState,
    *,
    endpoint: str | None = None,
    session_id: str | None = None,
    bet_id: str | None = None,
    limit: Any = None,
) -> Iterator[bytes]:
    """The journal as a JSON array in pieces (for streaming to a client)."""
    found = state.journal.find(endpoint=endpoint, session_id=session_id, bet_id=bet_id, limit=_limit(limit))
    return views.json_array(found, views.request)


def _limit(limit: Any) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, str) and not (limit.isascii() and limit.isdigit() and len(limit) <= 9):
        raise AdminInputError("limit: must be a positive integer")
    try:
        number = int(limit)
    except (TypeError, ValueError):
        raise AdminInputError("limit: must be a positive integer") from None
    if number < 1:
        raise AdminInputError("limit: must be a positive integer")
    return number


def clear_requests(state: SandboxState) -> None:
    state.journal.clear()


# -- faults, audit, settings -----------------------------------------------------------------------


def faults(state: SandboxState) -> list[dict[str, Any]]:
    return [rule.view() for rule in state.faults.rules()]


def fault(state: SandboxState, fault_id: str) -> dict[str, Any]:
    return state.faults.get(fault_id).view()


def add_fault(state: SandboxState, body: Any) -> dict[str, Any]:
    return state.faults.add(body).view()


def remove_fault(state: SandboxState, fault_id: str) -> None:
    state.faults.remove(fault_id)


def clear_faults(state: SandboxState) -> None:
    state.faults.clear()


def audit(state: SandboxState) -> dict[str, Any]:
    return money_audit.audit(state.wallet)


def settings(state: SandboxState) -> dict[str, Any]:
    return state.settings.as_dict()


def update_settings(state: SandboxState, body: Any) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise AdminInputError("settings must be a JSON object")
    try:
        state.settings.update(body)
    except SettingError as exc:
        raise AdminInputError(str(exc)) from None
    state.journal.resize(state.settings.journalLimit, state.settings.journalMaxBytes)
    return state.settings.as_dict()


def _fields(body: Any, known: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise AdminInputError("the body must be a JSON object")
    for key in body:
        if key not in known:
            raise AdminInputError(f"{key}: unknown field (known: {', '.join(known)})")
    return dict(body)
