"""What the Python API (`Sandbox`) returns: typed, read-only records with money as Decimal.

Each record reads by attribute (`bet.status`, `bet.win`) and, for code written against the admin API's JSON, by
its camelCase key (`bet["status"]`, `bet["gameRoundId"]`); `to_dict()` gives that JSON shape.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from multidict import CIMultiDict

R = TypeVar("R", bound="Record")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


@dataclasses.dataclass(frozen=True, eq=False)  # a Mapping's equality: equal to a dict of the same items
class Record(Mapping[str, Any]):
    """A read-only record; also a read-only mapping by the admin API's camelCase keys (`"ok" in report`,
    `report["openBets"]`, `dict(report)`)."""

    _nested: ClassVar[dict[str, Any]] = {}  # field -> the record type of its items (or of itself)

    @classmethod
    def of(cls: type[R], view: Mapping[str, Any]) -> R:
        """The record of an admin API view (`view`: its JSON shape, camelCase keys), nested records too."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            value = view.get(_camel(f.name))
            kind = cls._nested.get(f.name)
            if kind is not None and value is not None:
                value = [kind.of(v) for v in value] if isinstance(value, list) else kind.of(value)
            values[f.name] = value
        return cls(**values)

    def __getitem__(self, key: str) -> Any:
        if not isinstance(key, str):
            raise KeyError(key)
        name = _snake(key)
        if name not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, name)

    def __iter__(self) -> Iterator[str]:
        return (_camel(f.name) for f in dataclasses.fields(self))

    def __len__(self) -> int:
        return len(dataclasses.fields(self))

    def to_dict(self) -> dict[str, Any]:
        """The admin API's JSON shape of this record (nested records too)."""
        return {_camel(f.name): _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, CIMultiDict):
        return [[k, v] for k, v in value.items()]
    return value


@dataclasses.dataclass(frozen=True, eq=False)
class PlayerInfo(Record):
    """A player: its id, currency, exact balance, and whether its bets are refused (`blocked`)."""

    id: str
    currency: str
    balance: Decimal
    blocked: bool


@dataclasses.dataclass(frozen=True, eq=False)
class SessionInfo(Record):
    """A session: the player and counterparty it belongs to, its status and expiry, its stake limits, and
    the player's balance and currency."""

    id: str
    player_id: str
    counterparty_id: str
    status: str  # active | expired | closed
    expires_at: str | None
    min_bet: Decimal | None
    max_bet: Decimal | None
    balance: Decimal  # the player's
    currency: str
    demo: bool = False  # opened by a demo-mode Launch
    launch_failed: bool = False  # its Launch got no valid answer from the provider


@dataclasses.dataclass(frozen=True, eq=False)
class Transaction(Record):
    """A ledger entry: `amount` is what it did to the balance."""

    transaction_id: str
    type: str  # bet | win | refund | reversal | adjustment
    amount: Decimal
    balance_after: Decimal
    player_id: str
    session_id: str | None
    bet_id: str | None
    counterparty_id: str | None
    request_id: str | None
    game_round_id: str | None
    time: str


@dataclasses.dataclass(frozen=True, eq=False)
class HistoryStep(Record):
    """One applied operation of a bet: its transaction and the balance after it."""

    operation: str
    transaction_id: str
    balance: Decimal


@dataclasses.dataclass(frozen=True, eq=False)
class BetRecord(Record):
    """A bet: who placed it, its kind and status, stake and win (exact), its history step by step and its
    ledger transactions."""

    bet_id: str
    counterparty_id: str
    session_id: str
    player_id: str
    kind: str  # pay-in | pay-in-out | pay-out
    status: str  # open | settled | refunded
    stake: Decimal
    win: Decimal | None
    win_odd: Decimal | None
    game_round_id: str | None
    created_at: str | None
    history: list[HistoryStep]
    transactions: list[Transaction]

    _nested: ClassVar[dict[str, Any]] = {"history": HistoryStep, "transactions": Transaction}


@dataclasses.dataclass(frozen=True, eq=False)
class JournalEntry(Record):
    """A provider request as the sandbox received and answered it. `headers` keep the names as sent, in order,
    and look up case-insensitively; `response` is None when no answer was sent (a dropped connection). Entries
    are in the order of their `time`: when the answer was sent (an outgoing call: when it was sent);
    `received_at` is when a provider's request arrived."""

    id: int
    time: str
    method: str
    path: str
    endpoint: str
    session_id: str | None
    bet_id: str | None
    counterparty_id: str | None
    headers: CIMultiDict[str]
    body: str
    signature: dict[str, Any]  # verdict, and for a failure its error and diagnostics
    unknown_fields: list[str]
    warnings: list[str]
    response: dict[str, Any] | None  # status, body
    fault: dict[str, Any] | None  # id, kind, phase
    duration_ms: float
    error: str | None
    truncated: dict[str, int] | None = None  # the sizes as received, when the record was cut (failed signature)
    direction: str = "incoming"  # outgoing: a Games or Launch call the sandbox made to the provider
    url: str | None = None  # an outgoing call's full URL
    sandbox_time: str | None = None  # the virtual clock's time when the request arrived (`time` is wall time)
    received_at: str | None = None  # when a provider's request arrived; `time` is when it was answered
    reason: str | None = None  # why it ended as it did: the signature's error, a failure, else the answer's message

    @classmethod
    def of(cls, view: Mapping[str, Any]) -> JournalEntry:
        """The record of an admin API journal entry (`view`, camelCase keys); headers look up case-insensitively."""
        entry = super().of(view)
        return dataclasses.replace(entry, headers=CIMultiDict(view["headers"]))


