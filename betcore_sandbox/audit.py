"""The money audit: does every balance follow from its ledger, and every bet from its entries?"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from .money import MONEY, ZERO
from .views import iso
from .wallet import OPEN, PAY_IN_OUT, REFUNDED, SETTLED, Bet, Wallet


def audit(wallet: Wallet) -> dict[str, Any]:
    with wallet.lock:
        violations: list[str] = []
        sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for e in wallet.ledger:
            sums[e.player_id] = MONEY.add(sums[e.player_id], e.amount)
            if e.balance_after < 0:
                violations.append(f"transaction {e.transaction_id}: balance after it is negative ({e.balance_after})")
            if e.bet_id is not None and (e.counterparty_id, e.bet_id) not in wallet.bets:
                violations.append(f"transaction {e.transaction_id}: bet {e.bet_id!r} does not exist")
        for p in wallet.players.values():
            expected = MONEY.add(p.opening_balance, sums[p.id])
            if p.balance != expected:
                violations.append(
                    f"player {p.id!r}: balance {p.balance} but opening {p.opening_balance} + ledger {sums[p.id]} "
                    f"= {expected}"
                )
            if p.balance < 0:
                violations.append(f"player {p.id!r}: negative balance {p.balance}")
        now = wallet.clock()
        open_bets = []
        for b in wallet.bets.values():
            problem = _bet_problem(b)
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
                        "ageSeconds": round(now - b.created_at, 3),
                    }
                )
        return {"ok": not violations, "violations": violations, "openBets": open_bets}


def _bet_problem(b: Bet) -> str | None:
    """What the bet's ledger entries should be for its kind and status, compared with what they are."""
    stake, win = b.stake, b.win
    expected: list[tuple[str, Decimal]] = [("bet", -stake)]
    if b.kind == PAY_IN_OUT or b.status == SETTLED:
        if win is None:
            return f"status {b.status} without a win amount"
        expected.append(("win", win))
    if b.status == REFUNDED:
        expected.append(("refund", stake))
        if b.kind == PAY_IN_OUT:
            expected.append(("reversal", -win))  # type: ignore[operator]
    actual = [(e.type, e.amount) for e in b.entries]
    if actual != expected:
        shown = ", ".join(f"{t} {a}" for t, a in actual) or "none"
        wanted = ", ".join(f"{t} {a}" for t, a in expected)
        return f"{b.kind} bet is {b.status} but its entries are [{shown}], expected [{wanted}]"
    return None
