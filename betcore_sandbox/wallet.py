"""The wallet: players, sessions, bets and an append-only ledger, with the aggregator's bet rules.

Every operation runs under one lock and has no await inside, so concurrent requests (duplicates
included) produce exactly the effects of some serial order. Money is Decimal only, summed in MONEY.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .bodies import BetRequest
from .errors import (
    AdminInputError,
    BetConflict,
    BetNotFound,
    InsufficientFunds,
    InvalidRequest,
    LimitExceeded,
    NotFound,
    SessionNotFound,
)
from .fixtures import Fixture
from .money import MONEY, ZERO, AmountError, check_scale, parse_amount

PAY_IN = "pay-in"
PAY_OUT = "pay-out"
PAY_IN_OUT = "pay-in-out"
REFUND = "refund"

OPEN = "open"
SETTLED = "settled"
REFUNDED = "refunded"


@dataclass(slots=True)
class Counterparty:
    id: str
    secret: str
    name: str = ""


@dataclass(slots=True)
class Player:
    id: str
    currency: str
    balance: Decimal
    blocked: bool = False
    # What the balance was before the first ledger entry: the audit checks balance = opening + sum(ledger).
    opening_balance: Decimal = ZERO


@dataclass(slots=True)
class Session:
    id: str
    player_id: str
    counterparty_id: str
    expires_at: float | None = None  # epoch seconds
    min_bet: Decimal | None = None
    max_bet: Decimal | None = None
    status: str = "active"

    def status_at(self, now: float) -> str:
        if self.status == "active" and self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return self.status


@dataclass(slots=True)
class LedgerEntry:
    transaction_id: str
    type: str  # bet | win | refund | reversal | adjustment
    amount: Decimal  # signed: what it did to the balance
    balance_after: Decimal
    player_id: str
    session_id: str | None
    bet_id: str | None
    request_id: str | None
    time: float
    counterparty_id: str | None = None


@dataclass(slots=True)
class Receipt:
    """What an applied operation answered; a repeat is answered with the original one."""

    transaction_id: str
    balance: Decimal
    currency: str


@dataclass(slots=True)
class Bet:
    counterparty_id: str
    bet_id: str
    session_id: str
    player_id: str
    kind: str  # pay-in | pay-in-out
    stake: Decimal
    game_round_id: str | None
    created_at: float
    status: str = OPEN
    win: Decimal | None = None
    win_odd: Decimal | None = None
    entries: list[LedgerEntry] = field(default_factory=list)

    def history(self) -> list[tuple[str, LedgerEntry]]:
        """Each applied operation with the ledger entry that carries its answer (transactionId, balance after).

        The answers are not stored separately: a repeat is answered from these entries."""
        entries = self.entries
        if self.kind == PAY_IN_OUT:
            steps = [(PAY_IN_OUT, entries[1])] if len(entries) >= 2 else []
        else:
            steps = [(PAY_IN, entries[0])] if entries else []
            if len(entries) >= 2 and entries[1].type == "win":
                steps.append((PAY_OUT, entries[1]))
        if self.status == REFUNDED and entries:
            steps.append((REFUND, entries[-1]))
        return steps


@dataclass(slots=True)
class Tombstone:
    """A refund for a bet never placed: a later pay-in with this betId must not take the stake."""

    counterparty_id: str
    bet_id: str
    session_id: str
    time: float


@dataclass(slots=True)
class Outcome:
    receipt: Receipt  # for a repeat, the original one
    repeated: bool
    balance: Decimal  # the balance now
    currency: str


class Wallet:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.currencies: dict[str, int] = {}
        self.counterparties: dict[str, Counterparty] = {}
        self.secrets: dict[str, str] = {}
        self.players: dict[str, Player] = {}
        self.sessions: dict[str, Session] = {}
        self.bets: dict[tuple[str, str], Bet] = {}
        self.tombstones: dict[tuple[str, str], Tombstone] = {}
        self.ledger: list[LedgerEntry] = []
        self.last_transaction_id = 0

    # -- loading ---------------------------------------------------------------------------------

    def load(self, fixture: Fixture) -> None:
        """Replace everything with the fixture's start-up state, in place."""
        with self.lock:
            self.currencies = dict(fixture.currencies)
            self.counterparties = {c.id: Counterparty(c.id, c.secret, c.name) for c in fixture.counterparties}
            self.secrets = {c.id: c.secret for c in fixture.counterparties}
            self.players = {
                p.id: Player(
                    p.id,
                    p.currency,
                    p.balance,
                    p.blocked,
                    opening_balance=p.balance if p.opening_balance is None else p.opening_balance,
                )
                for p in fixture.players
            }
            self.sessions = {
                s.id: Session(
                    s.id,
                    s.player_id,
                    s.counterparty_id,
                    s.expires_at.timestamp() if s.expires_at else None,
                    s.min_bet,
                    s.max_bet,
                    s.status,
                )
                for s in fixture.sessions
            }
            self.bets = {}
            self.tombstones = {}
            self.ledger = []
            self.last_transaction_id = 0

    # -- provider operations -----------------------------------------------------------------------

    def balance(self, counterparty_id: str, session_id: str) -> tuple[Decimal, str]:
        with self.lock:
            session, player = self._session(counterparty_id, session_id, active=True)
            return player.balance, player.currency

    def pay_in(
        self,
        counterparty_id: str,
        session_id: str,
        bet_id: str,
        stake: Decimal,
        *,
        game_round_id: str | None = None,
        request_id: str | None = None,
    ) -> Outcome:
        with self.lock:
            session, player = self._session(counterparty_id, session_id, active=True)
            self._check_scale(player, stake, "betAmount")
            key = (counterparty_id, bet_id)
            self._refuse_tombstoned(key, player)
            bet = self.bets.get(key)
            if bet is not None:
                same = bet.kind == PAY_IN and bet.stake == stake and _same_context(bet, session, game_round_id)
                return self._repeat(bet, PAY_IN, player, same, _placed_with(bet))
            self._check_stake(session, player, stake)
            now = self.clock()
            bet = Bet(counterparty_id, bet_id, session.id, player.id, PAY_IN, stake, game_round_id, now)
            transaction_id = self._next_transaction_id()
            self._post(bet, player, transaction_id, "bet", -stake, request_id, now)
            self.bets[key] = bet
            return self._applied(player, transaction_id)

    def pay_out(
        self,
        counterparty_id: str,
        session_id: str,
        bet_id: str,
        win: Decimal,
        *,
        game_round_id: str | None = None,
        win_odd: Decimal | None = None,
        request_id: str | None = None,
    ) -> Outcome:
        with self.lock:
            session, player = self._session(counterparty_id, session_id, active=False)
            self._check_scale(player, win, "winAmount")
            bet = self._placed_bet(counterparty_id, bet_id, session, player)
            if bet.status == REFUNDED:
                raise self._conflict(player, f"bet {bet_id!r} was refunded and cannot be paid out")
            if bet.kind == PAY_IN_OUT:
                raise self._conflict(player, f"bet {bet_id!r} was placed and settled by pay-in-out")
            if bet.status == SETTLED:
                return self._repeat(bet, PAY_OUT, player, bet.win == win, f"to pay out winAmount {_fmt(bet.win)}")
            now = self.clock()
            transaction_id = self._next_transaction_id()
            self._post(bet, player, transaction_id, "win", win, request_id, now)
            bet.status, bet.win, bet.win_odd = SETTLED, win, win_odd
            return self._applied(player, transaction_id)

    def pay_in_out(
        self,
        counterparty_id: str,
        session_id: str,
        bet_id: str,
        stake: Decimal,
        win: Decimal,
        *,
        game_round_id: str | None = None,
        win_odd: Decimal | None = None,
        request_id: str | None = None,
    ) -> Outcome:
        with self.lock:
            session, player = self._session(counterparty_id, session_id, active=True)
            self._check_scale(player, stake, "betAmount")
            self._check_scale(player, win, "winAmount")
            key = (counterparty_id, bet_id)
            self._refuse_tombstoned(key, player)
            bet = self.bets.get(key)
            if bet is not None:
                same = (
                    bet.kind == PAY_IN_OUT
                    and bet.stake == stake
                    and bet.win == win
                    and _same_context(bet, session, game_round_id)
                )
                return self._repeat(bet, PAY_IN_OUT, player, same, _placed_with(bet))
            self._check_stake(session, player, stake)
            now = self.clock()
            bet = Bet(counterparty_id, bet_id, session.id, player.id, PAY_IN_OUT, stake, game_round_id, now)
            transaction_id = self._next_transaction_id()
            self._post(bet, player, transaction_id, "bet", -stake, request_id, now)
            self._post(bet, player, transaction_id, "win", win, request_id, now)
            bet.status, bet.win, bet.win_odd = SETTLED, win, win_odd
            self.bets[key] = bet
            return self._applied(player, transaction_id)

    def refund(
        self,
        counterparty_id: str,
        session_id: str,
        bet_id: str,
        *,
        game_round_id: str | None = None,
        request_id: str | None = None,
    ) -> Outcome:
        with self.lock:
            session, player = self._session(counterparty_id, session_id, active=False)
            key = (counterparty_id, bet_id)
            if key not in self.bets and key not in self.tombstones:
                self.tombstones[key] = Tombstone(counterparty_id, bet_id, session.id, self.clock())
            bet = self._placed_bet(counterparty_id, bet_id, session, player)
            if bet.status == REFUNDED:
                return self._repeat(bet, REFUND, player, True, "")
            if bet.kind == PAY_IN and bet.status == SETTLED:
                raise self._conflict(player, f"bet {bet_id!r} was settled by pay-out and cannot be refunded")
            now = self.clock()
            if bet.kind == PAY_IN_OUT:
                assert bet.win is not None
                net = MONEY.subtract(bet.stake, bet.win)
                if MONEY.add(player.balance, net) < 0:
                    raise InsufficientFunds(
                        f"refunding pay-in-out bet {bet_id!r} takes back its win {_fmt(bet.win)}, "
                        f"more than the balance plus stake",
                        balance=player.balance,
                        currency=player.currency,
                    )
            transaction_id = self._next_transaction_id()
            self._post(bet, player, transaction_id, "refund", bet.stake, request_id, now)
            if bet.kind == PAY_IN_OUT:
                self._post(bet, player, transaction_id, "reversal", -bet.win, request_id, now)  # type: ignore[operator]
            bet.status = REFUNDED
            return self._applied(player, transaction_id)

    # -- admin operations --------------------------------------------------------------------------

    def create_player(
        self, player_id: str | None, currency: Any, balance: Any = ZERO, blocked: Any = False
    ) -> Player:
        with self.lock:
            player_id = self._new_id(player_id, "player", self.players)
            if currency not in self.currencies:
                raise AdminInputError(f"currency: unknown currency {currency!r} (known: {', '.join(self.currencies)})")
            amount = self._admin_amount("balance", balance, currency)
            player = Player(player_id, currency, amount, _flag("blocked", blocked), opening_balance=amount)
            self.players[player_id] = player
            return player

    def update_player(self, player_id: str, *, balance: Any = None, blocked: Any = None) -> Player:
        """Set the balance (recorded in the ledger as an `adjustment`) and/or the blocked flag."""
        with self.lock:
            player = self.player(player_id)
            amount = None if balance is None else self._admin_amount("balance", balance, player.currency)
            flag = None if blocked is None else _flag("blocked", blocked)
            if amount is not None and amount != player.balance:
                delta = MONEY.subtract(amount, player.balance)
                player.balance = amount
                self.ledger.append(
                    LedgerEntry(
                        self._next_transaction_id(), "adjustment", delta, amount, player.id, None, None, None,
                        self.clock(),
                    )
                )
            if flag is not None:
                player.blocked = flag
            return player

    def create_session(
        self,
        session_id: str | None,
        player_id: str,
        counterparty_id: str | None = None,
        *,
        ttl_seconds: Any = None,
        min_bet: Any = None,
        max_bet: Any = None,
    ) -> Session:
        with self.lock:
            session_id = self._new_id(session_id, "session", self.sessions)
            player = self.players.get(player_id)
            if player is None:
                raise AdminInputError(f"playerId: unknown player {player_id!r}")
            if counterparty_id is None:
                counterparty_id = next(iter(self.counterparties))
            elif counterparty_id not in self.counterparties:
                raise AdminInputError(f"counterpartyId: unknown counterparty {counterparty_id!r}")
            session = Session(session_id, player.id, counterparty_id)
            self._apply_session_changes(session, player, ttl_seconds=ttl_seconds, min_bet=min_bet, max_bet=max_bet)
            self.sessions[session_id] = session
            return session

    def update_session(self, session_id: str, **changes: Any) -> Session:
        with self.lock:
            session = self.session(session_id)
            updated = dataclasses.replace(session)  # changed on a copy: a bad field changes nothing
            self._apply_session_changes(updated, self.players[session.player_id], **changes)
            self.sessions[session_id] = updated
            return updated

    def delete_session(self, session_id: str) -> None:
        with self.lock:
            self.session(session_id)
            del self.sessions[session_id]

    def player(self, player_id: str) -> Player:
        player = self.players.get(player_id)
        if player is None:
            raise NotFound(f"no player {player_id!r}")
        return player

    def session(self, session_id: str) -> Session:
        session = self.sessions.get(session_id)
        if session is None:
            raise NotFound(f"no session {session_id!r}")
        return session

    def _apply_session_changes(
        self,
        session: Session,
        player: Player,
        *,
        status: Any = None,
        ttl_seconds: Any = None,
        min_bet: Any = None,
        max_bet: Any = None,
    ) -> None:
        if status is not None:
            if status not in ("active", "expired", "closed"):
                raise AdminInputError("status: must be active, expired or closed")
            session.status = status
            if status == "active" and session.expires_at is not None and session.expires_at <= self.clock():
                session.expires_at = None  # re-activating an expired session lifts its expiry
        if ttl_seconds is not None:
            if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, (int, float, Decimal)) or ttl_seconds <= 0:
                raise AdminInputError("ttlSeconds: must be a number greater than 0")
            session.expires_at = self.clock() + float(ttl_seconds)
        if min_bet is not None:
            session.min_bet = self._admin_amount("minBet", min_bet, player.currency)
        if max_bet is not None:
            session.max_bet = self._admin_amount("maxBet", max_bet, player.currency)
        if session.min_bet is not None and session.max_bet is not None and session.min_bet > session.max_bet:
            raise AdminInputError("minBet: must not be above maxBet")

    def _admin_amount(self, name: str, value: Any, currency: str) -> Decimal:
        try:
            amount = parse_amount(value)
            check_scale(amount, self.currencies[currency], currency)
        except AmountError as exc:
            raise AdminInputError(f"{name}: {exc}") from None
        return amount

    @staticmethod
    def _new_id(wanted: Any, prefix: str, taken: dict[str, Any]) -> str:
        if wanted is None:
            return f"{prefix}-{uuid.uuid4().hex[:12]}"
        if not isinstance(wanted, str) or not wanted:
            raise AdminInputError("id: must be a non-empty string")
        if wanted in taken:
            raise AdminInputError(f"id: {prefix} {wanted!r} already exists")
        return wanted

    # -- reads -------------------------------------------------------------------------------------

    def session_balance(self, counterparty_id: str, session_id: str) -> tuple[Decimal, str] | None:
        """The balance and currency behind a session of this counterparty, if there is one (for error bodies)."""
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None or session.counterparty_id != counterparty_id:
                return None
            player = self.players[session.player_id]
            return player.balance, player.currency

    def scale(self, currency: str) -> int:
        return self.currencies[currency]

    # -- internals ---------------------------------------------------------------------------------

    def _session(self, counterparty_id: str, session_id: str, *, active: bool) -> tuple[Session, Player]:
        session = self.sessions.get(session_id)
        if session is None:
            raise SessionNotFound(f"unknown session {session_id!r}")
        if session.counterparty_id != counterparty_id:
            raise SessionNotFound(f"session {session_id!r} belongs to another counterparty")
        player = self.players[session.player_id]
        if active:
            status = session.status_at(self.clock())
            if status != "active":
                raise SessionNotFound(
                    f"session {session_id!r} is {status}", balance=player.balance, currency=player.currency
                )
        return session, player

    def _check_scale(self, player: Player, amount: Decimal, field_name: str) -> None:
        try:
            check_scale(amount, self.currencies[player.currency], player.currency)
        except AmountError as exc:
            raise InvalidRequest(f"{field_name}: {exc}", balance=player.balance, currency=player.currency) from None

    def _check_stake(self, session: Session, player: Player, stake: Decimal) -> None:
        where = {"balance": player.balance, "currency": player.currency}
        if player.blocked:
            raise LimitExceeded(f"player {player.id!r} is blocked", **where)
        if session.min_bet is not None and stake < session.min_bet:
            raise LimitExceeded(f"betAmount {_fmt(stake)} is below the session's minBet {_fmt(session.min_bet)}", **where)
        if session.max_bet is not None and stake > session.max_bet:
            raise LimitExceeded(f"betAmount {_fmt(stake)} is above the session's maxBet {_fmt(session.max_bet)}", **where)
        if stake > player.balance:
            raise InsufficientFunds(
                f"betAmount {_fmt(stake)} is above the balance {_fmt(player.balance)}", **where
            )

    def _refuse_tombstoned(self, key: tuple[str, str], player: Player) -> None:
        if key in self.tombstones:
            raise self._conflict(
                player, f"bet {key[1]!r} was refunded before it was placed: its stake can no longer be taken"
            )

    def _placed_bet(self, counterparty_id: str, bet_id: str, session: Session, player: Player) -> Bet:
        bet = self.bets.get((counterparty_id, bet_id))
        if bet is None:
            raise BetNotFound(
                f"bet {bet_id!r} was never accepted", balance=player.balance, currency=player.currency
            )
        if bet.session_id != session.id:
            raise self._conflict(player, f"bet {bet_id!r} belongs to session {bet.session_id!r}, not {session.id!r}")
        return bet

    def _repeat(self, bet: Bet, operation: str, player: Player, identical: bool, difference: str) -> Outcome:
        """A second request for a bet: the same operation with the same data is answered as already done."""
        if bet.status == REFUNDED and operation != REFUND:
            raise self._conflict(player, f"bet {bet.bet_id!r} was refunded")
        entry = next((e for op, e in bet.history() if op == operation), None)
        if entry is None or not identical:
            raise self._conflict(player, f"betId {bet.bet_id!r} was already used {difference}")
        return Outcome(Receipt(entry.transaction_id, entry.balance_after, player.currency), True, player.balance,
                       player.currency)

    @staticmethod
    def _conflict(player: Player, message: str) -> BetConflict:
        return BetConflict(message, balance=player.balance, currency=player.currency)

    def _next_transaction_id(self) -> str:
        self.last_transaction_id += 1
        return str(self.last_transaction_id)

    def _post(
        self,
        bet: Bet,
        player: Player,
        transaction_id: str,
        entry_type: str,
        amount: Decimal,
        request_id: str | None,
        now: float,
    ) -> None:
        player.balance = MONEY.add(player.balance, amount)
        entry = LedgerEntry(
            transaction_id,
            entry_type,
            amount,
            player.balance,
            player.id,
            bet.session_id,
            bet.bet_id,
            request_id,
            now,
            bet.counterparty_id,
        )
        self.ledger.append(entry)
        bet.entries.append(entry)

    @staticmethod
    def _applied(player: Player, transaction_id: str) -> Outcome:
        return Outcome(Receipt(transaction_id, player.balance, player.currency), False, player.balance, player.currency)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise AdminInputError(f"{name}: must be true or false")
    return value


