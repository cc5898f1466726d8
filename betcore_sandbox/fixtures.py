"""Fixture files: the counterparties, currencies, players and sessions a sandbox starts with — or, in an export of
a running sandbox, its whole state (bets, ledger, tombstones, transaction counter too).

The types are checked by `inputs`; this module checks what spans fields and records: currencies and their
precision, references between records, duplicates. A problem raises FixtureError naming the file and the JSON
path. (Whether a ledger is consistent with its bets is the money audit's job, run when the wallet is loaded.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from . import codes, jsontext, settings
from .faults import rule_of
from .inputs import (
    BetIn,
    CounterpartyIn,
    FaultBase,
    FixtureIn,
    FixtureScenario,
    InputError,
    LedgerEntryIn,
    PlayerIn,
    SessionIn,
    TombstoneIn,
    read,
)
from .limits import MAX_FAULT_RULES, MAX_SCALE
from .money import AmountError, to_scale
from .scenarios import SCENARIOS, prepare
from .text import shown

DEFAULT_CURRENCIES = {"EUR": 2, "USD": 2, "GBP": 2, "BTC": 8}
DEFAULT_SOURCE = "<embedded default fixture>"


class FixtureError(ValueError):
    """A fixture that cannot be loaded; str() is one line naming the file and the JSON path."""


@dataclass(frozen=True, slots=True)
class Fixture:
    """A checked fixture. Amounts are exact Decimals in their currency's decimals; every session names its
    counterparty."""

    counterparties: tuple[CounterpartyIn, ...]
    currencies: Mapping[str, int]
    players: tuple[PlayerIn, ...] = ()
    sessions: tuple[SessionIn, ...] = ()
    response_codes: Mapping[str, int] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    bets: tuple[BetIn, ...] = ()
    ledger: tuple[LedgerEntryIn, ...] = ()
    tombstones: tuple[TombstoneIn, ...] = ()
    last_transaction_id: int = 0
    source: str = DEFAULT_SOURCE
    scenarios: tuple[FixtureScenario, ...] = ()  # named fault scenarios applied at start-up and on reset
    faults: tuple[FaultBase, ...] = ()  # fault rules armed at start-up and on reset, before the scenarios'


def default_fixture_bytes() -> bytes:
    return resources.files("betcore_sandbox").joinpath("default_fixture.json").read_bytes()


def load_fixture(path: str | Path | None = None) -> Fixture:
    """The fixture at `path`, or the embedded default one."""
    if path is None:
        return parse_fixture(default_fixture_bytes(), DEFAULT_SOURCE)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise FixtureError(f"{path}: cannot read the fixture file: {exc.strerror or exc}") from None
    return parse_fixture(raw, str(path))


def parse_fixture(raw: bytes | Mapping[str, Any], source: str = "<fixture>") -> Fixture:
    """A checked fixture from JSON bytes or decoded JSON."""
    if isinstance(raw, Mapping):
        data: Any = raw
    else:
        try:
            data = jsontext.decode_document(raw, bom=True)
        except jsontext.JsonError as exc:
            raise FixtureError(f"{source}: {exc.path}: the file {exc.problem}") from None
    try:
        return _checked(read(data, FixtureIn), source)
    except InputError as problem:
        raise FixtureError(f"{source}: {problem.path}: {problem.message}") from None


def _checked(given: FixtureIn, source: str) -> Fixture:
    currencies = _currencies(given.currencies)
    counterparties = _unique(given.counterparties, "$.counterparties", "counterparty", lambda c: c.id)
    if not counterparties:
        raise InputError("$.counterparties", "at least one counterparty is needed")
    players = _unique(given.players, "$.players", "player", lambda p: p.id)
    for i, p in enumerate(given.players):
        where = f"$.players[{i}]"
        scale = _known(currencies, p.currency, f"{where}.currency", "currency")
        players[p.id] = msgspec.structs.replace(
            p,
            balance=_in_scale(p.balance, scale, p.currency, f"{where}.balance"),
            opening_balance=None
            if p.opening_balance is None
            else _in_scale(p.opening_balance, scale, p.currency, f"{where}.openingBalance"),
        )
    only = next(iter(counterparties)) if len(counterparties) == 1 else None
    sessions = _unique(given.sessions, "$.sessions", "session", lambda s: s.id)
    for i, s in enumerate(given.sessions):
        where = f"$.sessions[{i}]"
        player = _known(players, s.player_id, f"{where}.playerId", "player")
        counterparty_id = s.counterparty_id or only
        if counterparty_id is None:
            raise InputError(f"{where}.counterpartyId", "is required when there are several counterparties")
        _known(counterparties, counterparty_id, f"{where}.counterpartyId", "counterparty")
        scale = currencies[player.currency]
        min_bet = _optional_in_scale(s.min_bet, scale, player.currency, f"{where}.minBet")
        max_bet = _optional_in_scale(s.max_bet, scale, player.currency, f"{where}.maxBet")
        if min_bet is not None and max_bet is not None and min_bet > max_bet:
            raise InputError(f"{where}.minBet", "must not be above maxBet")
        sessions[s.id] = msgspec.structs.replace(s, counterparty_id=counterparty_id, min_bet=min_bet, max_bet=max_bet)
    bets: dict[tuple[str, str], BetIn] = {}
    for i, b in enumerate(given.bets):
        where = f"$.bets[{i}]"
        _known(counterparties, b.counterparty_id, f"{where}.counterpartyId", "counterparty")
        session = _known(sessions, b.session_id, f"{where}.sessionId", "session")
        player = _known(players, b.player_id, f"{where}.playerId", "player")
        if session.player_id != b.player_id or session.counterparty_id != b.counterparty_id:
            raise InputError(
                f"{where}.sessionId", f"session {shown(b.session_id)} is not of this bet's player and counterparty"
            )
        if (b.counterparty_id, b.bet_id) in bets:
            raise InputError(f"{where}.betId", f"duplicate bet {shown(b.bet_id)} of this counterparty")
        scale = currencies[player.currency]
        bets[(b.counterparty_id, b.bet_id)] = msgspec.structs.replace(
            b,
            stake=_in_scale(b.stake, scale, player.currency, f"{where}.stake"),
            win=_optional_in_scale(b.win, scale, player.currency, f"{where}.win"),
        )
    ledger = []
    # A transaction is one operation: its entries are adjacent, of one player and one bet.
    owners: dict[str, tuple[str, str | None, str | None]] = {}
    previous = None
    for i, e in enumerate(given.ledger):
        where = f"$.ledger[{i}]"
        player = _known(players, e.player_id, f"{where}.playerId", "player")
        if e.session_id is not None:
            _known(sessions, e.session_id, f"{where}.sessionId", "session")
        if e.counterparty_id is not None:
            _known(counterparties, e.counterparty_id, f"{where}.counterpartyId", "counterparty")
        if e.bet_id is not None:
            bet = bets.get((e.counterparty_id or "", e.bet_id))
            if bet is None:
                raise InputError(
                    f"{where}.betId", f"unknown bet {shown(e.bet_id)} of counterparty {shown(e.counterparty_id)}"
                )
            if (e.player_id, e.session_id) != (bet.player_id, bet.session_id):
                raise InputError(
                    f"{where}.playerId",
                    f"the entry of bet {shown(e.bet_id)} must be of its player "
                    f"{shown(bet.player_id)} and session {shown(bet.session_id)}",
                )
        elif e.type != "adjustment":
            raise InputError(f"{where}.betId", f"a {e.type} entry belongs to a bet")
        owner = (e.player_id, e.counterparty_id, e.bet_id)
        if e.transaction_id in owners and (e.transaction_id != previous or owners[e.transaction_id] != owner):
            raise InputError(
                f"{where}.transactionId", f"transaction {e.transaction_id} is used by more than one operation"
            )
        owners[e.transaction_id] = owner
        previous = e.transaction_id
        scale = currencies[player.currency]
        ledger.append(
            msgspec.structs.replace(
                e,
                amount=_in_scale(e.amount, scale, player.currency, f"{where}.amount"),
                balance_after=_in_scale(e.balance_after, scale, player.currency, f"{where}.balanceAfter"),
            )
        )
    tombstoned: set[tuple[str, str]] = set()
    for i, t in enumerate(given.tombstones):
        where = f"$.tombstones[{i}]"
        _known(counterparties, t.counterparty_id, f"{where}.counterpartyId", "counterparty")
        session = _known(sessions, t.session_id, f"{where}.sessionId", "session")
        if session.counterparty_id != t.counterparty_id:
            raise InputError(f"{where}.sessionId", f"session {shown(t.session_id)} is of another counterparty")
        if (t.counterparty_id, t.bet_id) in tombstoned:
            raise InputError(f"{where}.betId", f"bet {shown(t.bet_id)} has a tombstone already")
        tombstoned.add((t.counterparty_id, t.bet_id))
        if (t.counterparty_id, t.bet_id) in bets:
            raise InputError(f"{where}.betId", f"bet {shown(t.bet_id)} exists: a tombstone is for a bet never placed")
    for i, applied in enumerate(given.scenarios):
        if applied.name not in SCENARIOS:
            known = ", ".join(SCENARIOS)
            raise InputError(f"$.scenarios[{i}].name", f"no scenario {shown(applied.name)} (known: {known})")
    for i, rule in enumerate(given.faults):
        rule_of(rule, "", f"$.faults[{i}]")  # what the rule types cannot refuse alone (a probability above 1)
    _within_rule_limit(given)
    return Fixture(
        counterparties=tuple(counterparties.values()),
        currencies=currencies,
        players=tuple(players.values()),
        sessions=tuple(sessions.values()),
        response_codes=_response_codes(given.response_codes),
        settings=_settings(given.settings),
        bets=tuple(bets.values()),
        ledger=tuple(ledger),
        tombstones=tuple(given.tombstones),
        last_transaction_id=given.last_transaction_id,
        source=source,
        scenarios=tuple(given.scenarios),
        faults=tuple(given.faults),
    )


def _within_rule_limit(given: FixtureIn) -> None:
    """All the rules a fixture arms — its faults and every scenario's — fit at once: checked here, so a start-up,
    a reset or a state import never fails halfway through arming them."""
    total = len(given.faults)
    for i, applied in enumerate(given.scenarios):
        total += len(prepare(applied.name, applied)[2])
        if total > MAX_FAULT_RULES:
            raise InputError(
                f"$.scenarios[{i}]",
                f"too many fault rules: the faults and scenarios arm more than {MAX_FAULT_RULES} at once",
            )


def _currencies(given: dict[str, Any] | None) -> dict[str, int]:
    if given is None:
        return dict(DEFAULT_CURRENCIES)
    for code, scale in given.items():
        if not code:
            raise InputError("$.currencies", "currency codes must be non-empty")
        if isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= MAX_SCALE:
            raise InputError(f"$.currencies.{code}", f"decimal places must be an integer from 0 to {MAX_SCALE}")
    return dict(given)


def _unique(items: list[Any], path: str, what: str, key: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for i, item in enumerate(items):
        ident = key(item)
        if ident in found:
            raise InputError(f"{path}[{i}].id", f"duplicate {what} id {shown(ident)}")
        found[ident] = item
    return found


def _known(table: Mapping[str, Any], key: str, path: str, what: str) -> Any:
    if key not in table:
        raise InputError(
            path, f"unknown {what} {shown(key)}" + (f" (known: {', '.join(table)})" if what == "currency" else "")
        )
    return table[key]


def _in_scale(amount: Decimal, scale: int, currency: str, path: str) -> Any:
    try:
        return type(amount)(to_scale(amount, scale, currency))
    except AmountError as exc:
        raise InputError(path, str(exc)) from None


def _optional_in_scale(amount: Decimal | None, scale: int, currency: str, path: str) -> Any:
    return None if amount is None else _in_scale(amount, scale, currency, path)


def _response_codes(given: dict[str, Any]) -> dict[str, int]:
    for name, code in given.items():
        if name not in codes.TABLE:
            raise InputError(f"$.responseCodes.{name}", f"unknown code name (known: {', '.join(codes.NAMES)})")
        if isinstance(code, bool) or not isinstance(code, int) or not -(2**31) <= code < 2**31:
            raise InputError(f"$.responseCodes.{name}", "must be an integer")
    return dict(given)


def _settings(given: dict[str, Any]) -> dict[str, Any]:
    return settings.validate(given, "$.settings")  # its SettingError is an InputError naming the path
