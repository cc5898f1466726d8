"""The conformance checks: did the provider use the wallet API the way the contract says?

Pure functions over what the journal recorded (`Call`: one HTTP attempt and its answer) and what the wallet
knows (`Context`). Each check has a stable id, a one-line rule, a status (`pass`, `fail`, `warn`,
`not_applicable`) and evidence: journal entry ids, betIds, and the bytes that differ. Nothing here knows HTTP
servers or the sandbox's state; `report` gathers the inputs.

An answer is *definite* when it carries code 1 (ok), 104 (already processed) or one of the final codes 2-8; a
99, an HTTP 5xx, no answer at all (timeout, reset, empty) or a body that is not a JSON object with an integer
`_responseCode` is not: the provider cannot know whether the money moved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from . import bodies, jsontext, partner
from .money import AmountError, parse_amount

Status = Literal["pass", "fail", "warn", "not_applicable"]
Answer = Literal["ok", "duplicate", "final", "indefinite"]

BET_ENDPOINTS = ("pay-in", "pay-out", "pay-in-out", "refund")
JUDGED_HEADERS = frozenset({"x-counterparty-id", "x-timestamp", "x-request-id"})
_HEADER_LENGTHS = frozenset(map(len, JUDGED_HEADERS))
DEFAULT_TOLERANCE_MS = 300_000  # the window judged when the sandbox's own check is switched off (0)
SECONDS_LOOKALIKE_MS = 60_000  # a timestamp this close to now once multiplied by 1000 was sent in seconds
SHOWN_BYTES = 512  # of a body shown in evidence

CHECKS: Mapping[str, str] = {
    "signature-valid": "every request is signed correctly (HMAC-SHA256 over the exact bytes sent)",
    "timestamp-milliseconds": "X-Timestamp is Unix epoch milliseconds, within the timestamp window",
    "request-id-fresh": "every HTTP attempt, retries included, has a new X-Request-Id",
    "retry-identical": "a retry after an answer that never came (or was not definite) resends the same body bytes",
    "no-retry-on-final": "an operation answered with a final code (2-8) is not sent again with the same data",
    "pay-in-resolved": "a PayIn without a definite answer is followed by an acknowledged retry or a Refund that "
    "was acknowledged or found no bet",
    "pay-out-acknowledged": "a PayOut or PayInOut without a definite answer is retried until it gets 1 or 104",
    "refund-only-when-needed": "no Refund of a bet once its PayIn was acknowledged and it was settled (or its "
    "PayInOut acknowledged)",
    "amount-precision": "amounts have no more decimals than the session currency's minor unit",
    "within-limits": "stakes are within the session's minBet and maxBet",
    "session-valid": "no balance, PayIn or PayInOut on an unknown, expired or closed session",
    "no-open-bets": "no bet is left open (stake taken, never settled or refunded) past the grace period",
    "unknown-fields": "bodies carry only the contract's fields",
    "balance-after-launch": "a Balance call for the session follows each successful Launch",
}
# Checks whose finding is a warning, not a failure: the contract does not forbid the behaviour outright.
WARNING_CHECKS = frozenset({"no-retry-on-final", "unknown-fields"})


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP attempt as the journal recorded it. `direction` is `incoming` (a provider's wallet call) or
    `outgoing` (the sandbox calling the provider: Games, Launch). `status` None: no answer was sent."""

    id: int
    time: float  # epoch seconds at arrival
    endpoint: str
    path: str
    body: bytes
    headers: Mapping[str, str]  # the JUDGED_HEADERS sent, by lower-case name; the first value of each
    response: bytes | None = None
    status: int | None = None
    direction: str = "incoming"
    session_id: str | None = None
    bet_id: str | None = None
    counterparty_id: str | None = None
    signature: str = "valid"  # valid | invalid | unchecked
    signature_error: str | None = None
    fault: Mapping[str, Any] | None = None
    unknown_fields: tuple[str, ...] = ()
    error: str | None = None  # why an outgoing call got no usable answer (unreachable, timeout, too large)
    sandbox_time: float | None = None  # a virtual sandbox clock's time at arrival (None: it is `time`)

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-request-id")

    @classmethod
    def of(cls, entry: Any) -> Call:
        """The call of a journal entry (journal.JournalEntry, or any object with its attributes)."""
        headers: dict[str, str] = {}
        for name, value in entry.headers:
            if len(name) in _HEADER_LENGTHS and (key := name.decode("latin-1").lower()) in JUDGED_HEADERS:
                headers.setdefault(key, value.decode("latin-1"))
        return cls(
            id=entry.id,
            time=getattr(entry, "received", 0.0) or entry.time,  # when it arrived: the window is judged on that
            endpoint=entry.endpoint,
            path=entry.path,
            body=entry.body,
            headers=headers,
            response=entry.response,
            status=entry.status,
            direction=getattr(entry, "direction", None) or "incoming",
            session_id=entry.session_id,
            bet_id=entry.bet_id,
            counterparty_id=entry.counterparty_id,
            signature=entry.signature,
            signature_error=entry.signature_error,
            fault=entry.fault,
            unknown_fields=tuple(entry.unknown_fields),
            error=getattr(entry, "error", None),
            sandbox_time=getattr(entry, "sandbox_time", None),
        )


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """What the checks need to know of a session: its currency's decimals and its stake limits."""

    scale: int
    min_bet: Decimal | None = None
    max_bet: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OpenBet:
    bet_id: str
    counterparty_id: str
    session_id: str
    age_seconds: float


