"""Exact money: wire amounts become Decimals, checked against a currency's minor units.

Every sum goes through MONEY, a context wide enough that no supported amount is ever rounded, and
that raises instead of rounding if one ever would be.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow, Rounded

MAX_INTEGER_DIGITS = 12
MAX_SCALE = 18

MONEY = Context(prec=64, traps=[InvalidOperation, Inexact, Rounded, Overflow])

_DECIMAL_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
ZERO = Decimal(0)


class AmountError(ValueError):
    """An amount that is not acceptable; the message reads after the field name."""


def parse_amount(value: object) -> Decimal:
    """A JSON number (int or Decimal) or a plain decimal string, as a finite, non-negative Decimal."""
    if isinstance(value, bool) or value is None:
        raise AmountError(f"must be a number or a decimal string, not {json_type(value)}")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, str):
        if not _DECIMAL_TEXT.fullmatch(value):
            raise AmountError(f"is not a decimal number: {value!r}")
        amount = Decimal(value)
    elif isinstance(value, float):
        raise AmountError("must be exact: pass a Decimal, an int or a decimal string, not a float")
    else:
        raise AmountError(f"must be a number or a decimal string, not {json_type(value)}")
    if not amount.is_finite():
        raise AmountError(f"must be a finite number, not {value}")
    if amount < 0:
        raise AmountError(f"must not be negative: {_text(amount)}")
    if amount and amount.adjusted() >= MAX_INTEGER_DIGITS:
        raise AmountError(f"has more than {MAX_INTEGER_DIGITS} integer digits")
    if amount.is_zero():
        return ZERO
    return amount


_MINOR_UNITS = tuple(Decimal(1).scaleb(-scale) for scale in range(MAX_SCALE + 1))


def check_scale(amount: Decimal, scale: int, currency: str) -> None:
    """Raise unless the amount is a whole number of the currency's minor units (1.500 EUR is fine)."""
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -scale:
        return  # written with no more decimals than the currency has
    if amount != amount.quantize(_MINOR_UNITS[scale], context=_QUANTIZE):
        raise AmountError(f"{_text(amount)} has more than {scale} decimal places, the precision of {currency}")


def in_scale(amount: Decimal, scale: int) -> Decimal:
    """The amount written with exactly the currency's number of decimals (1000 -> 1000.00)."""
    if amount.as_tuple().exponent == -scale:
        return amount
    return amount.quantize(_MINOR_UNITS[scale], context=MONEY)


def to_text(amount: Decimal, scale: int) -> str:
    return format(in_scale(amount, scale), "f")


def _text(amount: Decimal) -> str:
    return format(amount, "f")


# Quantizing an over-precise amount is how we detect it, so this context must not trap Inexact.
_QUANTIZE = Context(prec=64, traps=[InvalidOperation, Overflow])


def json_type(value: object) -> str:
    """How a decoded JSON value is named in error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
