"""The provider-facing API through real HTTP: signatures, codes, envelopes and the wallet rules."""

import json
import time
from decimal import Decimal as D

import pytest

from betcore_sandbox.signing import signed_headers
from betcore_sandbox.wallet import Wallet
from betcore_sandbox.web.app import create_app

from .conftest import CP, OTHER_CP, OTHER_SECRET, SECRET, Admin, Provider, php_json, vectors


def vector_fixture(secret):
    return {
        "counterparties": [{"id": CP, "secret": secret}],
        "players": [{"id": "p", "currency": "EUR", "balance": "100.00"}],
        "sessions": [{"id": "sess-abc", "playerId": "p"}],
        "settings": {"timestampToleranceMs": 0},
    }


VECTOR_ENDPOINTS = {
    "balance-get": ("balance", 1),
    "pay-in-compact": ("pay-in", 1),
    "pay-in-spaced": ("pay-in", 1),
    "pay-out-docs-body": ("pay-out", 1),  # no pay-in before it: booked, as payOutWithoutBet accept says
    "refund-php-slashes": ("refund", 5),
    "pay-in-unicode": ("pay-in", 1),
    "base64-looking-secret": ("refund", 5),
}


@pytest.mark.parametrize("case", vectors(), ids=lambda c: c["name"])
@pytest.mark.parametrize("upper", [False, True], ids=["lower-hex", "upper-hex"])
async def test_every_signing_vector_is_accepted_over_http(aiohttp_client, make_state, case, upper):
    state = make_state(vector_fixture(case["secret"]))
    http = await aiohttp_client(create_app(state))
    endpoint, expected_code = VECTOR_ENDPOINTS[case["name"]]
    headers = {
        "X-Counterparty-Id": case["counterpartyId"],
        "X-Timestamp": case["timestamp"],
        "X-Request-Id": case["requestId"],
        "X-Sign": case["xSign"].upper() if upper else case["xSign"],
    }
    path = "/v1/sessions/sess-abc/" + ("balance" if endpoint == "balance" else f"bets/{endpoint}")
    body = case["body"].encode() if case["body"] is not None else None
    response = await http.request(case["method"], path, data=body, headers=headers)
    answer = await response.json()
    assert answer["_responseCode"] == expected_code, answer
    [entry] = await Admin(http).get("/requests")
    assert entry["signature"]["verdict"] == "valid"


async def test_a_tampered_vector_is_rejected_with_diagnostics(aiohttp_client, make_state):
    case = next(c for c in vectors() if c["name"] == "pay-in-spaced")
    state = make_state(vector_fixture(case["secret"]))
    http = await aiohttp_client(create_app(state))
    headers = {
        "X-Counterparty-Id": CP,
        "X-Timestamp": case["timestamp"],
        "X-Request-Id": case["requestId"],
        "X-Sign": case["xSign"],
    }
    compact = case["body"].replace(": ", ":").replace(", ", ",")
    response = await http.post("/v1/sessions/sess-abc/bets/pay-in", data=compact, headers=headers)
    assert response.status == 401
    answer = await response.json()
    assert answer["_responseCode"] == 8
    assert answer["_debug"]["receivedSign"] == case["xSign"]
    assert answer["_debug"]["stringToSign"].startswith(compact)
    assert "re-serialised" in answer["_debug"]["hints"][0]
    assert case["secret"] not in await response.text()
    assert (await Admin(http).get("/players/p"))["balance"] == "100.00"


@pytest.mark.parametrize("prefix", ["/v1", "/betongames-mediator-service/api/v1"])
async def test_both_prefixes_serve_every_endpoint(http, prefix):
    provider = Provider(http, prefix=prefix)
    assert await provider.balance() == D("1000.00")
    assert (await provider.pay_in("session-eur", "b1", "10.00"))["_responseCode"] == 1
    assert (await provider.pay_out("session-eur", "b1", "15.00"))["_responseCode"] == 1
    assert (await provider.pay_in_out("session-eur", "b2", "1.00", "0.50"))["_responseCode"] == 1
    assert (await provider.pay_in("session-eur", "b3", "2.00"))["_responseCode"] == 1
    assert (await provider.refund("session-eur", "b3"))["_responseCode"] == 1
    assert await provider.balance() == D("1004.50")


