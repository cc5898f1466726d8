"""A call a `delay` or `timeout` fault holds is journaled when the hold begins, with a reason that says so, and
completed in place when the hold ends: the admin API, the event feed and a failing test's report show it while the
client that gave up waiting looks for it."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from .conftest import Admin, Provider
from .test_dashboard import next_event, open_stream


async def _until(admin: Admin, path: str, check, timeout: float = 5.0):
    """Poll the admin API until `check` holds for what `path` lists; that list."""
    deadline = time.monotonic() + timeout
    while True:
        found = await admin.get(path)
        if check(found):
            return found
        assert time.monotonic() < deadline, found
        await asyncio.sleep(0.01)


async def test_a_call_held_by_a_timeout_is_listed_while_held_then_completed_in_place(provider: Provider, admin: Admin):
    await admin.fault(endpoint="pay-in", kind="timeout", delayMs=800, phase="after")
    waiting = asyncio.create_task(provider.pay_in("session-eur", "held", "1.00"))
    [held] = await _until(admin, "/requests?endpoint=pay-in", lambda found: len(found) == 1)
    assert not waiting.done()  # listed while the fault still holds it
    assert held["betId"] == "held" and held["response"] is None
    assert held["reason"] == "held by fault fault-1 (timeout, after) for 800 ms"
    audit = await admin.get("/audit")
    assert [bet["betId"] for bet in audit["openBets"]] == ["held"]  # the stake was taken: the journal shows it
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await waiting
    [done] = await _until(admin, "/requests?endpoint=pay-in", lambda found: found[0]["durationMs"] >= 800)
    assert done["id"] == held["id"] and done["time"] == held["time"]  # completed in place: same id, place, time
    assert done["response"] is None and done["reason"] == "injected fault fault-1 (timeout, after)"


async def test_a_held_call_whose_client_gives_up_is_completed_when_the_connection_closes(
    provider: Provider, admin: Admin
):
    await admin.fault(endpoint="pay-in", kind="timeout", delayMs=30000, phase="after")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):  # the client gives up long before the fault would let go
            await provider.pay_in("session-eur", "gave-up", "1.00")
    [done] = await _until(admin, "/requests?endpoint=pay-in", lambda found: found[0]["error"] is not None)
    assert done["response"] is None and done["betId"] == "gave-up"
    assert done["reason"] == "the client closed the connection while a fault held this request; no answer was sent"


async def test_a_delayed_call_keeps_its_place_before_a_quick_call_that_came_in_meanwhile(
    provider: Provider, admin: Admin
):
    await admin.fault(endpoint="pay-in", kind="delay", delayMs=500)
    slow = asyncio.create_task(provider.pay_in("session-eur", "slow", "1.00"))
    [held] = await _until(admin, "/requests?endpoint=pay-in", lambda found: len(found) == 1)
    assert held["reason"] == "held by fault fault-1 (delay, before) for 500 ms" and held["response"] is None
    await provider.balance()  # answered while the pay-in is held
    assert (await slow)["_responseCode"] == 1
    entries = await admin.get("/requests")
    assert [e["endpoint"] for e in entries] == ["pay-in", "balance"]  # journal order: when each was recorded
    assert entries[0]["time"] == held["time"] < entries[1]["time"]
    assert entries[0]["response"]["status"] == 200 and entries[0]["reason"] == "injected fault fault-1 (delay, before)"


async def test_the_feed_announces_a_held_call_then_its_completion_and_the_balance_after(
    http, provider: Provider, admin: Admin
):
    stream = await open_stream(http)
    try:
        await admin.fault(endpoint="pay-in", kind="delay", delayMs=300)
        task = asyncio.create_task(provider.pay_in("session-eur", "fed", "1.00"))
        announced = await next_event(stream, "request")
        assert announced["status"] is None and announced["reason"] == "held by fault fault-1 (delay, before) for 300 ms"
        completed = await next_event(stream, "completed")
        assert completed["id"] == announced["id"] and completed["status"] == 200 and completed["code"] == 1
        assert (await next_event(stream, "balance"))["balance"] == "999.00"  # after the pay-in, not before it
        await task
    finally:
        stream.close()


INI = """
[pytest]
asyncio_default_fixture_loop_scope = function
addopts = -p no:cacheprovider
filterwarnings = error
"""

REPORTED = """
import json
import urllib.request

import pytest


def test_the_retry_after_a_timeout(betcore_sandbox):
    betcore_sandbox.add_fault(endpoint="pay-in", kind="timeout", phase="after", delay_ms=30000)
    body = json.dumps({"betId": "bet-held", "betAmount": "1.00"}).encode()
    request = urllib.request.Request(f"{betcore_sandbox.url}/sessions/session-eur/bets/pay-in", data=body,
                                     headers=betcore_sandbox.signed_headers("POST", body))
    with pytest.raises(OSError):
        urllib.request.urlopen(request, timeout=0.5)
    assert False, "the provider did not retry"
"""


def test_a_failing_tests_report_shows_the_pay_in_a_fault_still_holds(pytester):
    pytester.makeini(INI)
    pytester.makepyfile(test_provider=REPORTED)
    started = time.monotonic()
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*Captured betcore-sandbox call*",
            "sandbox http://127.0.0.1:*: 1 request(s), oldest first:",
            "* POST /v1/sessions/session-eur/bets/pay-in session=session-eur bet=bet-held no-answer code=- "
            "fault=timeout/after *ms  held by fault fault-1 (timeout, after) for 30000 ms",
        ]
    )
    assert "no requests received" not in result.stdout.str()
    assert time.monotonic() - started < 20  # the held connection is let go at teardown, not after 30 s
