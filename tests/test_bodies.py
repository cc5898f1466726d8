from decimal import Decimal

import pytest

from betcore_sandbox.bodies import parse_bet_request
from betcore_sandbox.commands import PayInOut
from betcore_sandbox.errors import InvalidRequest


def test_numbers_and_strings_are_exact_decimals():
    req = parse_bet_request("pay-in-out", b'{"betId":"b","betAmount":0.1,"winAmount":"0.20","winOdd":2}', "s")
    assert req.command == PayInOut("b", Decimal("0.1"), Decimal("0.20"), None, Decimal(2))


def test_numeric_ids_are_their_decimal_text_and_unknown_fields_are_listed():
    req = parse_bet_request("pay-out", b'{"betId":4178696881,"winAmount":55.25,"winOdd":11.05,"extra":1}', "s")
    assert req.bet_id == "4178696881"
    assert req.unknown_fields == ("extra",)


def test_php_slash_escapes_are_decoded():
    assert parse_bet_request("refund", b'{"betId":"round\\/7\\/bet"}', "s").bet_id == "round/7/bet"


@pytest.mark.parametrize(
    "body, message",
    [
        (b"", "body is empty"),
        (b"[1]", "must be a JSON object, not an array"),
        (b'{"betAmount":"1"}', "betId is required"),
        (b'{"betId":"","betAmount":"1"}', "betId must not be empty"),
        (b'{"betId":true,"betAmount":"1"}', "betId must be a string, not a boolean"),
        (b'{"betId":"' + b"x" * 129 + b'","betAmount":"1"}', "betId is longer than 128"),
        (b'{"betId":"b"}', "betAmount is required"),
        (b'{"betId":"b","betAmount":"1","sessionId":"other"}', "sessionId 'other' in the body does not match 's'"),
        (b'{"betId":"b","betAmount":"1","gameRoundId":[]}', "gameRoundId must be a string"),
        (b'{"betId":"b","betAmount":"\xff"}', "not valid UTF-8"),
    ],
)
def test_bad_bodies_name_the_problem(body, message):
    with pytest.raises(InvalidRequest, match=message):
        parse_bet_request("pay-in", body, "s")


def test_win_odd_must_be_a_non_negative_number():
    with pytest.raises(InvalidRequest, match="winOdd must not be negative"):
        parse_bet_request("pay-out", b'{"betId":"b","winAmount":1,"winOdd":-1}', "s")
    assert parse_bet_request("pay-out", b'{"betId":"b","winAmount":0,"winOdd":null}', "s").command.win_odd is None
