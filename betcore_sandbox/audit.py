"""The money audit: does every balance follow from its ledger, and every bet from its entries?"""

from __future__ import annotations

from decimal import Decimal
from collections.abc import Generator
from typing import Any, TypeVar

from .money import MONEY
from .views import iso
from .wallet import OPEN, PAY_IN, PAY_IN_OUT, PAY_OUT, REFUNDED, SETTLED, Bet, Wallet, WalletCopy

T = TypeVar("T")


CHUNK = 2000  # items between two pauses of a stepped read


def audit(wallet: Wallet) -> dict[str, Any]:
    """The audit of the wallet as it is now, in one go."""
    return run(audit_steps(wallet.consistent_copy()))


def audit_steps(copy: WalletCopy) -> Generator[None, None, dict[str, Any]]:
    """The audit of a wallet copy, pausing (yielding) every CHUNK items so a server can serve in between."""
    violations: list[str] = []
    opening = {p.id: p.opening_balance for p in copy.players}
    running: dict[str, Decimal] = {}
    for i, e in enumerate(copy.entries(), 1):
        if i % CHUNK == 0:
            yield
        if e.player_id not in opening:
            violations.append(f"transaction {e.transaction_id}: unknown player {e.player_id!r}")
            continue
        balance = MONEY.add(running.get(e.player_id, opening[e.player_id]), e.amount)
        running[e.player_id] = balance
        if e.balance_after != balance:
            violations.append(
                f"transaction {e.transaction_id}: balanceAfter {e.balance_after} but the player's ledger "
                f"adds up to {balance}"
            )
        if e.balance_after < 0:
            violations.append(f"transaction {e.transaction_id}: balance after it is negative ({e.balance_after})")
        if e.bet_id is not None and (e.counterparty_id, e.bet_id) not in copy.bet_keys:
            violations.append(f"transaction {e.transaction_id}: bet {e.bet_id!r} does not exist")
    for p in copy.players:
        expected = running.get(p.id, p.opening_balance)
        if p.balance != expected:
            violations.append(
                f"player {p.id!r}: balance {p.balance} but opening {p.opening_balance} + ledger "
                f"{MONEY.subtract(expected, p.opening_balance)} = {expected}"
            )
        if p.balance < 0:
            violations.append(f"player {p.id!r}: negative balance {p.balance}")
    open_bets = []
    for i, b in enumerate(copy.bets, 1):
        if i % CHUNK == 0:
            yield
        problem = bet_problem(b)
        if problem:
            violations.append(f"bet {b.bet_id!r} ({b.counterparty_id}): {problem}")
        if b.status == OPEN:
            open_bets.append(
                {
                    "betId": b.bet_id,
                    "counterpartyId": b.counterparty_id,
                    "sessionId": b.session_id,
                    "playerId": b.player_id,
                    "stake": b.stake,
                    "createdAt": iso(b.created_at),
                    "ageSeconds": round(copy.now - b.created_at, 3),
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


def bet_problem(b: Bet) -> str | None:
    """What is wrong between a bet's kind, status, amounts and its ledger entries, if anything.

    The entries must read as: the placing operation (pay-in: bet -stake; pay-in-out: bet -stake and its win, one
    transaction; none for a bet booked by a pay-out), then any number of pay-outs (one win each), then at most
    one refund (refund +stake, plus a reversal of the pay-in-out's win), and nothing after it."""
    steps: list[list[tuple[str, Decimal]]] = []
    last_id = None
    for e in b.entries:
        if e.transaction_id != last_id:
            steps.append([])
            last_id = e.transaction_id
        steps[-1].append((e.type, e.amount))
    shown = ", ".join(f"{t} {a}" for step in steps for t, a in step) or "none"
    wrong = f"{b.kind} bet is {b.status} with entries [{shown}]"
    if b.kind not in (PAY_IN, PAY_IN_OUT, PAY_OUT):
        return f"unknown kind {b.kind!r}"
    placing: list[tuple[str, Decimal]] = []
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
            return f"{wrong}: expected it to start with [{', '.join(f'{t} {a}' for t, a in placing)}]"
        rest = steps[1:]
    wins = [step[0][1] for step in rest if len(step) == 1 and step[0][0] == "win"]
    pay_outs = len(wins)
    refunds = rest[pay_outs:]
    if any(len(step) != 1 or step[0][0] != "win" for step in rest[:pay_outs]) or len(refunds) > 1:
        return f"{wrong}: pay-outs, then at most one refund, are all that may follow the placing"
    if refunds:
        expected_refund = [("refund", b.stake)]
        if b.kind == PAY_IN_OUT:
            expected_refund.append(("reversal", -placing[1][1]))
        if pay_outs or b.kind == PAY_OUT or refunds[0] != expected_refund:
            wanted = ", ".join(f"{t} {a}" for t, a in expected_refund)
            return f"{wrong}: a refund gives back [{wanted}] of a bet never paid out"
    if b.kind == PAY_IN_OUT:
        wins.insert(0, placing[1][1])
    status = REFUNDED if refunds else SETTLED if wins else OPEN
    if b.status != status:
        return f"{wrong}: its entries say {status}"
    total = None
    for win in wins:
        total = win if total is None else MONEY.add(total, win)
    if b.win != total:
        return f"{wrong}: win {b.win} but its win entries add up to {total}"
    if b.kind == PAY_OUT and not wins:
        return f"{wrong}: a bet booked by a pay-out has its win"
    return None


