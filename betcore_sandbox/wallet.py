"""The wallet: players, sessions, bets and an append-only ledger, with the aggregator's bet rules.

Every operation runs under one lock and has no await inside, so concurrent requests (duplicates
included) produce exactly the effects of some serial order. Money is Decimal only, summed in MONEY.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
from .money import MONEY, ZERO, AmountError, parse_amount, shown, to_scale
from .settings import Settings

PAY_IN = "pay-in"
PAY_OUT = "pay-out"
PAY_IN_OUT = "pay-in-out"
REFUND = "refund"

# Ten years: far enough for any test, near enough that every expiry is a valid date.
MAX_TTL_SECONDS = 10 * 365 * 24 * 3600

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
class Bet:
    counterparty_id: str
    bet_id: str
    session_id: str
    player_id: str
    kind: str  # pay-in | pay-in-out | pay-out (a pay-out let through by payOutWithoutBet)
    stake: Decimal
    game_round_id: str | None
    created_at: float
    status: str = OPEN
    win: Decimal | None = None  # every win credited to the bet, added up
    win_odd: Decimal | None = None
    entries: tuple[LedgerEntry, ...] = ()

    def history(self) -> list[tuple[str, LedgerEntry]]:
        """Each applied operation with the ledger entry that carries its answer (transactionId, balance after).

        An operation's entries share one transactionId; the answers are not stored separately: a repeat is
        answered from these entries."""
        steps: list[tuple[str, LedgerEntry]] = []
        for entry in self.entries:
            if steps and steps[-1][1].transaction_id == entry.transaction_id:
                steps[-1] = (steps[-1][0], entry)
            else:
                steps.append((_OPERATION_OF_FIRST_ENTRY[entry.type] or self.kind, entry))
        return steps

    def pay_outs(self) -> list[LedgerEntry]:
        """The win entries booked by pay-out requests (not the win leg of a pay-in-out)."""
        return [entry for operation, entry in self.history() if operation == PAY_OUT]


# The operation an entry stands for when it opens a transaction; None: the bet's own kind (pay-in, pay-in-out).
_OPERATION_OF_FIRST_ENTRY: dict[str, str | None] = {"bet": None, "win": PAY_OUT, "refund": REFUND}


@dataclass(slots=True)
class Tombstone:
    """A refund for a bet never placed: a later pay-in with this betId must not take the stake."""

    counterparty_id: str
    bet_id: str
    session_id: str
    time: float


@dataclass(slots=True)
class Outcome:
    transaction_id: str  # for a repeat, the original one
    repeated: bool
    balance: Decimal  # the balance now
    currency: str
    warnings: list[str] | None = None  # lenient rules that let this operation through


@dataclass(slots=True)
class WalletCopy:
    """A wallet as it was at one moment (see Wallet.consistent_copy)."""

    currencies: dict[str, int]
    counterparties: list[Counterparty]
    players: list[Player]
    sessions: list[Session]
    bets: list[Bet]
    bet_keys: set[tuple[str, str]]
    tombstones: list[Tombstone]
    ledger: list[LedgerEntry]  # the live list: only its first ledger_length entries belong to this moment
    ledger_length: int
    last_transaction_id: int
    now: float

    def entries(self) -> Iterator[LedgerEntry]:
        return itertools.islice(self.ledger, self.ledger_length)


class Wallet:
    def __init__(self, clock: Callable[[], float] = time.time, settings: Settings | None = None) -> None:
        self.clock = clock
        self.settings = settings or Settings()
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

    def consistent_copy(self) -> WalletCopy:
        """Everything as it is now, cheaply: stored bets and sessions are replaced, never changed in place, and
        the ledger only grows, so shallow copies and the ledger's length stand for this moment."""
        with self.lock:
            return WalletCopy(
                currencies=dict(self.currencies),
                counterparties=list(self.counterparties.values()),
                players=[dataclasses.replace(p) for p in self.players.values()],
                sessions=list(self.sessions.values()),
                bets=list(self.bets.values()),
                bet_keys=set(self.bets),
                tombstones=list(self.tombstones.values()),
                ledger=self.ledger,
                ledger_length=len(self.ledger),
                last_transaction_id=self.last_transaction_id,
                now=self.clock(),
            )

    def replace_with(self, other: Wallet) -> None:
        """Take over another wallet's whole state, in place (a checked import)."""
        with self.lock:
            self.currencies, self.counterparties, self.secrets = other.currencies, other.counterparties, other.secrets
            self.players, self.sessions, self.bets = other.players, other.sessions, other.bets
            self.tombstones, self.ledger = other.tombstones, other.ledger
            self.last_transaction_id = other.last_transaction_id

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
            stake = self._in_scale(player, stake, "betAmount")
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
            self._commit(key, bet, self._post(bet, player, transaction_id, "bet", -stake, request_id, now))
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
            win = self._in_scale(player, win, "winAmount")
            key = (counterparty_id, bet_id)
            bet = self.bets.get(key)
            if bet is None and self.settings.payOutWithoutBet == "accept" and key not in self.tombstones:
                now = self.clock()
                stake = self._in_scale(player, ZERO, "betAmount")
                bet = Bet(counterparty_id, bet_id, session.id, player.id, PAY_OUT, stake, game_round_id, now)
                return self._credit_win(
                    bet, player, win, win_odd, request_id,
                    f"payOutWithoutBet: bet {shown(bet_id)} was never placed: booked with stake 0 and settled by "
                    "this win because payOutWithoutBet is accept",
                )
            bet = self._placed_bet(counterparty_id, bet_id, session, player)
            if bet.status == REFUNDED:
                raise self._conflict(player, f"bet {shown(bet_id)} was refunded and cannot be paid out")
            pay_outs = bet.pay_outs()
            for entry in pay_outs:
                if entry.amount == win:
                    return self._duplicate(entry, player)
            if bet.status == OPEN:
                return self._credit_win(bet, player, win, win_odd, request_id)
            if bet.kind == PAY_IN_OUT and not pay_outs:
                if self.settings.payOutAfterPayInOut != "additional":
                    raise self._conflict(player, f"bet {shown(bet_id)} was placed and settled by pay-in-out "
                                                 "(setting payOutAfterPayInOut is conflict)")
                return self._credit_win(
                    bet, player, win, win_odd, request_id,
                    f"payOutAfterPayInOut: bet {shown(bet_id)} was settled by pay-in-out: this pay-out credits an "
                    "additional win because payOutAfterPayInOut is additional",
                )
            if self.settings.additionalPayOuts != "additional":
                paid = ", ".join(_fmt(e.amount) for e in pay_outs)
                raise self._conflict(player, f"betId {shown(bet_id)} was already paid out (winAmount {paid}); "
                                             "another winAmount is a conflict (setting additionalPayOuts)")
            return self._credit_win(
                bet, player, win, win_odd, request_id,
                f"additionalPayOuts: bet {shown(bet_id)} was already paid out: this pay-out with another "
                "winAmount credits again because additionalPayOuts is additional",
            )

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
            stake = self._in_scale(player, stake, "betAmount")
            win = self._in_scale(player, win, "winAmount")
            key = (counterparty_id, bet_id)
            self._refuse_tombstoned(key, player)
            bet = self.bets.get(key)
            if bet is not None:
                same = (
                    bet.kind == PAY_IN_OUT
                    and bet.stake == stake
                    and self._own_win(bet) == win
                    and _same_context(bet, session, game_round_id)
                )
                return self._repeat(bet, PAY_IN_OUT, player, same, _placed_with(bet))
            self._check_stake(session, player, stake)
            now = self.clock()
            bet = Bet(counterparty_id, bet_id, session.id, player.id, PAY_IN_OUT, stake, game_round_id, now)
            transaction_id = self._next_transaction_id()
            self._commit(
                key,
                bet,
                self._post(bet, player, transaction_id, "bet", -stake, request_id, now),
                self._post(bet, player, transaction_id, "win", win, request_id, now),
                status=SETTLED,
                win=win,
                win_odd=win_odd,
            )
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
            if bet.kind == PAY_OUT or bet.pay_outs():
                raise self._conflict(player, f"bet {shown(bet_id)} was settled by pay-out and cannot be refunded")
            now = self.clock()
            reversal = self._own_win(bet) if bet.kind == PAY_IN_OUT else None
            if reversal is not None and MONEY.add(player.balance, MONEY.subtract(bet.stake, reversal)) < 0:
                raise InsufficientFunds(
                    f"refunding pay-in-out bet {shown(bet_id)} takes back its win {_fmt(reversal)}, "
                    f"more than the balance plus stake",
                    balance=player.balance,
                    currency=player.currency,
                )
            transaction_id = self._next_transaction_id()
            entries = [self._post(bet, player, transaction_id, "refund", bet.stake, request_id, now)]
            if reversal is not None:
                entries.append(self._post(bet, player, transaction_id, "reversal", -reversal, request_id, now))
            self._commit(key, bet, *entries, status=REFUNDED)
            return self._applied(player, transaction_id)

    # -- admin operations --------------------------------------------------------------------------

    def create_player(
        self, player_id: str | None, currency: Any, balance: Any = ZERO, blocked: Any = False
    ) -> Player:
        with self.lock:
            player_id = self._new_id(player_id, "player", self.players)
            if not isinstance(currency, str) or currency not in self.currencies:
                raise AdminInputError(f"currency: unknown currency {shown(currency)} (known: {', '.join(self.currencies)})")
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
            player = self.players.get(player_id) if isinstance(player_id, str) else None
            if player is None:
                raise AdminInputError(f"playerId: unknown player {shown(player_id)}")
            if counterparty_id is None:
                counterparty_id = next(iter(self.counterparties))
            elif not isinstance(counterparty_id, str) or counterparty_id not in self.counterparties:
                raise AdminInputError(f"counterpartyId: unknown counterparty {shown(counterparty_id)}")
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
            raise NotFound(f"no player {shown(player_id)}")
        return player

    def session(self, session_id: str) -> Session:
        session = self.sessions.get(session_id)
        if session is None:
            raise NotFound(f"no session {shown(session_id)}")
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
            if (
                isinstance(ttl_seconds, bool)
                or not isinstance(ttl_seconds, (int, float, Decimal))
                or not 0 < ttl_seconds <= MAX_TTL_SECONDS
            ):
                raise AdminInputError(f"ttlSeconds: must be a number greater than 0 and at most {MAX_TTL_SECONDS}")
            session.expires_at = self.clock() + float(ttl_seconds)
        if min_bet is not None:
            session.min_bet = self._admin_amount("minBet", min_bet, player.currency)
        if max_bet is not None:
            session.max_bet = self._admin_amount("maxBet", max_bet, player.currency)
        if session.min_bet is not None and session.max_bet is not None and session.min_bet > session.max_bet:
            raise AdminInputError("minBet: must not be above maxBet")

    def _admin_amount(self, name: str, value: Any, currency: str) -> Decimal:
        try:
            return to_scale(parse_amount(value), self.currencies[currency], currency)
        except AmountError as exc:
            raise AdminInputError(f"{name}: {exc}") from None

    @staticmethod
    def _new_id(wanted: Any, prefix: str, taken: dict[str, Any]) -> str:
        if wanted is None:
            return f"{prefix}-{uuid.uuid4().hex[:12]}"
        if not isinstance(wanted, str) or not wanted:
            raise AdminInputError("id: must be a non-empty string")
        if wanted in taken:
            raise AdminInputError(f"id: {prefix} {shown(wanted)} already exists")
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
            raise SessionNotFound(f"unknown session {shown(session_id)}")
        if session.counterparty_id != counterparty_id:
            raise SessionNotFound(f"session {shown(session_id)} belongs to another counterparty")
        player = self.players[session.player_id]
        if active:
            status = session.status_at(self.clock())
            if status != "active":
                raise SessionNotFound(
                    f"session {shown(session_id)} is {status}", balance=player.balance, currency=player.currency
                )
        return session, player

    def _in_scale(self, player: Player, amount: Decimal, field_name: str) -> Decimal:
        """The amount in the currency's scale (1.500 EUR -> 1.50); InvalidRequest when it is finer than that."""
        try:
            return to_scale(amount, self.currencies[player.currency], player.currency)
        except AmountError as exc:
            raise InvalidRequest(f"{field_name}: {exc}", balance=player.balance, currency=player.currency) from None

    def _check_stake(self, session: Session, player: Player, stake: Decimal) -> None:
        where = {"balance": player.balance, "currency": player.currency}
        if player.blocked:
            raise LimitExceeded(f"player {shown(player.id)} is blocked", **where)
        # A zero stake (a free round, let through by zeroStake) stakes nothing a minimum could apply to.
        if session.min_bet is not None and stake and stake < session.min_bet:
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
                player, f"bet {shown(key[1])} was refunded before it was placed: its stake can no longer be taken"
            )

    def _placed_bet(self, counterparty_id: str, bet_id: str, session: Session, player: Player) -> Bet:
        bet = self.bets.get((counterparty_id, bet_id))
        if bet is None:
            raise BetNotFound(
                f"bet {shown(bet_id)} was never accepted", balance=player.balance, currency=player.currency
            )
        if bet.session_id != session.id:
            raise self._conflict(player, f"bet {shown(bet_id)} belongs to session {shown(bet.session_id)}, not {shown(session.id)}")
        return bet

    def _repeat(self, bet: Bet, operation: str, player: Player, identical: bool, difference: str) -> Outcome:
        """A second request for a bet: the same operation with the same data is answered as already done."""
        if bet.status == REFUNDED and operation != REFUND:
            raise self._conflict(player, f"bet {shown(bet.bet_id)} was refunded")
        entry = next((e for op, e in bet.history() if op == operation), None)
        if entry is None or not identical:
            raise self._conflict(player, f"betId {shown(bet.bet_id)} was already used {difference}")
        return self._duplicate(entry, player)

    @staticmethod
    def _duplicate(entry: LedgerEntry, player: Player) -> Outcome:
        return Outcome(entry.transaction_id, True, player.balance, player.currency)

    def _credit_win(
        self,
        bet: Bet,
        player: Player,
        win: Decimal,
        win_odd: Decimal | None,
        request_id: str | None,
        warning: str | None = None,
    ) -> Outcome:
        """Book a pay-out's win on the bet, which is settled from then on."""
        transaction_id = self._next_transaction_id()
        entry = self._post(bet, player, transaction_id, "win", win, request_id, self.clock())
        total = win if bet.win is None else MONEY.add(bet.win, win)
        self._commit((bet.counterparty_id, bet.bet_id), bet, entry, status=SETTLED, win=total, win_odd=win_odd)
        outcome = self._applied(player, transaction_id)
        if warning is not None:
            outcome.warnings = [warning]
        return outcome

    @staticmethod
    def _own_win(bet: Bet) -> Decimal | None:
        """The win leg of a pay-in-out: the win entry booked with its stake."""
        entries = bet.entries
        return entries[1].amount if len(entries) >= 2 and entries[1].type == "win" else None

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
    ) -> LedgerEntry:
        """Move the player's balance and append the ledger entry that says so."""
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
        return entry

    def _commit(self, key: tuple[str, str], bet: Bet, *entries: LedgerEntry, **changes: Any) -> None:
        """Store the bet with its new entries and fields as a new record: a stored Bet is never changed in
        place, so a copy of the bets table is a consistent snapshot (admin reads stream from one)."""
        self.bets[key] = dataclasses.replace(bet, entries=bet.entries + entries, **changes)

    @staticmethod
    def _applied(player: Player, transaction_id: str) -> Outcome:
        return Outcome(transaction_id, False, player.balance, player.currency)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise AdminInputError(f"{name}: must be true or false")
    return value


def _same_context(bet: Bet, session: Session, game_round_id: str | None) -> bool:
    return bet.session_id == session.id and game_round_id == bet.game_round_id


def _placed_with(bet: Bet) -> str:
    data = f"betAmount {_fmt(bet.stake)}"
    if bet.kind == PAY_IN_OUT:
        data += f", winAmount {_fmt(Wallet._own_win(bet))}"
    return f"by a {bet.kind} with other data ({data}, gameRoundId {shown(bet.game_round_id)}, session {shown(bet.session_id)})"


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
