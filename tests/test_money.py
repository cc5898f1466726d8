from decimal import Decimal

import pytest

from betcore_sandbox.money import (
    MONEY,
    AmountError,
    NumberOutOfRange,
    from_minor,
    json_number,
    minor_text,
    parse_amount,
    to_minor,
    to_scale,
    to_text,
)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1.50", Decimal("1.50")),
        (Decimal("0.1"), Decimal("0.1")),
        (2, Decimal(2)),
        ("0", Decimal(0)),
        ("999999999999.99", Decimal("999999999999.99")),
    ],
)
def test_parse_amount_accepts_numbers_and_decimal_strings(value, expected):
    assert parse_amount(value) == expected


@pytest.mark.parametrize(
    "value, problem",
    [
        (True, "not a boolean"),
        (None, "not null"),
        ("abc", "is not a decimal number"),
        ("1e", "is not a decimal number"),
        ("1.", "is not a decimal number"),
        ("e3", "is not a decimal number"),
        ("1" * 101, "is not a decimal number"),
        ("1e-30000000", "is out of range"),
        (" 1", "is not a decimal number"),
        ("1_000", "is not a decimal number"),
        (Decimal("NaN"), "finite"),
        (Decimal("Infinity"), "finite"),
        ("-1", "must not be negative"),
        ("-0", "must not be negative"),
        (Decimal("-0.00"), "must not be negative"),
        (Decimal("-0.01"), "must not be negative"),
        ("1000000000000", "more than 12 integer digits"),
        (Decimal("1E+400"), "more than 12 integer digits"),
        (0.1, "not a float"),
        ([1], "not an array"),
    ],
)
def test_parse_amount_rejects_with_a_reason(value, problem):
    with pytest.raises(AmountError, match=problem):
        parse_amount(value)


def test_exponent_notation_is_read_exactly_unless_plain_is_asked_for():
    assert parse_amount("5.0E-5") == Decimal("0.00005")
    assert parse_amount("1e3") == Decimal(1000)
    with pytest.raises(AmountError, match="exponent notation"):
        parse_amount("5.0E-5", "plain")
    with pytest.raises(AmountError, match="exponent notation"):
        parse_amount(json_number("5e-05"), "plain")
    assert parse_amount(json_number("0.00005"), "plain") == Decimal("0.00005")


def test_json_numbers_are_bounded_before_anything_formats_them():
    for text in ("1e999999999", "1e-30000000", "1" * 101):
        huge = json_number(text)
        assert isinstance(huge, NumberOutOfRange) and len(repr(huge)) < 60
        with pytest.raises(AmountError, match="out of range"):
            parse_amount(huge)
    assert json_number("1.500") == Decimal("1.500")


def test_amounts_are_kept_in_the_currency_scale():
    assert str(to_scale(Decimal("1.500"), 2, "EUR")) == "1.50"
    assert str(to_scale(Decimal("2"), 2, "EUR")) == "2.00"
    assert str(to_scale(Decimal("5E-5"), 8, "BTC")) == "0.00005000"


@pytest.mark.parametrize("convert", [to_scale, to_minor], ids=["to_scale", "to_minor"])
def test_scale_is_judged_by_value_not_by_written_digits(convert):
    convert(Decimal("1.500"), 2, "EUR")
    convert(Decimal("0.00000001"), 8, "BTC")
    with pytest.raises(AmountError, match="more than 2 decimal places, the precision of EUR"):
        convert(Decimal("1.005"), 2, "EUR")
    with pytest.raises(AmountError, match="more than 8"):
        convert(Decimal("0.000000001"), 8, "BTC")
    with pytest.raises(AmountError):
        convert(Decimal("1E-400"), 2, "EUR")


def test_minor_units_are_exact_or_refused():
    assert to_minor(Decimal("1.500"), 2, "EUR") == 150 and to_minor(Decimal("5E-5"), 8, "BTC") == 5000
    assert to_minor(Decimal("999999999999.999999999999999999"), 18, "X") == 10**30 - 1
    with pytest.raises(AmountError, match="more digits than an amount can hold"):
        to_minor(Decimal("1." + "0" * 68 + "1"), 2, "EUR")  # never rounded into 1.00
    assert (from_minor(150, 2), from_minor(-5, 8)) == (Decimal("1.50"), Decimal("-0.00000005"))
    assert (minor_text(150, 2), minor_text(-5, 2), minor_text(7, 0), minor_text(-100, 2)) == (
        "1.50",
        "-0.05",
        "7",
        "-1.00",
    )


def test_money_context_is_exact():
    total = Decimal(0)
    for _ in range(10):
        total = MONEY.add(total, Decimal("0.1"))
    assert total == Decimal("1.0")
    assert MONEY.add(Decimal("0.1"), Decimal("0.2")) == Decimal("0.3")
    big = MONEY.add(Decimal("999999999999.999999999999999999"), Decimal("0.000000000000000001"))
    assert big == Decimal("1000000000000")


def test_text_is_written_in_the_currency_minor_units():
    assert to_text(Decimal("1000"), 2) == "1000.00"
    assert to_text(Decimal("0.00000001"), 8) == "0.00000001"
    assert to_text(Decimal("1E+2"), 0) == "100"
