"""Named fault scenarios: the situations a provider's integration must survive, each a set of fault rules plus the
conformance checks that then judge what the provider did.

A scenario is applied by name with optional filters (sessionId, playerId): its rules are added to the fault book
like any other (so `GET /__admin/faults` shows them) and the application is remembered, so the report can group
its checks by scenario.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from .errors import NotFound
from .inputs import (
    ConnectionResetFault,
    EmptyResponseFault,
    Endpoint,
    FaultBase,
    HttpErrorFault,
    InsufficientFundsFault,
    MalformedBodyFault,
    Number,
    ScenarioOptions,
    TimeoutFault,
)
from .text import shown

DEFAULT_TIMEOUT_MS = 5_000  # a timeout scenario's hold: longer than a sensible client timeout, short for a test


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    expects: tuple[str, ...]  # the conformance checks this scenario exercises
    rules: Callable[[ScenarioOptions], list[FaultBase]]

    def view(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "expects": list(self.expects)}


@dataclass(frozen=True, slots=True)
class AppliedScenario:
    """A scenario as applied: its options (the chaos seed filled in) and the ids of the rules it added."""

    scenario: Scenario
    options: ScenarioOptions
    fault_ids: tuple[str, ...]
    applied_at: float

    @property
    def name(self) -> str:
        return self.scenario.name

    def view(self) -> dict[str, Any]:
        return {
            **self.scenario.view(),
            "sessionId": self.options.session_id,
            "playerId": self.options.player_id,
            "seed": self.options.seed,
            "delayMs": self.options.delay_ms,
            "faultIds": list(self.fault_ids),
            "appliedAt": datetime.fromtimestamp(self.applied_at, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }


def _on(options: ScenarioOptions) -> dict[str, Any]:
    return {"session_id": options.session_id, "player_id": options.player_id}


def _pay_out_lost_answer(o: ScenarioOptions) -> list[FaultBase]:
    return [HttpErrorFault(endpoint="pay-out", phase="after", **_on(o))]


def _pay_out_timeout(o: ScenarioOptions) -> list[FaultBase]:
    return [
        TimeoutFault(
            endpoint="pay-out",
            phase="after",
            delay_ms=o.delay_ms if o.delay_ms is not None else DEFAULT_TIMEOUT_MS,
            **_on(o),
        )
    ]


def _pay_in_reset(o: ScenarioOptions) -> list[FaultBase]:
    return [ConnectionResetFault(endpoint="pay-in", phase="before", **_on(o))]


def _pay_in_500_twice(o: ScenarioOptions) -> list[FaultBase]:
    return [HttpErrorFault(endpoint="pay-in", phase="before", times=2, **_on(o))]


def _pay_in_insufficient_funds(o: ScenarioOptions) -> list[FaultBase]:
    return [InsufficientFundsFault(endpoint="pay-in", **_on(o))]


def _pay_in_out_lost_answer(o: ScenarioOptions) -> list[FaultBase]:
    return [HttpErrorFault(endpoint="pay-in-out", phase="after", **_on(o))]


def _refund_lost_answer(o: ScenarioOptions) -> list[FaultBase]:
    # The stake is taken but neither the PayIn nor its retry is answered, so the provider must refund; that
    # Refund is applied and its answer lost too, so it must be retried until acknowledged.
    return [
        HttpErrorFault(endpoint="pay-in", phase="after", times=2, **_on(o)),
        HttpErrorFault(endpoint="refund", phase="after", **_on(o)),
    ]


# (endpoint, kind, phase, probability) of the chaos mix: every way an answer can go missing, before and after
# the commit. No timeouts: a chaos run should not wait on held connections.
_CHAOS: tuple[tuple[Endpoint, type[FaultBase], Literal["before", "after"], float], ...] = (
    ("pay-in", HttpErrorFault, "before", 0.1),
    ("pay-in", HttpErrorFault, "after", 0.1),
    ("pay-in", ConnectionResetFault, "before", 0.05),
    ("pay-out", HttpErrorFault, "after", 0.15),
    ("pay-out", MalformedBodyFault, "after", 0.05),
    ("pay-out", EmptyResponseFault, "after", 0.05),
    ("pay-in-out", HttpErrorFault, "after", 0.1),
    ("refund", HttpErrorFault, "after", 0.1),
)


def _chaos(o: ScenarioOptions) -> list[FaultBase]:
    seed = o.seed or 0
    return [
        kind(endpoint=endpoint, phase=phase, times=None, probability=Number(p), seed=seed + i, **_on(o))
        for i, (endpoint, kind, phase, p) in enumerate(_CHAOS)
    ]


SCENARIOS: Mapping[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "pay-out-lost-answer",
            "the next PayOut is applied, then answered with HTTP 500: retry it, same bytes, until acknowledged",
            ("pay-out-acknowledged", "retry-identical"),
            _pay_out_lost_answer,
        ),
        Scenario(
            "pay-out-timeout-after-commit",
            "the next PayOut is applied, then its connection is held (delayMs) and closed unanswered: time out, "
            "retry until acknowledged",
            ("pay-out-acknowledged", "retry-identical"),
            _pay_out_timeout,
        ),
        Scenario(
            "pay-in-reset-before-commit",
            "the next PayIn's connection is reset before the wallet sees it: retry it with the same bytes, or refund",
            ("pay-in-resolved", "retry-identical"),
            _pay_in_reset,
        ),
        Scenario(
            "pay-in-500-twice",
            "the next two PayIns get HTTP 500 before the wallet sees them: the attempt and its retry fail, so refund",
            ("pay-in-resolved", "retry-identical"),
            _pay_in_500_twice,
        ),
        Scenario(
            "pay-in-insufficient-funds",
            "the next PayIn is refused with insufficient funds (code 4): a final answer, not to be retried",
            ("no-retry-on-final",),
            _pay_in_insufficient_funds,
        ),
        Scenario(
            "pay-in-out-lost-answer",
            "the next PayInOut is applied, then answered with HTTP 500: retry it, same bytes, until acknowledged",
            ("pay-out-acknowledged", "retry-identical"),
            _pay_in_out_lost_answer,
        ),
        Scenario(
            "refund-lost-answer",
            "the next PayIn and its retry are applied but answered with HTTP 500, so refund; that Refund's answer "
            "is lost too: retry it until acknowledged",
            ("pay-in-resolved", "retry-identical"),
            _refund_lost_answer,
        ),
        Scenario(
            "chaos",
            "a seeded mix, until removed: HTTP 500s before and after the commit, resets, empty and malformed "
            "answers on every money endpoint (the same seed fails the same calls)",
            ("retry-identical", "pay-in-resolved", "pay-out-acknowledged"),
            _chaos,
        ),
    )
}


def scenario(name: str) -> Scenario:
    """The scenario of that name; NotFound listing the names otherwise."""
    found = SCENARIOS.get(name)
    if found is None:
        raise NotFound(f"no scenario {shown(name)}; the scenarios are {', '.join(SCENARIOS)}")
    return found


def prepare(name: str, options: ScenarioOptions) -> tuple[Scenario, ScenarioOptions, list[dict[str, Any]]]:
    """The scenario, its options (a chaos seed drawn when none was given, so the run can be repeated) and its
    fault rules in their JSON form."""
    found = scenario(name)
    if name == "chaos" and options.seed is None:
        options = msgspec.structs.replace(options, seed=random.randrange(2**31))
    if name == "pay-out-timeout-after-commit" and options.delay_ms is None:
        options = msgspec.structs.replace(options, delay_ms=DEFAULT_TIMEOUT_MS)
    rules = [msgspec.to_builtins(rule, enc_hook=float) for rule in found.rules(options)]
    return found, options, rules


__all__ = ["SCENARIOS", "AppliedScenario", "Scenario", "prepare", "scenario"]
