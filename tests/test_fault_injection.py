"""Each fault kind as a real HTTP client sees it, with the wallet checked afterwards."""

import asyncio
import errno
import json
import time
from decimal import Decimal as D

import aiohttp
import pytest

from .conftest import CP


async def test_http_error_before_commit_leaves_the_wallet(provider, admin):
    await admin.fault(endpoint="pay-in", kind="http_error")
    status, body = await provider.send("pay-in", "session-eur", {"betId": "b", "betAmount": "5.00"})
    assert (status, body["_responseCode"]) == (500, 99)
    assert "injected fault" in body["message"]
    assert await provider.balance() == D("1000.00")
    assert await admin.get("/bets") == []
    # the retry goes through and is the first real application
    assert (await provider.pay_in("session-eur", "b", "5.00"))["_responseCode"] == 1


async def test_http_error_after_commit_then_the_retry_gets_the_original_answer_and_no_second_credit(
    provider, admin, state
):
    await provider.pay_in("session-eur", "win", "10.00")
    await admin.fault(endpoint="pay-out", kind="http_error", phase="after", status=503)
    status, body = await provider.send("pay-out", "session-eur", {"betId": "win", "winAmount": "50.00"})
    assert (status, body["_responseCode"]) == (503, 99)
    assert await provider.balance() == D("1040.00")  # committed before the answer was replaced
    retry = await provider.pay_out("session-eur", "win", "50.00")
    assert retry == {"_responseCode": 1, "transactionId": "2", "balance": D("1040.00"), "currency": "EUR"}
    assert [e["type"] for e in await admin.get("/transactions")] == ["bet", "win"]
    assert (await admin.get("/audit"))["ok"]


async def test_response_code_replaces_the_answer_with_http_200(provider, admin):
    await admin.fault(endpoint="balance", kind="response_code", responseCode=3)
    status, body = await provider.send("balance", "session-eur")
    assert (status, body["_responseCode"], body["balance"]) == (200, 3, D("1000.00"))


async def test_insufficient_funds_fault_for_one_session_only(provider, admin):
    await admin.fault(endpoint="pay-in", kind="insufficient_funds", sessionId="session-usd", times=None)
    assert (await provider.pay_in("session-usd", "u1", "1.00"))["_responseCode"] == 4
    assert (await provider.pay_in("session-usd", "u2", "1.00"))["_responseCode"] == 4
    assert (await provider.pay_in("session-eur", "e1", "1.00"))["_responseCode"] == 1
    assert await provider.balance("session-usd") == D("250.00")


async def test_delay_then_the_normal_answer(provider, admin):
    await admin.fault(endpoint="balance", kind="delay", delayMs=300)
    started = time.perf_counter()
    assert await provider.balance() == D("1000.00")
    assert time.perf_counter() - started >= 0.3


async def test_delay_after_commit(provider, admin, state):
    await admin.fault(endpoint="pay-in", kind="delay", delayMs=300, phase="after")
    task = asyncio.create_task(provider.pay_in("session-eur", "slow", "1.00"))
    deadline = time.monotonic() + 5
    while (await admin.get("/players/player-eur"))["balance"] != "999.00":  # committed...
        assert time.monotonic() < deadline
        await asyncio.sleep(0.005)
    assert not task.done()  # ...while the answer is still held
    assert (await task)["_responseCode"] == 1


async def test_timeout_holds_the_socket_then_closes_without_bytes(provider, admin):
    await admin.fault(endpoint="pay-out", kind="timeout", delayMs=400, phase="after")
    await provider.pay_in("session-eur", "t", "10.00")
    started = time.perf_counter()
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await provider.pay_out("session-eur", "t", "30.00")
    assert time.perf_counter() - started >= 0.4
    assert await provider.balance() == D("1020.00")  # the pay-out was committed
    assert (await provider.pay_out("session-eur", "t", "30.00"))["transactionId"] == "2"
    entry = (await admin.get("/requests?endpoint=pay-out"))[0]
    assert entry["response"] is None and entry["fault"] == {"id": "fault-1", "kind": "timeout", "phase": "after"}


async def test_a_client_timeout_shorter_than_the_fault(provider, admin):
    await admin.fault(endpoint="balance", kind="timeout", delayMs=2000)
    with pytest.raises(asyncio.TimeoutError):
        async with asyncio.timeout(0.3):
            await provider.balance()


async def test_connection_reset_is_a_tcp_reset(provider, admin):
    await admin.fault(endpoint="pay-in", kind="connection_reset")
    with pytest.raises(aiohttp.ClientOSError) as caught:
        await provider.pay_in("session-eur", "r", "1.00")
    assert caught.value.errno == errno.ECONNRESET
    assert await provider.balance() == D("1000.00")


async def test_connection_reset_after_commit(provider, admin):
    await admin.fault(endpoint="pay-in", kind="connection_reset", phase="after")
    with pytest.raises(aiohttp.ClientOSError):
        await provider.pay_in("session-eur", "r", "1.00")
    assert await provider.balance() == D("999.00")