@dataclass(frozen=True, slots=True)
class Codes:
    """The response-code numbers in force (a fixture may renumber them)."""

    ok: int = 1
    already_processed: int = 104
    session_not_found: int = 3
    bet_not_found: int = 5
    final: frozenset[int] = frozenset(range(2, 9))


@dataclass(frozen=True, slots=True)
class Context:
    codes: Codes = Codes()
    tolerance_ms: int = DEFAULT_TOLERANCE_MS
    sessions: Mapping[str, SessionFacts] = field(default_factory=dict)
    open_bets: Sequence[OpenBet] = ()
    grace_seconds: float = 60.0
    dropped: int = 0  # journal entries pushed out by its limits: the evidence is incomplete


@dataclass(frozen=True, slots=True)
class Evidence:
    message: str
    entries: tuple[int, ...] = ()
    bet_id: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "betId": self.bet_id,
            "entries": list(self.entries),
            "details": dict(self.details),
        }


@dataclass(frozen=True, slots=True)
class CheckResult:
    id: str
    status: Status
    summary: str
    evidence: tuple[Evidence, ...] = ()

    @property
    def rule(self) -> str:
        return CHECKS[self.id]

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "status": self.status,
            "summary": self.summary,
            "evidence": [e.view() for e in self.evidence],
        }


def answer(call: Call, codes: Codes) -> tuple[Answer, int | None]:
    """How the provider must read the answer it got: (its class, its _responseCode if any)."""
    if call.status is None or call.response is None:
        return "indefinite", None
    try:
        body = jsontext.decode(call.response)
    except jsontext.JsonError:
        return "indefinite", None
    code = body.get("_responseCode") if isinstance(body, dict) else None
    if not isinstance(code, int) or isinstance(code, bool):
        return "indefinite", None
    if call.status >= 500:
        return "indefinite", code
    if code == codes.ok:
        return "ok", code
    if code == codes.already_processed:
        return "duplicate", code
    if code in codes.final:
        return "final", code
    return "indefinite", code


def judge(calls: Iterable[Call], context: Context) -> list[CheckResult]:
    """Every check over the calls (any order: they are judged in order of arrival)."""
    return judge_with_timelines(calls, context)[0]


