"""The pytest plugin as a provider's test suite uses it: installed, no conftest code."""

import json

import pytest

INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
addopts = --strict-markers -p no:cacheprovider
filterwarnings = error
"""

SYNC_SUITE = """
import json
import urllib.request
from decimal import Decimal


def pay_in(sandbox, session, bet_id, amount):
    body = json.dumps({"betId": bet_id, "betAmount": amount}).encode()
    request = urllib.request.Request(f"{sandbox.url}/sessions/{session}/bets/pay-in", data=body,
                                     headers=sandbox.signed_headers("POST", body))
    return json.loads(urllib.request.urlopen(request, timeout=5).read())


def test_pay_in_with_urllib(betcore_sandbox):
    assert pay_in(betcore_sandbox, "session-eur", "b1", "2.50")["_responseCode"] == 1
    assert betcore_sandbox.balance("session-eur") == Decimal("997.50")
    betcore_sandbox.assert_audit_ok()


def test_fresh_state_in_every_test(betcore_sandbox):
    assert betcore_sandbox.balance("session-eur") == Decimal("1000.00")
    assert betcore_sandbox.bets() == []
    assert pay_in(betcore_sandbox, "session-eur", "b1", "2.50")["transactionId"] == "1"


def test_a_fault_and_the_open_bet_it_leaves(betcore_sandbox):
    betcore_sandbox.add_fault(endpoint="pay-out", kind="http_error", phase="after")
    assert pay_in(betcore_sandbox, "session-eur", "b2", "1.00")["_responseCode"] == 1
    try:
        betcore_sandbox.assert_no_open_bets()
    except AssertionError as exc:
        assert "b2" in str(exc)
    else:
        raise AssertionError("the open bet was not reported")
"""

ASYNC_SUITE = """
from decimal import Decimal

import aiohttp


async def test_pay_in_with_aiohttp(betcore_sandbox):
    body = b'{"betId":"a1","betAmount":"3.00"}'
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{betcore_sandbox.url}/sessions/session-eur/bets/pay-in", data=body,
                             headers=betcore_sandbox.signed_headers("POST", body)) as response:
            assert (await response.json())["_responseCode"] == 1
    assert betcore_sandbox.balance("session-eur") == Decimal("997.00")


async def test_timeout_fault_seen_by_aiohttp(betcore_sandbox):
    betcore_sandbox.add_fault(endpoint="balance", kind="timeout", delay_ms=2000)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.3)) as http:
        try:
            await http.get(f"{betcore_sandbox.url}/sessions/session-eur/balance",
                           headers=betcore_sandbox.signed_headers("GET"))
        except TimeoutError:
            pass
        else:
            raise AssertionError("expected a timeout")
"""


@pytest.fixture
def suite(pytester):
    pytester.makeini(INI)
    return pytester


def test_sync_suite_with_urllib(suite):
    suite.makepyfile(test_sync=SYNC_SUITE)
    suite.runpytest().assert_outcomes(passed=3)


def test_async_suite_with_aiohttp(suite):
    suite.makepyfile(test_async=ASYNC_SUITE)
    suite.runpytest().assert_outcomes(passed=2)


def test_marker_loads_another_fixture_file_and_settings(suite):
    fixture = {
        "counterparties": [{"id": "studio", "secret": "studio-secret"}],
        "players": [{"id": "p", "currency": "EUR", "balance": "5.00"}],
        "sessions": [{"id": "tiny", "playerId": "p"}],
    }
    (suite.path / "fixtures").mkdir()
    (suite.path / "fixtures" / "tiny.json").write_text(json.dumps(fixture))
    suite.makepyfile(
        test_marker="""
import pytest
from decimal import Decimal


@pytest.mark.betcore_sandbox(fixtures="fixtures/tiny.json", duplicateResponse="replay", timestampToleranceMs=0,
                             payOutWithoutBet="reject", zero_stake="reject", amountNotation="plain",
                             payOutAfterPayInOut="conflict", additional_pay_outs="additional")
def test_marked(betcore_sandbox):
    assert (betcore_sandbox.counterparty_id, betcore_sandbox.secret) == ("studio", "studio-secret")
    assert betcore_sandbox.balance("tiny") == Decimal("5.00")
    settings = betcore_sandbox.settings()
    assert settings["duplicateResponse"]["pay-in"] == "replay"
    assert (settings["payOutWithoutBet"], settings["zeroStake"], settings["amountNotation"]) == (
        "reject", "reject", "plain")
    assert (settings["payOutAfterPayInOut"], settings["additionalPayOuts"]) == ("conflict", "additional")


