"""The conformance report of a running sandbox: the checks over its journal and wallet, grouped by the scenarios
applied since the last reset, and per bet the timeline of its attempts.

Its JSON shape (`GET /__admin/report`): `{"passed", "summary", "checks", "scenarios", "bets"}`; `report_formats`
renders it as JUnit XML or one HTML page.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from .conformance import (
    DEFAULT_TOLERANCE_MS,
    Call,
    CheckResult,
    Codes,
    Context,
    OpenBet,
    SessionFacts,
    judge_with_timelines,
)
from .journal import JournalEntry
from .money import from_minor
from .scenarios import AppliedScenario
from .state import SandboxState
from .views import iso

DEFAULT_GRACE_SECONDS = 60.0  # an open bet younger than this is still in play
STATUS_ORDER = ("fail", "warn", "pass", "not_applicable")  # worst first
FINAL_CODES = (
    "invalid_request",
    "session_not_found",
    "insufficient_funds",
    "bet_not_found",
    "bet_conflict",
    "limit_exceeded",
    "unauthorized",
)


@dataclass(frozen=True, slots=True)
class Inputs:
    """What a report is judged on, taken at one moment on the sandbox's loop; judging it touches nothing live,
    so it may run in a worker thread. (Journal entries are not changed once recorded.)"""

    entries: tuple[JournalEntry, ...]
    since: float
    context: Context
    scenarios: tuple[AppliedScenario, ...]
    sandbox_time: float | None = None  # a virtual sandbox clock's time when taken (open bets' ages are counted to it)


def inputs_of(state: SandboxState, grace_seconds: float | None = None) -> Inputs:
    """The journal, the wallet facts the checks need and the applied scenarios, as they are now."""
    return Inputs(
        tuple(state.journal),
        state.journal.since,
        context_of(state, DEFAULT_GRACE_SECONDS if grace_seconds is None else grace_seconds),
        tuple(state.scenarios),
        state.clock.now() if state.clock.virtual else None,
    )


def context_of(state: SandboxState, grace_seconds: float = DEFAULT_GRACE_SECONDS) -> Context:
    """What the checks need of the sandbox's state: codes in force, the timestamp window, sessions, open bets."""
    wallet, codes = state.wallet, state.codes
    sessions = {}
    for s in wallet.sessions.values():
        player = wallet.players.get(s.player_id)
        if player is None:
            continue
        scale = wallet.scale(player.currency)
        sessions[s.id] = SessionFacts(
            scale,
            None if s.min_bet is None else from_minor(s.min_bet, scale),
            None if s.max_bet is None else from_minor(s.max_bet, scale),
        )
    now = wallet.clock()
    found = wallet.open_bets()  # durable: found by the database, their first rows read in one go
    first = wallet.ledger.rows_at(b.entries[0] for b in found if b.entries)
    open_bets = [
        OpenBet(b.bet_id, b.counterparty_id, b.session_id, now - (first[b.entries[0]].time if b.entries else now))
        for b in found
    ]
    return Context(
        codes=Codes(
            ok=codes.code("ok"),
            already_processed=codes.code("already_processed"),
            session_not_found=codes.code("session_not_found"),
            bet_not_found=codes.code("bet_not_found"),
            final=frozenset(codes.code(name) for name in FINAL_CODES),
        ),
        tolerance_ms=state.settings.timestampToleranceMs or DEFAULT_TOLERANCE_MS,
        sessions=sessions,
        open_bets=open_bets,
        grace_seconds=grace_seconds,
        dropped=state.journal.dropped,
    )


def build(state: SandboxState, grace_seconds: float | None = None) -> dict[str, Any]:
    """The report of the sandbox as it is now, as a JSON view."""
    return judged(inputs_of(state, grace_seconds))


def judged(given: Inputs) -> dict[str, Any]:
    """The report as a JSON view: failed checks and bets with findings first."""
    # A request held by a fault across a reset is journaled after it, but belongs to the state before it.
    current = [entry for entry in given.entries if entry.arrived >= given.since]
    # A call to a path that is no endpoint reached no wallet rule: it is not judged, only counted (the journal
    # lists it, endpoint unknown), so a stray request of anyone's does not fail or pass a provider.
    calls = [Call.of(entry) for entry in current if entry.endpoint != "unknown"]
    context = given.context
    results, timelines = judge_with_timelines(calls, context)
    counts = {status: sum(r.status == status for r in results) for status in STATUS_ORDER}
    return {
        "passed": counts["fail"] == 0,
        "summary": {
            "checks": len(results),
            "pass": counts["pass"],
            "fail": counts["fail"],
            "warn": counts["warn"],
            "notApplicable": counts["not_applicable"],
            "requests": len(calls),
            "bets": len(timelines),
            "journalDropped": context.dropped,
            "unknownPaths": len(current) - len(calls),
            "graceSeconds": context.grace_seconds,
            "generatedAt": iso(time.time()),
            "sandboxTime": _iso(given.sandbox_time),
        },
        "checks": [r.view() for r in sorted(results, key=lambda r: STATUS_ORDER.index(r.status))],
        "scenarios": [_scenario(applied, results, calls) for applied in given.scenarios],
        "bets": _bets(timelines, results),
    }


def _scenario(applied: AppliedScenario, results: list[CheckResult], calls: list[Call]) -> dict[str, Any]:
    """The scenario's expected checks, judged on the bets its faults hit."""
    ids = set(applied.fault_ids)
    hit = [c for c in calls if c.fault and c.fault.get("id") in ids]
    bet_ids = sorted({c.bet_id for c in hit if c.bet_id is not None})
    by_id = {r.id: r for r in results}
    checks = []
    for check_id in applied.scenario.expects:
        result = by_id[check_id]
        mine = [e for e in result.evidence if e.bet_id in bet_ids]
        if not hit:
            status, summary = "warn", "not exercised: the scenario's faults never fired"
        elif mine:
            status, summary = result.status, f"{len(mine)} finding(s) on this scenario's bets"
        elif result.status == "not_applicable":
            status, summary = "not_applicable", result.summary
        else:
            status, summary = "pass", "no findings on this scenario's bets"
        checks.append(
            {
                "id": check_id,
                "rule": result.rule,
                "status": status,
                "summary": summary,
                "evidence": [e.view() for e in mine],
            }
        )
    worst = min((c["status"] for c in checks), key=STATUS_ORDER.index, default="not_applicable")
    return {**applied.view(), "status": worst, "fired": len(hit), "betIds": bet_ids, "checks": checks}


def _iso(moment: float | None) -> str | None:
    return None if moment is None else iso(moment)


def _bets(timelines: dict[tuple[str | None, str], list[dict[str, Any]]], results: list[CheckResult]) -> list[Any]:
    """Each bet's attempts; bets with findings first, each naming the checks that found something."""
    findings: dict[str, set[str]] = defaultdict(set)
    for r in results:
        if r.status in ("fail", "warn"):
            for e in r.evidence:
                if e.bet_id is not None:
                    findings[e.bet_id].add(r.id)
    bets = [
        {
            "betId": bet_id,
            "counterpartyId": counterparty_id,
            "findings": sorted(findings.get(bet_id, ())),
            "attempts": [{**a, "time": iso(a["time"]), "sandboxTime": _iso(a["sandboxTime"])} for a in attempts],
        }
        for (counterparty_id, bet_id), attempts in timelines.items()
    ]
    bets.sort(key=lambda b: not b["findings"])  # stable: otherwise in order of first arrival
    return bets


__all__ = ["DEFAULT_GRACE_SECONDS", "Inputs", "build", "context_of", "inputs_of", "judged"]
