"""What the real PHP provider client sends, byte for byte: it must succeed under the default settings, and each
strict setting must bring back the stricter answer (so a team that knows better can ask for it).

Bodies are written as PHP's json_encode writes them: compact, '/' escaped as '\\/', amounts as strings.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal as D
from typing import Any

import pytest

from betcore_sandbox.signing import signed_headers
from betcore_sandbox.web.app import create_app

from .conftest import CP, SECRET, Admin, Provider

SESSION = "sess-prod-eur"
BTC_SESSION = "sess-prod-btc"
FIXTURE = {
    "counterparties": [{"id": CP, "secret": SECRET, "name": "PHP game server"}],
    "players": [
        {"id": "p-eur", "currency": "EUR", "balance": "100.00"},
        {"id": "p-btc", "currency": "BTC", "balance": "0.01000000"},
    ],
    "sessions": [
        {"id": SESSION, "playerId": "p-eur", "minBet": "0.10", "maxBet": "50.00"},
        {"id": BTC_SESSION, "playerId": "p-btc"},
    ],
}
BET = "52db2c1e-8f0f-4f0e-9d61-6e0a2f3d9c11"
ROUND = "d3c7a9e0/11b2/4c55"  # with '/': json_encode sends it as '\/', and the signature covers those bytes


def php(endpoint: str, **fields: Any) -> bytes:
    """The exact bytes the client sends for an endpoint (its key order, json_encode's escapes)."""
    return json.dumps(fields, separators=(",", ":")).replace("/", "\\/").encode()


PAY_IN = php("pay-in", betAmount="1.50", betId=BET, gameRoundId=ROUND, sessionId=SESSION)
PAY_OUT = (
    b'{"betId":"'
    + BET.encode()
    + b'","gameRoundId":"'
    + ROUND.replace("/", "\\/").encode()
    + b'","sessionId":"sess-prod-eur","winAmount":"3","winOdd":3}'
)  # the body from the finding, as sent


@pytest.fixture
def make_sandbox(aiohttp_client, make_state):
    async def make(**settings: Any) -> tuple[Provider, Admin, Any]:
        state = make_state(FIXTURE, **settings)
        http = await aiohttp_client(create_app(state))
        return Provider(http), Admin(http), state

    return make


async def send(provider: Provider, endpoint: str, raw: bytes, session: str = SESSION) -> dict[str, Any]:
    status, body = await provider.send(endpoint, session, raw)
    assert status in (200, 400), body
    return body


async def audit_is_clean(admin: Admin) -> None:
    report = await admin.get("/audit")
    assert report["ok"], report["violations"]


async def warnings_of(admin: Admin, endpoint: str) -> list[str]:
    entries = await admin.get(f"/requests?endpoint={endpoint}")
    return entries[-1]["warnings"]


# -- 1. a repeated PayOut / Refund after a lost answer -------------------------------------------------------------


@pytest.mark.parametrize("lost", ["http_error", "connection_reset", "timeout"])
async def test_pay_out_retried_after_a_lost_answer_gets_code_1_and_pays_once(make_sandbox, lost):
    provider, admin, _ = await make_sandbox()
    assert (await send(provider, "pay-in", PAY_IN))["_responseCode"] == 1
    await admin.fault(endpoint="pay-out", kind=lost, phase="after", **({"delayMs": 50} if lost == "timeout" else {}))
    try:
        first = await send(provider, "pay-out", PAY_OUT)
        assert first["_responseCode"] == 99
    except Exception:  # a reset or a timeout: no answer at all
        pass
    retry = await send(provider, "pay-out", PAY_OUT)  # same bytes, new X-Request-Id
    assert retry == {"_responseCode": 1, "transactionId": "2", "balance": D("101.50"), "currency": "EUR"}
    assert await provider.balance(SESSION) == D("101.50")
    await audit_is_clean(admin)


async def test_pay_out_repeat_is_104_under_duplicate_response_code(make_sandbox):
    provider, _, _ = await make_sandbox(duplicateResponse="code")
    await send(provider, "pay-in", PAY_IN)
    await send(provider, "pay-out", PAY_OUT)
    retry = await send(provider, "pay-out", PAY_OUT)
    assert (retry["_responseCode"], retry["transactionId"], retry["balance"]) == (104, "2", D("101.50"))


ENDPOINT_CALLS = {
    "pay-in": [("pay-in", PAY_IN)],
    "pay-in-out": [("pay-in-out", php("pay-in-out", betAmount="1.00", betId=BET, winAmount="2.50", sessionId=SESSION))],
    "pay-out": [("pay-in", PAY_IN), ("pay-out", PAY_OUT)],
    "refund": [("pay-in", PAY_IN), ("refund", php("refund", betId=BET, sessionId=SESSION))],
}
DEFAULT_MODES = {"pay-in": "code", "pay-in-out": "code", "pay-out": "replay", "refund": "replay"}


@pytest.mark.parametrize("endpoint", ENDPOINT_CALLS)
@pytest.mark.parametrize("mode", ["default", "code", "replay", "per-endpoint"])
async def test_duplicate_answer_per_endpoint(make_sandbox, endpoint, mode):
    if mode == "default":
        provider, admin, _ = await make_sandbox()
        expected_mode = DEFAULT_MODES[endpoint]
    elif mode == "per-endpoint":  # the opposite of the default, for this endpoint only
        expected_mode = "code" if DEFAULT_MODES[endpoint] == "replay" else "replay"
        provider, admin, _ = await make_sandbox(duplicateResponse={endpoint: expected_mode})
    else:
        provider, admin, _ = await make_sandbox(duplicateResponse=mode)
        expected_mode = mode
    for name, raw in ENDPOINT_CALLS[endpoint]:
        first = await send(provider, name, raw)
        assert first["_responseCode"] == 1
    # something else moves the balance before the repeat: a repeat answers with today's balance
    await send(provider, "pay-in", php("pay-in", betAmount="5.00", betId="other", sessionId=SESSION))
    name, raw = ENDPOINT_CALLS[endpoint][-1]
    repeat = await send(provider, name, raw)
    balance = await provider.balance(SESSION)
    assert repeat["transactionId"] == first["transactionId"] and repeat["balance"] == balance
    assert repeat["_responseCode"] == (104 if expected_mode == "code" else 1)
    assert ("message" in repeat) == (expected_mode == "code")
    await audit_is_clean(admin)


async def test_duplicate_response_per_endpoint_through_the_admin_api(make_sandbox):
    provider, admin, _ = await make_sandbox()
    status, settings = await admin.call("PATCH", "/settings", {"duplicateResponse": {"pay-in": "replay"}})
    assert status == 200
    assert settings["duplicateResponse"] == {**DEFAULT_MODES, "pay-in": "replay"}
    await send(provider, "pay-in", PAY_IN)
    assert (await send(provider, "pay-in", PAY_IN))["_responseCode"] == 1
    for bad in ({"pay-in": "echo"}, {"payin": "code"}, "echo", 1):
        status, body = await admin.call("PATCH", "/settings", {"duplicateResponse": bad})
        assert status == 400 and "duplicateResponse" in body["error"]
    assert (await admin.get("/settings"))["duplicateResponse"] == {**DEFAULT_MODES, "pay-in": "replay"}


# -- 2. amounts in exponent notation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"betAmount":"5.0E-5","betId":"tiny","gameRoundId":"r","sessionId":"sess-prod-btc"}',
        b'{"betAmount":5e-05,"betId":"tiny","gameRoundId":"r","sessionId":"sess-prod-btc"}',
    ],
    ids=["string", "number"],
)
async def test_exponent_notation_is_read_exactly_by_default(make_sandbox, raw):
    provider, admin, _ = await make_sandbox()
    answer = await send(provider, "pay-in", raw, BTC_SESSION)
    assert (answer["_responseCode"], answer["balance"]) == (1, D("0.00995000"))
    assert (await admin.get("/bets/tiny"))["stake"] == "0.00005000"
    [warning] = await warnings_of(admin, "pay-in")
    assert warning.startswith("amountNotation:")
    await audit_is_clean(admin)


