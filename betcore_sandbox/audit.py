"""The money audit: does every balance follow from its ledger, and every bet from its entries?"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

from .fixtures import Fixture, FixtureError
from .ledger import LedgerEntry
from .money import from_minor, minor_text
from .views import iso
from .wallet import OPEN, PAY_IN, PAY_IN_OUT, PAY_OUT, REFUNDED, SETTLED, Bet, Wallet, WalletCopy

T = TypeVar("T")


CHUNK = 2000  # items between two pauses of a stepped read


def load_checked(wallet: Wallet, fixture: Fixture) -> None:
    """Load the fixture into the wallet and audit it: balances that do not follow from opening balances and the
    ledger, or bets that do not match their entries, are refused (FixtureError)."""
    wallet.load(fixture)
    report = audit(wallet)
    if not report["ok"]:
        raise FixtureError(f"{fixture.source}: $: the state is not consistent: {'; '.join(report['violations'][:3])}")


def audit(wallet: Wallet) -> dict[str, Any]:
    """The audit of the wallet as it is now, in one go."""
    return run(audit_steps(wallet.consistent_copy()))


def audit_steps(copy: WalletCopy) -> Generator[None, None, dict[str, Any]]:
    """The audit of a wallet copy, pausing (yielding) every CHUNK items so a server can serve in between."""
    violations: list[str] = []
    players = {p.id: p for p in copy.players}
    bet_keys = {(b.counterparty_id, b.bet_id) for b in copy.bets}
    running: dict[str, int] = {}
    for i, e in enumerate(copy.entries(), 1):
        if i % CHUNK == 0:
            yield
        player = players.get(e.player_id)
        if player is None:
            violations.append(f"transaction {e.transaction_id}: unknown player {e.player_id!r}")
            continue
        balance = running.get(e.player_id, player.opening_balance) + e.amount
        running[e.player_id] = balance
        scale = copy.currencies[player.currency]
        if e.balance_after != balance:
            violations.append(
                f"transaction {e.transaction_id}: balanceAfter {minor_text(e.balance_after, scale)} but the "
                f"player's ledger adds up to {minor_text(balance, scale)}"
            )
        if e.balance_after < 0:
            violations.append(
                f"transaction {e.transaction_id}: balance after it is negative ({minor_text(e.balance_after, scale)})"
            )
        if e.bet_id is not None and (e.counterparty_id, e.bet_id) not in bet_keys:
            violations.append(f"transaction {e.transaction_id}: bet {e.bet_id!r} does not exist")
    for p in copy.players:
        scale = copy.currencies[p.currency]
        expected = running.get(p.id, p.opening_balance)
        if p.balance != expected:
            violations.append(
                f"player {p.id!r}: balance {minor_text(p.balance, scale)} but opening "
                f"{minor_text(p.opening_balance, scale)} + ledger {minor_text(expected - p.opening_balance, scale)} "
                f"= {minor_text(expected, scale)}"
            )
        if p.balance < 0:
            violations.append(f"player {p.id!r}: negative balance {minor_text(p.balance, scale)}")
    open_bets = []
    rows: dict[int, LedgerEntry] = {}
    for i, b in enumerate(copy.bets):
        if i % CHUNK == 0:
            if i:
                yield
            # the next chunk's ledger rows in one read (one query in durable mode, not one per row)
            rows = copy.ledger.rows_at(row for later in copy.bets[i : i + CHUNK] for row in later.entries)
        entries = [rows[row] for row in b.entries]
        player = players.get(b.player_id)
        scale = copy.currencies[player.currency] if player is not None else 0
        problem = bet_problem(b, entries, scale)
        if problem:
            violations.append(f"bet {b.bet_id!r} ({b.counterparty_id}): {problem}")
        if b.status == OPEN:
            created = entries[0].time if entries else 0.0
            open_bets.append(
                {
                    "betId": b.bet_id,
                    "counterpartyId": b.counterparty_id,
                    "sessionId": b.session_id,
                    "playerId": b.player_id,
                    "stake": from_minor(b.stake, scale),
                    "createdAt": iso(created),
                    "ageSeconds": round(copy.now - created, 3),
                }
            )
    return {"ok": not violations, "violations": violations, "openBets": open_bets}


def run(steps: Generator[None, None, T]) -> T:
    """A stepped read run to its end without pausing."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


def bet_problem(b: Bet, entries: list[LedgerEntry], scale: int) -> str | None:
    """What is wrong between a bet's kind, status, amounts and its ledger entries, if anything.

    The entries must read as: the placing operation (pay-in: bet -stake; pay-in-out: bet -stake and its win, one
    transaction; none for a bet booked by a pay-out), then any number of pay-outs (one win each), then at most
    one refund (refund +stake, plus a reversal of the pay-in-out's win), and nothing after it."""
    steps: list[list[tuple[str, int]]] = []
    last_id = None
    for e in entries:
        if e.transaction_id != last_id:
            steps.append([])
            last_id = e.transaction_id
        steps[-1].append((e.type, e.amount))

    def listed(rows: list[tuple[str, int]]) -> str:
        return ", ".join(f"{t} {minor_text(a, scale)}" for t, a in rows) or "none"

    wrong = f"{b.kind} bet is {b.status} with entries [{listed([row for step in steps for row in step])}]"
    if b.kind not in (PAY_IN, PAY_IN_OUT, PAY_OUT):
        return f"unknown kind {b.kind!r}"
    placing: list[tuple[str, int]] = []
    if b.kind == PAY_IN:
        placing = [("bet", -b.stake)]
    elif b.kind == PAY_IN_OUT:
        if len(steps[0] if steps else []) != 2 or steps[0][1][0] != "win":
            return f"{wrong}: a pay-in-out books its stake and its win together"
        placing = [("bet", -b.stake), ("win", steps[0][1][1])]
    elif b.stake != 0:
        return f"{wrong}: a bet booked by a pay-out has no stake"
    rest = steps
    if placing:
        if not steps or steps[0] != placing:
            return f"{wrong}: expected it to start with [{listed(placing)}]"
        rest = steps[1:]
    wins = [step[0][1] for step in rest if len(step) == 1 and step[0][0] == "win"]
    if any(win < 0 for win in wins) or (placing and b.kind == PAY_IN_OUT and placing[1][1] < 0):
        return f"{wrong}: a win is never negative"
    if b.kind == PAY_OUT and not wins:
        return f"{wrong}: a bet booked by a pay-out has its win"
    pay_outs = len(wins)
    refunds = rest[pay_outs:]
    if any(len(step) != 1 or step[0][0] != "win" for step in rest[:pay_outs]) or len(refunds) > 1:
        return f"{wrong}: pay-outs, then at most one refund, are all that may follow the placing"
    if refunds:
        expected_refund = [("refund", b.stake)]
        if b.kind == PAY_IN_OUT:
            expected_refund.append(("reversal", -placing[1][1]))
        if pay_outs or b.kind == PAY_OUT or refunds[0] != expected_refund:
            return f"{wrong}: a refund gives back [{listed(expected_refund)}] of a bet never paid out"
    if b.kind == PAY_IN_OUT:
        wins.insert(0, placing[1][1])
    status = REFUNDED if refunds else SETTLED if wins else OPEN
    if b.status != status:
        return f"{wrong}: its entries say {status}"
    total = sum(wins) if wins else None
    if b.win != total:
        shown_win = "none" if b.win is None else minor_text(b.win, scale)
        shown_total = "none" if total is None else minor_text(total, scale)
        return f"{wrong}: win {shown_win} but its win entries add up to {shown_total}"
    return None
