"""The shapes of the sandbox's answers, as types: what the published OpenAPI documents say each route returns.

Nothing here builds an answer (the envelope and the views do); these types only describe them, and the tests
validate real answers against the documents made from them, so a change to an answer that forgets its shape here
fails there.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

__all__ = [
    "AdminError",
    "AuditAnswer",
    "BalanceAnswer",
    "BetAnswer",
    "BetStep",
    "BetView",
    "ClockView",
    "Health",
    "Imported",
    "LedgerEntryView",
    "PlayerView",
    "ProviderError",
    "RequestView",
    "SessionView",
    "StatusAnswer",
]

# Admin amounts: exact decimal strings in the currency's decimals ("1000.00", "-2.50" for a ledger debit).
Decimal = Annotated[str, msgspec.Meta(pattern=r"^-?[0-9]+(\.[0-9]+)?$", examples=["1000.00"])]
Timestamp = Annotated[
    str, msgspec.Meta(description="ISO 8601 with a UTC offset", examples=["2024-06-30T16:48:40.806Z"])
]


class Answer(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    pass


# -- the provider API --------------------------------------------------------------------------------------------


class BalanceAnswer(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """GET balance: the balance as a JSON number with the exact decimal value, in the currency's decimals."""

    response_code: int = msgspec.field(name="_responseCode")
    balance: float
    currency: str


class BetAnswer(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An applied (or already applied: code 104, the original transactionId) bet operation."""

    response_code: int = msgspec.field(name="_responseCode")
    transaction_id: Annotated[str, msgspec.Meta(pattern=r"^[0-9]+$")] = msgspec.field(name="transactionId")
    balance: float
    currency: str
    message: str | msgspec.UnsetType = msgspec.UNSET


class ProviderError(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Every refusal: its code and why; balance and currency once the caller is authenticated and the session
    known; `_debug` on a signature mismatch (setting explainSignatures)."""

    response_code: int = msgspec.field(name="_responseCode")
    message: str
    balance: float | msgspec.UnsetType = msgspec.UNSET
    currency: str | msgspec.UnsetType = msgspec.UNSET
    debug: dict[str, Any] | msgspec.UnsetType = msgspec.field(default=msgspec.UNSET, name="_debug")


# -- the admin API ------------------------------------------------------------------------------------------------


class AdminError(Answer):
    """A 400 (bad input, naming its JSON path), 401 (no or wrong token) or 404 (unknown id or route)."""

    error: str


class Health(Answer):
    status: Literal["healthy"]
    version: str


class StatusAnswer(Answer):
    status: str


class Imported(Answer):
    """PUT /__admin/state: what the import holds."""

    status: Literal["imported"]
    players: int
    sessions: int
    bets: int
    transactions: int
    last_transaction_id: int


class PlayerView(Answer):
    id: str
    currency: str
    balance: Decimal
    blocked: bool


class SessionView(Answer):
    id: str
    player_id: str
    counterparty_id: str
    status: Literal["active", "expired", "closed"]
    expires_at: Timestamp | None
    min_bet: Decimal | None
    max_bet: Decimal | None
    demo: bool
    launch_failed: bool
    balance: Decimal
    currency: str


class LedgerEntryView(Answer):
    transaction_id: str
    type: Literal["bet", "win", "refund", "reversal", "adjustment"]
    amount: Decimal
    balance_after: Decimal
    player_id: str
    session_id: str | None
    bet_id: str | None
    counterparty_id: str | None
    request_id: str | None
    game_round_id: str | None
    time: Timestamp


class BetStep(Answer):
    operation: str
    transaction_id: str
    balance: Decimal


class BetView(Answer):
    bet_id: str
    counterparty_id: str
    session_id: str
    player_id: str
    kind: Literal["pay-in", "pay-in-out", "pay-out"]
    status: Literal["open", "settled", "refunded"]
    stake: Decimal
    win: Decimal | None
    win_odd: Decimal | float | None
    game_round_id: str | None
    created_at: Timestamp | None
    history: list[BetStep]
    transactions: list[LedgerEntryView]


class RequestView(msgspec.Struct, rename="camel", kw_only=True):
    """One journal entry (see docs/admin-and-faults.md); a request that failed authentication is kept truncated
    (`truncated` gives the sizes). `time` is when the entry was recorded (a wallet call: when it was answered),
    `receivedAt` when a wallet call arrived; `reason` says why it ended as it did."""

    id: int
    time: Timestamp
    method: str
    path: str
    # unknown: a path that is no endpoint (or a real path with the wrong method); games, launch: outgoing calls
    endpoint: Literal["balance", "pay-in", "pay-out", "pay-in-out", "refund", "unknown", "games", "launch"]
    session_id: str | None
    bet_id: str | None
    counterparty_id: str | None
    headers: list[list[str | None]]
    body: str | None
    signature: dict[str, Any]
    unknown_fields: list[str]
    warnings: list[str]
    response: dict[str, Any] | None
    fault: Any
    duration_ms: float | None
    error: str | None
    direction: Literal["incoming", "outgoing"]
    reason: str | None
    received_at: Timestamp | None = None
    url: str | None = None
    sandbox_time: Timestamp | None = None
    truncated: dict[str, int] | None = None


class AuditAnswer(Answer):
    ok: bool
    violations: list[Any]
    open_bets: list[Any]


class ClockView(Answer):
    now_ms: int
    offset_ms: int
    mode: Literal["real", "virtual"]