async def test_exponent_notation_still_has_to_fit_the_currency(make_sandbox):
    provider, admin, _ = await make_sandbox()
    answer = await send(provider, "pay-in", b'{"betAmount":"5.0E-9","betId":"x"}', BTC_SESSION)
    assert answer["_responseCode"] == 2 and "more than 8 decimal places" in answer["message"]
    assert await admin.get("/transactions") == []


async def test_exponent_notation_is_refused_under_amount_notation_plain(make_sandbox):
    provider, admin, _ = await make_sandbox(amountNotation="plain")
    answer = await send(provider, "pay-in", b'{"betAmount":"5.0E-5","betId":"tiny"}', BTC_SESSION)
    assert answer["_responseCode"] == 2
    assert "betAmount is in exponent notation" in answer["message"] and "amountNotation" in answer["message"]
    assert await admin.get("/transactions") == []


# -- 3. zero stake ---------------------------------------------------------------------------------------------------

FREE_ROUND = php("pay-in-out", betAmount="0", betId="free-1", gameRoundId=ROUND, sessionId=SESSION, winAmount="4.20")


async def test_a_free_round_with_zero_stake_is_a_normal_bet_by_default(make_sandbox):
    provider, admin, _ = await make_sandbox()
    answer = await send(provider, "pay-in-out", FREE_ROUND)
    assert (answer["_responseCode"], answer["balance"]) == (1, D("104.20"))  # not held to minBet 0.10
    assert (await warnings_of(admin, "pay-in-out"))[0].startswith("zeroStake:")
    zero_pay_in = php("pay-in", betAmount="0.00", betId="free-2", sessionId=SESSION)
    assert (await send(provider, "pay-in", zero_pay_in))["_responseCode"] == 1
    assert (await send(provider, "pay-out", php("pay-out", betId="free-2", winAmount="1.00")))["_responseCode"] == 1
    assert await provider.balance(SESSION) == D("105.20")
    await audit_is_clean(admin)


