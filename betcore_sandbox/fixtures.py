"""Fixture files: the counterparties, currencies, players and sessions a sandbox starts with.

Loading validates everything up front; a problem raises FixtureError naming the file and the JSON path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from . import codes, jsontext, settings
from .money import MAX_SCALE, AmountError, parse_amount, shown, to_scale

DEFAULT_CURRENCIES = {"EUR": 2, "USD": 2, "GBP": 2, "BTC": 8}
SESSION_STATUSES = ("active", "expired", "closed")
DEFAULT_SOURCE = "<embedded default fixture>"


class FixtureError(ValueError):
    """A fixture that cannot be loaded; str() is one line naming the file and the JSON path."""


@dataclass(frozen=True, slots=True)
class CounterpartySpec:
    id: str
    secret: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class PlayerSpec:
    id: str
    currency: str
    balance: Decimal
    blocked: bool = False
    opening_balance: Decimal | None = None  # only in state snapshots: the balance before the ledger


@dataclass(frozen=True, slots=True)
class SessionSpec:
    id: str
    player_id: str
    counterparty_id: str
    expires_at: datetime | None = None
    min_bet: Decimal | None = None
    max_bet: Decimal | None = None
    status: str = "active"


@dataclass(frozen=True, slots=True)
class Fixture:
    counterparties: tuple[CounterpartySpec, ...]
    currencies: Mapping[str, int]
    players: tuple[PlayerSpec, ...] = ()
    sessions: tuple[SessionSpec, ...] = ()
    response_codes: Mapping[str, int] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    source: str = DEFAULT_SOURCE


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


def parse_fixture(raw: bytes | Mapping[str, Any], source: str = "<fixture>", *, snapshot: bool = False) -> Fixture:
    """A validated fixture; with `snapshot`, the extra keys of a state export are allowed (and ignored here)."""
    if isinstance(raw, Mapping):
        data: Any = raw
    else:
        try:
            data = jsontext.decode(raw.removeprefix(b"\xef\xbb\xbf"))  # editors on Windows may write a BOM
        except jsontext.JsonError as exc:
            raise FixtureError(f"{source}: $: the file {exc}") from None
    try:
        return _Reader(source, snapshot).fixture(data)
    except Problem as problem:
        raise FixtureError(f"{source}: {problem.path}: {problem.message}") from None


class Problem(Exception):
    """A problem at a JSON path; FixtureError's message is built from it."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


TOP_LEVEL_KEYS = ("counterparties", "currencies", "players", "sessions", "responseCodes", "settings")
SNAPSHOT_KEYS = ("bets", "ledger", "tombstones", "lastTransactionId")


