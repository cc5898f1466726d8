"""The provider's bet operations as typed commands: what each endpoint asks of the wallet, already validated.

Immutable structs (a fifth of a frozen dataclass's construction cost, and one is made per request); they hold only
strings and Decimals, so the garbage collector need not track them."""

from __future__ import annotations

from decimal import Decimal

import msgspec


class PayIn(msgspec.Struct, frozen=True, gc=False):
    bet_id: str
    amount: Decimal
    game_round_id: str | None = None


class PayOut(msgspec.Struct, frozen=True, gc=False):
    bet_id: str
    win: Decimal
    game_round_id: str | None = None
    win_odd: Decimal | None = None


class PayInOut(msgspec.Struct, frozen=True, gc=False):
    bet_id: str
    amount: Decimal
    win: Decimal
    game_round_id: str | None = None
    win_odd: Decimal | None = None


class Refund(msgspec.Struct, frozen=True, gc=False):
    bet_id: str
    game_round_id: str | None = None


Command = PayIn | PayOut | PayInOut | Refund