async def test_zero_stake_is_refused_under_zero_stake_reject(make_sandbox):
    provider, admin, _ = await make_sandbox(zeroStake="reject")
    answer = await send(provider, "pay-in-out", FREE_ROUND)
    assert answer["_responseCode"] == 2 and "betAmount must be greater than 0" in answer["message"]
    assert await admin.get("/transactions") == []


# -- 4. a PayOut with no PayIn (the client's jackpot path) -----------------------------------------------------------

JACKPOT = php("pay-out", betId="jackpot-7", gameRoundId=ROUND, sessionId=SESSION, winAmount="250.00")


async def test_pay_out_without_a_pay_in_is_booked_by_default(make_sandbox):
    provider, admin, _ = await make_sandbox()
    answer = await send(provider, "pay-out", JACKPOT)
    assert (answer["_responseCode"], answer["balance"]) == (1, D("350.00"))
    bet = await admin.get("/bets/jackpot-7")
    assert (bet["kind"], bet["stake"], bet["status"], bet["win"]) == ("pay-out", "0.00", "settled", "250.00")
    assert (await warnings_of(admin, "pay-out"))[0].startswith("payOutWithoutBet:")
    assert (await send(provider, "pay-out", JACKPOT))["transactionId"] == answer["transactionId"]  # a retry
    assert await provider.balance(SESSION) == D("350.00")
    await audit_is_clean(admin)


async def test_pay_out_without_a_pay_in_is_5_under_pay_out_without_bet_reject(make_sandbox):
    provider, admin, _ = await make_sandbox(payOutWithoutBet="reject")
    assert (await send(provider, "pay-out", JACKPOT))["_responseCode"] == 5
    assert await admin.get("/transactions") == []


# -- 5. follow-up PayOuts --------------------------------------------------------------------------------------------

PAY_IN_OUT = php("pay-in-out", betAmount="1.00", betId="spin-1", gameRoundId=ROUND, sessionId=SESSION, winAmount="0.50")
FOLLOW_UP = php("pay-out", betId="spin-1", gameRoundId=ROUND, sessionId=SESSION, winAmount="7.00", winOdd="7")


async def test_a_pay_out_after_a_pay_in_out_credits_the_extra_win_by_default(make_sandbox):
    provider, admin, _ = await make_sandbox()
    assert (await send(provider, "pay-in-out", PAY_IN_OUT))["balance"] == D("99.50")
    answer = await send(provider, "pay-out", FOLLOW_UP)
    assert (answer["_responseCode"], answer["balance"]) == (1, D("106.50"))
    assert (await warnings_of(admin, "pay-out"))[0].startswith("payOutAfterPayInOut:")
    repeat = await send(provider, "pay-out", FOLLOW_UP)  # still a duplicate, not a third credit
    assert (repeat["transactionId"], repeat["balance"]) == (answer["transactionId"], D("106.50"))
    bet = await admin.get("/bets/spin-1")
    assert bet["win"] == "7.50" and [h["operation"] for h in bet["history"]] == ["pay-in-out", "pay-out"]
    await audit_is_clean(admin)


