"""The provider's bet operations as typed commands: what each endpoint asks of the wallet, already validated."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class PayIn:
    bet_id: str
    amount: Decimal
    game_round_id: str | None = None


@dataclass(frozen=True, slots=True)
class PayOut:
    bet_id: str
    win: Decimal
    game_round_id: str | None = None
    win_odd: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PayInOut:
    bet_id: str
    amount: Decimal
    win: Decimal
    game_round_id: str | None = None
    win_odd: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Refund:
    bet_id: str
    game_round_id: str | None = None


Command = PayIn | PayOut | PayInOut | Refund
