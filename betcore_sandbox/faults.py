"""Fault rules: which provider requests fail, how, and whether before or after the money moved."""

from __future__ import annotations

import heapq
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, get_args

from .errors import AdminInputError, NotFound
from .inputs import FaultBase, FaultIn, InputError, read
from .limits import KEPT_FINISHED_FAULT_RULES, MAX_FAULT_RULES, MAX_TTL_SECONDS
from .text import shown

KINDS = tuple(str(kind.__struct_config__.tag) for kind in get_args(FaultIn))  # one source: the rule types
# Kinds that answer nothing: the client sees a dropped connection.
SILENT_KINDS = frozenset({"timeout", "connection_reset", "empty_response"})
# The fields that say what a rule of a kind does, by kind: a rule lists only those of its own kind.
KIND_FIELDS = {
    "http_error": ("status",),
    "response_code": ("responseCode",),
    "delay": ("delayMs",),
    "timeout": ("delayMs",),
}


@dataclass(slots=True)
class FaultRule:
    id: str
    kind: str
    endpoint: str = "*"
    session_id: str | None = None
    player_id: str | None = None
    bet_id: str | None = None
    phase: str = "before"
    status: int = 500
    response_code: int | None = None  # None: the internal_error code in force
    delay_ms: int | None = None
    times: int | None = 1
    skip: int = 0
    probability: float = 1.0
    seed: int | None = None
    ttl_seconds: float | None = None
    seq: int = 0  # creation order
    created_at: float = 0.0
    expires_at: float | None = None  # sandbox time, epoch seconds
    matched: int = 0
    fired: int = 0
    expired: bool = False  # its TTL ran out: listed, never a candidate again
    rng: random.Random = field(default_factory=random.Random, repr=False)

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else max(self.times - self.fired, 0)

    @property
    def state(self) -> str:
        """active, used-up (fired `times` times) or expired (its TTL ran out); the last two never fire again."""
        if self.remaining == 0:
            return "used-up"
        return "expired" if self.expired else "active"

    @property
    def silent(self) -> bool:
        return self.kind in SILENT_KINDS

    def applies_to(self, endpoint: str, session_id: str | None, player_id: str | None, bet_id: str | None) -> bool:
        return (
            (self.endpoint == "*" or self.endpoint == endpoint)
            and (self.session_id is None or self.session_id == session_id)
            and (self.player_id is None or self.player_id == player_id)
            and (self.bet_id is None or self.bet_id == bet_id)
        )

    def summary(self) -> dict[str, Any]:
        """What the journal records of a fired fault."""
        return {"id": self.id, "kind": self.kind, "phase": self.phase}

    def view(self) -> dict[str, Any]:
        """The admin API's shape: the fields every rule has, and only those of its own kind (a delay shows no
        HTTP status)."""
        doing = {"status": self.status, "responseCode": self.response_code, "delayMs": self.delay_ms}
        return {
            "id": self.id,
            "endpoint": self.endpoint,
            "sessionId": self.session_id,
            "playerId": self.player_id,
            "betId": self.bet_id,
            "kind": self.kind,
            "phase": self.phase,
            **{name: doing[name] for name in KIND_FIELDS.get(self.kind, ())},
            "times": self.times,
            "skip": self.skip,
            "probability": self.probability,
            "seed": self.seed,
            "ttlSeconds": self.ttl_seconds,
            "state": self.state,
            "fired": self.fired,
            "remaining": self.remaining,
            "matched": self.matched,
        }