async def test_a_pay_out_after_a_pay_in_out_is_6_under_pay_out_after_pay_in_out_conflict(make_sandbox):
    provider, admin, _ = await make_sandbox(payOutAfterPayInOut="conflict")
    await send(provider, "pay-in-out", PAY_IN_OUT)
    assert (await send(provider, "pay-out", FOLLOW_UP))["_responseCode"] == 6
    assert len(await admin.get("/transactions")) == 2


async def test_additional_pay_outs_with_other_data_are_6_unless_allowed(make_sandbox):
    provider, admin, _ = await make_sandbox()
    await send(provider, "pay-in", PAY_IN)
    await send(provider, "pay-out", PAY_OUT)
    second = php("pay-out", betId=BET, gameRoundId=ROUND, sessionId=SESSION, winAmount="1.25")
    assert (await send(provider, "pay-out", second))["_responseCode"] == 6
    await admin.call("PATCH", "/settings", {"additionalPayOuts": "additional"})
    answer = await send(provider, "pay-out", second)
    assert (answer["_responseCode"], answer["balance"]) == (1, D("102.75"))
    assert (await warnings_of(admin, "pay-out"))[0].startswith("additionalPayOuts:")
    await audit_is_clean(admin)


async def test_no_warning_when_no_lenient_rule_was_needed(make_sandbox):
    provider, admin, _ = await make_sandbox()
    await send(provider, "pay-in", PAY_IN)
    await send(provider, "pay-out", PAY_OUT)
    assert all(entry["warnings"] == [] for entry in await admin.get("/requests"))


# -- every new setting through the admin API and the fixture file ----------------------------------------------------

STRICT = {  # setting: (its strict value, a request it refuses, the answer, what to send first)
    "amountNotation": ("plain", "pay-in", b'{"betAmount":"5.0E-1","betId":"n"}', 2, []),
    "zeroStake": ("reject", "pay-in-out", FREE_ROUND, 2, []),
    "payOutWithoutBet": ("reject", "pay-out", JACKPOT, 5, []),
    "payOutAfterPayInOut": ("conflict", "pay-out", FOLLOW_UP, 6, [("pay-in-out", PAY_IN_OUT)]),
    "additionalPayOuts": (
        "additional",
        "pay-out",
        php("pay-out", betId=BET, winAmount="1.25"),
        1,
        [("pay-in", PAY_IN), ("pay-out", PAY_OUT)],
    ),  # lenient when set: credits again
}
DEFAULTS = {
    "amountNotation": "any",
    "zeroStake": "accept",
    "payOutWithoutBet": "accept",
    "payOutAfterPayInOut": "additional",
    "additionalPayOuts": "conflict",
}


@pytest.mark.parametrize("setting", STRICT)
@pytest.mark.parametrize("where", ["admin", "fixture"])
async def test_each_setting_works_from_the_admin_api_and_the_fixture_file(aiohttp_client, make_state, setting, where):
    value, endpoint, raw, code, first = STRICT[setting]
    fixture = {**FIXTURE, "settings": {setting: value}} if where == "fixture" else FIXTURE
    state = make_state(fixture)
    http = await aiohttp_client(create_app(state))
    if where == "admin":
        status, changed = await Admin(http).call("PATCH", "/settings", {setting: value})
        assert status == 200 and changed[setting] == value
    for name, body in first:
        assert (await send(Provider(http), name, body))["_responseCode"] == 1
    assert (await send(Provider(http), endpoint, raw))["_responseCode"] == code
    await Admin(http).call("POST", "/reset")  # reset returns to the start-up settings
    expected = value if where == "fixture" else DEFAULTS[setting]
    assert (await Admin(http).get("/settings"))[setting] == expected


@pytest.mark.parametrize(
    "setting", ["amountNotation", "zeroStake", "payOutWithoutBet", "payOutAfterPayInOut", "additionalPayOuts"]
)
async def test_bad_values_are_refused_naming_the_setting(admin, setting):
    status, body = await admin.call("PATCH", "/settings", {setting: "maybe"})
    assert status == 400 and body["error"].startswith(f"$.{setting}: must be one of")


# -- the journal keeps header names as sent ---------------------------------------------------------------------------


