"""The whole state as JSON — the fixture format plus bets, ledger and tombstones — and back, exactly."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from . import views
from .errors import AdminInputError
from .fixtures import FixtureError, Problem, parse_fixture
from .money import AmountError, parse_amount
from .settings import Settings
from .state import SandboxState
from .wallet import (
    OPEN,
    PAY_IN,
    PAY_IN_OUT,
    REFUNDED,
    SETTLED,
    Bet,
    LedgerEntry,
    Tombstone,
)

ENTRY_TYPES = ("bet", "win", "refund", "reversal", "adjustment")


def export_state(state: SandboxState) -> dict[str, Any]:
    wallet = state.wallet
    with wallet.lock:
        return {
            "counterparties": [{"id": c.id, "secret": c.secret, "name": c.name} for c in wallet.counterparties.values()],
            "currencies": dict(wallet.currencies),
            "players": [
                {**views.player(p), "openingBalance": p.opening_balance} for p in wallet.players.values()
            ],
            "sessions": [
                {
                    "id": s.id,
                    "playerId": s.player_id,
                    "counterpartyId": s.counterparty_id,
                    "expiresAt": views.iso(s.expires_at),
                    "minBet": s.min_bet,
                    "maxBet": s.max_bet,
                    "status": s.status,
                }
                for s in wallet.sessions.values()
            ],
            "responseCodes": state.codes.overrides(),
            "settings": state.settings.as_dict(),
            "bets": [views.bet(b, with_entries=False) for b in wallet.bets.values()],
            "ledger": [views.entry(e) for e in wallet.ledger],
            "tombstones": [views.tombstone(t) for t in wallet.tombstones.values()],
            "lastTransactionId": wallet.last_transaction_id,
        }


def import_state(state: SandboxState, data: Any) -> None:
    """Replace the running state with an export. Everything is checked before anything changes."""
    try:
        fixture = parse_fixture(data, "state", snapshot=True)
    except FixtureError as exc:
        raise AdminInputError(str(exc).removeprefix("state: ")) from None
    try:
        ledger = [_entry(item, f"$.ledger[{i}]") for i, item in enumerate(_list(data, "ledger"))]
        bets = [_bet(item, f"$.bets[{i}]") for i, item in enumerate(_list(data, "bets"))]
        tombstones = [_tombstone(item, f"$.tombstones[{i}]") for i, item in enumerate(_list(data, "tombstones"))]
        last = data.get("lastTransactionId", 0)
        if isinstance(last, bool) or not isinstance(last, int) or last < 0:
            raise Problem("$.lastTransactionId", "must be a non-negative integer")
    except Problem as problem:
        raise AdminInputError(f"{problem.path}: {problem.message}") from None
    players = {p.id: p for p in fixture.players}
    for i, b in enumerate(bets):
        if b.player_id not in players:
            raise AdminInputError(f"$.bets[{i}].playerId: unknown player {b.player_id!r}")
    by_key = {(b.counterparty_id, b.bet_id): b for b in bets}
    for e in ledger:
        if e.bet_id is not None and (e.counterparty_id, e.bet_id) in by_key:
            by_key[(e.counterparty_id, e.bet_id)].entries.append(e)
    with state.wallet.lock:
        state.settings.replace_with(Settings(**fixture.settings))
        state.codes.reset(fixture.response_codes)
        state.wallet.load(fixture)
        state.wallet.bets = by_key
        state.wallet.ledger = ledger
        state.wallet.tombstones = {(t.counterparty_id, t.bet_id): t for t in tombstones}
        state.wallet.last_transaction_id = max([last] + [_numeric(e.transaction_id) for e in ledger])
    state.journal.resize(state.settings.journalLimit)


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise Problem(f"$.{key}", "must be an array")
    return value


def _obj(value: Any, path: str, keys: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise Problem(path, "must be an object")
    for key in value:
        if key not in keys:
            raise Problem(f"{path}.{key}", f"unknown key (known: {', '.join(keys)})")
    return value


def _str(obj: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise Problem(f"{path}.{key}", "must be a non-empty string")
    return value


def _money(obj: Mapping[str, Any], key: str, path: str, *, required: bool = True, signed: bool = False) -> Decimal | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise Problem(f"{path}.{key}", "is required")
        return None
    try:
        if signed and isinstance(value, str) and value.startswith("-"):
            return -parse_amount(value[1:])
        if signed and isinstance(value, (int, Decimal)) and not isinstance(value, bool) and value < 0:
            return -parse_amount(-value)
        return parse_amount(value)
    except AmountError as exc:
        raise Problem(f"{path}.{key}", str(exc)) from None


def _time(obj: Mapping[str, Any], key: str, path: str) -> float:
    value = obj.get(key)
    try:
        return views.epoch(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Problem(f"{path}.{key}", "must be an ISO 8601 timestamp") from None


ENTRY_KEYS = ("transactionId", "type", "amount", "balanceAfter", "playerId", "sessionId", "betId", "counterpartyId",
              "requestId", "time")


def _entry(item: Any, path: str) -> LedgerEntry:
    obj = _obj(item, path, ENTRY_KEYS)
    kind = obj.get("type")
    if kind not in ENTRY_TYPES:
        raise Problem(f"{path}.type", f"must be one of {', '.join(ENTRY_TYPES)}")
    return LedgerEntry(
        transaction_id=_str(obj, "transactionId", path),  # type: ignore[arg-type]
        type=kind,
        amount=_money(obj, "amount", path, signed=True),  # type: ignore[arg-type]
        balance_after=_money(obj, "balanceAfter", path, signed=True),  # type: ignore[arg-type]
        player_id=_str(obj, "playerId", path),  # type: ignore[arg-type]
        session_id=_str(obj, "sessionId", path, required=False),
        bet_id=_str(obj, "betId", path, required=False),
        request_id=_str(obj, "requestId", path, required=False),
        time=_time(obj, "time", path),
        counterparty_id=_str(obj, "counterpartyId", path, required=False),
    )


BET_KEYS = ("betId", "counterpartyId", "sessionId", "playerId", "kind", "status", "stake", "win", "winOdd",
            "gameRoundId", "createdAt", "history", "transactions")


def _bet(item: Any, path: str) -> Bet:
    obj = _obj(item, path, BET_KEYS)
    kind = obj.get("kind")
    if kind not in (PAY_IN, PAY_IN_OUT):
        raise Problem(f"{path}.kind", "must be pay-in or pay-in-out")
    status = obj.get("status")
    if status not in (OPEN, SETTLED, REFUNDED):
        raise Problem(f"{path}.status", "must be open, settled or refunded")
    bet = Bet(
        counterparty_id=_str(obj, "counterpartyId", path),  # type: ignore[arg-type]
        bet_id=_str(obj, "betId", path),  # type: ignore[arg-type]
        session_id=_str(obj, "sessionId", path),  # type: ignore[arg-type]
        player_id=_str(obj, "playerId", path),  # type: ignore[arg-type]
        kind=kind,
        stake=_money(obj, "stake", path),  # type: ignore[arg-type]
        game_round_id=_str(obj, "gameRoundId", path, required=False),
        created_at=_time(obj, "createdAt", path),
        status=status,
        win=_money(obj, "win", path, required=False),
        win_odd=_money(obj, "winOdd", path, required=False),
    )
    # `history` is derived from the ledger entries; an export carries it for reading, an import ignores it.
    if not isinstance(obj.get("history", []), list):
        raise Problem(f"{path}.history", "must be an array")
    return bet


def _tombstone(item: Any, path: str) -> Tombstone:
    obj = _obj(item, path, ("betId", "counterpartyId", "sessionId", "time"))
    return Tombstone(
        counterparty_id=_str(obj, "counterpartyId", path),  # type: ignore[arg-type]
        bet_id=_str(obj, "betId", path),  # type: ignore[arg-type]
        session_id=_str(obj, "sessionId", path),  # type: ignore[arg-type]
        time=_time(obj, "time", path),
    )


def _numeric(transaction_id: str) -> int:
    return int(transaction_id) if transaction_id.isdigit() else 0