class _Reader:
    def __init__(self, source: str, snapshot: bool = False) -> None:
        self.source = source
        self.snapshot = snapshot

    def fixture(self, data: Any) -> Fixture:
        root = _object(data, "$")
        _known_keys(root, "$", TOP_LEVEL_KEYS + SNAPSHOT_KEYS if self.snapshot else TOP_LEVEL_KEYS)
        currencies = self.currencies(root.get("currencies"), "$.currencies")
        counterparties = self.counterparties(root.get("counterparties"), "$.counterparties")
        players = self.players(root.get("players", []), "$.players", currencies)
        sessions = self.sessions(root.get("sessions", []), "$.sessions", players, counterparties, currencies)
        response_codes = self.response_codes(root.get("responseCodes", {}), "$.responseCodes")
        try:
            checked_settings = settings.validate(root.get("settings", {}), "$.settings")
        except settings.SettingError as exc:
            raise Problem(exc.name, exc.problem) from None
        return Fixture(
            counterparties=tuple(counterparties.values()),
            currencies=currencies,
            players=tuple(players.values()),
            sessions=tuple(sessions),
            response_codes=response_codes,
            settings=checked_settings,
            source=self.source,
        )

    def currencies(self, value: Any, path: str) -> dict[str, int]:
        if value is None:
            return dict(DEFAULT_CURRENCIES)
        table = _object(value, path)
        for code, scale in table.items():
            if not code:
                raise Problem(path, "currency codes must be non-empty")
            if isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= MAX_SCALE:
                raise Problem(f"{path}.{code}", f"decimal places must be an integer from 0 to {MAX_SCALE}")
        return dict(table)

    def counterparties(self, value: Any, path: str) -> dict[str, CounterpartySpec]:
        items = _array(value, path)
        if not items:
            raise Problem(path, "at least one counterparty is needed")
        result: dict[str, CounterpartySpec] = {}
        for i, item in enumerate(items):
            where = f"{path}[{i}]"
            obj = _object(item, where)
            _known_keys(obj, where, ("id", "secret", "name"))
            spec = CounterpartySpec(
                id=_text(obj, "id", where),
                secret=_text(obj, "secret", where),
                name=_name(obj, where),
            )
            if spec.id in result:
                raise Problem(f"{where}.id", f"duplicate counterparty id {spec.id!r}")
            result[spec.id] = spec
        return result

    def players(self, value: Any, path: str, currencies: Mapping[str, int]) -> dict[str, PlayerSpec]:
        result: dict[str, PlayerSpec] = {}
        for i, item in enumerate(_array(value, path)):
            where = f"{path}[{i}]"
            obj = _object(item, where)
            keys = ("id", "currency", "balance", "blocked")
            _known_keys(obj, where, keys + ("openingBalance",) if self.snapshot else keys)
            currency = _text(obj, "currency", where)
            if currency not in currencies:
                raise Problem(f"{where}.currency", f"unknown currency {currency!r} (known: {', '.join(currencies)})")
            blocked = obj.get("blocked", False)
            if not isinstance(blocked, bool):
                raise Problem(f"{where}.blocked", "must be true or false")
            spec = PlayerSpec(
                id=_text(obj, "id", where),
                currency=currency,
                balance=_amount(obj, "balance", where, currencies[currency], currency, required=True),
                blocked=blocked,
                opening_balance=_amount(obj, "openingBalance", where, currencies[currency], currency),
            )
            if spec.id in result:
                raise Problem(f"{where}.id", f"duplicate player id {spec.id!r}")
            result[spec.id] = spec
        return result

    def sessions(
        self,
        value: Any,
        path: str,
        players: Mapping[str, PlayerSpec],
        counterparties: Mapping[str, CounterpartySpec],
        currencies: Mapping[str, int],
    ) -> list[SessionSpec]:
        result: list[SessionSpec] = []
        seen: set[str] = set()
        for i, item in enumerate(_array(value, path)):
            where = f"{path}[{i}]"
            obj = _object(item, where)
            _known_keys(obj, where, ("id", "playerId", "counterpartyId", "expiresAt", "minBet", "maxBet", "status"))
            session_id = _text(obj, "id", where)
            if session_id in seen:
                raise Problem(f"{where}.id", f"duplicate session id {session_id!r}")
            seen.add(session_id)
            player_id = _text(obj, "playerId", where)
            player = players.get(player_id)
            if player is None:
                raise Problem(f"{where}.playerId", f"unknown player {player_id!r}")
            counterparty_id = _text(obj, "counterpartyId", where, required=len(counterparties) != 1)
            if counterparty_id is None:
                counterparty_id = next(iter(counterparties))
            elif counterparty_id not in counterparties:
                raise Problem(f"{where}.counterpartyId", f"unknown counterparty {counterparty_id!r}")
            scale = currencies[player.currency]
            min_bet = _amount(obj, "minBet", where, scale, player.currency)
            max_bet = _amount(obj, "maxBet", where, scale, player.currency)
            if min_bet is not None and max_bet is not None and min_bet > max_bet:
                raise Problem(f"{where}.minBet", "must not be above maxBet")
            status = obj.get("status", "active")
            if status not in SESSION_STATUSES:
                raise Problem(f"{where}.status", f"must be one of {', '.join(SESSION_STATUSES)}")
            result.append(
                SessionSpec(
                    id=session_id,
                    player_id=player_id,
                    counterparty_id=counterparty_id,
                    expires_at=parse_timestamp(obj.get("expiresAt"), f"{where}.expiresAt"),
                    min_bet=min_bet,
                    max_bet=max_bet,
                    status=status,
                )
            )
        return result

    def response_codes(self, value: Any, path: str) -> dict[str, int]:
        table = _object(value, path)
        for name, code in table.items():
            if name not in codes.TABLE:
                raise Problem(f"{path}.{name}", f"unknown code name (known: {', '.join(codes.NAMES)})")
            if isinstance(code, bool) or not isinstance(code, int):
                raise Problem(f"{path}.{name}", "must be an integer")
        return dict(table)


def parse_timestamp(value: Any, path: str) -> datetime | None:
    """An ISO 8601 timestamp with a UTC offset, or None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Problem(path, "must be an ISO 8601 UTC timestamp or null")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Problem(path, f"is not an ISO 8601 timestamp: {shown(value)}") from None
    if moment.tzinfo is None:
        raise Problem(path, f"needs a UTC offset, e.g. {shown(value)}Z")
    try:  # in UTC it must still be a date between the years 1 and 9999, or nothing can write it back
        utc = moment.astimezone(timezone.utc)
        datetime.fromtimestamp(utc.timestamp(), timezone.utc)
    except (OverflowError, ValueError, OSError):
        raise Problem(path, f"is out of range: {shown(value)}") from None
    return utc


def _name(obj: Mapping[str, Any], path: str) -> str:
    """A display name: optional, and may be empty."""
    value = obj.get("name")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Problem(f"{path}.name", "must be a string")
    return value


def _object(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise Problem(path, "must be an object")
    return value


def _array(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise Problem(path, "must be an array")
    return value


def _known_keys(obj: Mapping[str, Any], path: str, known: tuple[str, ...]) -> None:
    for key in obj:
        if key not in known:
            raise Problem(f"{path}.{key}", f"unknown key (known: {', '.join(known)})")


def _text(obj: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise Problem(f"{path}.{key}", "must be a non-empty string" if key in obj else "is required")
    return value


def _amount(
    obj: Mapping[str, Any], key: str, path: str, scale: int, currency: str, *, required: bool = False
) -> Decimal | None:
    if obj.get(key) is None:
        if required:
            raise Problem(f"{path}.{key}", "is required")
        return None
    try:
        return to_scale(parse_amount(obj[key]), scale, currency)
    except AmountError as exc:
        raise Problem(f"{path}.{key}", str(exc)) from None