def _judged(facts: _Facts, ordered: list[Call], incoming: list[Call], context: Context) -> list[CheckResult]:
    results = [check(facts) for check in _CHECK_FUNCTIONS]
    results.append(_balance_after_launch(ordered, incoming, context))
    if context.dropped:
        results = [_incomplete(r, context.dropped) for r in results]
    order = list(CHECKS)
    return sorted(results, key=lambda r: order.index(r.id))


def _incomplete(result: CheckResult, dropped: int) -> CheckResult:
    """A pass over a journal that lost entries proves less than it says: a warning instead."""
    if result.status != "pass":
        return result
    note = f"{dropped} journal entries were pushed out by journalLimit/journalMaxBytes: the evidence is incomplete"
    return CheckResult(result.id, "warn", f"{result.summary}; {note}", result.evidence)


class _Facts:
    """What several checks share: the calls, each call's answer, the timestamp and request-id findings."""

    def __init__(self, incoming: list[Call], context: Context) -> None:
        self.context = context
        self.incoming = [c for c in incoming if c.signature != "unchecked"]
        self.answers = {c.id: answer(c, context.codes) for c in self.incoming}
        self._amounts: dict[int, dict[str, Decimal]] = {}
        self.bet_calls = [
            c for c in self.incoming if c.signature == "valid" and c.endpoint in BET_ENDPOINTS and c.bet_id is not None
        ]
        by_bet: dict[tuple[str | None, str], list[Call]] = defaultdict(list)
        for c in self.bet_calls:
            by_bet[(c.counterparty_id, c.bet_id or "")].append(c)
        self.by_bet = by_bet
        self.timestamp_problems = {c.id: p for c in self.incoming if (p := _timestamp_problem(c, context)) is not None}
        self.reused_ids = _reused_request_ids(self.incoming)

    def amounts(self, c: Call) -> dict[str, Decimal]:
        found = self._amounts.get(c.id)
        if found is None:
            found = self._amounts[c.id] = _amounts(c)
        return found

    def kind(self, c: Call) -> Answer:
        return self.answers[c.id][0]

    def acknowledged(self, c: Call) -> bool:
        return self.kind(c) in ("ok", "duplicate")

    def refunded(self, c: Call) -> bool:
        """A Refund that leaves no stake taken: applied (1, 104), or bet not found (the PayIn never landed, and
        the tombstone it leaves keeps a late one out). Another final code (a bad body, say) gave nothing back."""
        return c.endpoint == "refund" and (
            self.acknowledged(c) or self.answers[c.id][1] == self.context.codes.bet_not_found
        )


def claimed_bet_id(c: Call) -> str | None:
    """The call's betId; for a request refused before its body was read, the betId its body names (shown as
    evidence only: an unauthenticated body is never trusted with the wallet)."""
    if c.bet_id is not None or c.endpoint not in BET_ENDPOINTS:
        return c.bet_id
    return bodies.claimed_bet_id(c.body)


def _result(check_id: str, evidence: list[Evidence], passed: str, empty: str | None = None) -> CheckResult:
    """fail (or warn, for a warning check) with evidence; else pass, or not_applicable when nothing was judged."""
    if evidence:
        status: Status = "warn" if check_id in WARNING_CHECKS else "fail"
        return CheckResult(check_id, status, f"{len(evidence)} finding(s)", tuple(evidence))
    if empty is not None:
        return CheckResult(check_id, "not_applicable", empty)
    return CheckResult(check_id, "pass", passed)


def _signature_valid(f: _Facts) -> CheckResult:
    found = [
        Evidence(
            f"{c.endpoint} rejected: {c.signature_error or 'bad signature'}",
            (c.id,),
            claimed_bet_id(c),
            {"path": c.path},
        )
        for c in f.incoming
        if c.signature == "invalid" and c.id not in f.timestamp_problems and c.id not in f.reused_ids
    ]
    return _result("signature-valid", found, f"{len(f.incoming)} request(s) signed correctly", _none(f.incoming))


def _none(calls: Sequence[Call]) -> str | None:
    return None if calls else "no provider requests in the journal"


