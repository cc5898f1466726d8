from decimal import Decimal

import pytest

from betcore_sandbox.money import MONEY, AmountError, check_scale, parse_amount, to_text


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1.50", Decimal("1.50")),
        (Decimal("0.1"), Decimal("0.1")),
        (2, Decimal(2)),
        ("0", Decimal(0)),
        ("-0", Decimal(0)),
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
        ("1e3", "is not a decimal number"),
        (" 1", "is not a decimal number"),
        ("1_000", "is not a decimal number"),
        (Decimal("NaN"), "finite"),
        (Decimal("Infinity"), "finite"),
        ("-1", "must not be negative"),
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


def test_scale_is_judged_by_value_not_by_written_digits():
    check_scale(Decimal("1.500"), 2, "EUR")
    check_scale(Decimal("0.00000001"), 8, "BTC")
    with pytest.raises(AmountError, match="more than 2 decimal places, the precision of EUR"):
        check_scale(Decimal("1.005"), 2, "EUR")
    with pytest.raises(AmountError, match="more than 8"):
        check_scale(Decimal("0.000000001"), 8, "BTC")
    with pytest.raises(AmountError):
        check_scale(Decimal("1E-400"), 2, "EUR")


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