@dataclasses.dataclass(frozen=True, eq=False)
class FaultInfo(Record):
    """A fault rule: what it matches (endpoint, session, player, bet), what it does (`kind`, `phase`, and of its
    kind only: `status` for http_error, `response_code` for response_code, `delay_ms` for delay and timeout; None
    for the others), whether it can still fire (`state`: active, used-up, expired) and how often it fired."""

    id: str
    kind: str
    endpoint: str
    session_id: str | None
    player_id: str | None
    bet_id: str | None
    phase: str
    status: int | None
    response_code: int | None
    delay_ms: int | None
    times: int | None
    skip: int
    probability: float
    seed: int | None
    ttl_seconds: float | None
    state: str
    fired: int
    remaining: int | None
    matched: int


@dataclasses.dataclass(frozen=True, eq=False)
class ClockInfo(Record):
    """The sandbox clock: its time, how far it is from wall time, and whether it is `real` or `virtual`."""

    now_ms: int
    offset_ms: int
    mode: str  # real | virtual

    @property
    def now(self) -> datetime:
        """The sandbox time, as an aware datetime in UTC."""
        return datetime.fromtimestamp(self.now_ms / 1000, UTC)


@dataclasses.dataclass(frozen=True, eq=False)
class OpenBet(Record):
    """A bet whose stake was taken and that was neither settled nor refunded, with its age."""

    bet_id: str
    counterparty_id: str
    session_id: str
    player_id: str
    stake: Decimal
    created_at: str | None
    age_seconds: float


@dataclasses.dataclass(frozen=True, eq=False)
class AuditReport(Record):
    """The money audit: `ok` when it found no `violations` (balances against the ledger, bet records); the bets left
    open."""

    ok: bool
    violations: list[str]
    open_bets: list[OpenBet]

    _nested: ClassVar[dict[str, Any]] = {"open_bets": OpenBet}


@dataclasses.dataclass(frozen=True, eq=False)
class Game(Record):
    """A valid entry of a provider's Games answer (the display name under `game_name`, whatever the provider's
    spelling, see the setting gameNameField)."""

    game_id: str
    game_name: str
    game_category: str
    max_odd: Decimal | int | None
    lobby_img_url: str | None


@dataclasses.dataclass(frozen=True, eq=False)
class GamesResult(Record):
    """The provider's game list as the sandbox checked it: `status` ok, or failed with `problems`."""

    status: str  # ok | failed
    counterparty_id: str
    provider_url: str
    games: list[Game]
    problems: list[str]
    request: dict[str, Any]  # method, url, headers, body as sent
    response: dict[str, Any] | None  # status, body, durationMs; None when no answer came

    _nested: ClassVar[dict[str, Any]] = {"games": Game}


@dataclasses.dataclass(frozen=True, eq=False)
class LaunchResult(Record):
    """A Launch: the session it opened, and `status` launched (with `frame_uri`) or failed (with `problems`)."""

    id: str
    status: str  # launched | failed
    time: str
    game_id: str
    game_mode: str  # real | demo
    counterparty_id: str
    provider_url: str
    session: SessionInfo
    frame_uri: str | None
    problems: list[str]
    request: dict[str, Any]
    response: dict[str, Any] | None

    _nested: ClassVar[dict[str, Any]] = {"session": SessionInfo}


@dataclasses.dataclass(frozen=True, eq=False)
class ScenarioInfo(Record):
    """A named scenario: what it does, and the conformance checks it exercises."""

    name: str
    description: str
    expects: list[str]


@dataclasses.dataclass(frozen=True, eq=False)
class AppliedScenario(Record):
    """A scenario as applied: its filters and options, and the fault rules it added."""

    name: str
    description: str
    expects: list[str]
    session_id: str | None
    player_id: str | None
    seed: int | None
    delay_ms: int | None
    fault_ids: list[str]
    applied_at: str


@dataclasses.dataclass(frozen=True, eq=False)
class Finding(Record):
    """Evidence of a conformance finding: what happened, the bet, the journal entries, the bytes that differ."""

    message: str
    bet_id: str | None
    entries: list[int]
    details: dict[str, str]


@dataclasses.dataclass(frozen=True, eq=False)
class ConformanceCheck(Record):
    """One conformance check: its id and rule, its status (pass | fail | warn | not_applicable), and
    the findings that are its evidence."""

    id: str
    rule: str
    status: str  # pass | fail | warn | not_applicable
    summary: str
    evidence: list[Finding]

    _nested: ClassVar[dict[str, Any]] = {"evidence": Finding}


@dataclasses.dataclass(frozen=True, eq=False)
class ConformanceReport(Record):
    """The conformance report: `passed` unless a check failed; checks (failed first), scenarios with their
    expected checks, and per bet the timeline of its attempts."""

    passed: bool
    summary: dict[str, Any]
    checks: list[ConformanceCheck]
    scenarios: list[dict[str, Any]]
    bets: list[dict[str, Any]]

    _nested: ClassVar[dict[str, Any]] = {"checks": ConformanceCheck}

    def check(self, check_id: str) -> ConformanceCheck:
        """The result of the check `check_id` (KeyError for an unknown id)."""
        for found in self.checks:
            if found.id == check_id:
                return found
        raise KeyError(check_id)

    @property
    def failed(self) -> list[ConformanceCheck]:
        """The checks that failed."""
        return [c for c in self.checks if c.status == "fail"]


__all__ = [
    "AppliedScenario",
    "AuditReport",
    "BetRecord",
    "ClockInfo",
    "ConformanceCheck",
    "ConformanceReport",
    "FaultInfo",
    "Finding",
    "Game",
    "GamesResult",
    "HistoryStep",
    "JournalEntry",
    "LaunchResult",
    "OpenBet",
    "PlayerInfo",
    "Record",
    "ScenarioInfo",
    "SessionInfo",
    "Transaction",
]
