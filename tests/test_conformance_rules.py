"""The checks as pure functions over hand-built calls: what counts as a definite answer, outgoing Launch calls,
and the edges of the rules."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from betcore_sandbox.conformance import Call, Codes, Context, OpenBet, SessionFacts, answer, judge

NOW = 1_790_000_000.0


def call(
    id: int,
    endpoint: str,
    body: dict[str, Any] | None = None,
    *,
    response: Any = None,
    status: int | None = 200,
    session_id: str = "s-1",
    at: float = NOW,
    direction: str = "incoming",
    path: str | None = None,
    timestamp: str | None = None,
    request_id: str | None = None,
    signature: str = "valid",
) -> Call:
    raw = json.dumps(body).encode() if body is not None else b""
    reply = json.dumps(response).encode() if isinstance(response, dict) else response
    return Call(
        id=id,
        time=at + id / 1000,
        endpoint=endpoint,
        path=path or f"/v1/sessions/{session_id}/{endpoint}",
        body=raw,
        headers={
            "x-counterparty-id": "cp",
            "x-timestamp": timestamp or str(int((at + id / 1000) * 1000)),
            "x-request-id": request_id or f"rid-{id}",
        },
        response=reply,
        status=status if reply is not None else None,
        direction=direction,
        session_id=session_id,
        bet_id=(body or {}).get("betId") if endpoint != "balance" else None,
        counterparty_id="cp",
        signature=signature,
    )


def statuses(calls: list[Call], context: Context | None = None) -> dict[str, str]:
    return {r.id: r.status for r in judge(calls, context or Context())}


OK = {"_responseCode": 1}


@pytest.mark.parametrize(
    ("status", "response", "expected"),
    [
        (200, {"_responseCode": 1}, "ok"),
        (200, {"_responseCode": 104}, "duplicate"),
        (200, {"_responseCode": 4}, "final"),
        (401, {"_responseCode": 8}, "final"),
        (500, {"_responseCode": 99}, "indefinite"),
        (503, {"_responseCode": 1}, "indefinite"),  # a 5xx is not an answer to trust, whatever it says
        (200, {"_responseCode": 99}, "indefinite"),
        (200, {"_responseCode": "1"}, "indefinite"),
        (200, {"_responseCode": True}, "indefinite"),
        (200, b'{"_responseCode":1,"transactionId":"', "indefinite"),  # the malformed_body fault
        (200, b"", "indefinite"),
        (None, None, "indefinite"),  # no answer: timeout, reset, empty
    ],
)
def test_what_counts_as_a_definite_answer(status: int | None, response: Any, expected: str) -> None:
    assert answer(call(1, "pay-in", {"betId": "b"}, response=response, status=status), Codes())[0] == expected


def test_renumbered_codes_are_read_by_their_numbers_in_force() -> None:
    codes = Codes(ok=1, already_processed=204, final=frozenset({2, 3, 40, 5, 6, 7, 8}))
    assert answer(call(1, "pay-in", {"betId": "b"}, response={"_responseCode": 40}), codes)[0] == "final"
    assert answer(call(1, "pay-in", {"betId": "b"}, response={"_responseCode": 204}), codes)[0] == "duplicate"
    assert answer(call(1, "pay-in", {"betId": "b"}, response={"_responseCode": 104}), codes)[0] == "indefinite"


def launch(id: int, session_id: str, code: int = 1) -> Call:
    return call(
        id,
        "launch",
        {"sessionId": session_id, "playerId": "p", "currency": "EUR"},
        response={"_responseCode": code, "frameUri": "https://game.example/f"},
        direction="outgoing",
        path="/v1/games/aerobet/launch",
        session_id=session_id,
    )


def test_balance_after_launch_needs_a_balance_call_for_that_session_after_it() -> None:
    followed = [launch(1, "s-1"), call(2, "balance", response=OK, session_id="s-1")]
    assert statuses(followed)["balance-after-launch"] == "pass"

    not_followed = [call(1, "balance", response=OK, session_id="s-2"), launch(2, "s-2"), launch(3, "s-3")]
    result = next(r for r in judge(not_followed, Context()) if r.id == "balance-after-launch")
    assert result.status == "fail"
    assert [(e.entries, e.message) for e in result.evidence] == [
        ((2,), "no Balance call for session 's-2' after its Launch"),
        ((3,), "no Balance call for session 's-3' after its Launch"),
    ]


def test_balance_after_launch_is_not_applicable_without_a_successful_launch() -> None:
    assert statuses([call(1, "balance", response=OK)])["balance-after-launch"] == "not_applicable"
    assert statuses([launch(1, "s-1", code=2)])["balance-after-launch"] == "not_applicable"
    games = call(1, "games", response=OK, direction="outgoing", path="/v1/games")
    assert statuses([games])["balance-after-launch"] == "not_applicable"


def test_outgoing_calls_are_not_judged_as_provider_requests() -> None:
    # A Launch the sandbox sent is not a wallet call: no signature, timestamp or request-id finding on it.
    found = statuses([launch(1, "s-1", code=99), call(2, "balance", response=OK)])
    assert found["signature-valid"] == "pass" and found["request-id-fresh"] == "pass"


@dataclass
class EntryLike:
    """A journal entry of the shape the outgoing Launch entries have: `direction` among its attributes."""

    id: int = 7
    time: float = NOW
    endpoint: str = "launch"
    path: str = "/v1/games/aerobet/launch"
    body: bytes = b'{"sessionId":"s-1"}'
    headers: tuple[tuple[bytes, bytes], ...] = ((b"X-Request-Id", b"r-1"), (b"x-request-id", b"r-2"))
    response: bytes | None = b'{"_responseCode":1,"frameUri":"https://game.example/f"}'
    status: int | None = 200
    direction: str = "outgoing"
    session_id: str | None = None
    bet_id: str | None = None
    counterparty_id: str | None = None
    signature: str = "unchecked"
    signature_error: str | None = None
    fault: dict[str, Any] | None = None
    unknown_fields: tuple[str, ...] = field(default_factory=tuple)


def test_a_journal_entry_with_a_direction_becomes_an_outgoing_call() -> None:
    made = Call.of(EntryLike())
    assert made.direction == "outgoing" and made.request_id == "r-1"  # header names fold; the first value wins
    assert statuses([made])["balance-after-launch"] == "fail"


def test_a_timestamp_in_seconds_or_outside_the_window_is_found_even_when_the_sandbox_let_it_through() -> None:
    seconds = call(1, "balance", response=OK, timestamp=str(int(NOW)))
    late = call(2, "balance", response=OK, timestamp=str(int(NOW * 1000) - 400_000))
    fine = call(3, "balance", response=OK)
    result = next(r for r in judge([seconds, late, fine], Context(tolerance_ms=300_000)) if r.id.startswith("time"))
    assert [(e.entries, e.message.split(" is ")[1][:20]) for e in result.evidence] == [
        ((1,), "in seconds, not mill"),
        ((2,), "400002 ms from the t"),  # arrived 2 ms after NOW
    ]


def test_a_request_id_refused_for_its_signature_may_be_resent() -> None:
    refused = call(1, "balance", response={"_responseCode": 8}, status=401, signature="invalid", request_id="same")
    corrected = call(2, "balance", response=OK, request_id="same")
    reused = call(3, "balance", response=OK, request_id="same")
    result = {r.id: r for r in judge([refused, corrected, reused], Context())}
    assert [e.entries for e in result["request-id-fresh"].evidence] == [(2, 3)]
    assert [e.entries for e in result["signature-valid"].evidence] == [(1,)]


def test_a_pay_in_refunded_after_a_lost_answer_is_resolved_only_once_the_refund_is_answered() -> None:
    pay_in = {"betId": "b", "betAmount": "1.00"}
    lost = [call(1, "pay-in", pay_in, response=None), call(2, "pay-in", pay_in, response=None)]
    refund_lost = call(3, "refund", {"betId": "b"}, response={"_responseCode": 99}, status=500)
    assert statuses([*lost, refund_lost])["pay-in-resolved"] == "fail"
    refund_5 = call(4, "refund", {"betId": "b"}, response={"_responseCode": 5})  # never placed: nothing to give back
    assert statuses([*lost, refund_lost, refund_5])["pay-in-resolved"] == "pass"


def test_open_bets_within_the_grace_period_are_in_play() -> None:
    young, old = OpenBet("b-1", "cp", "s-1", 5.0), OpenBet("b-2", "cp", "s-1", 500.0)
    result = next(r for r in judge([], Context(open_bets=[young, old], grace_seconds=60)) if r.id == "no-open-bets")
    assert result.status == "fail" and [e.bet_id for e in result.evidence] == ["b-2"]
    assert next(r for r in judge([], Context(open_bets=[young])) if r.id == "no-open-bets").status == "pass"


def test_calls_are_judged_in_order_of_arrival_not_of_journaling() -> None:
    # A held request is journaled when its hold ends, after the retry that overtook it.
    body = {"betId": "b", "winAmount": "2.00"}
    held = call(1, "pay-out", body, response=None, at=NOW)
    retry = call(2, "pay-out", body, response=OK, at=NOW + 1)
    assert statuses([retry, held])["pay-out-acknowledged"] == "pass"


PAY_IN = {"betId": "b", "betAmount": "1.00"}
PAY_OUT = {"betId": "b", "winAmount": "2.00"}
REFUND = {"betId": "b"}


@pytest.mark.parametrize(
    ("refund_code", "status"),
    [(1, "pass"), (104, "pass"), (5, "pass"), (2, "fail"), (6, "fail"), (99, "fail")],
)
def test_only_a_refund_that_gave_the_stake_back_resolves_an_unanswered_pay_in(refund_code: int, status: str) -> None:
    # 5: the PayIn never landed (and its tombstone keeps a late one out); 2: a refused Refund gave nothing back.
    calls = [
        call(1, "pay-in", PAY_IN, response=None),
        call(2, "refund", REFUND, response={"_responseCode": refund_code}, status=500 if refund_code == 99 else 200),
    ]
    assert statuses(calls)["pay-in-resolved"] == status


def refund_verdict(*calls: Call) -> str:
    return statuses(list(calls))["refund-only-when-needed"]


def test_a_refund_after_the_win_was_paid_is_not_needed() -> None:
    paid = [call(1, "pay-in", PAY_IN, response=OK), call(2, "pay-out", PAY_OUT, response=OK)]
    assert refund_verdict(*paid, call(3, "refund", REFUND, response={"_responseCode": 6})) == "fail"
    # A PayOut whose answer was lost may have paid: refunding instead of retrying it is not needed either.
    lost = [call(1, "pay-in", PAY_IN, response=OK), call(2, "pay-out", PAY_OUT, response=None)]
    assert refund_verdict(*lost, call(3, "refund", REFUND, response=OK)) == "fail"


def test_a_refund_of_an_acknowledged_pay_in_out_is_not_needed() -> None:
    both = call(1, "pay-in-out", {**PAY_IN, "winAmount": "3.00"}, response=OK)
    result = next(r for r in judge([both, call(2, "refund", REFUND, response=OK)], Context()) if r.id.startswith("ref"))
    assert result.status == "fail" and [e.entries for e in result.evidence] == [(1, 2)]
    lost = call(1, "pay-in-out", {**PAY_IN, "winAmount": "3.00"}, response=None)  # unanswered: a refund may be due
    assert refund_verdict(lost, call(2, "refund", REFUND, response=OK)) == "pass"


def test_a_refund_before_any_settlement_or_after_a_refused_one_is_allowed() -> None:
    staked = call(1, "pay-in", PAY_IN, response=OK)
    # The round was cancelled: Refund, then a PayOut (refused with 6) — the Refund came before any win.
    assert refund_verdict(staked, call(2, "refund", REFUND, response=OK), call(3, "pay-out", PAY_OUT, response=OK)) == (
        "pass"
    )
    refused = call(2, "pay-out", PAY_OUT, response={"_responseCode": 2}, status=400)  # a bad PayOut paid nothing
    assert refund_verdict(staked, refused, call(3, "refund", REFUND, response=OK)) == "pass"


def test_amount_precision_is_judged_at_any_size_and_scale() -> None:
    # 11 integer digits and 18 decimals: more digits than the default decimal context holds.
    facts = {"s-1": SessionFacts(18)}
    big = call(1, "pay-in", {"betId": "b", "betAmount": "99999999999.000000000000000001"}, response=OK)
    over = call(2, "pay-in", {"betId": "c", "betAmount": "99999999999.0000000000000000001"}, response=OK)
    zeros = call(3, "pay-in", {"betId": "d", "betAmount": "1.50000000000000000000000"}, response=OK)
    result = next(r for r in judge([big, over, zeros], Context(sessions=facts)) if r.id == "amount-precision")
    assert [e.bet_id for e in result.evidence] == ["c"]


def test_a_win_retried_but_never_acknowledged_is_dropped() -> None:
    lost = call(1, "pay-out", PAY_OUT, response={"_responseCode": 99}, status=500)
    again = call(2, "pay-out", PAY_OUT, response={"_responseCode": 99}, status=500)
    assert statuses([lost, again])["pay-out-acknowledged"] == "fail"
    final = call(3, "pay-out", PAY_OUT, response={"_responseCode": 5})  # a final code is no acknowledgement
    assert statuses([lost, again, final])["pay-out-acknowledged"] == "fail"
    assert statuses([lost, again, call(3, "pay-out", PAY_OUT, response={"_responseCode": 104})])[
        "pay-out-acknowledged"
    ] == ("pass")


def test_a_win_already_acknowledged_is_safe_when_a_later_resend_goes_unanswered() -> None:
    acked = call(1, "pay-out", PAY_OUT, response=OK)
    assert statuses([acked, call(2, "pay-out", PAY_OUT, response=None)])["pay-out-acknowledged"] == "pass"


def test_each_win_of_a_bet_is_acknowledged_on_its_own() -> None:
    # A second PayOut with another amount (additional PayOuts) is another win: the first one's ack does not cover it.
    first = call(1, "pay-out", PAY_OUT, response=OK)
    second = call(2, "pay-out", {"betId": "b", "winAmount": "5.00"}, response=None)
    result = next(r for r in judge([first, second], Context()) if r.id == "pay-out-acknowledged")
    assert result.status == "fail" and [e.entries for e in result.evidence] == [(2,)]


def test_an_injected_session_code_is_not_the_provider_s_mistake() -> None:
    injected = call(1, "balance", response={"_responseCode": 3})
    injected = dataclasses.replace(injected, fault={"id": "fault-1", "kind": "response_code", "phase": "before"})
    assert statuses([injected])["session-valid"] == "pass"
    assert statuses([call(1, "balance", response={"_responseCode": 3})])["session-valid"] == "fail"


def test_a_balance_of_another_counterparty_does_not_follow_a_launch() -> None:
    other = call(2, "balance", response={"_responseCode": 3}, session_id="s-1")
    other = dataclasses.replace(other, counterparty_id="x")
    assert statuses([launch(1, "s-1"), other])["balance-after-launch"] == "fail"