def _timestamp_problem(c: Call, context: Context) -> str | None:
    text = c.headers.get("x-timestamp")
    if not text:
        return "no X-Timestamp header"
    if not (text.isascii() and text.isdigit()) or len(text) > 16:
        return f"X-Timestamp {text[:40]!r} is not an integer"
    # The sandbox judged the window on its own clock (a virtual one too): so does the report.
    sent, arrived = int(text), round((c.time if c.sandbox_time is None else c.sandbox_time) * 1000)
    if abs(arrived - sent * 1000) <= SECONDS_LOOKALIKE_MS:
        return f"X-Timestamp {text} is in seconds, not milliseconds"
    if abs(arrived - sent) > context.tolerance_ms:
        return (
            f"X-Timestamp {text} is {abs(arrived - sent)} ms from the time it arrived (window {context.tolerance_ms})"
        )
    return None


def _timestamp_milliseconds(f: _Facts) -> CheckResult:
    by_id = {c.id: c for c in f.incoming}
    found = [Evidence(problem, (i,), claimed_bet_id(by_id[i])) for i, problem in f.timestamp_problems.items()]
    return _result("timestamp-milliseconds", found, f"{len(f.incoming)} timestamp(s) in ms", _none(f.incoming))


def _reused_request_ids(calls: list[Call]) -> dict[int, tuple[int, str]]:
    """Calls whose X-Request-Id an authenticated earlier call of the same counterparty had: id -> (first, rid).
    (A request refused for its signature does not use up its id: it may be corrected and resent.)"""
    used: dict[tuple[str, str], int] = {}
    reused: dict[int, tuple[int, str]] = {}
    for c in calls:
        rid = c.request_id
        if not rid:
            continue
        key = (c.headers.get("x-counterparty-id", ""), rid)
        if key in used:
            reused[c.id] = (used[key], rid)
        elif c.signature == "valid":
            used[key] = c.id
    return reused


def _request_id_fresh(f: _Facts) -> CheckResult:
    by_id = {c.id: c for c in f.incoming}
    found = [
        Evidence(
            f"X-Request-Id {rid[:80]!r} was already used by entry {first}",
            (first, i),
            claimed_bet_id(by_id[i]) or by_id[first].bet_id,
        )
        for i, (first, rid) in f.reused_ids.items()
    ]
    found += [Evidence("no X-Request-Id header", (c.id,), claimed_bet_id(c)) for c in f.incoming if not c.request_id]
    return _result("request-id-fresh", found, f"{len(f.incoming)} request id(s), none reused", _none(f.incoming))


def _retry_identical(f: _Facts) -> CheckResult:
    found, retries = [], 0
    for (_, bet_id), calls in f.by_bet.items():
        last: dict[str, Call] = {}
        for c in calls:
            before = last.get(c.endpoint)
            last[c.endpoint] = c
            if before is None or f.kind(before) != "indefinite":
                continue
            retries += 1
            if c.body != before.body:
                found.append(
                    Evidence(
                        f"{c.endpoint} retry of entry {before.id} sent other bytes (at offset "
                        f"{_first_difference(before.body, c.body)})",
                        (before.id, c.id),
                        bet_id,
                        {"first": _shown(before.body), "retry": _shown(c.body)},
                    )
                )
    empty = None if retries else "no operation was retried after an answer that was not definite"
    return _result("retry-identical", found, f"{retries} retr(y/ies), each with the same bytes", empty)


def _first_difference(a: bytes, b: bytes) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def _shown(raw: bytes) -> str:
    text = raw[:SHOWN_BYTES].decode("utf-8", "backslashreplace")
    return text if len(raw) <= SHOWN_BYTES else f"{text}… ({len(raw)} bytes)"