async def test_empty_response_closes_with_no_bytes(provider, admin):
    await admin.fault(endpoint="balance", kind="empty_response")
    started = time.perf_counter()
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await provider.balance()
    assert time.perf_counter() - started < 1


async def test_malformed_body_is_http_200_that_is_not_json(provider, admin, http):
    await admin.fault(endpoint="pay-in", kind="malformed_body", phase="after")
    from betcore_sandbox.signing import signed_headers

    from .conftest import SECRET, php_json

    raw = php_json({"betId": "m", "betAmount": "1.00"})
    response = await http.post(
        "/v1/sessions/session-eur/bets/pay-in", data=raw, headers=signed_headers(SECRET, CP, "POST", raw)
    )
    assert response.status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(await response.text())
    assert await provider.balance() == D("999.00")


async def test_times_and_skip_sequence_over_http(provider, admin):
    await admin.fault(endpoint="balance", kind="http_error", status=503, skip=1, times=2)
    statuses = [(await provider.send("balance", "session-eur"))[0] for _ in range(4)]
    assert statuses == [200, 503, 503, 200]
    [rule] = await admin.get("/faults")
    assert (rule["fired"], rule["remaining"]) == (2, 0)


async def test_seeded_chaos_is_reproducible_over_40_calls(aiohttp_client, make_state):
    from betcore_sandbox.web.app import create_app

    from .conftest import Admin, Provider

    async def run(seed):
        http = await aiohttp_client(create_app(make_state()))
        await Admin(http).fault(endpoint="balance", kind="http_error", times=None, probability=0.3, seed=seed)
        provider = Provider(http)
        return [(await provider.send("balance", "session-eur"))[0] for _ in range(40)]

    first = await run(42)
    assert first == await run(42)
    assert 500 in first and 200 in first


async def test_ttl_expiry_over_http(provider, admin):
    await admin.fault(endpoint="balance", kind="http_error", times=None, ttlSeconds=0.3)
    assert (await provider.send("balance", "session-eur"))[0] == 500
    await asyncio.sleep(0.4)
    assert (await provider.send("balance", "session-eur"))[0] == 200
    [rule] = await admin.get("/faults")  # listed until cleared, with its counters
    assert (rule["state"], rule["fired"], rule["matched"]) == ("expired", 1, 1)


async def test_filters_by_player_and_bet(provider, admin):
    await admin.fault(kind="http_error", playerId="player-usd", times=None)
    await admin.fault(kind="http_error", betId="doomed", times=None)
    assert (await provider.send("balance", "session-usd"))[0] == 500
    assert (await provider.send("balance", "session-eur"))[0] == 200
    assert (await provider.send("pay-in", "session-eur", {"betId": "doomed", "betAmount": "1"}))[0] == 500
    assert (await provider.send("pay-in", "session-eur", {"betId": "fine", "betAmount": "1"}))[0] == 200


async def test_16_concurrent_duplicates_through_a_delay_debit_once(provider, admin):
    await admin.fault(endpoint="pay-in", kind="delay", delayMs=200, times=None)
    answers = await asyncio.gather(*(provider.pay_in("session-eur", "dup", "10.00") for _ in range(16)))
    assert sorted(a["_responseCode"] for a in answers) == [1] + [104] * 15
    assert await provider.balance() == D("990.00")
    assert len(await admin.get("/transactions")) == 1


async def test_faults_never_touch_admin_routes(admin):
    await admin.fault(kind="http_error", times=None)
    await admin.fault(kind="connection_reset", times=None)
    assert (await admin.get("/health"))["status"] == "healthy"
    assert len(await admin.get("/faults")) == 2
    assert (await admin.get("/audit"))["ok"]


async def test_fired_faults_are_journaled(provider, admin):
    rule = await admin.fault(endpoint="balance", kind="http_error")
    await provider.send("balance", "session-eur")
    [entry] = await admin.get("/requests?endpoint=balance")
    assert entry["fault"] == {"id": rule["id"], "kind": "http_error", "phase": "before"}
    assert entry["response"]["status"] == 500


async def test_faults_skip_requests_that_fail_authentication(http, provider, admin):
    await admin.fault(kind="http_error")
    from .conftest import Provider

    status, _ = await Provider(http, secret="wrong").send("balance", "session-eur")
    assert status == 401
    assert (await provider.send("balance", "session-eur"))[0] == 500


async def test_delay_accuracy_over_50_calls(provider, admin):
    await admin.fault(endpoint="balance", kind="delay", delayMs=20, times=None)
    overshoot = []
    for _ in range(50):
        started = time.perf_counter()
        await provider.balance()
        elapsed = (time.perf_counter() - started) * 1000
        assert elapsed >= 20
        overshoot.append(elapsed - 20)
    overshoot.sort()
    assert overshoot[len(overshoot) // 2] < 15  # median overshoot, generous for a busy CI machine
