"""The conformance report judges real providers: a correct one passes every scenario, a faulty one fails exactly
the check for its one seeded mistake, with that bet in the evidence."""

from __future__ import annotations

import aiohttp
import pytest

from betcore_sandbox import Sandbox

from .providers import SEEDED, CorrectProvider, FaultyProvider, wait_until

pytestmark = pytest.mark.timeout(120)

TIMEOUT_HOLD_MS = 2000  # the timeout scenario's hold; the client gives up after CLIENT_TIMEOUT
CLIENT_TIMEOUT = 0.5


async def play_scenario(provider: CorrectProvider, sandbox: Sandbox, name: str, bet: str) -> None:
    """Apply one scenario to session-eur and play through it."""
    sandbox.scenario(name, session_id="session-eur", seed=7 if name == "chaos" else None, delay_ms=TIMEOUT_HOLD_MS)
    if name == "pay-in-out-lost-answer":
        await provider.pay_in_out(bet)
    elif name == "pay-out-timeout-after-commit":
        assert await provider.pay_in(bet)
        provider.timeout = CLIENT_TIMEOUT  # only for the PayOut: the client gives up before the hold ends
        await provider.pay_out(bet)
        provider.timeout = 5.0
        # The held request is journaled when the hold ends: wait for it before judging.
        await wait_until(lambda: any(e.fault and e.fault["kind"] == "timeout" for e in sandbox.requests(bet_id=bet)))
    elif name == "chaos":
        for i in range(12):
            await provider.round(f"{bet}-{i}")
            await provider.pay_in_out(f"{bet}-pio-{i}")
        sandbox.clear_faults()  # chaos rules stay until removed
    else:
        await provider.round(bet)


async def test_a_correct_provider_passes_every_scenario(betcore_sandbox: Sandbox) -> None:
    names = [s.name for s in betcore_sandbox.scenarios()]
    assert len(names) == 8
    async with aiohttp.ClientSession() as http:
        provider = CorrectProvider(http, betcore_sandbox)
        for i, name in enumerate(names):
            await play_scenario(provider, betcore_sandbox, name, f"bet-{i}")
    report = betcore_sandbox.report(grace_seconds=0)
    assert report.passed, report.failed
    statuses = {c.id: c.status for c in report.checks}
    assert set(statuses.values()) <= {"pass", "not_applicable"}, statuses
    # Every check a scenario exercises was judged, and passed.
    for check in ("retry-identical", "pay-in-resolved", "pay-out-acknowledged", "no-retry-on-final"):
        assert statuses[check] == "pass", check
    assert statuses["balance-after-launch"] == "not_applicable"
    assert [s["name"] for s in report.scenarios] == names
    for scenario in report.scenarios:
        assert scenario["fired"] > 0 and scenario["status"] == "pass", scenario
    betcore_sandbox.assert_conformant(grace_seconds=0)
    betcore_sandbox.assert_audit_ok()


# mistake -> (scenario to apply before the seeded bet, the check that must catch it, its status)
MISTAKES = {
    "bad-signature": (None, "signature-valid", "fail"),
    "timestamp-seconds": (None, "timestamp-milliseconds", "fail"),
    "reused-request-id": (None, "request-id-fresh", "fail"),
    "changed-retry": ("pay-in-500-twice", "retry-identical", "fail"),
    "retried-final": ("pay-in-insufficient-funds", "no-retry-on-final", "warn"),
    "forgotten-refund": ("pay-in-500-twice", "pay-in-resolved", "fail"),
    "dropped-win": ("pay-out-lost-answer", "pay-out-acknowledged", "fail"),
    "needless-refund": (None, "refund-only-when-needed", "fail"),
    "too-many-decimals": (None, "amount-precision", "fail"),
    "over-max-bet": (None, "within-limits", "fail"),
    "expired-session": (None, "session-valid", "fail"),
    "open-bet": (None, "no-open-bets", "fail"),
    "unknown-field": (None, "unknown-fields", "warn"),
}


def test_every_mistake_is_a_mistake_of_the_faulty_provider() -> None:
    assert set(MISTAKES) == set(FaultyProvider.MISTAKES)


