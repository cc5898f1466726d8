"""A catalogue of malformed requests: each gets the right code and a message naming the problem,
and the wallet is left exactly as it was."""

import time
from dataclasses import dataclass, field

import pytest

from betcore_sandbox.signing import signed_headers

from .conftest import CP, SECRET, Admin, assert_no_failure


@dataclass
class Case:
    name: str
    body: bytes | None
    status: int
    code: int
    message: str
    endpoint: str = "pay-in"
    session: str = "session-eur"
    headers: dict = field(default_factory=dict)
    drop: tuple = ()
    counterparty: str = CP
    secret: str = SECRET
    timestamp: int | None = None
    settings: dict = field(default_factory=dict)


NOW = None  # filled per test so the catalogue is not tied to import time

CASES = [
    Case("invalid JSON", b'{"betId": "b", "betAmount":', 400, 2, "not valid JSON"),
    Case("empty body", b"", 400, 2, "body is empty"),
    Case("array body", b'[{"betId":"b"}]', 400, 2, "must be a JSON object, not an array"),
    Case("string body", b'"hello"', 400, 2, "must be a JSON object, not a string"),
    Case("NaN literal", b'{"betId":"b","betAmount":NaN}', 400, 2, "not valid JSON"),
    Case("NaN string", b'{"betId":"b","betAmount":"NaN"}', 400, 2, "betAmount is not a decimal number"),
    Case("Infinity string", b'{"betId":"b","betAmount":"Infinity"}', 400, 2, "betAmount is not a decimal"),
    Case(
        "boolean amount",
        b'{"betId":"b","betAmount":true}',
        400,
        2,
        "betAmount must be a number or a decimal string, not a boolean",
    ),
    Case(
        "null amount",
        b'{"betId":"b","betAmount":null}',
        400,
        2,
        "betAmount must be a number or a decimal string, not null",
    ),
    Case("array amount", b'{"betId":"b","betAmount":[1]}', 400, 2, "not an array"),
    Case("negative stake", b'{"betId":"b","betAmount":-1.00}', 400, 2, "betAmount must not be negative"),
    Case("negative string stake", b'{"betId":"b","betAmount":"-0.50"}', 400, 2, "must not be negative"),
    Case(
        "zero stake, under zeroStake reject",
        b'{"betId":"b","betAmount":"0.00"}',
        400,
        2,
        "betAmount must be greater than 0",
        settings={"zeroStake": "reject"},
    ),
    Case("too many decimals", b'{"betId":"b","betAmount":1.005}', 400, 2, "1.005 has more than 2 decimal places"),
    Case(
        "too many BTC decimals",
        b'{"betId":"b","betAmount":"0.000000001"}',
        400,
        2,
        "more than 8 decimal",
        session="session-btc",
    ),
    Case("huge number", b'{"betId":"b","betAmount":1e15}', 400, 2, "more than 12 integer digits"),
    Case("huge string", b'{"betId":"b","betAmount":"1000000000000"}', 400, 2, "more than 12 integer digits"),
    Case(
        "exponent string, under amountNotation plain",
        b'{"betId":"b","betAmount":"1e2"}',
        400,
        2,
        "is in exponent notation",
        settings={"amountNotation": "plain"},
    ),
    Case(
        "exponent number, under amountNotation plain",
        b'{"betId":"b","betAmount":1e2}',
        400,
        2,
        "is in exponent notation",
        settings={"amountNotation": "plain"},
    ),
    Case("missing betId", b'{"betAmount":"1.00"}', 400, 2, "betId is required"),
    Case("empty betId", b'{"betId":"","betAmount":"1.00"}', 400, 2, "betId must not be empty"),
    Case("object betId", b'{"betId":{},"betAmount":"1.00"}', 400, 2, "betId must be a string, not an object"),
    Case("long betId", b'{"betId":"' + b"x" * 129 + b'","betAmount":"1"}', 400, 2, "longer than 128"),
    Case(
        "sessionId mismatch",
        b'{"betId":"b","betAmount":"1.00","sessionId":"session-usd"}',
        400,
        2,
        "sessionId 'session-usd' in the body does not match 'session-eur' in the path",
    ),
    Case(
        "missing winAmount", b'{"betId":"b","betAmount":"1.00"}', 400, 2, "winAmount is required", endpoint="pay-in-out"
    ),
    Case(
        "text winAmount",
        b'{"betId":"b","winAmount":"lots"}',
        400,
        2,
        "winAmount is not a decimal number",
        endpoint="pay-out",
    ),
    Case("invalid UTF-8", b'{"betId":"\xff\xfe","betAmount":"1"}', 400, 2, "not valid UTF-8"),
    Case(
        "oversized body",
        b'{"betId":"b","betAmount":"1.00","pad":"' + b"x" * 70_000 + b'"}',
        413,
        2,
        "over the 65536-byte limit",
    ),
    Case("missing X-Sign", b'{"betId":"b","betAmount":"1.00"}', 401, 8, "missing header X-Sign", drop=("X-Sign",)),
    Case(
        "missing X-Counterparty-Id",
        b'{"betId":"b","betAmount":"1.00"}',
        401,
        8,
        "missing header X-Counterparty-Id",
        drop=("X-Counterparty-Id",),
    ),
    Case(
        "missing X-Timestamp",
        b'{"betId":"b","betAmount":"1.00"}',
        401,
        8,
        "missing header X-Timestamp",
        drop=("X-Timestamp",),
    ),
    Case(
        "missing X-Request-Id",
        b'{"betId":"b","betAmount":"1.00"}',
        401,
        8,
        "missing header X-Request-Id",
        drop=("X-Request-Id",),
    ),
    Case(
        "bad signature",
        b'{"betId":"b","betAmount":"1.00"}',
        401,
        8,
        "X-Sign does not match",
        headers={"X-Sign": "0" * 64},
    ),
    Case("wrong secret", b'{"betId":"b","betAmount":"1.00"}', 401, 8, "X-Sign does not match", secret="nope"),
    Case(
        "non-integer timestamp",
        b'{"betId":"b","betAmount":"1.00"}',
        401,
        8,
        "X-Timestamp must be an integer of Unix epoch milliseconds",
        headers={"X-Timestamp": "12.5"},
    ),
    Case(
        "skewed timestamp",
        b'{"betId":"b","betAmount":"1.00"}',
        401,
        8,
        "ahead of the sandbox clock",
        timestamp=10 * 60 * 1000,
    ),
    Case("timestamp in seconds", b'{"betId":"b","betAmount":"1.00"}', 401, 8, "looks like seconds", timestamp=-1),
    Case(
        "unknown counterparty",
        b'{"betId":"b","betAmount":"1.00"}',
        401,
        8,
        "unknown counterparty 'acme'",
        counterparty="acme",
    ),
    Case(
        "another counterparty's session",
        b'{"betId":"b","betAmount":"1.00"}',
        200,
        3,
        "session 'session-other' belongs to another counterparty",
        session="session-other",
    ),
    Case("unknown session", b'{"betId":"b","betAmount":"1.00"}', 200, 3, "unknown session 'ghost'", session="ghost"),
]


