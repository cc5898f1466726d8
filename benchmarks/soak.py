"""Soak: concurrent provider clients doing valid wallet work while fault rules come and go, then the money invariants.

    python -m benchmarks.soak --seconds 600                 # a fresh sandbox process, 60 s epochs, 32 clients
    python -m benchmarks.soak --seconds 20 --seed 7         # reproduce a run's operation mix
    python -m benchmarks.soak --url http://127.0.0.1:8080   # an already running sandbox (it gets reset!)

Each epoch resets the sandbox, creates players and sessions with known balances through the admin API, then runs
`concurrency` clients that behave like the real PHP provider (retry once on 99 or no answer with the same bytes and
a new X-Request-Id, then refund), plus exact duplicates (same bytes, new X-Request-Id), replays (same
X-Request-Id: must be 401 code 8), and a task that adds and removes fault rules all the time. A poller reads the
request journal while it is still fresh. After the load: faults cleared, every bet not known to be closed refunded,
then the invariants:

  1. per player: balance = opening balance + the sum of its ledger entries
  2. every acknowledged operation (code 1 or 104) is in the ledger under its transactionId, with its betId and
     exactly the entries it implies; no bet was debited or paid twice; all acknowledgements of one operation carry
     one transactionId
  3. no code 99 without an injected fault (every journal entry, and every 99 a client received)
  4. GET /__admin/audit ok, no violations, no open bets once settled
  5. no internal error (journal `error`, an admin 5xx, a traceback in the server's log)
  6. the server's RSS bounded within an epoch, and not growing from epoch to epoch (a leak)

Prints a summary; exits 1 if an invariant was violated. The operation mix is seeded (printed first); the
interleaving of concurrent requests is not, so a seed reproduces the workload, not the exact schedule.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp

from betcore_sandbox.faults import KINDS
from betcore_sandbox.signing import signed_headers

CP = "933a215f-a9e6-4f88-9d91-52a87cd50499"
SECRET = "sandbox-secret-key-123"
ACK_CODES = frozenset({1, 104})
DEFINITIVE_REFUND = frozenset({1, 104, 5, 6})  # refunded, already refunded, never taken, settled
CURRENCIES = (
    ("EUR", 2, "1000000.00", 10, 5_000),
    ("USD", 2, "1000000.00", 10, 5_000),
    ("BTC", 8, "1000.00000000", 100, 100_000),
)  # code, decimals, opening balance, stake range (minor units)
FAULT_KINDS = KINDS
FAULT_ENDPOINTS = ("*", "*", "balance", "pay-in", "pay-out", "pay-in-out", "refund")
INJECTED_CODES = (3, 4, 5, 6, 7, 99)  # never 1/104 (would fake an ack) nor 2/8 (flagged as unexpected)


@dataclass
class SoakConfig:
    seconds: float = 10.0
    concurrency: int = 16
    seed: int = 0
    epoch_seconds: float | None = None  # None: one epoch
    players: int = 6
    sessions_per_player: int = 2
    request_timeout: float = 5.0
    churn_interval: float = 0.05  # mean pause between fault-rule changes
    journal_interval: float = 0.25
    rss_epoch_mib: float = 160.0  # RSS growth allowed within one epoch, plus rss_per_request_kib per request
    rss_per_request_kib: float = 4.0
    rss_leak_mib: float = 64.0  # growth of the end-of-epoch RSS from the first epoch to the last


@dataclass
class SoakReport:
    seed: int
    epochs: int = 0
    load_seconds: float = 0.0
    requests: int = 0
    outcomes: Counter = field(default_factory=Counter)
    acks: int = 0
    duplicates: int = 0
    replays: int = 0
    settled_bets: int = 0
    faults_added: int = 0
    faults_removed: int = 0
    faults_fired: int = 0
    journal_checked: int = 0
    journal_missed: int = 0
    unverified_99: int = 0  # 99s a client saw whose journal entry was dropped before it was read
    ledger_entries: int = 0
    rss_mib: list[tuple[float, float]] = field(default_factory=list)  # (start, end) per epoch
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def violate(self, message: str) -> None:
        if len(self.violations) < 200:  # enough to diagnose, bounded for a 10-minute run
            self.violations.append(message)

    def summary(self) -> str:
        rate = self.requests / self.load_seconds if self.load_seconds else 0.0
        rss = ", ".join(f"{a:.0f}->{b:.0f}" for a, b in self.rss_mib) or "not measured"
        lines = [
            f"soak seed {self.seed}: {self.epochs} epoch(s), {self.load_seconds:.1f} s of load",
            f"  requests {self.requests} ({rate:.0f}/s), acknowledged {self.acks}, duplicates {self.duplicates}, "
            f"replays {self.replays}, bets settled afterwards {self.settled_bets}",
            "  outcomes " + ", ".join(f"{k}: {v}" for k, v in sorted(self.outcomes.items(), key=str)),
            f"  faults added {self.faults_added}, removed {self.faults_removed}, fired (journal) {self.faults_fired}",
            f"  journal entries checked {self.journal_checked}, missed {self.journal_missed}, client 99s not "
            f"found in it {self.unverified_99}; "
            f"ledger entries {self.ledger_entries}",
            f"  server RSS MiB per epoch (start->end): {rss}",
            f"  invariants: {'all held' if self.ok else f'{len(self.violations)} violation(s)'}",
        ]
        lines += [f"    - {v}" for v in self.violations[:50]]
        return "\n".join(lines)


@dataclass(slots=True)
class Answer:
    request_id: str
    status: int | None = None  # None: no HTTP answer at all
    code: int | None = None  # None: no answer, or not a JSON object with an integer _responseCode
    body: dict[str, Any] | None = None

    @property
    def ack(self) -> bool:
        return self.code in ACK_CODES and self.body is not None and "transactionId" in self.body


@dataclass(slots=True)
class Ack:
    endpoint: str
    player: str
    bet_id: str
    transaction_id: str
    expected: tuple[tuple[str, Decimal], ...]  # the (type, amount) ledger entries the operation implies


@dataclass(slots=True)
class Bet:
    bet_id: str
    session: str
    player: str
    kind: str  # pay-in | pay-in-out | pay-out (a jackpot: a pay-out with no pay-in)
    stake: Decimal
    win: Decimal | None = None
    closed: bool = False  # known settled or refunded; anything else is refunded after the load


def read_rss_mib(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _number(amount: Decimal) -> str:
    return format(amount, "f")


def encode(
    fields: list[tuple[str, Any]], numeric: frozenset[str] = frozenset(), exponent: frozenset[str] = frozenset()
) -> bytes:
    """Compact JSON, amounts named in `numeric` as JSON numbers written from their exact decimal text, and those
    named in `exponent` in exponent notation (as PHP writes small floats: "5.0E-5"), still exact."""

    def text(key: str, value: Any) -> str:
        if not isinstance(value, Decimal):
            return json.dumps(value)
        written = format(value, "E") if key in exponent else _number(value)
        return written if key in numeric else json.dumps(written)

    return ("{" + ",".join(f'"{k}":{text(k, v)}' for k, v in fields) + "}").encode()


class Epoch:
    """One load phase against a freshly reset sandbox, and its checks."""

    def __init__(
        self, http: aiohttp.ClientSession, base: str, config: SoakConfig, report: SoakReport, number: int
    ) -> None:
        self.http, self.base, self.config, self.report, self.number = http, base, config, report, number
        self.sessions: list[tuple[str, str, str, int]] = []  # (session, player, currency, decimals)
        self.opening: dict[str, Decimal] = {}
        self.acks: list[Ack] = []
        self.bets: list[Bet] = []
        self.client_99: list[str] = []
        self.journal_99: dict[str, bool] = {}  # request id of a journaled 99 -> a fault fired on it
        self.journal_last = 0
        self.journal_window = 1_000
        self.stopping = False
        self.follow_ups: set[str] = set()  # bets paid out again after their pay-in-out (two win entries)

    # -- transport ---------------------------------------------------------------------------------------------

    async def admin(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201, 204)) -> Any:
        data = None if body is None else json.dumps(body).encode()
        async with self.http.request(method, f"{self.base}/__admin{path}", data=data) as response:
            raw = await response.read()
            if response.status not in ok:
                self.report.violate(f"admin {method} {path} answered {response.status}: {raw[:300]!r}")
                return None
            return json.loads(raw, parse_float=Decimal) if raw else None

    async def send(self, method: str, path: str, raw: bytes, headers: dict[str, str] | None = None) -> Answer:
        """One HTTP attempt; fresh signed headers unless given (a replay)."""
        if headers is None:
            headers = signed_headers(SECRET, CP, method, raw)
            headers["Content-Type"] = "application/json"
        answer = Answer(headers["X-Request-Id"])
        self.report.requests += 1
        try:
            async with self.http.request(
                method, self.base + path, data=raw if method == "POST" else None, headers=headers
            ) as response:
                answer.status = response.status
                payload = await response.read()
        except (TimeoutError, aiohttp.ClientError, OSError):
            self.report.outcomes["no answer"] += 1
            return answer
        try:
            body = json.loads(payload, parse_float=Decimal)
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("_responseCode"), int):
            answer.body, answer.code = body, body["_responseCode"]
            self.report.outcomes[f"code {answer.code}"] += 1
        else:
            self.report.outcomes["garbage"] += 1
        if answer.code == 99:
            self.client_99.append(answer.request_id)
        if answer.status is not None and answer.status >= 500 and answer.code != 99:
            self.report.violate(f"{method} {path}: HTTP {answer.status} without code 99: {payload[:200]!r}")
        return answer

    # -- set-up ------------------------------------------------------------------------------------------------

    async def setup(self) -> None:
        await self.admin("POST", "/reset")
        for i in range(self.config.players):
            currency, decimals, opening, _, _ = CURRENCIES[i % len(CURRENCIES)]
            player = f"soak-p{i}"
            await self.admin("POST", "/players", {"id": player, "currency": currency, "balance": opening})
            self.opening[player] = Decimal(opening)
            for j in range(self.config.sessions_per_player):
                session = f"soak-s{i}-{j}"
                await self.admin("POST", "/sessions", {"id": session, "playerId": player})
                self.sessions.append((session, player, currency, decimals))

    # -- the clients -------------------------------------------------------------------------------------------

    async def client(self, number: int, deadline: float) -> None:
        rng = random.Random(f"{self.config.seed}:{self.number}:{number}")
        worker = Worker(self, rng, f"e{self.number}-w{number}")
        while time.monotonic() < deadline:
            await worker.step()
        self.bets.extend(worker.bets)

    async def churn_faults(self, rng: random.Random) -> None:
        active: list[str] = []
        while not self.stopping:
            await asyncio.sleep(rng.expovariate(1 / self.config.churn_interval))
            roll = rng.random()
            if roll < 0.55 or not active:
                rule = self.random_rule(rng)
                created = await self.admin("POST", "/faults", rule, ok=(201,))
                if created is not None:
                    active.append(created["id"])
                    self.report.faults_added += 1
                if len(active) > 12:
                    roll = 0.6  # too many: remove one as well
            if 0.55 <= roll < 0.97 and active:
                rule_id = active.pop(rng.randrange(len(active)))
                await self.admin("DELETE", f"/faults/{rule_id}", ok=(204, 404))  # 404: its ttl ran out
                self.report.faults_removed += 1
            elif roll >= 0.97:
                await self.admin("DELETE", "/faults", ok=(204,))
                self.report.faults_removed += len(active)
                active.clear()

    def random_rule(self, rng: random.Random) -> dict[str, Any]:
        kind = rng.choice(FAULT_KINDS)
        rule: dict[str, Any] = {
            "kind": kind,
            "endpoint": rng.choice(FAULT_ENDPOINTS),
            "phase": rng.choice(("before", "after")),
            "probability": rng.choice((1.0, 0.5, 0.2, 0.05)),
            "seed": rng.randrange(2**31),
            "times": rng.choice((1, 1, 3, 10, None)),
        }
        if rng.random() < 0.25:
            rule["sessionId"] = rng.choice(self.sessions)[0]
        if rng.random() < 0.2:
            rule["ttlSeconds"] = rng.choice((0.2, 0.5, 1))
        if rng.random() < 0.2:
            rule["skip"] = rng.randrange(1, 4)
        if kind == "http_error":
            rule["status"] = rng.choice((500, 502, 503, 504, 429, 400))
        elif kind == "response_code":
            rule["responseCode"] = rng.choice(INJECTED_CODES)
        elif kind == "delay":
            rule["delayMs"] = rng.randint(1, 30)
        elif kind == "timeout":
            rule["delayMs"] = rng.randint(20, 80)
        return rule

    async def poll_journal(self) -> None:
        while not self.stopping:
            await asyncio.sleep(self.config.journal_interval)
            await self.read_journal()

    async def read_journal(self) -> None:
        """Check the entries journaled since the last read; a bounded journal may have dropped some already."""
        entries = await self.admin("GET", f"/requests?limit={self.journal_window}")
        if not entries:
            return
        fresh = [e for e in entries if e["id"] > self.journal_last]
        if not fresh:
            return
        # Ask for about three polls' worth next time: small answers, yet room for a slow poll.
        window = max(1_000, 3 * len(fresh))
        if fresh[0]["id"] > self.journal_last + 1:  # fell out of the window (or the journal) before we looked
            self.report.journal_missed += fresh[0]["id"] - self.journal_last - 1
            window = 4 * self.journal_window
        self.journal_window = min(window, 20_000)
        self.journal_last = fresh[-1]["id"]
        for entry in fresh:
            self.check_entry(entry)

    def check_entry(self, entry: dict[str, Any]) -> None:
        self.report.journal_checked += 1
        fault = entry.get("fault")
        if fault:
            self.report.faults_fired += 1
        if entry.get("error"):
            self.report.violate(f"internal error on journal entry {entry['id']}: {str(entry['error'])[-300:]}")
        response = entry.get("response") or {}
        try:
            code = json.loads(response.get("body") or "null").get("_responseCode")
        except (ValueError, AttributeError):
            code = None
        if code == 99 or (response.get("status") or 0) >= 500:
            request_id = _header(entry.get("headers"), "x-request-id")
            self.journal_99[request_id or f"entry-{entry['id']}"] = bool(fault)
            if not fault:
                self.report.violate(
                    f"journal entry {entry['id']} ({entry.get('endpoint')}) answered "
                    f"{response.get('status')} / code {code} with no fault fired"
                )

    # -- after the load ----------------------------------------------------------------------------------------

    async def settle(self) -> None:
        """Refund every bet whose fate the client does not know: afterwards nothing may be left open."""
        pending = [b for b in self.bets if not b.closed]
        self.report.settled_bets += len(pending)
        gate = asyncio.Semaphore(self.config.concurrency)

        async def refund(bet: Bet) -> None:
            raw = encode([("betId", bet.bet_id), ("gameRoundId", f"r-{bet.bet_id}")])
            async with gate:
                for _ in range(5):
                    answer = await self.send("POST", f"/v1/sessions/{bet.session}/bets/refund", raw)
                    if answer.code in DEFINITIVE_REFUND:
                        if answer.ack:
                            self.acks.append(refund_ack(bet, answer))
                        bet.closed = True
                        return
                self.report.violate(f"bet {bet.bet_id}: no definitive refund answer without faults")

        await asyncio.gather(*(refund(b) for b in pending))

    async def check(self) -> None:
        report = self.report
        audit = await self.admin("GET", "/audit")
        if audit is not None:
            if not audit.get("ok") or audit.get("violations"):
                for v in audit.get("violations", [])[:20]:
                    report.violate(f"audit: {v}")
                if not audit.get("violations"):
                    report.violate("audit: ok is false")
            if audit.get("openBets"):
                report.violate(
                    f"{len(audit['openBets'])} bet(s) still open after settling, e.g. "
                    f"{audit['openBets'][0].get('betId')}"
                )
        ledger: list[dict[str, Any]] = []
        for player, opening in self.opening.items():
            entries = await self.admin("GET", f"/transactions?playerId={player}") or []
            ledger += entries
            state = await self.admin("GET", f"/players/{player}")
            if state is None:
                continue
            total = sum((Decimal(str(e["amount"])) for e in entries), Decimal(0))
            if Decimal(str(state["balance"])) != opening + total:
                report.violate(f"player {player}: balance {state['balance']} != opening {opening} + ledger {total}")
        report.ledger_entries += len(ledger)
        by_transaction: dict[str, list[dict[str, Any]]] = defaultdict(list)
        per_bet: dict[tuple[Any, Any], Counter] = defaultdict(Counter)
        for e in ledger:
            by_transaction[str(e["transactionId"])].append(e)
            if e.get("betId") is not None:
                per_bet[(e.get("counterpartyId"), e["betId"])][e["type"]] += 1
        for (_, bet_id), types in per_bet.items():
            twice = [t for t, n in types.items() if n > (2 if t == "win" and bet_id in self.follow_ups else 1)]
            if twice:
                report.violate(f"bet {bet_id}: ledger has {dict(types)} ({', '.join(twice)} booked twice)")
        seen: dict[tuple[str, str], str] = {}
        for ack in self.acks:
            key = (ack.endpoint, ack.bet_id)
            if seen.setdefault(key, ack.transaction_id) != ack.transaction_id:
                report.violate(
                    f"{ack.endpoint} {ack.bet_id}: acknowledged as transaction {seen[key]} and as {ack.transaction_id}"
                )
            entries = by_transaction.get(ack.transaction_id)
            if not entries:
                report.violate(
                    f"acknowledged {ack.endpoint} {ack.bet_id} (transaction {ack.transaction_id}) is not in the ledger"
                )
                continue
            if any(e.get("betId") != ack.bet_id or e.get("playerId") != ack.player for e in entries):
                report.violate(
                    f"transaction {ack.transaction_id} acknowledged for {ack.bet_id} ({ack.player}) "
                    f"but the ledger has {[(e.get('betId'), e.get('playerId')) for e in entries]}"
                )
                continue
            booked = sorted(
                (e["type"], Decimal(str(e["amount"])))
                for e in entries
                if not (e["type"] == "reversal" and Decimal(str(e["amount"])) == 0)
            )
            if booked != sorted(ack.expected):
                report.violate(
                    f"{ack.endpoint} {ack.bet_id} (transaction {ack.transaction_id}): ledger "
                    f"{booked}, expected {sorted(ack.expected)}"
                )
        # A 99 the client saw must be a journaled fault (a 99 without one was flagged when its entry was read).
        report.unverified_99 += sum(1 for request_id in self.client_99 if request_id not in self.journal_99)

    async def run(self, seconds: float, pid: int | None) -> None:
        report, config = self.report, self.config
        await self.setup()
        rss_start = read_rss_mib(pid)
        requests_before = report.requests
        rng = random.Random(f"{config.seed}:{self.number}:faults")
        started = time.monotonic()
        deadline = started + seconds
        background = [asyncio.create_task(self.churn_faults(rng)), asyncio.create_task(self.poll_journal())]
        await asyncio.gather(*(self.client(i, deadline) for i in range(config.concurrency)))
        report.load_seconds += time.monotonic() - started
        self.stopping = True
        await asyncio.gather(*background)
        await self.admin("DELETE", "/faults")
        await asyncio.sleep(0.3)  # let held connections (timeout faults) and delays run out
        await self.settle()
        await self.read_journal()
        await self.check()
        rss_end = read_rss_mib(pid)
        if rss_start is not None and rss_end is not None:
            report.rss_mib.append((rss_start, rss_end))
            allowed = config.rss_epoch_mib + config.rss_per_request_kib * (report.requests - requests_before) / 1024
            if rss_end - rss_start > allowed:
                report.violate(
                    f"epoch {self.number}: RSS grew {rss_end - rss_start:.0f} MiB "
                    f"({rss_start:.0f} -> {rss_end:.0f}), allowed {allowed:.0f}"
                )
        report.acks += len(self.acks)


def _header(headers: Any, name: str) -> str | None:
    pairs = headers.items() if isinstance(headers, dict) else (headers or [])
    for key, value in pairs:
        if str(key).lower() == name:
            return value
    return None


def refund_ack(bet: Bet, answer: Answer) -> Ack:
    expected = [("refund", bet.stake)]
    if bet.kind == "pay-in-out" and bet.win:
        expected.append(("reversal", -bet.win))
    return Ack("refund", bet.player, bet.bet_id, str(answer.body["transactionId"]), tuple(expected))


class Worker:
    """One provider client: the PHP game server's wallet calls, plus duplicates and replays."""

    def __init__(self, epoch: Epoch, rng: random.Random, prefix: str) -> None:
        self.epoch, self.rng, self.prefix = epoch, rng, prefix
        self.count = 0
        self.bets: list[Bet] = []
        self.open: list[Bet] = []  # acknowledged pay-ins left open for a later round
        self.recent_acks: deque[tuple[str, str, bytes, str]] = deque(maxlen=64)  # endpoint, path, raw, txid
        self.answered: deque[tuple[str, str, bytes, dict[str, str]]] = deque(maxlen=64)

    async def step(self) -> None:
        roll = self.rng.random()
        session = self.rng.choice(self.epoch.sessions)
        if roll < 0.10:
            await self.balance(session)
        elif roll < 0.47:
            await self.pay_in_round(session)
        elif roll < 0.67:
            await self.pay_in_out_round(session)
        elif roll < 0.70:
            await self.jackpot(session)
        elif roll < 0.77 and self.open:
            await self.pay_out(self.open.pop(self.rng.randrange(len(self.open))))
        elif roll < 0.90 and self.recent_acks:
            await self.duplicate()
        elif self.answered:
            await self.replay()
        else:
            await self.balance(session)

    # -- one HTTP attempt, remembered for replays ---------------------------------------------------------------

    async def attempt(self, method: str, path: str, raw: bytes) -> Answer:
        headers = signed_headers(SECRET, CP, method, raw)
        headers["Content-Type"] = "application/json"
        answer = await self.epoch.send(method, path, raw, headers)
        if answer.status is not None:  # the server authenticated it, so its X-Request-Id is spent
            self.answered.append((method, path, raw, headers))
        if answer.code in (2, 8):
            self.epoch.report.violate(f"valid {path} answered code {answer.code}: {answer.body}")
        return answer

    async def php_call(self, endpoint: str, session: str, raw: bytes, expected: tuple, bet: Bet) -> Answer:
        """Send; on 99, garbage or no answer retry once with the same bytes and a new X-Request-Id."""
        path = f"/v1/sessions/{session}/bets/{endpoint}"
        answer = await self.first_attempt(path, raw)
        if answer.code is None or answer.code == 99:
            answer = await self.attempt("POST", path, raw)
        if answer.ack:
            self.record_ack(endpoint, path, raw, bet, answer, expected)
        return answer

    async def first_attempt(self, path: str, raw: bytes) -> Answer:
        if self.rng.random() >= 0.05:
            return await self.attempt("POST", path, raw)
        # Two identical requests at once (a client that retried too early): still one operation.
        self.epoch.report.duplicates += 1
        pair = await asyncio.gather(self.attempt("POST", path, raw), self.attempt("POST", path, raw))
        acked = [a for a in pair if a.ack]
        if len(acked) == 2 and acked[0].body["transactionId"] != acked[1].body["transactionId"]:
            self.epoch.report.violate(
                f"concurrent duplicates of {path} {raw!r} got transactions "
                f"{acked[0].body['transactionId']} and {acked[1].body['transactionId']}"
            )
        return acked[0] if acked else pair[0]

    def record_ack(self, endpoint: str, path: str, raw: bytes, bet: Bet, answer: Answer, expected: tuple) -> None:
        transaction_id = str(answer.body["transactionId"])
        self.epoch.acks.append(Ack(endpoint, bet.player, bet.bet_id, transaction_id, expected))
        self.recent_acks.append((endpoint, path, raw, transaction_id))

    # -- rounds ----------------------------------------------------------------------------------------------

    def new_bet(self, session: tuple[str, str, str, int], kind: str) -> Bet:
        self.count += 1
        _, _, _, decimals = session
        low, high = next((lo, hi) for c, d, _, lo, hi in CURRENCIES if c == session[2])
        units = 0 if self.rng.random() < 0.05 else self.rng.randint(low, high)  # now and then a free round
        stake = Decimal(units).scaleb(-decimals)
        bet = Bet(f"{self.prefix}-{self.count}", session[0], session[1], kind, stake)
        self.bets.append(bet)
        return bet

    def amount_fields(self, names: tuple[str, ...]) -> frozenset[str]:
        """Amounts go as decimal strings or as JSON numbers, at random."""
        return frozenset(n for n in names if self.rng.random() < 0.5)

    def exponent_fields(self, names: tuple[str, ...]) -> frozenset[str]:
        """Now and then an amount in exponent notation."""
        return frozenset(n for n in names if self.rng.random() < 0.15)

    def win_for(self, bet: Bet, decimals: int) -> Decimal:
        top = max(1, 3 * int(bet.stake.scaleb(decimals)))
        units = 0 if self.rng.random() < 0.3 else self.rng.randint(1, top)
        return Decimal(units).scaleb(-decimals)

    async def balance(self, session: tuple[str, str, str, int]) -> None:
        answer = await self.attempt("GET", f"/v1/sessions/{session[0]}/balance", b"")
        if answer.code == 1 and answer.body.get("currency") != session[2]:
            self.epoch.report.violate(f"balance of {session[0]} in {answer.body.get('currency')}, not {session[2]}")

    async def pay_in_round(self, session: tuple[str, str, str, int]) -> None:
        bet = self.new_bet(session, "pay-in")
        fields = [("betId", bet.bet_id), ("betAmount", bet.stake), ("gameRoundId", f"r-{bet.bet_id}")]
        raw = encode(fields, self.amount_fields(("betAmount",)), self.exponent_fields(("betAmount",)))
        answer = await self.php_call("pay-in", bet.session, raw, (("bet", -bet.stake),), bet)
        if not answer.ack:
            await self.refund(bet)  # the PHP client's way out of an unknown stake
            return
        roll = self.rng.random()
        if roll < 0.70:
            await self.pay_out(bet)
        elif roll < 0.90:
            await self.refund(bet)
        else:
            self.open.append(bet)

    async def pay_out(self, bet: Bet) -> None:
        decimals = next(d for s, _, _, d in self.epoch.sessions if s == bet.session)
        bet.win = self.win_for(bet, decimals)
        fields = [("betId", bet.bet_id), ("winAmount", bet.win), ("gameRoundId", f"r-{bet.bet_id}")]
        raw = encode(fields, self.amount_fields(("winAmount",)), self.exponent_fields(("winAmount",)))
        answer = await self.php_call("pay-out", bet.session, raw, (("win", bet.win),), bet)
        if answer.ack:
            bet.closed = True
        else:
            await self.refund(bet)

    async def pay_in_out_round(self, session: tuple[str, str, str, int]) -> None:
        bet = self.new_bet(session, "pay-in-out")
        bet.win = self.win_for(bet, session[3])
        fields = [
            ("betId", bet.bet_id),
            ("betAmount", bet.stake),
            ("winAmount", bet.win),
            ("gameRoundId", f"r-{bet.bet_id}"),
        ]
        raw = encode(fields, self.amount_fields(("betAmount", "winAmount")))
        answer = await self.php_call("pay-in-out", bet.session, raw, (("bet", -bet.stake), ("win", bet.win)), bet)
        if answer.ack:
            roll = self.rng.random()
            bet.closed = roll < 0.85
            if not bet.closed:
                await self.refund(bet)  # sometimes take it back: both legs reversed
            elif roll < 0.10:
                await self.follow_up(bet, session)
        else:
            await self.refund(bet)

    async def follow_up(self, bet: Bet, session: tuple[str, str, str, int]) -> None:
        """A further pay-out on a pay-in-out bet, in a round of its own: an additional win by default."""
        win = self.win_for(bet, session[3])
        raw = encode(
            [("betId", bet.bet_id), ("winAmount", win), ("gameRoundId", f"f-{bet.bet_id}")],
            self.amount_fields(("winAmount",)),
        )
        self.epoch.follow_ups.add(bet.bet_id)
        await self.php_call("pay-out", bet.session, raw, (("win", win),), bet)

    async def jackpot(self, session: tuple[str, str, str, int]) -> None:
        """A pay-out for a bet never paid in (the PHP client's jackpot path): booked with stake 0 by default.
        Nothing is at stake, so the bet is closed whatever the answer."""
        bet = self.new_bet(session, "pay-out")
        bet.stake, bet.closed = Decimal(0).scaleb(-session[3]), True
        bet.win = Decimal(self.rng.randint(1, 10_000)).scaleb(-session[3])
        raw = encode(
            [("betId", bet.bet_id), ("winAmount", bet.win), ("gameRoundId", f"r-{bet.bet_id}")],
            self.amount_fields(("winAmount",)),
            self.exponent_fields(("winAmount",)),
        )
        await self.php_call("pay-out", bet.session, raw, (("win", bet.win),), bet)

    async def refund(self, bet: Bet) -> None:
        raw = encode([("betId", bet.bet_id), ("gameRoundId", f"r-{bet.bet_id}")])
        path = f"/v1/sessions/{bet.session}/bets/refund"
        answer = await self.first_attempt(path, raw)
        if answer.code is None or answer.code == 99:
            answer = await self.attempt("POST", path, raw)
        if answer.ack:
            ack = refund_ack(bet, answer)
            self.epoch.acks.append(ack)
            self.recent_acks.append(("refund", path, raw, ack.transaction_id))
            bet.closed = True
        # Anything else (a fault's code, no answer): the bet is refunded again after the load.

    async def duplicate(self) -> None:
        """The same bytes again with a new X-Request-Id: if acknowledged, then as the same transaction."""
        endpoint, path, raw, transaction_id = self.rng.choice(self.recent_acks)
        self.epoch.report.duplicates += 1
        answer = await self.attempt("POST", path, raw)
        if answer.ack and str(answer.body["transactionId"]) != transaction_id:
            self.epoch.report.violate(
                f"duplicate {endpoint} {raw!r} acknowledged as transaction "
                f"{answer.body['transactionId']}, first as {transaction_id}"
            )

    async def replay(self) -> None:
        """The same request, X-Request-Id included: refused whatever faults are active."""
        method, path, raw, headers = self.rng.choice(self.answered)
        self.epoch.report.replays += 1
        answer = await self.epoch.send(method, path, raw, headers)
        if answer.status is not None and (answer.status, answer.code) != (401, 8):
            self.epoch.report.violate(
                f"replayed X-Request-Id {headers['X-Request-Id']} on {path} answered {answer.status} / {answer.body}"
            )


