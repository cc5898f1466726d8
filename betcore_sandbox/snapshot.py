"""The whole state as JSON — the fixture format plus bets, ledger and tombstones — and back, exactly."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from . import views
from .errors import AdminInputError
from . import audit as money_audit
from .fixtures import FixtureError, Problem, parse_fixture, parse_timestamp
from .money import AmountError, parse_amount, shown, to_scale
from .settings import Settings
from .state import SandboxState
from .wallet import (
    OPEN,
    PAY_IN,
    PAY_IN_OUT,
    PAY_OUT,
    REFUNDED,
    SETTLED,
    Bet,
    LedgerEntry,
    Tombstone,
    Wallet,
    WalletCopy,
)

T = TypeVar("T")

ENTRY_TYPES = ("bet", "win", "refund", "reversal", "adjustment")


def export_state(state: SandboxState) -> dict[str, Any]:
    """The whole state now, as one dict (amounts as Decimal)."""
    copy = state.wallet.consistent_copy()
    return {
        **_head(state, copy),
        "bets": [_bet(b) for b in copy.bets],
        "ledger": [views.entry(e) for e in copy.entries()],
        "tombstones": [views.tombstone(t) for t in copy.tombstones],
        "lastTransactionId": copy.last_transaction_id,
    }


def export_chunks(state: SandboxState) -> Iterator[bytes]:
    """The same export as JSON text in pieces, from one consistent copy: a server writes each piece and serves
    other requests in between, and never holds the whole text in memory."""
    copy = state.wallet.consistent_copy()
    head = views.encode(_head(state, copy))
    yield head[:-1] + b',"bets":'
    yield from views.json_array(copy.bets, _bet)
    yield b',"ledger":'
    yield from views.json_array(copy.entries(), views.entry)
    yield b',"tombstones":'
    yield from views.json_array(copy.tombstones, views.tombstone)
    yield b',"lastTransactionId":%d}' % copy.last_transaction_id


def _head(state: SandboxState, copy: WalletCopy) -> dict[str, Any]:
    return {
        "counterparties": [{"id": c.id, "secret": c.secret, "name": c.name} for c in copy.counterparties],
        "currencies": copy.currencies,
        "players": [{**views.player(p), "openingBalance": p.opening_balance} for p in copy.players],
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
            for s in copy.sessions
        ],
        "responseCodes": state.codes.overrides(),
        "settings": state.settings.as_dict(),
    }


def _bet(b: Bet) -> dict[str, Any]:
    return views.bet(b, with_entries=False)


def import_state(state: SandboxState, data: Any) -> None:
    """Replace the running state with an export. Everything is checked on a separate wallet first — every
    reference, every amount against its currency, every bet against its ledger entries (the money audit) —
    and only a consistent state replaces the running one: all or nothing."""
    if not isinstance(data, Mapping):
        raise AdminInputError("$: the state must be a JSON object")
    try:
        fixture = parse_fixture(data, "state", snapshot=True)
    except FixtureError as exc:
        raise AdminInputError(str(exc).removeprefix("state: ")) from None
    try:
        ledger = [_entry(item, f"$.ledger[{i}]") for i, item in enumerate(_list(data, "ledger"))]
        bets = [_read_bet(item, f"$.bets[{i}]") for i, item in enumerate(_list(data, "bets"))]
        tombstones = [_tombstone(item, f"$.tombstones[{i}]") for i, item in enumerate(_list(data, "tombstones"))]
        last = data.get("lastTransactionId", 0)
        if isinstance(last, bool) or not isinstance(last, int) or not 0 <= last < 2**63:
            raise Problem("$.lastTransactionId", "must be a non-negative integer")
        candidate = Wallet(state.wallet.clock, Settings(**fixture.settings))
        candidate.load(fixture)
        _check_references(candidate, bets, ledger, tombstones)
    except Problem as problem:
        raise AdminInputError(f"{problem.path}: {problem.message}") from None
    entries: dict[tuple[str, str], list[LedgerEntry]] = {}
    for e in ledger:
        if e.bet_id is not None:
            entries.setdefault((e.counterparty_id or "", e.bet_id), []).append(e)
    candidate.bets = {
        (b.counterparty_id, b.bet_id): dataclasses.replace(b, entries=tuple(entries.get((b.counterparty_id, b.bet_id), ())))
        for b in bets
    }
    candidate.ledger = ledger
    candidate.tombstones = {(t.counterparty_id, t.bet_id): t for t in tombstones}
    candidate.last_transaction_id = max([last] + [_numeric(e.transaction_id) for e in ledger])
    report = money_audit.audit(candidate)
    if not report["ok"]:
        raise AdminInputError(f"$: the state is not consistent: {'; '.join(report['violations'][:3])}")
    with state.wallet.lock:
        state.settings.replace_with(Settings(**fixture.settings))
        state.codes.reset(fixture.response_codes)
        state.wallet.replace_with(candidate)
    state.journal.resize(state.settings.journalLimit, state.settings.journalMaxBytes)


def _check_references(
    wallet: Wallet, bets: list[Bet], ledger: list[LedgerEntry], tombstones: list[Tombstone]
) -> None:
    """Every id a bet, entry or tombstone names exists, and every amount fits its player's currency."""
    keys: set[tuple[str, str]] = set()
    for i, b in enumerate(bets):
        path = f"$.bets[{i}]"
        _known(b.counterparty_id, wallet.counterparties, f"{path}.counterpartyId", "counterparty")
        session = _known(b.session_id, wallet.sessions, f"{path}.sessionId", "session")
        player = _known(b.player_id, wallet.players, f"{path}.playerId", "player")
        if session.player_id != b.player_id or session.counterparty_id != b.counterparty_id:
            raise Problem(f"{path}.sessionId", f"session {shown(b.session_id)} is not of this player and counterparty")
        if (b.counterparty_id, b.bet_id) in keys:
            raise Problem(f"{path}.betId", f"duplicate bet {shown(b.bet_id)} of counterparty {shown(b.counterparty_id)}")
        keys.add((b.counterparty_id, b.bet_id))
        scale = wallet.currencies[player.currency]
        b.stake = _in_scale(b.stake, scale, player.currency, f"{path}.stake")
        if b.win is not None:
            b.win = _in_scale(b.win, scale, player.currency, f"{path}.win")
    transaction_ids: set[str] = set()
    previous: str | None = None
    for i, e in enumerate(ledger):
        path = f"$.ledger[{i}]"
        player = _known(e.player_id, wallet.players, f"{path}.playerId", "player")
        if e.session_id is not None:
            _known(e.session_id, wallet.sessions, f"{path}.sessionId", "session")
        if e.counterparty_id is not None:
            _known(e.counterparty_id, wallet.counterparties, f"{path}.counterpartyId", "counterparty")
        if e.bet_id is not None and (e.counterparty_id or "", e.bet_id) not in keys:
            raise Problem(f"{path}.betId", f"unknown bet {shown(e.bet_id)} of counterparty {shown(e.counterparty_id)}")
        if e.transaction_id in transaction_ids and e.transaction_id != previous:
            raise Problem(f"{path}.transactionId", f"transaction {shown(e.transaction_id)} appears twice")
        transaction_ids.add(e.transaction_id)
        previous = e.transaction_id
        scale = wallet.currencies[player.currency]
        e.amount = _in_scale(e.amount, scale, player.currency, f"{path}.amount")
        e.balance_after = _in_scale(e.balance_after, scale, player.currency, f"{path}.balanceAfter")
    for i, t in enumerate(tombstones):
        path = f"$.tombstones[{i}]"
        _known(t.counterparty_id, wallet.counterparties, f"{path}.counterpartyId", "counterparty")
        _known(t.session_id, wallet.sessions, f"{path}.sessionId", "session")


def _known(key: str, table: Mapping[str, T], path: str, what: str) -> T:
    found = table.get(key)
    if found is None:
        raise Problem(path, f"unknown {what} {shown(key)}")
    return found


def _in_scale(amount: Decimal, scale: int, currency: str, path: str) -> Decimal:
    """The amount in its currency's scale, as everything in the wallet is kept."""
    try:
        return to_scale(amount, scale, currency)
    except AmountError as exc:
        raise Problem(path, str(exc)) from None


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
    moment = parse_timestamp(value, f"{path}.{key}")
    if moment is None:
        raise Problem(f"{path}.{key}", "must be an ISO 8601 timestamp")
    return moment.timestamp()


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


def _read_bet(item: Any, path: str) -> Bet:
    obj = _obj(item, path, BET_KEYS)
    kind = obj.get("kind")
    if kind not in (PAY_IN, PAY_IN_OUT, PAY_OUT):
        raise Problem(f"{path}.kind", "must be pay-in, pay-in-out or pay-out")
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
