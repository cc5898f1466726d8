"""Rough edges of faults and inputs, as a client of the HTTP API meets them: what a rule lists, the shape of an
injected malformed body, empty bodies, keys given twice, a byte order mark, the GBP session."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from datetime import datetime
from decimal import Decimal as D

import pytest

from betcore_sandbox import Sandbox
from betcore_sandbox.fixtures import FixtureError, load_fixture, parse_fixture
from betcore_sandbox.signing import signed_headers

from .conftest import CP, SECRET

# What each kind lists of what it does: nothing else of status / responseCode / delayMs.
OWN_FIELDS = {
    "http_error": {"status": 502},
    "response_code": {"responseCode": 9},
    "delay": {"delayMs": 10},
    "timeout": {"delayMs": 20},
    "insufficient_funds": {},
    "connection_reset": {},
    "empty_response": {},
    "malformed_body": {},
}


@pytest.mark.parametrize("kind", OWN_FIELDS)
async def test_a_rule_lists_only_the_fields_of_its_kind(admin, kind):
    rule = await admin.fault(kind=kind, **OWN_FIELDS[kind])
    listed = (await admin.get("/faults"))[0]
    for shown in (rule, listed, await admin.get(f"/faults/{rule['id']}")):
        assert {k: shown[k] for k in ("status", "responseCode", "delayMs") if k in shown} == OWN_FIELDS[kind]
        assert shown["state"] == "active"


async def test_used_up_and_expired_rules_both_stay_listed_with_their_state_until_cleared(provider, admin):
    used = await admin.fault(endpoint="balance", kind="http_error", times=2)
    assert (await provider.send("balance", "session-eur"))[0] == 500
    assert (await provider.send("balance", "session-eur"))[0] == 500
    expiring = await admin.fault(endpoint="balance", kind="http_error", times=None, ttlSeconds=60)
    status, _ = await admin.call("POST", "/clock", {"advanceMs": 61_000})
    assert status == 200
    assert (await provider.send("balance", "session-eur"))[0] == 200  # neither fires again
    listed = {f["id"]: f for f in await admin.get("/faults")}
    assert (listed[used["id"]]["state"], listed[used["id"]]["fired"], listed[used["id"]]["remaining"]) == (
        "used-up",
        2,
        0,
    )
    assert (listed[expiring["id"]]["state"], listed[expiring["id"]]["fired"]) == ("expired", 0)
    assert (await admin.call("DELETE", "/faults"))[0] == 204
    assert await admin.get("/faults") == []


async def _raw(http, endpoint: str, body: bytes = b"") -> tuple[int, bytes]:
    method = "GET" if endpoint == "balance" else "POST"
    path = "/v1/sessions/session-eur/" + ("balance" if endpoint == "balance" else f"bets/{endpoint}")
    headers = signed_headers(SECRET, CP, method, body)
    response = await http.request(method, path, data=body if method == "POST" else None, headers=headers)
    return response.status, await response.read()


@pytest.mark.parametrize("phase", ["before", "after"])
async def test_a_malformed_body_on_balance_is_a_cut_off_balance_answer(http, admin, phase):
    await admin.fault(endpoint="balance", kind="malformed_body", phase=phase)
    status, raw = await _raw(http, "balance")
    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)
    whole = (await _raw(http, "balance"))[1]  # the rule is used up: the real answer
    assert whole.startswith(raw) and len(raw) < len(whole)
    assert raw.startswith(b'{"_responseCode":1,"balance":1') and b"transactionId" not in raw


async def test_a_malformed_body_on_a_bet_endpoint_is_a_cut_off_bet_answer(http, admin):
    await admin.fault(endpoint="pay-in", kind="malformed_body", phase="after")
    body = b'{"betId":"cut","betAmount":"2.00"}'
    status, raw = await _raw(http, "pay-in", body)
    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)
    assert raw.startswith(b'{"_responseCode":1,"transactionId":"1","balance":9')  # the committed answer, cut
    await admin.fault(endpoint="pay-in", kind="malformed_body")
    status, raw = await _raw(http, "pay-in", b'{"betId":"early","betAmount":"2.00"}')
    assert raw.startswith(b'{"_responseCode":1,"transactionId":"')
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)


async def test_an_empty_provider_body_says_a_json_object_is_expected(provider):
    status, body = await provider.send("pay-in", "session-eur", b"")
    assert (status, body["_responseCode"]) == (400, 2)
    assert body["message"] == "body is empty: a JSON object is expected"


@pytest.mark.parametrize(
    ("method", "path"),
    [("PATCH", "/settings"), ("POST", "/faults"), ("POST", "/players"), ("POST", "/clock"), ("PUT", "/state")],
)
@pytest.mark.parametrize("raw", [b"", b"  \n"])
async def test_an_empty_admin_body_says_a_json_object_is_expected(admin, method, path, raw):
    before = await admin.get("/settings")
    status, body = await admin.call(method, path, raw=raw)
    assert (status, body) == (400, {"error": "body is empty: a JSON object is expected"})
    assert await admin.get("/settings") == before


async def test_a_scenario_needs_no_body(admin):
    status, applied = await admin.call("POST", "/scenarios/pay-in-500-twice")
    assert status == 201 and applied["faultIds"]


@pytest.mark.parametrize(
    ("method", "path", "raw", "key"),
    [
        ("PATCH", "/settings", b'{"zeroStake":"reject","zeroStake":"accept"}', "zeroStake"),
        ("POST", "/faults", b'{"kind":"delay","delayMs":1,"kind":"http_error"}', "kind"),
        (
            "POST",
            "/sessions",
            b'{"playerId":"player-eur","minBet":{"a":1,"a":2}}',
            "'a' twice in one object at $.minBet",
        ),
    ],
)
async def test_a_key_given_twice_in_an_admin_body_is_refused_by_name(admin, method, path, raw, key):
    before = (await admin.get("/settings"), await admin.get("/faults"), len(await admin.get("/sessions")))
    status, body = await admin.call(method, path, raw=raw)
    problem = key if " at $" in key else f"{key!r} twice in one object"
    assert (status, body) == (400, {"error": f"body has the key {problem}"})
    assert (await admin.get("/settings"), await admin.get("/faults"), len(await admin.get("/sessions"))) == before


async def test_a_state_import_refuses_a_key_given_twice_and_accepts_a_byte_order_mark(admin):
    exported = await admin.get("/state")
    text = json.dumps(exported, default=str)
    twice = text.replace('"lastTransactionId":', '"lastTransactionId": 0, "lastTransactionId":', 1)
    status, body = await admin.call("PUT", "/state", raw=twice.encode())
    assert (status, body) == (400, {"error": "body has the key 'lastTransactionId' twice in one object"})
    await admin.call("PATCH", "/players/player-eur", {"balance": "1.00"})
    status, body = await admin.call("PUT", "/state", raw=b"\xef\xbb\xbf" + text.encode())
    assert (status, body["status"]) == (200, "imported"), body
    assert D((await admin.get("/players/player-eur"))["balance"]) == D("1000.00")


async def test_a_provider_body_with_a_byte_order_mark_is_still_refused(provider):
    # Provider bodies are signed bytes and SPEC asks for a JSON object: nothing is stripped from them.
    status, body = await provider.send("pay-in", "session-eur", b'\xef\xbb\xbf{"betId":"b","betAmount":"1.00"}')
    assert (status, body["_responseCode"]) == (400, 2)


def test_a_fixture_file_with_a_key_given_twice_is_refused_by_name(tmp_path):
    path = tmp_path / "twice.json"
    path.write_bytes(b'{"counterparties":[{"id":"c","secret":"s","secret":"t"}]}')
    with pytest.raises(
        FixtureError, match=r"twice.json: \$\.counterparties\[0\]: the file has the key 'secret' twice in one object"
    ):
        load_fixture(path)


def test_a_fixture_file_with_a_key_given_twice_stops_start_up_with_exit_2(tmp_path):
    from .process import run_cli

    path = tmp_path / "twice.json"
    path.write_bytes(b'\xef\xbb\xbf{"counterparties":[{"id":"c","secret":"s"}],"players":[],"players":[]}')
    result = run_cli("--fixtures", str(path), "--port", "0")
    err = result.stderr.decode().strip()
    assert result.returncode == 2 and err.count("\n") == 0, err
    assert "the file has the key 'players' twice in one object" in err and str(path) in err, err


def test_an_empty_fixture_file_says_a_json_object_is_expected():
    with pytest.raises(FixtureError, match=r"f.json: \$: the file is empty: a JSON object is expected"):
        parse_fixture(b"\xef\xbb\xbf \n", "f.json")


async def test_the_default_fixture_has_a_gbp_session(provider):
    assert load_fixture().currencies["GBP"] == 2
    status, body = await provider.send("balance", "session-gbp")
    assert (status, body) == (200, {"_responseCode": 1, "balance": D("500.00"), "currency": "GBP"})
    assert (await provider.pay_in("session-gbp", "pound", "0.10"))["balance"] == D("499.90")


async def test_a_delayed_request_lists_before_a_quick_one_that_came_later_as_their_times_say(provider, admin):
    """A held call is journaled when its hold begins (so it is visible while held) and completed in place."""
    assert (await admin.call("PATCH", "/settings", {"timestampToleranceMs": 300}))[0] == 200
    await admin.fault(endpoint="pay-in", kind="delay", delayMs=900)
    slow = asyncio.ensure_future(provider.pay_in("session-eur", "slow", "1.00"))
    for _ in range(500):  # until the delay holds the pay-in (bounded: 5 s)
        if (await admin.get("/faults"))[0]["fired"]:
            break
        await asyncio.sleep(0.01)
    assert (await provider.send("balance", "session-eur"))[0] == 200
    assert (await slow)["_responseCode"] == 1
    held, quick = await admin.get("/requests")
    assert (held["endpoint"], quick["endpoint"]) == ("pay-in", "balance")
    assert held["id"] < quick["id"] and held["time"] <= quick["time"]  # listed in the order of `time`
    assert held["receivedAt"] <= held["time"] < quick["receivedAt"]  # recorded when its hold began
    assert held["durationMs"] >= 900 > quick["durationMs"]
    # The report judges the timestamp window on arrival, as the sandbox did: 900 ms held is not 900 ms late.
    checks = {c["id"]: c["status"] for c in (await admin.get("/report"))["checks"]}
    assert checks["timestamp-milliseconds"] == "pass", checks


def test_the_python_api_shows_when_a_request_arrived_and_how_long_it_took():
    with Sandbox() as sandbox:
        sandbox.add_fault(kind="delay", endpoint="balance", delay_ms=50)
        request = urllib.request.Request(
            f"{sandbox.url}/sessions/session-eur/balance", headers=sandbox.signed_headers("GET")
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        [entry] = sandbox.requests()
        # Recorded when the delay began to hold it; how long it took is its duration.
        assert datetime.fromisoformat(entry.received_at) <= datetime.fromisoformat(entry.time)
        assert entry.duration_ms >= 50