def _same_context(bet: Bet, session: Session, game_round_id: str | None) -> bool:
    return bet.session_id == session.id and game_round_id == bet.game_round_id


def _placed_with(bet: Bet) -> str:
    data = f"betAmount {_fmt(bet.stake)}"
    if bet.kind == PAY_IN_OUT:
        data += f", winAmount {_fmt(bet.win)}"
    return f"by a {bet.kind} with other data ({data}, gameRoundId {bet.game_round_id!r}, session {bet.session_id!r})"


def _fmt(amount: Decimal | None) -> str:
    return "none" if amount is None else format(amount, "f")


def execute(
    wallet: Wallet,
    endpoint: str,
    counterparty_id: str,
    session_id: str,
    request: BetRequest,
    request_id: str | None = None,
) -> Outcome:
    """Run one provider bet operation, named as its endpoint, with a validated request body."""
    common = {"game_round_id": request.game_round_id, "request_id": request_id}
    if endpoint == PAY_IN:
        return wallet.pay_in(counterparty_id, session_id, request.bet_id, request.bet_amount, **common)
    if endpoint == PAY_OUT:
        return wallet.pay_out(
            counterparty_id, session_id, request.bet_id, request.win_amount, win_odd=request.win_odd, **common
        )
    if endpoint == PAY_IN_OUT:
        return wallet.pay_in_out(
            counterparty_id,
            session_id,
            request.bet_id,
            request.bet_amount,
            request.win_amount,
            win_odd=request.win_odd,
            **common,
        )
    if endpoint == REFUND:
        return wallet.refund(counterparty_id, session_id, request.bet_id, **common)
    raise ValueError(f"not a bet operation: {endpoint}")