def _no_retry_on_final(f: _Facts) -> CheckResult:
    finals: dict[tuple[str | None, str, str | None, bytes], Call] = {}
    found = []
    for c in f.incoming:
        if c.signature != "valid" or c.endpoint not in BET_ENDPOINTS:
            continue
        key = (c.counterparty_id, c.endpoint, c.session_id, c.body)
        earlier = finals.get(key)
        if earlier is not None:
            code = f.answers[earlier.id][1]
            found.append(
                Evidence(
                    f"{c.endpoint} sent again after the final code {code} of entry {earlier.id}",
                    (earlier.id, c.id),
                    c.bet_id,
                )
            )
            del finals[key]
        if f.kind(c) == "final":
            finals[key] = c
    return _result("no-retry-on-final", found, "no final answer was retried", _none(f.incoming))


def _pay_in_resolved(f: _Facts) -> CheckResult:
    found, judged = [], 0
    for (_, bet_id), calls in f.by_bet.items():
        unresolved: list[Call] = []
        for i, c in enumerate(calls):
            if c.endpoint != "pay-in" or f.kind(c) != "indefinite":
                continue
            judged += 1
            later = calls[i + 1 :]
            if not any((d.endpoint == "pay-in" and f.acknowledged(d)) or f.refunded(d) for d in later):
                unresolved.append(c)
        if unresolved:
            refunds = [d.id for d in calls if d.endpoint == "refund"]
            message = f"PayIn without a definite answer (entries {', '.join(str(c.id) for c in unresolved)}) was " + (
                "refunded, but no Refund was acknowledged (1, 104) or answered bet not found"
                if refunds
                else "neither retried to success nor refunded"
            )
            found.append(Evidence(message, tuple(c.id for c in unresolved) + tuple(refunds), bet_id))
    empty = None if judged else "no PayIn went without a definite answer"
    return _result("pay-in-resolved", found, f"{judged} unanswered PayIn(s), each resolved", empty)


def _pay_out_acknowledged(f: _Facts) -> CheckResult:
    found, judged = [], 0
    for (_, bet_id), calls in f.by_bet.items():
        # One settlement is one endpoint and body: a PayOut with other bytes is another win (or a changed retry,
        # which leaves the first win unacknowledged as well).
        settlements: dict[tuple[str, bytes], list[Call]] = defaultdict(list)
        for c in calls:
            if c.endpoint in ("pay-out", "pay-in-out"):
                settlements[(c.endpoint, c.body)].append(c)
        for (endpoint, _), mine in settlements.items():
            if not any(f.kind(c) == "indefinite" for c in mine):
                continue
            judged += 1
            if not any(f.acknowledged(c) for c in mine):
                answered = [
                    f"{c.id}: {f.answers[c.id][1] if f.answers[c.id][1] is not None else 'no answer'}" for c in mine
                ]
                found.append(
                    Evidence(
                        f"{endpoint} never acknowledged (1 or 104) after an answer that was not definite: the win "
                        "may be lost",
                        tuple(c.id for c in mine),
                        bet_id,
                        {"answers": "; ".join(answered), "body": _shown(mine[0].body)},
                    )
                )
    empty = None if judged else "no PayOut or PayInOut went without a definite answer"
    return _result("pay-out-acknowledged", found, f"{judged} unanswered settlement(s), each acknowledged", empty)


def _refund_only_when_needed(f: _Facts) -> CheckResult:
    found, refunds = [], 0
    for (_, bet_id), calls in f.by_bet.items():
        refunds += any(c.endpoint == "refund" for c in calls)
        staked: Call | None = None  # the acknowledged PayIn
        settled: Call | None = None  # a PayOut that may have paid (acknowledged, or no definite answer); a PayInOut
        for c in calls:
            if c.endpoint == "pay-in" and staked is None and f.acknowledged(c):
                staked = c
            elif settled is None and (
                (c.endpoint == "pay-out" and f.kind(c) != "final") or (c.endpoint == "pay-in-out" and f.acknowledged(c))
            ):
                settled = c
            elif (
                c.endpoint == "refund" and settled is not None and (staked is not None or settled.endpoint != "pay-out")
            ):
                what = "PayInOut" if settled.endpoint == "pay-in-out" else "PayOut"
                stake = "" if staked is None else f"whose PayIn was acknowledged (entry {staked.id}) and "
                found.append(
                    Evidence(
                        f"Refund of a bet {stake}that was then settled by a {what} (entry {settled.id})",
                        tuple(d.id for d in (staked, settled, c) if d is not None),
                        bet_id,
                    )
                )
                break
    empty = None if refunds else "no Refund was sent"
    return _result("refund-only-when-needed", found, f"{refunds} refunded bet(s), each needed", empty)