@pytest.mark.parametrize("mistake", list(MISTAKES))
async def test_a_faulty_provider_fails_exactly_the_check_for_its_mistake(
    betcore_sandbox: Sandbox, mistake: str
) -> None:
    scenario, check_id, status = MISTAKES[mistake]
    async with aiohttp.ClientSession() as http:
        provider = FaultyProvider(http, betcore_sandbox, mistake)
        await provider.round("before-1")
        if scenario is not None:
            betcore_sandbox.scenario(scenario, session_id="session-eur")
        await provider.round(SEEDED)
        await provider.round("after-1")
    report = betcore_sandbox.report(grace_seconds=0 if mistake == "open-bet" else None)
    found = report.check(check_id)
    assert found.status == status, found
    assert {e.bet_id for e in found.evidence} == {SEEDED}, found.evidence
    assert all(e.entries for e in found.evidence)
    others = {c.id: c.status for c in report.checks if c.id != check_id}
    assert set(others.values()) <= {"pass", "not_applicable"}, others
    assert report.passed == (status != "fail")
    if scenario is not None:  # grouped under the scenario too, with the same evidence
        (grouped,) = report.scenarios
        judged = {c["id"]: c for c in grouped["checks"]}
        assert grouped["name"] == scenario and grouped["betIds"] == [SEEDED]
        assert judged[check_id]["status"] == status and judged[check_id]["evidence"][0]["betId"] == SEEDED
    bet = report.bets[0]  # the bet with findings comes first, with its timeline
    if mistake not in ("bad-signature", "timestamp-seconds", "reused-request-id"):
        assert bet["betId"] == SEEDED and bet["findings"] == [check_id] and bet["attempts"]


async def test_a_changed_retry_shows_both_bodies(betcore_sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession() as http:
        provider = FaultyProvider(http, betcore_sandbox, "changed-retry")
        betcore_sandbox.scenario("pay-in-500-twice")
        await provider.round(SEEDED)
    (evidence,) = betcore_sandbox.report().check("retry-identical").evidence
    assert '"betAmount":"1.00"' in evidence.details["first"] and '"betAmount":"2.00"' in evidence.details["retry"]
    first, retry = (e for e in betcore_sandbox.requests(bet_id=SEEDED) if e.endpoint == "pay-in")
    assert list(evidence.entries) == [first.id, retry.id]


async def test_assert_conformant_names_each_failed_check_with_its_evidence(betcore_sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession() as http:
        provider = FaultyProvider(http, betcore_sandbox, "dropped-win")
        betcore_sandbox.scenario("pay-out-lost-answer")
        await provider.round(SEEDED)
    with pytest.raises(AssertionError) as failure:
        betcore_sandbox.assert_conformant()
    message = str(failure.value)
    assert message.startswith("1 conformance check(s) failed:")
    assert "pay-out-acknowledged" in message and f"bet {SEEDED}" in message and "journal entries" in message
    assert "retry-identical" not in message


async def test_a_scenario_whose_faults_never_fired_is_not_a_pass(betcore_sandbox: Sandbox) -> None:
    betcore_sandbox.scenario("pay-out-lost-answer", session_id="session-usd")
    async with aiohttp.ClientSession() as http:
        await CorrectProvider(http, betcore_sandbox).round("b-1")  # on session-eur: the rule never matches
    (scenario,) = betcore_sandbox.report().scenarios
    assert scenario["fired"] == 0 and scenario["status"] == "warn"
    assert all("not exercised" in c["summary"] for c in scenario["checks"])


async def test_a_journal_that_lost_entries_turns_passes_into_warnings(betcore_sandbox: Sandbox) -> None:
    betcore_sandbox.settings(journal_limit=3)
    async with aiohttp.ClientSession() as http:
        provider = CorrectProvider(http, betcore_sandbox)
        for i in range(3):
            await provider.round(f"b-{i}")
    report = betcore_sandbox.report()
    assert report.summary["journalDropped"] == 6
    assert report.passed
    assert {c.status for c in report.checks} <= {"warn", "not_applicable"}
    assert "evidence is incomplete" in report.check("signature-valid").summary


async def test_a_win_retried_once_and_then_given_up_is_a_dropped_win(betcore_sandbox: Sandbox) -> None:
    betcore_sandbox.add_fault(kind="http_error", endpoint="pay-out", phase="after", times=2)
    async with aiohttp.ClientSession() as http:
        provider = CorrectProvider(http, betcore_sandbox)
        assert await provider.pay_in(SEEDED)
        body = b'{"betId":"seeded-bet","winAmount":"2.00"}'
        assert [await provider.attempt("pay-out", body, SEEDED) for _ in range(2)] == [("indefinite", 99)] * 2
    found = betcore_sandbox.report().check("pay-out-acknowledged")
    assert found.status == "fail" and [e.bet_id for e in found.evidence] == [SEEDED]
    assert found.evidence[0].details["answers"].count(": 99") == 2
    # One more retry, acknowledged (the win was booked by the first: a replay of it), and the win is safe.
    async with aiohttp.ClientSession() as http:
        assert await CorrectProvider(http, betcore_sandbox).attempt("pay-out", body, SEEDED) == ("ok", 1)
    assert betcore_sandbox.report().check("pay-out-acknowledged").status == "pass"