class FaultBook:
    """The rules in creation order. The first that matches a request and fires wins. A rule that is used up or
    whose TTL ran out stays listed, with its counters, until it is removed, the rules are cleared or the sandbox
    is reset, or until KEPT_FINISHED_FAULT_RULES rules finished after it (the oldest finished are dropped then).
    At most MAX_FAULT_RULES rules can still fire at once: more are refused.

    Rules that can still fire are indexed by their most selective filter, so a request only looks at the rules
    that could match it: thousands of rules for other bets or sessions cost nothing per request."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        """clock: the sandbox clock (epoch seconds): TTLs follow it, an advanced clock included."""
        self._now = clock
        self._rules: dict[str, FaultRule] = {}  # in creation order
        self._index: dict[tuple[str, str], dict[str, FaultRule]] = {}
        self._expiries: list[tuple[float, int, str]] = []  # a heap of (expires at, seq, rule id)
        self._ids = itertools.count(1)
        self._finished: dict[str, None] = {}  # ids of used-up or expired rules, in the order they finished

    def clear(self) -> None:
        self._rules.clear()
        self._index.clear()
        self._expiries.clear()
        self._finished.clear()

    def reset(self) -> None:
        """No rules, and ids numbered from fault-1 again."""
        self.clear()
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._rules)

    def add(self, spec: Any) -> FaultRule:
        """A new rule, last in the order. spec: its JSON form (AdminInputError naming the field) or a rule type
        already read (a fixture's, checked when the fixture was loaded)."""
        rule = rule_of(spec, "") if isinstance(spec, FaultBase) else parse_rule(spec, "")
        self.make_room(1)
        rule.seq = seq = next(self._ids)
        rule.id = f"fault-{seq}"
        rule.created_at = self._now()
        if rule.ttl_seconds is not None:
            rule.expires_at = rule.created_at + rule.ttl_seconds
            heapq.heappush(self._expiries, (rule.expires_at, seq, rule.id))
        self._rules[rule.id] = rule
        self._index.setdefault(_index_key(rule), {})[rule.id] = rule
        return rule

    def make_room(self, count: int) -> None:
        """AdminInputError unless `count` more rules fit under MAX_FAULT_RULES: checked before any is added."""
        self._expire()
        if len(self._rules) - len(self._finished) + count > MAX_FAULT_RULES:
            raise AdminInputError(
                f"too many fault rules: at most {MAX_FAULT_RULES} can be active at once (remove or clear some)"
            )

    def rules(self) -> list[FaultRule]:
        self._expire()
        return list(self._rules.values())

    def get(self, rule_id: str) -> FaultRule:
        self._expire()
        rule = self._rules.get(rule_id)
        if rule is None:
            raise NotFound(f"no fault {shown(rule_id)}")
        return rule

    def remove(self, rule_id: str) -> None:
        rule = self._rules.pop(rule_id, None)
        if rule is None:
            raise NotFound(f"no fault {shown(rule_id)}")
        self._unindex(rule)
        self._finished.pop(rule_id, None)

    def fire(
        self, endpoint: str, session_id: str | None, player_id: str | None, bet_id: str | None
    ) -> FaultRule | None:
        """The rule that fires on this request, with its counters advanced; None lets the request through."""
        if not self._index:
            return None
        self._expire()
        buckets = [
            self._index.get(key)
            for key in (
                ("endpoint", endpoint),
                ("endpoint", "*"),
                ("session", session_id or ""),
                ("player", player_id or ""),
                ("bet", bet_id or ""),
            )
        ]
        candidates = [rule for bucket in buckets if bucket for rule in bucket.values()]
        if len(candidates) > 1:
            candidates.sort(key=_creation_order)
        for rule in candidates:
            if not rule.applies_to(endpoint, session_id, player_id, bet_id):
                continue
            rule.matched += 1
            if rule.matched <= rule.skip:
                continue
            if rule.probability < 1.0 and rule.rng.random() >= rule.probability:
                continue
            rule.fired += 1
            if rule.remaining == 0:
                self._finish(rule)  # used up: still listed, never a candidate again
            return rule
        return None

    def _unindex(self, rule: FaultRule) -> None:
        key = _index_key(rule)
        bucket = self._index.get(key)
        if bucket is not None:
            bucket.pop(rule.id, None)
            if not bucket:
                del self._index[key]

    def _expire(self) -> None:
        expiries = self._expiries
        if not expiries or expiries[0][0] > (now := self._now()):
            return
        while expiries and expiries[0][0] <= now:
            _, _, rule_id = heapq.heappop(expiries)
            rule = self._rules.get(rule_id)
            if rule is not None and not rule.expired:
                rule.expired = True
                self._finish(rule)

    def _finish(self, rule: FaultRule) -> None:
        """A rule that will never fire again: out of the index, and the oldest finished rule dropped once more than
        KEPT_FINISHED_FAULT_RULES are kept (so finished rules never pile up)."""
        self._unindex(rule)
        if rule.id in self._finished:  # used up first, then its TTL ran out: finished once
            return
        self._finished[rule.id] = None
        if len(self._finished) > KEPT_FINISHED_FAULT_RULES:
            oldest = next(iter(self._finished))
            del self._finished[oldest]
            self._rules.pop(oldest, None)


def _index_key(rule: FaultRule) -> tuple[str, str]:
    """The most selective filter of a rule: where the index files it."""
    if rule.bet_id is not None:
        return ("bet", rule.bet_id)
    if rule.session_id is not None:
        return ("session", rule.session_id)
    if rule.player_id is not None:
        return ("player", rule.player_id)
    return ("endpoint", rule.endpoint)


def _creation_order(rule: FaultRule) -> int:
    return rule.seq


def parse_rule(spec: Any, rule_id: str) -> FaultRule:
    """A FaultRule from its JSON form; AdminInputError names the first bad field."""
    try:
        return rule_of(read(spec, FaultIn), rule_id)
    except InputError as problem:
        raise AdminInputError(f"{problem.path.removeprefix('$.')}: {problem.message}") from None


def rule_of(given: FaultBase, rule_id: str, path: str = "$") -> FaultRule:
    """A FaultRule from a rule type; InputError (path: where the rule stands, e.g. $.faults[0]) for values its
    type cannot refuse alone."""
    if not 0.0 <= given.probability <= 1.0:
        raise InputError(f"{path}.probability", "must be from 0 to 1")
    if given.ttl_seconds is not None and not 0 < given.ttl_seconds <= MAX_TTL_SECONDS:
        raise InputError(f"{path}.ttlSeconds", f"must be greater than 0 and at most {MAX_TTL_SECONDS}")
    rule = FaultRule(
        id=rule_id,
        kind=str(type(given).__struct_config__.tag),
        endpoint=given.endpoint,
        session_id=_text(given.session_id),
        player_id=_text(given.player_id),
        bet_id=_text(given.bet_id),
        phase=given.phase,
        status=getattr(given, "status", 500),
        response_code=getattr(given, "response_code", None),
        delay_ms=getattr(given, "delay_ms", None),
        times=given.times,
        skip=given.skip,
        probability=float(given.probability),
        seed=given.seed,
        ttl_seconds=None if given.ttl_seconds is None else float(given.ttl_seconds),
    )
    rule.rng = random.Random(given.seed)
    return rule


def _text(value: str | int | None) -> str | None:
    return None if value is None else str(value)
