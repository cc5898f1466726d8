"""Exact money: wire amounts become Decimals, checked against a currency's minor units.

Every sum goes through MONEY, a context wide enough that no supported amount is ever rounded, and
that raises instead of rounding if one ever would be. Amounts are stored in their currency's scale
(1.500 EUR is kept as 1.50), so sums of them never need rounding either.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow, Rounded

from .limits import MAX_EXPONENT, MAX_INTEGER_DIGITS, MAX_NUMBER_TEXT, MAX_SCALE
from .text import clip, shown

# A JSON number or amount text longer than MAX_NUMBER_TEXT, or with a larger exponent than MAX_EXPONENT, is
# refused before it is formatted anywhere: "1e999999999" must not become a billion digits.

MONEY = Context(prec=64, traps=[InvalidOperation, Inexact, Rounded, Overflow])
# Quantizing an over-precise amount is how we detect it, so this context must not trap Inexact.
_QUANTIZE = Context(prec=64, traps=[InvalidOperation, Overflow])

NOTATIONS = ("plain", "any")
_PLAIN_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_ANY_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
ZERO = Decimal(0)


class AmountError(ValueError):
    """An amount that is not acceptable; the message reads after the field name."""


class ExponentDecimal(Decimal):
    """A number that was written with an exponent (5.0E-5): exact, but not plain decimal notation."""

    __slots__ = ()


class NumberOutOfRange:
    """A JSON number too long or too large to be read (1e999999999): kept as a short note, never expanded.

    No field accepts it, so the field's own check refuses it by name."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = clip(text, 24)

    def __repr__(self) -> str:
        return self.text


def json_number(text: str) -> Decimal | NumberOutOfRange:
    """The float hook for every JSON decoder: an exact Decimal from the number's text, bounded in size."""
    if len(text) > MAX_NUMBER_TEXT:
        return NumberOutOfRange(text)
    exponent_form = "e" in text or "E" in text
    value = ExponentDecimal(text) if exponent_form else Decimal(text)
    exponent = value.as_tuple().exponent
    if exponent_form and isinstance(exponent, int) and abs(exponent) > MAX_EXPONENT:
        return NumberOutOfRange(text)
    return value


def uses_exponent(value: object) -> bool:
    """Whether a wire amount is written in exponent notation ("5.0E-5" or the JSON number 5e-05)."""
    return isinstance(value, ExponentDecimal) or (isinstance(value, str) and ("e" in value or "E" in value))


def parse_amount(value: object, notation: str = "any", integer_digits: int = MAX_INTEGER_DIGITS) -> Decimal:
    """A JSON number (int or Decimal) or a decimal string, as a finite, non-negative Decimal.

    notation `plain` refuses exponent forms; `any` reads them exactly ("5.0E-5" is 0.00005)."""
    if isinstance(value, bool) or value is None:
        raise AmountError(f"must be a number or a decimal string, not {json_type(value)}")
    if isinstance(value, Decimal):
        if notation == "plain" and isinstance(value, ExponentDecimal):
            raise AmountError(f"is in exponent notation ({shown(value)}): write it as a plain decimal")
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, str):
        if len(value) > MAX_NUMBER_TEXT or not _ANY_TEXT.fullmatch(value):
            raise AmountError(f"is not a decimal number: {shown(value)}")
        if notation == "plain" and not _PLAIN_TEXT.fullmatch(value):
            raise AmountError(f"is in exponent notation ({shown(value)}): write it as a plain decimal")
        amount = Decimal(value)
        exponent = amount.as_tuple().exponent
        if isinstance(exponent, int) and abs(exponent) > MAX_EXPONENT:
            raise AmountError(f"is out of range: {shown(value)}")
    elif isinstance(value, float):
        raise AmountError("must be exact: pass a Decimal, an int or a decimal string, not a float")
    elif isinstance(value, NumberOutOfRange):
        raise AmountError(f"is out of range: {value!r}")
    else:
        raise AmountError(f"must be a number or a decimal string, not {json_type(value)}")
    if not amount.is_finite():
        raise AmountError(f"must be a finite number, not {shown(value)}")
    if amount.is_signed():  # "-0" and -0.00 too: a minus sign on an amount is never what a client means
        raise AmountError(f"must not be negative: {shown(value)}")
    if amount and amount.adjusted() >= integer_digits:
        raise AmountError(f"has more than {integer_digits} integer digits")
    if amount.is_zero():
        return ZERO
    return Decimal(amount) if type(amount) is not Decimal else amount


_MINOR_UNITS = tuple(Decimal(1).scaleb(-scale) for scale in range(MAX_SCALE + 1))
_POWERS = tuple(10**scale for scale in range(MAX_SCALE + 1))


def to_scale(amount: Decimal, scale: int, currency: str) -> Decimal:
    """The amount written with exactly the currency's decimals (1.500 EUR -> 1.50, 2 -> 2.00);
    AmountError when it is not a whole number of minor units (1.005 EUR)."""
    exponent = amount.as_tuple().exponent
    if exponent == -scale:
        return amount
    quantized = amount.quantize(_MINOR_UNITS[scale], context=_QUANTIZE)
    if quantized != amount:
        raise AmountError(f"{shown(amount)} has more than {scale} decimal places, the precision of {currency}")
    return quantized


def to_minor(amount: Decimal, scale: int, currency: str) -> int:
    """The amount as a whole number of the currency's minor units (1.50 EUR -> 150): exact, or AmountError."""
    try:
        scaled = amount.scaleb(scale, context=MONEY)  # traps rounding: more digits than it holds are refused
    except ArithmeticError:
        raise AmountError(f"{shown(amount)} has more digits than an amount can hold") from None
    units = int(scaled)
    if scaled != units:
        raise AmountError(f"{shown(amount)} has more than {scale} decimal places, the precision of {currency}")
    return units


def from_minor(units: int, scale: int) -> Decimal:
    """Minor units back as a Decimal written with the currency's decimals (150 -> 1.50)."""
    return Decimal(units).scaleb(-scale, context=_QUANTIZE)


def minor_text(units: int, scale: int) -> str:
    """Minor units as plain decimal text (150, 2 -> "1.50"; -5, 2 -> "-0.05")."""
    if not scale:
        return str(units)
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), _POWERS[scale])
    return f"{sign}{whole}.{fraction:0{scale}d}"


def in_scale(amount: Decimal, scale: int) -> Decimal:
    """The amount written with exactly the currency's number of decimals (1000 -> 1000.00)."""
    if amount.as_tuple().exponent == -scale:
        return amount
    return amount.quantize(_MINOR_UNITS[scale], context=MONEY)  # raises, never rounds, an off-scale amount


def to_text(amount: Decimal, scale: int) -> str:
    return format(in_scale(amount, scale), "f")


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
    if isinstance(value, NumberOutOfRange):
        return f"a number out of range ({value.text})"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
