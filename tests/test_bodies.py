from decimal import Decimal

import pytest

from betcore_sandbox.bodies import parse_bet_request
from betcore_sandbox.commands import PayInOut, PayOut, Refund
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


@pytest.mark.parametrize(
    "body, unknown",
    [
        (b'{"betId":"b","betAmount":"1"}', ()),
        (b'{"betId":"b:1","betAmount":"1","gameRoundId":"r:\\":2"}', ()),  # colons inside strings
        (b'{"betId" : "b", "betAmount" :"1"}', ()),  # spaces before a colon
        (b'{"betId":"b","betAmount":"1","extra":{"a":1,"b":[{"c":2}]}}', ("extra",)),
        (b'{"betId":"b","extra" :1,"betAmount":"1"}', ("extra",)),  # as many colons as keys, one unknown
        (b'{"betId":"b","betAmount":"1","winAmount":"2","x":null,"y":"z"}', ("winAmount", "x", "y")),
    ],
)
def test_unknown_fields_are_found_however_the_body_is_written(body, unknown):
    req = parse_bet_request("pay-in", body, "s")
    assert req.unknown_fields == unknown and req.bet_id.startswith("b") and req.command.amount == Decimal(1)


@pytest.mark.parametrize(
    "body",
    [
        b'{"betId":"b","betAmount":"1","betAmount":"2"}',
        b'{"betId":"b","betAmount":"1","betAmount" : "2"}',
        b'{"betId":"b","betAmount":"1","extra":{"a":1,"a":2}}',
        b'{"betId":"b","betAmount":"1","x":1,"x":1}',
    ],
)
def test_a_key_given_twice_is_refused_anywhere_in_the_body(body):
    with pytest.raises(InvalidRequest, match="twice in one object"):
        parse_bet_request("pay-in", body, "s")


@pytest.mark.parametrize(
    "body, bet_id",
    [(b'{"betId":1.50,"betAmount":1}', "1.50"), (b'{"betId":1e3,"betAmount":1}', "1000"), (b'{"betId":-7}', "-7")],
)
def test_a_number_id_is_its_decimal_text(body, bet_id):
    endpoint = "refund" if b"betAmount" not in body else "pay-in"
    assert parse_bet_request(endpoint, body, "s").bet_id == bet_id


@pytest.mark.parametrize(
    "endpoint, body, message",
    [
        ("refund", b'{"betId":null}', "^betId is required$"),
        ("refund", b'{"betId":"b","gameRoundId":true}', "^gameRoundId must be a string, not a boolean$"),
        ("pay-in", b'{"betId":"b","betAmount":"1","sessionId":{}}', "^sessionId must be a string, not an object$"),
        ("pay-out", b'{"betId":"b","winAmount":"1","winOdd":"x"}', "^winOdd is not a decimal number: 'x'$"),
        ("pay-in-out", b'{"betId":"b","betAmount":"1"}', "^winAmount is required$"),
        ("pay-in", b'{"betId":"b","betAmount":[1]}', "^betAmount must be a number or a decimal string, not an array$"),
    ],
)
def test_each_field_is_named_in_its_error(endpoint, body, message):
    with pytest.raises(InvalidRequest, match=message):
        parse_bet_request(endpoint, body, "s")


def test_null_optional_fields_are_not_given():
    req = parse_bet_request("pay-out", b'{"betId":"b","winAmount":"1","gameRoundId":null,"sessionId":null}', "s")
    assert req.command == PayOut("b", Decimal(1), None, None) and req.unknown_fields == ()
    assert parse_bet_request("refund", b'{"betId":"b","gameRoundId":""}', "s").command == Refund("b", "")


@pytest.mark.parametrize(
    "body, message",
    [
        (b'{"betId":"b","betAmount":"1","x\xff":1}', "body is not valid UTF-8"),  # an unknown key
        (b'{"betId":"b","betAmount":"1","x":"\xff"}', "body is not valid UTF-8"),  # an unknown field's value
        (b'{"betId":"b","betAmount":"1","x":' + b"9" * 5000 + b"}", "body has a number out of range"),
        (b'{"betId":"b","betAmount":"1","x":' + b"[" * 5000 + b"]" * 5000 + b"}", "body is nested too deeply"),
    ],
)
def test_unknown_fields_are_read_as_strictly_as_known_ones(body, message):
    with pytest.raises(InvalidRequest, match=message):
        parse_bet_request("pay-in", body, "s")


@pytest.mark.parametrize(
    "body",
    [
        # colons in strings cannot stand in for the key given twice: strings only ever add colons
        b'{"betId" :"a","betId":"b","x" :"\\":","betAmount":1}',
        b'{"betId":"a","bet\\u0049d":"b","betAmount":1}',
        b'{"betId":"a","betAmount":1,"x":{"a:":1,"a":2,"a" :3}}',
        b'{"betId":"a","betAmount":1,"x":[{"k":1},{"k":1,"k\\u0020":2,"k":3}]}',
    ],
)
def test_a_key_given_twice_is_refused_however_the_colons_add_up(body):
    with pytest.raises(InvalidRequest, match="twice in one object"):
        parse_bet_request("pay-in", body, "s")


def test_a_key_given_twice_is_refused_in_a_body_nested_as_deep_as_it_is_read():
    def body(depth: int, twice: bool) -> bytes:
        head = b'{"betId":"a","betId":"b",' if twice else b'{"betId":"b",'
        return head + b'"betAmount":1,"x":' + b"[" * depth + b"]" * depth + b"}"

    def readable(depth: int) -> bool:
        try:
            parse_bet_request("pay-in", body(depth, twice=False), "s")
        except InvalidRequest:
            return False
        return True

    low, high = 1, 5000  # the deepest body still read, found by bisection: it depends on the stack in use
    assert readable(low) and not readable(high)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if readable(middle) else (low, middle)
    for depth in (low, low - 5, low - 20):
        with pytest.raises(InvalidRequest, match="twice in one object"):
            parse_bet_request("pay-in", body(depth, twice=True), "s")