async def test_php_client_cycle_pay_in_pay_out(provider, admin):
    body = await provider.pay_in("session-eur", "php-1", "1.50", gameRoundId="round/1", sessionId="session-eur")
    assert body == {"_responseCode": 1, "transactionId": "1", "balance": D("998.50"), "currency": "EUR"}
    body = await provider.pay_out("session-eur", "php-1", "3.00", gameRoundId="round/1", winOdd="2")
    assert body == {"_responseCode": 1, "transactionId": "2", "balance": D("1001.50"), "currency": "EUR"}
    assert (await admin.get("/bets/php-1"))["gameRoundId"] == "round/1"  # the '\/' escape was decoded


async def test_php_client_retry_of_a_lost_pay_out_gets_code_1_with_the_original_transaction(provider):
    await provider.pay_in("session-eur", "r-1", "10.00")
    first = await provider.pay_out("session-eur", "r-1", "20.00")
    # the answer was lost: the client retries the same body with a new X-Request-Id; its PayOut path counts
    # only code 1 as success, so the default answers a pay-out repeat with code 1 (duplicateResponse replay)
    retry = await provider.pay_out("session-eur", "r-1", "20.00")
    assert retry["_responseCode"] == 1
    assert retry["transactionId"] == first["transactionId"]
    assert retry["balance"] == D("1010.00") == await provider.balance()


async def test_php_client_cycle_pay_in_out_and_refund(provider):
    assert (await provider.pay_in_out("session-eur", "pio", "5.00", "12.50"))["balance"] == D("1007.50")
    assert (await provider.pay_in("session-eur", "lost", "3.00"))["balance"] == D("1004.50")
    # no answer to the pay-in, nor to its retry: the client refunds
    refund = await provider.refund("session-eur", "lost")
    assert refund["_responseCode"] == 1 and refund["balance"] == D("1007.50")
    again = await provider.refund("session-eur", "lost")
    assert (again["_responseCode"], again["transactionId"]) == (1, refund["transactionId"])
    assert (await provider.refund("session-eur", "pio"))["balance"] == D("1000.00")


async def test_refund_overtaking_its_pay_in(provider):
    assert (await provider.refund("session-eur", "late"))["_responseCode"] == 5
    late = await provider.pay_in("session-eur", "late", "5.00")
    assert late["_responseCode"] == 6
    assert late["balance"] == D("1000.00")


async def test_every_response_code(http, provider, monkeypatch):
    assert (await provider.pay_in("session-eur", "b", "1.00"))["_responseCode"] == 1
    assert (await provider.pay_in("session-eur", "bad", "1.001"))["_responseCode"] == 2
    assert (await provider.pay_in("nope", "b", "1.00"))["_responseCode"] == 3
    assert (await provider.pay_in("session-broke", "b4", "1.00"))["_responseCode"] == 4
    assert (await provider.refund("session-eur", "never"))["_responseCode"] == 5
    assert (await provider.pay_in("session-eur", "b", "2.00"))["_responseCode"] == 6
    assert (await provider.pay_in("session-blocked", "b7", "1.00"))["_responseCode"] == 7
    status, body = await Provider(http, secret="wrong").send("balance", "session-eur")
    assert (status, body["_responseCode"]) == (401, 8)
    assert (await provider.pay_in("session-eur", "b", "1.00"))["_responseCode"] == 104

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    # A bug inside the wallet, simulated through its import path: no request can cause one.
    monkeypatch.setattr(Wallet, "pay_in", explode)
    status, body = await provider.send("pay-in", "session-eur", {"betId": "x", "betAmount": "1"})
    assert (status, body["_responseCode"]) == (500, 99)
    assert "boom" in body["message"]
    [entry] = await Admin(http).get("/requests?betId=x")
    assert "boom" in entry["error"]