async def test_the_journal_keeps_header_names_as_sent_in_order_with_duplicates(http, state):
    headers = signed_headers(SECRET, CP, "GET", b"")
    lines = [
        b"GET /v1/sessions/session-eur/balance HTTP/1.1",
        b"Host: sandbox",
        b"Content-type: text/plain",
        *(f"{name.lower() if name == 'X-Sign' else name}: {value}".encode() for name, value in headers.items()),
        b"X-Trace: one",
        b"x-trace: two",
        b"Connection: close",
    ]
    reader, writer = await asyncio.open_connection(http.server.host, http.server.port)
    writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
    answer = await reader.read()
    writer.close()
    assert b'"_responseCode":1' in answer
    [entry] = await Admin(http).get("/requests")
    names = [name for name, _ in entry["headers"]]
    assert names == [
        "Host",
        "Content-type",
        "X-Counterparty-Id",
        "X-Timestamp",
        "X-Request-Id",
        "x-sign",
        "X-Trace",
        "x-trace",
        "Connection",
    ]
    assert ["x-trace", "two"] in entry["headers"]


def test_python_api_header_lookups_stay_case_insensitive():
    import urllib.request

    from betcore_sandbox import Sandbox

    with Sandbox() as sandbox:
        request = urllib.request.Request(
            f"{sandbox.url}/sessions/session-eur/balance", headers={**sandbox.signed_headers("GET"), "X-Trace": "1"}
        )
        urllib.request.urlopen(request).read()
        [entry] = sandbox.requests()
        assert entry["headers"]["x-counterparty-id"] == sandbox.counterparty_id
        assert entry["headers"]["X-TRACE"] == "1"
        assert "X-Counterparty-Id" in list(entry["headers"].keys())


async def test_a_duplicate_response_object_changes_only_the_endpoints_it_names(admin):
    await admin.call("PATCH", "/settings", {"duplicateResponse": "replay"})
    status, settings = await admin.call("PATCH", "/settings", {"duplicateResponse": {"pay-out": "code"}})
    assert status == 200
    assert settings["duplicateResponse"] == {
        "pay-in": "replay",
        "pay-in-out": "replay",
        "pay-out": "code",
        "refund": "replay",
    }
    status, body = await admin.call("PATCH", "/settings", {"zeroStake": "reject", "zero_stake": "accept"})
    assert status == 400 and "given twice" in body["error"]


def test_the_marker_sets_each_compatibility_setting_and_the_sandbox_follows_it(pytester):
    pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\naddopts = -p no:cacheprovider\n"
        "filterwarnings = error\n"
    )
    pytester.makepyfile(
        test_marked="""
import json
import urllib.request

import pytest


def send(sandbox, endpoint, body):
    raw = json.dumps(body).encode()
    request = urllib.request.Request(f"{sandbox.url}/sessions/session-eur/bets/{endpoint}", data=raw,
                                     headers=sandbox.signed_headers("POST", raw))
    try:
        return json.loads(urllib.request.urlopen(request).read())["_responseCode"]
    except urllib.error.HTTPError as error:
        return json.loads(error.read())["_responseCode"]


@pytest.mark.betcore_sandbox(pay_out_without_bet="reject", zeroStake="reject", amount_notation="plain",
                             payOutAfterPayInOut="conflict", duplicate_response={"pay-out": "code"})
def test_strict(betcore_sandbox):
    assert send(betcore_sandbox, "pay-out", {"betId": "jackpot", "winAmount": "5.00"}) == 5
    assert send(betcore_sandbox, "pay-in", {"betId": "free", "betAmount": "0"}) == 2
    assert send(betcore_sandbox, "pay-in", {"betId": "tiny", "betAmount": "5.0E-1"}) == 2
    assert send(betcore_sandbox, "pay-in-out", {"betId": "s", "betAmount": "1.00", "winAmount": "2.00"}) == 1
    assert send(betcore_sandbox, "pay-out", {"betId": "s", "winAmount": "3.00"}) == 6
    assert send(betcore_sandbox, "pay-in", {"betId": "p", "betAmount": "1.00"}) == 1
    assert send(betcore_sandbox, "pay-out", {"betId": "p", "winAmount": "1.00"}) == 1
    assert send(betcore_sandbox, "pay-out", {"betId": "p", "winAmount": "1.00"}) == 104


@pytest.mark.betcore_sandbox(additional_pay_outs="additional")
def test_lenient(betcore_sandbox):
    assert send(betcore_sandbox, "pay-in", {"betId": "p", "betAmount": "1.00"}) == 1
    assert send(betcore_sandbox, "pay-out", {"betId": "p", "winAmount": "1.00"}) == 1
    assert send(betcore_sandbox, "pay-out", {"betId": "p", "winAmount": "2.00"}) == 1
    assert betcore_sandbox.balance("session-eur") == 1002
"""
    )
    pytester.runpytest().assert_outcomes(passed=2)