async def run_soak(base_url: str, config: SoakConfig, *, pid: int | None = None) -> SoakReport:
    """The whole soak against the sandbox at `base_url` (reset at each epoch); `pid` enables the RSS checks."""
    report = SoakReport(seed=config.seed)
    epoch_seconds = config.epoch_seconds or config.seconds
    epochs = max(1, math.ceil(config.seconds / epoch_seconds - 1e-9))
    timeout = aiohttp.ClientTimeout(total=config.request_timeout)
    connector = aiohttp.TCPConnector(limit=config.concurrency * 2 + 8)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        if hasattr(http, "_retry_connection"):
            # aiohttp silently resends a GET, same X-Request-Id, when a kept-alive connection drops: a replay
            # no real provider client makes. Every attempt here is explicit.
            http._retry_connection = False
        for number in range(epochs):
            seconds = min(epoch_seconds, config.seconds - number * epoch_seconds)
            await Epoch(http, base_url.rstrip("/"), config, report, number).run(seconds, pid)
            report.epochs += 1
    if len(report.rss_mib) >= 2:
        grown = report.rss_mib[-1][1] - report.rss_mib[0][1]
        if grown > config.rss_leak_mib:
            report.violate(
                f"RSS at the end of the last epoch is {grown:.0f} MiB above the first's "
                f"({report.rss_mib[0][1]:.0f} -> {report.rss_mib[-1][1]:.0f}): a leak?"
            )
    return report