async def test_http_statuses_follow_the_code_table(provider):
    assert (await provider.send("pay-in", "session-eur", {"betId": "x", "betAmount": "-1"}))[0] == 400
    for session, bet in [("nope", "a"), ("session-broke", "b"), ("session-blocked", "c")]:
        assert (await provider.send("pay-in", session, {"betId": bet, "betAmount": "1"}))[0] == 200


async def test_response_codes_are_overridable_per_fixture(aiohttp_client, make_state, default_fixture):
    data = json.loads(await _default_fixture_json())
    data["responseCodes"] = {"insufficient_funds": 40, "already_processed": 1}
    http = await aiohttp_client(create_app(make_state(data)))
    provider = Provider(http)
    assert (await provider.pay_in("session-broke", "b4", "1.00"))["_responseCode"] == 40
    await provider.pay_in("session-eur", "b", "1.00")
    assert (await provider.pay_in("session-eur", "b", "1.00"))["_responseCode"] == 1


async def _default_fixture_json():
    from betcore_sandbox.fixtures import default_fixture_bytes

    return default_fixture_bytes()


async def test_replay_mode_answers_code_1_with_the_original_transaction_and_the_current_balance(
    aiohttp_client, make_state
):
    http = await aiohttp_client(create_app(make_state(duplicateResponse="replay")))
    provider = Provider(http)
    _, first = await provider.send("pay-in", "session-eur", {"betId": "b", "betAmount": "1.00"})
    await provider.pay_in("session-eur", "other", "5.00")
    again = await provider.send("pay-in", "session-eur", {"betId": "b", "betAmount": "1.00"})
    assert again == (200, {**first, "balance": D("994.00")})


async def test_error_bodies_carry_the_balance_where_the_session_is_known(http, provider):
    body = await provider.pay_in("session-broke", "b", "1.00")
    assert body["balance"] == D("0.00") and body["currency"] == "EUR" and "above the balance" in body["message"]
    body = await provider.pay_in("session-eur", "b", "1.001")
    assert body["balance"] == D("1000.00")
    body = await provider.pay_in("nope", "b", "1.00")
    assert "balance" not in body and body["message"] == "unknown session 'nope'"
    _, body = await Provider(http, secret="wrong").send("balance", "session-eur")
    assert "balance" not in body


async def test_balances_are_exact_numbers_in_the_currency_minor_units(http, provider):
    response = await http.get("/v1/sessions/session-btc/balance", headers=signed_headers(SECRET, CP, "GET"))
    assert await response.text() == '{"_responseCode":1,"balance":0.05000000,"currency":"BTC"}'
    assert (await provider.pay_in("session-btc", "sat", "0.00000100"))["balance"] == D("0.04999900")


async def test_exact_sequences_of_tenths_over_http(provider):
    for i in range(3):
        await provider.pay_in("session-eur", f"t{i}", "0.10")
    await provider.send("pay-in", "session-eur", b'{"betId":"n1","betAmount":0.1}')
    body = await provider.send("pay-in", "session-eur", b'{"betId":"n2","betAmount":0.2}')
    assert body[1]["balance"] == D("999.40")
    await provider.send("pay-out", "session-eur", b'{"betId":"n1","winAmount":0.3}')
    assert await provider.balance() == D("999.70")


async def test_expired_session_refuses_stakes_but_settles(provider, admin):
    await admin.call("PATCH", "/sessions/session-expired", {"status": "active"})  # lifts its expiry
    await provider.pay_in("session-expired", "e1", "5.00")
    await provider.pay_in("session-expired", "e2", "5.00")
    await admin.call("PATCH", "/sessions/session-expired", {"status": "expired"})
    assert (await provider.send("balance", "session-expired"))[1]["_responseCode"] == 3
    assert (await provider.pay_in("session-expired", "e3", "5.00"))["_responseCode"] == 3
    assert (await provider.pay_in_out("session-expired", "e4", "5.00", "1.00"))["_responseCode"] == 3
    assert (await provider.pay_out("session-expired", "e1", "7.00"))["_responseCode"] == 1
    assert (await provider.refund("session-expired", "e2"))["balance"] == D("1002.00")