def _timestamp(case: Case) -> int:
    now = time.time_ns() // 1_000_000
    if case.timestamp == -1:
        return now // 1000
    return now + (case.timestamp or 0)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_malformed_request(http, caplog, case):
    assert (await Admin(http).call("PATCH", "/settings", case.settings))[0] == 200
    before = await Admin(http).get("/players")
    path = f"/v1/sessions/{case.session}/bets/{case.endpoint}"
    headers = signed_headers(case.secret, case.counterparty, "POST", case.body or b"", timestamp_ms=_timestamp(case))
    headers.update(case.headers)
    for name in case.drop:
        del headers[name]
    response = await http.post(path, data=case.body, headers=headers)
    body = await response.json()
    assert (response.status, body["_responseCode"]) == (case.status, case.code), body
    assert case.message in body["message"]
    assert await Admin(http).get("/players") == before
    assert await Admin(http).get("/transactions") == [] and await Admin(http).get("/bets") == []
    assert_no_failure(caplog)


def test_the_catalogue_is_large_enough():
    assert len(CASES) >= 20


async def test_bad_get_headers_and_balance_untouched(http):
    headers = signed_headers(SECRET, CP, "GET")
    headers["X-Request-Id"] = "different-from-signed"
    response = await http.get("/v1/sessions/session-eur/balance", headers=headers)
    assert response.status == 401
    assert (await Admin(http).get("/players/player-eur"))["balance"] == "1000.00"


async def test_oversized_chunked_body_without_content_length_is_413(http):
    async def chunks():
        yield b'{"betId":"b","betAmount":"1.00","pad":"'
        for _ in range(70):
            yield b"x" * 1024
        yield b'"}'

    headers = signed_headers(SECRET, CP, "POST", b"")
    response = await http.post("/v1/sessions/session-eur/bets/pay-in", data=chunks(), headers=headers)
    assert response.request_info.headers.get("Transfer-Encoding") == "chunked"
    body = await response.json()
    assert (response.status, body["_responseCode"]) == (413, 2)
    assert "over the 65536-byte limit" in body["message"]
    assert await Admin(http).get("/transactions") == [] and await Admin(http).get("/bets") == []