def check_server_log(report: SoakReport, lines: list[str]) -> None:
    """Invariant 5 from the outside: the server never logged a traceback or an unexpected failure."""
    for line in lines:
        if "Traceback" in line or "unexpected failure" in line or "Error handling request" in line:
            report.violate(f"server log: {line[:300]}")


# -- running a sandbox process ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen | None = None, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/__admin/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the sandbox exited with {process.returncode} before it was healthy")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the sandbox at {url} was not healthy within {timeout} s")
        time.sleep(0.05)


@contextlib.contextmanager
def sandbox_process() -> Iterator[tuple[str, int, list[str]]]:
    """A sandbox process at warning level (no per-request log lines); yields (url, pid, its log lines so far)."""
    port = free_port()
    lines: list[str] = []
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "betcore_sandbox", "--port", str(port), "--log-level", "warning"],
            stdout=log,
            stderr=log,
            env={k: v for k, v in os.environ.items() if not k.startswith("BETCORE_SANDBOX_")},
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, process)
            yield url, process.pid, lines
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.seek(0)
            lines += log.read().decode("utf-8", "replace").splitlines()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="total load time (default 60)")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--seed", type=int, default=None, help="the operation mix's seed (default: random)")
    parser.add_argument(
        "--epoch-seconds", type=float, default=60.0, help="reset and check every this many seconds (default 60)"
    )
    parser.add_argument("--url", help="an already running sandbox (default: start one); it is reset")
    parser.add_argument("--rss-epoch-mib", type=float, default=SoakConfig.rss_epoch_mib)
    parser.add_argument("--rss-leak-mib", type=float, default=SoakConfig.rss_leak_mib)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(
        f"soak seed {seed}: {args.seconds:g} s, {args.concurrency} clients, epochs of {args.epoch_seconds:g} s",
        flush=True,
    )
    config = SoakConfig(
        seconds=args.seconds,
        concurrency=args.concurrency,
        seed=seed,
        epoch_seconds=args.epoch_seconds,
        rss_epoch_mib=args.rss_epoch_mib,
        rss_leak_mib=args.rss_leak_mib,
    )
    if args.url:
        report = asyncio.run(run_soak(args.url, config))
    else:
        with sandbox_process() as (url, pid, lines):
            report = asyncio.run(run_soak(url, config, pid=pid))
        check_server_log(report, lines)
    print(report.summary(), flush=True)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