async def test_unknown_fields_are_accepted_and_journaled(provider, admin):
    body = await provider.pay_in("session-eur", "u", "1.00", currency="EUR", platform="web")
    assert body["_responseCode"] == 1
    [entry] = await admin.get("/requests?betId=u")
    assert entry["unknownFields"] == ["currency", "platform"]


async def test_replayed_request_id_is_rejected_unless_turned_off(http, provider):
    raw = php_json({"betId": "b", "betAmount": "1.00"})
    headers = signed_headers(SECRET, CP, "POST", raw)
    first = await http.post("/v1/sessions/session-eur/bets/pay-in", data=raw, headers=headers)
    assert (await first.json())["_responseCode"] == 1
    again = await http.post("/v1/sessions/session-eur/bets/pay-in", data=raw, headers=headers)
    assert again.status == 401
    assert "already used" in (await again.json())["message"]
    assert (await Admin(http).call("PATCH", "/settings", {"rejectReplayedRequestIds": False}))[0] == 200
    third = await http.post("/v1/sessions/session-eur/bets/pay-in", data=raw, headers=headers)
    assert (await third.json())["_responseCode"] == 104


async def test_request_ids_are_per_counterparty(http):
    headers = signed_headers(SECRET, CP, "GET", request_id="shared-id")
    other = signed_headers(OTHER_SECRET, OTHER_CP, "GET", request_id="shared-id")
    assert (await (await http.get("/v1/sessions/session-eur/balance", headers=headers)).json())["_responseCode"] == 1
    assert (await (await http.get("/v1/sessions/session-other/balance", headers=other)).json())["_responseCode"] == 1


async def test_timestamp_tolerance(http):
    now = time.time_ns() // 1_000_000
    for skew, code in [(-299_000, 1), (301_000, 8), (-301_000, 8)]:
        headers = signed_headers(SECRET, CP, "GET", timestamp_ms=now + skew)
        body = await (await http.get("/v1/sessions/session-eur/balance", headers=headers)).json()
        assert body["_responseCode"] == code, (skew, body)
    seconds = signed_headers(SECRET, CP, "GET", timestamp_ms=now // 1000)
    body = await (await http.get("/v1/sessions/session-eur/balance", headers=seconds)).json()
    assert "looks like seconds" in body["message"]
    assert (await Admin(http).call("PATCH", "/settings", {"timestampToleranceMs": 0}))[0] == 200
    old = signed_headers(SECRET, CP, "GET", timestamp_ms=1)
    assert (await (await http.get("/v1/sessions/session-eur/balance", headers=old)).json())["_responseCode"] == 1


async def test_signature_diagnostics_can_be_turned_off_but_are_always_journaled(http):
    assert (await Admin(http).call("PATCH", "/settings", {"explainSignatures": False}))[0] == 200
    headers = signed_headers("wrong", CP, "GET")
    body = await (await http.get("/v1/sessions/session-eur/balance", headers=headers)).json()
    assert body["_responseCode"] == 8 and "_debug" not in body
    [entry] = await Admin(http).get("/requests")
    assert entry["signature"]["verdict"] == "invalid"
    assert entry["signature"]["debug"]["receivedSign"] == headers["X-Sign"]


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/v1/sessions/session-eur/balanse"),
        ("POST", "/v2/x"),
        ("GET", "/api/v1/sessions/session-eur/bets/pay-in"),
        ("PUT", "/"),
    ],
)
async def test_unknown_endpoints_get_a_json_404_that_lists_the_real_ones(http, method, path):
    response = await http.request(method, path)
    assert response.status == 404
    body = await response.json()
    assert body["_responseCode"] == 2
    assert f"no endpoint {method} {path}" in body["message"]
    assert "POST /v1/sessions/{sessionId}/bets/pay-out" in body["message"]


async def test_unknown_admin_routes_stay_admin_404s(admin):
    status, body = await admin.call("GET", "/nope")
    assert status == 404 and body == {"error": "no admin route GET /__admin/nope"}
    status, body = await admin.call("PUT", "/players")
    assert status == 405 and "no admin route PUT /__admin/players" in body["error"]