@pytest.mark.betcore_sandbox(fixtures={"counterparties": [{"id": "c", "secret": "s"}]})
def test_marked_with_a_dict(betcore_sandbox):
    assert betcore_sandbox.counterparty_id == "c"


def test_unmarked(betcore_sandbox):
    assert betcore_sandbox.balance("session-eur") == Decimal("1000.00")
"""
    )
    suite.runpytest().assert_outcomes(passed=3)


def test_factory_with_two_sandboxes(suite):
    suite.makepyfile(
        test_factory="""
from decimal import Decimal


def test_two(betcore_sandbox_factory):
    first = betcore_sandbox_factory()
    second = betcore_sandbox_factory(duplicate_response={"pay-in": "replay"}, pay_out_without_bet="reject")
    assert first.port != second.port
    first.update_player("player-eur", balance="1.00")
    assert first.balance("session-eur") == Decimal("1.00")
    assert second.balance("session-eur") == Decimal("1000.00")
    assert second.settings()["duplicateResponse"] == {
        "pay-in": "replay", "pay-in-out": "code", "pay-out": "replay", "refund": "replay"}
    assert second.settings()["payOutWithoutBet"] == "reject"
"""
    )
    suite.runpytest().assert_outcomes(passed=1)


def test_xdist_workers_never_share_state(suite):
    tests = "\n".join(
        f"""
def test_{i}(betcore_sandbox):
    import json, urllib.request
    from decimal import Decimal
    body = b'{{"betId":"same","betAmount":"1.00"}}'
    request = urllib.request.Request(betcore_sandbox.url + "/sessions/session-eur/bets/pay-in", data=body,
                                     headers=betcore_sandbox.signed_headers("POST", body))
    assert json.loads(urllib.request.urlopen(request).read())["_responseCode"] == 1
    assert betcore_sandbox.balance("session-eur") == Decimal("999.00")
"""
        for i in range(8)
    )
    suite.makepyfile(test_parallel=tests)
    result = suite.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=8)
    assert "2 workers" in result.stdout.str()


BROKEN = """
def break_it(betcore_sandbox):
    import urllib.error, urllib.request
    from unittest import mock

    def boom(*args, **kwargs):
        raise RuntimeError("wallet exploded")

    body = b'{"betId":"x","betAmount":"1.00"}'
    request = urllib.request.Request(betcore_sandbox.url + "/sessions/session-eur/bets/pay-in", data=body,
                                     headers=betcore_sandbox.signed_headers("POST", body))
    # A bug inside the sandbox, simulated through the wallet's import path (no user input can cause one).
    with mock.patch("betcore_sandbox.wallet.Wallet.pay_in", boom):
        try:
            urllib.request.urlopen(request)
        except urllib.error.HTTPError as exc:
            assert exc.code == 500
"""


def test_teardown_fails_a_passing_test_when_the_sandbox_broke(suite):
    suite.makepyfile(
        test_broken=BROKEN
        + """

def test_passes_but_sandbox_broke(betcore_sandbox):
    break_it(betcore_sandbox)
"""
    )
    result = suite.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*unexpected internal error*", "*wallet exploded*"])


def test_teardown_stays_quiet_when_the_test_already_failed(suite):
    suite.makepyfile(
        test_broken=BROKEN
        + """

def test_fails_anyway(betcore_sandbox):
    break_it(betcore_sandbox)
    assert False, "the test's own failure"
"""
    )
    result = suite.runpytest()
    result.assert_outcomes(failed=1)
    assert "unexpected internal error" not in result.stdout.str()


def test_teardown_is_quiet_for_a_clean_sandbox(suite):
    suite.makepyfile(test_clean="def test_ok(betcore_sandbox):\n    betcore_sandbox.reset()\n")
    suite.runpytest().assert_outcomes(passed=1)


def test_marker_is_registered_for_strict_markers(suite):
    result = suite.runpytest("--markers")
    result.stdout.fnmatch_lines(["*@pytest.mark.betcore_sandbox(fixtures=None, **settings)*"])