def _amounts(c: Call) -> dict[str, Decimal]:
    try:
        body = jsontext.decode(c.body)
    except jsontext.JsonError:
        return {}
    if not isinstance(body, dict):
        return {}
    found = {}
    for name in ("betAmount", "winAmount"):
        if name in body:
            try:
                found[name] = parse_amount(body[name])
            except AmountError:
                continue  # not an amount at all: the sandbox answered 2, no precision to judge
    return found


def _decimals(amount: Decimal) -> int:
    """How many decimals the amount has, trailing zeros aside (counted on its digits: exact at any size, where a
    quantize could exceed the decimal context's precision)."""
    _, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0:
        return 0
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -exponent - trailing)


def _amount_precision(f: _Facts) -> CheckResult:
    found, judged = [], 0
    for c in f.bet_calls:
        session = f.context.sessions.get(c.session_id or "")
        if session is None:
            continue
        for name, amount in f.amounts(c).items():
            judged += 1
            if _decimals(amount) > session.scale:
                found.append(
                    Evidence(
                        f"{name} {amount} has more than {session.scale} decimals",
                        (c.id,),
                        c.bet_id,
                        {name: str(amount)},
                    )
                )
    empty = None if judged else "no amounts were sent"
    return _result("amount-precision", found, f"{judged} amount(s) within their currency's precision", empty)


def _within_limits(f: _Facts) -> CheckResult:
    found, judged = [], 0
    for c in f.bet_calls:
        session = f.context.sessions.get(c.session_id or "")
        stake = f.amounts(c).get("betAmount") if c.endpoint in ("pay-in", "pay-in-out") else None
        if session is None or stake is None or not stake:
            continue  # a zero stake stakes nothing: no limit applies
        judged += 1
        if (session.min_bet is not None and stake < session.min_bet) or (
            session.max_bet is not None and stake > session.max_bet
        ):
            found.append(
                Evidence(
                    f"stake {stake} outside the session's limits ({session.min_bet} to {session.max_bet})",
                    (c.id,),
                    c.bet_id,
                    {"betAmount": str(stake)},
                )
            )
    empty = None if judged else "no stakes were sent"
    return _result("within-limits", found, f"{judged} stake(s) within the session limits", empty)


def _session_valid(f: _Facts) -> CheckResult:
    judged = [c for c in f.incoming if c.signature == "valid" and c.endpoint in ("balance", "pay-in", "pay-in-out")]
    found = [
        Evidence(f"{c.endpoint} on session {c.session_id!r}, which is unknown, expired or closed", (c.id,), c.bet_id)
        for c in judged
        if c.fault is None and f.answers[c.id][1] == f.context.codes.session_not_found
    ]
    empty = None if judged else "no balance, PayIn or PayInOut requests"
    return _result("session-valid", found, f"{len(judged)} request(s) on valid sessions", empty)


def _no_open_bets(f: _Facts) -> CheckResult:
    grace = f.context.grace_seconds
    old = [b for b in f.context.open_bets if b.age_seconds > grace]
    young = len(f.context.open_bets) - len(old)
    found = [
        Evidence(
            f"open for {b.age_seconds:.0f} s (grace {grace:g} s): stake taken, never settled or refunded",
            tuple(c.id for c in f.by_bet.get((b.counterparty_id, b.bet_id), ())),
            b.bet_id,
            {"sessionId": b.session_id},
        )
        for b in old
    ]
    passed = "no open bets" if not young else f"{young} open bet(s) younger than the grace period ({grace:g} s)"
    return _result("no-open-bets", found, passed)


