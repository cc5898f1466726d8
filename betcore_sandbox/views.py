"""Entities as camelCase dicts: the shapes of the admin API and of the state export. Amounts stay Decimal."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .journal import JournalEntry
from .wallet import Bet, LedgerEntry, Player, Session, Tombstone


def iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def player(p: Player) -> dict[str, Any]:
    return {"id": p.id, "currency": p.currency, "balance": p.balance, "blocked": p.blocked}


def session(s: Session, now: float) -> dict[str, Any]:
    return {
        "id": s.id,
        "playerId": s.player_id,
        "counterpartyId": s.counterparty_id,
        "status": s.status_at(now),
        "expiresAt": iso(s.expires_at),
        "minBet": s.min_bet,
        "maxBet": s.max_bet,
    }


def entry(e: LedgerEntry) -> dict[str, Any]:
    return {
        "transactionId": e.transaction_id,
        "type": e.type,
        "amount": e.amount,
        "balanceAfter": e.balance_after,
        "playerId": e.player_id,
        "sessionId": e.session_id,
        "betId": e.bet_id,
        "counterpartyId": e.counterparty_id,
        "requestId": e.request_id,
        "time": iso(e.time),
    }


def bet(b: Bet, *, with_entries: bool = True) -> dict[str, Any]:
    view = {
        "betId": b.bet_id,
        "counterpartyId": b.counterparty_id,
        "sessionId": b.session_id,
        "playerId": b.player_id,
        "kind": b.kind,
        "status": b.status,
        "stake": b.stake,
        "win": b.win,
        "winOdd": b.win_odd,
        "gameRoundId": b.game_round_id,
        "createdAt": iso(b.created_at),
        "history": [
            {"operation": operation, "transactionId": e.transaction_id, "balance": e.balance_after}
            for operation, e in b.history()
        ],
    }
    if with_entries:
        view["transactions"] = [entry(e) for e in b.entries]
    return view


def tombstone(t: Tombstone) -> dict[str, Any]:
    return {"betId": t.bet_id, "counterpartyId": t.counterparty_id, "sessionId": t.session_id, "time": iso(t.time)}


def request(e: JournalEntry) -> dict[str, Any]:
    signature: dict[str, Any] = {"verdict": e.signature}
    if e.signature_error:
        signature["error"] = e.signature_error
    if e.signature_debug:
        signature["debug"] = e.signature_debug
    return {
        "id": e.id,
        "time": iso(e.time),
        "method": e.method,
        "path": e.path,
        "endpoint": e.endpoint,
        "sessionId": e.session_id,
        "betId": e.bet_id,
        "counterpartyId": e.counterparty_id,
        "headers": dict(e.headers),
        "body": e.body.decode("utf-8", "replace"),
        "signature": signature,
        "unknownFields": list(e.unknown_fields),
        "response": None if e.status is None else {"status": e.status, "body": _text(e.response)},
        "fault": e.fault,
        "durationMs": e.duration_ms,
        "error": e.error,
    }


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", "replace")