def _unknown_fields(f: _Facts) -> CheckResult:
    found = [
        Evidence(f"{c.endpoint} carried unknown fields: {', '.join(c.unknown_fields)}", (c.id,), c.bet_id)
        for c in f.incoming
        if c.unknown_fields
    ]
    return _result("unknown-fields", found, "no unknown fields", _none(f.incoming))


def _balance_after_launch(calls: list[Call], incoming: list[Call], context: Context) -> CheckResult:
    launches = [c for c in calls if c.direction == "outgoing" and c.endpoint == partner.LAUNCH]
    if not launches:
        return CheckResult("balance-after-launch", "not_applicable", "no Launch calls in the journal")
    found, judged = [], 0
    for launch in launches:
        # Successful as the launch itself judged it: a frameUri in a `_responseCode` 1 answer.
        if partner.read_launch(partner.Answer(launch.status, launch.response, launch.error))[1]:
            continue
        judged += 1
        session_id = launch.session_id or _launched_session(launch)
        if not any(
            c.endpoint == "balance"
            and c.session_id == session_id
            and c.signature == "valid"
            and (launch.counterparty_id is None or c.counterparty_id == launch.counterparty_id)
            and (c.time, c.id) > (launch.time, launch.id)
            for c in incoming
        ):
            found.append(
                Evidence(
                    f"no Balance call for session {session_id!r} after its Launch",
                    (launch.id,),
                    details={"sessionId": str(session_id), "path": launch.path},
                )
            )
    if not judged:
        return CheckResult("balance-after-launch", "not_applicable", "no Launch call succeeded")
    return _result("balance-after-launch", found, f"{judged} launch(es), each followed by a Balance call")


def _launched_session(launch: Call) -> str | None:
    try:
        given = jsontext.decode(launch.body)
    except jsontext.JsonError:
        return None
    session_id = given.get("sessionId") if isinstance(given, dict) else None
    return session_id if isinstance(session_id, str) else None


_CHECK_FUNCTIONS: tuple[Callable[[_Facts], CheckResult], ...] = (
    _signature_valid,
    _timestamp_milliseconds,
    _request_id_fresh,
    _retry_identical,
    _no_retry_on_final,
    _pay_in_resolved,
    _pay_out_acknowledged,
    _refund_only_when_needed,
    _amount_precision,
    _within_limits,
    _session_valid,
    _no_open_bets,
    _unknown_fields,
)


Timelines = dict[tuple[str | None, str], list[dict[str, Any]]]


def judge_with_timelines(calls: Iterable[Call], context: Context) -> tuple[list[CheckResult], Timelines]:
    """The checks, and per (counterparty, betId) its attempts in order of arrival: what was sent, what came back,
    which fault fired."""
    ordered = sorted(calls, key=lambda c: (c.time, c.id))
    incoming = [c for c in ordered if c.direction == "incoming"]
    facts = _Facts(incoming, context)
    timelines: Timelines = defaultdict(list)
    for c in facts.bet_calls:
        kind, code = facts.answers[c.id]
        timelines[(c.counterparty_id, c.bet_id or "")].append(
            {
                "entry": c.id,
                "time": c.time,
                "sandboxTime": c.sandbox_time,
                "endpoint": c.endpoint,
                "requestId": c.request_id,
                "body": _shown(c.body),
                "status": c.status,
                "responseCode": code,
                "answer": kind,
                "fault": dict(c.fault) if c.fault else None,
            }
        )
    return _judged(facts, ordered, incoming, context), timelines


__all__ = [
    "CHECKS",
    "Call",
    "CheckResult",
    "Codes",
    "Context",
    "Evidence",
    "OpenBet",
    "SessionFacts",
    "answer",
    "judge",
    "judge_with_timelines",
]
