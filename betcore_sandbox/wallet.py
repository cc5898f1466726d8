"""The wallet: players, sessions, bets and the ledger, with the aggregator's bet rules.

Money is held as integers in each currency's minor units: exact, and a fraction of a Decimal's size. Every
operation is synchronous and runs on the sandbox's event loop, so concurrent requests (duplicates included)
produce exactly the effects of some serial order; there is nothing to lock. Stored bets and sessions are
immutable records, replaced on change, so a shallow copy of the tables is a consistent snapshot.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple, Protocol

import msgspec

from .commands import Command, PayIn, PayInOut, PayOut
from .errors import (
    AdminInputError,
    BetConflict,
    BetNotFound,
    InsufficientFunds,
    InvalidRequest,
    LimitExceeded,
    NotFound,
    SandboxError,
    SessionNotFound,
)
from .fixtures import Fixture
from .ledger import UNKNOWN_ROUND, Ledger, LedgerEntry
from .limits import MAX_BALANCE_DIGITS, MAX_TTL_SECONDS
from .money import AmountError, from_minor, minor_text, to_minor
from .settings import Settings
from .text import shown

PAY_IN = "pay-in"
PAY_OUT = "pay-out"
PAY_IN_OUT = "pay-in-out"
REFUND = "refund"

OPEN = "open"
SETTLED = "settled"
REFUNDED = "refunded"
SESSION_STATUSES = ("active", "expired", "closed")


@dataclass(frozen=True, slots=True)
class Counterparty:
    id: str
    secret: str
    name: str = ""
    provider_url: str | None = None  # where its Games and Launch endpoints live


@dataclass(slots=True)
class Player:
    id: str
    currency: str
    balance: int  # minor units
    blocked: bool = False
    # The balance before the first ledger entry: the audit checks balance = opening + sum(ledger).
    opening_balance: int = 0


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    player_id: str
    counterparty_id: str
    expires_at: float | None = None  # epoch seconds
    min_bet: int | None = None  # minor units
    max_bet: int | None = None
    status: str = "active"
    demo: bool = False  # opened by a demo-mode Launch
    launch_failed: bool = False  # its Launch got no valid answer; wallet calls are still answered

    def status_at(self, now: float) -> str:
        if self.status == "active" and self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return self.status


class Bet(NamedTuple):
    """A bet and the ledger rows it booked. Amounts in minor units."""

    counterparty_id: str
    bet_id: str
    session_id: str
    player_id: str
    kind: str  # pay-in | pay-in-out | pay-out (a pay-out let through by payOutWithoutBet)
    stake: int
    game_round_id: str | None
    status: str = OPEN
    win: int | None = None  # every win credited to the bet, added up
    win_odd: Decimal | None = None
    entries: tuple[int, ...] = ()  # ledger rows, in order


class Step(NamedTuple):
    """One applied operation of a bet: the ledger row that carries its answer (its transaction, balance after)."""

    operation: str
    entry: LedgerEntry


class Tombstone(NamedTuple):
    """A refund for a bet never placed: a later pay-in with this betId must not take the stake."""

    counterparty_id: str
    bet_id: str
    session_id: str
    time: float


@dataclass(slots=True)
class Outcome:
    transaction_id: int  # for a repeat, the original one
    repeated: bool
    balance_units: int  # the balance now
    currency: str
    scale: int
    warnings: list[str] | None = None  # lenient rules that let this operation through

    @property
    def balance(self) -> Decimal:
        return from_minor(self.balance_units, self.scale)


@dataclass(slots=True)
class WalletCopy:
    """A wallet as it was at one moment (see Wallet.consistent_copy)."""

    currencies: dict[str, int]
    counterparties: list[Counterparty]
    players: list[Player]
    sessions: list[Session]
    bets: list[Bet]
    tombstones: list[Tombstone]
    ledger: Ledger  # the live ledger: only its first ledger_length rows belong to this moment
    ledger_length: int
    last_transaction_id: int
    now: float

    def entries(self) -> Iterator[LedgerEntry]:
        return self.ledger.entries(self.ledger_length)


class Recorder(Protocol):
    """Where a durable wallet reports what each operation changed (see store.Store), which writes it before any
    answer is sent. The ledger rows and bets it books reach it through the wallet's `ledger` and `bets`; the rest
    is given."""

    def commit(
        self,
        *,
        last_transaction_id: int,
        players: Iterable[Player] = (),
        sessions: Iterable[Session] = (),
        deleted_sessions: Iterable[str] = (),
        tombstones: Iterable[Tombstone] = (),
    ) -> None:
        """Take the changes (written at once, or with the rest of the event-loop turn); a SandboxError when an
        immediate write fails, and then the wallet is read back as the file has it."""

    def replace_all(self, wallet: Wallet) -> None:
        """Replace everything stored with the wallet's state, in one transaction."""

    def open_bets(self) -> list[Bet]:
        """The bets still open, in booking order (found by the database: settled bets are not read)."""


class _Marker:
    pass


_THE_BETS = _Marker()  # _commit's default: the operation's game round is the bet's

# The operation an entry stands for when it opens a transaction; None: the bet's own kind (pay-in, pay-in-out).
_OPERATION_OF_FIRST_ENTRY: dict[str, str | None] = {"bet": None, "win": PAY_OUT, "refund": REFUND}


class Wallet:
    def __init__(self, clock: Callable[[], float] = time.time, settings: Settings | None = None) -> None:
        self.clock = clock
        self.settings = settings or Settings()
        self.currencies: dict[str, int] = {}
        self.counterparties: dict[str, Counterparty] = {}
        self.secrets: dict[str, str] = {}
        self.players: dict[str, Player] = {}
        self.sessions: dict[str, Session] = {}
        self.bets: MutableMapping[tuple[str, str], Bet] = {}
        self.tombstones: dict[tuple[str, str], Tombstone] = {}
        self.ledger = Ledger()
        self.last_transaction_id = 0
        # Durable mode: every change is written through it before an operation returns (None: in memory only).
        self.recorder: Recorder | None = None

    # -- loading and copying -------------------------------------------------------------------------

    def load(self, fixture: Fixture) -> None:
        """Replace everything with the fixture's state, in place: its players and sessions, and for an export
        its bets, ledger, tombstones and transaction counter. Whether they are consistent is the audit's to say."""
        if self.recorder is not None:  # durable: load apart, then replace what is stored in one step
            loaded = Wallet(self.clock, self.settings)
            loaded.load(fixture)
            self.replace_with(loaded)
            return
        self.currencies = dict(fixture.currencies)
        self.counterparties = {
            c.id: Counterparty(c.id, c.secret, c.name, None if c.provider_url is None else str(c.provider_url))
            for c in fixture.counterparties
        }
        self.secrets = {c.id: c.secret for c in fixture.counterparties}
        self.players = {}
        for p in fixture.players:
            balance = self._minor(p.balance, p.currency)
            opening = balance if p.opening_balance is None else self._minor(p.opening_balance, p.currency)
            self.players[p.id] = Player(p.id, p.currency, balance, p.blocked, opening)
        self.sessions = {}
        for s in fixture.sessions:
            currency = self.players[s.player_id].currency
            self.sessions[s.id] = Session(
                s.id,
                s.player_id,
                s.counterparty_id or next(iter(self.counterparties)),
                s.expires_at,
                None if s.min_bet is None else self._minor(s.min_bet, currency),
                None if s.max_bet is None else self._minor(s.max_bet, currency),
                s.status,
                s.demo,
                s.launch_failed,
            )
        ledger = Ledger()
        rows: dict[tuple[str, str], list[int]] = {}
        for e in fixture.ledger:
            currency = self.players[e.player_id].currency
            game_round_id = e.game_round_id
            if isinstance(game_round_id, msgspec.UnsetType):  # an older export: the round is not known
                game_round_id = UNKNOWN_ROUND
            row = ledger.append(
                LedgerEntry(
                    int(e.transaction_id),
                    e.type,
                    self._minor(e.amount, currency),
                    self._minor(e.balance_after, currency),
                    e.player_id,
                    e.session_id,
                    e.bet_id,
                    e.counterparty_id,
                    e.request_id,
                    e.time,
                    game_round_id,
                )
            )
            if e.bet_id is not None:
                rows.setdefault((e.counterparty_id or "", e.bet_id), []).append(row)
        self.ledger = ledger
        self.bets = {}
        for b in fixture.bets:
            currency = self.players[b.player_id].currency
            key = (b.counterparty_id, b.bet_id)
            self.bets[key] = Bet(
                b.counterparty_id,
                b.bet_id,
                b.session_id,
                b.player_id,
                b.kind,
                self._minor(b.stake, currency),
                b.game_round_id,
                b.status,
                None if b.win is None else self._minor(b.win, currency),
                None if b.win_odd is None else Decimal(b.win_odd),
                tuple(rows.get(key, ())),
            )
        self.tombstones = {
            (t.counterparty_id, t.bet_id): Tombstone(t.counterparty_id, t.bet_id, t.session_id, t.time)
            for t in fixture.tombstones
        }
        self.last_transaction_id = max([fixture.last_transaction_id] + [int(e.transaction_id) for e in fixture.ledger])

    def replace_with(self, other: Wallet) -> None:
        """Take over another wallet's whole state, in place (a checked import). Durable: the database is replaced
        first; when that fails nothing changes."""
        if self.recorder is not None:
            self.recorder.replace_all(other)  # bets and ledger stay the stored views, now of the new content
        else:
            self.bets, self.ledger = other.bets, other.ledger
        self.currencies, self.counterparties, self.secrets = other.currencies, other.counterparties, other.secrets
        self.players, self.sessions = other.players, other.sessions
        self.tombstones = other.tombstones
        self.last_transaction_id = other.last_transaction_id

    def latest_booking(self) -> float | None:
        """The time of the newest ledger entry or tombstone (epoch seconds), None when nothing is booked."""
        times = [t.time for t in self.tombstones.values()]
        if len(self.ledger):  # append-only, booked in time order: the last is the newest (one row read when stored)
            times.append(self.ledger.time(len(self.ledger) - 1))
        return max(times, default=None)

    def open_bets(self) -> list[Bet]:
        """The bets still open, in booking order."""
        if self.recorder is not None:
            return self.recorder.open_bets()
        return [b for b in self.bets.values() if b.status == OPEN]

    def consistent_copy(self, *, with_bets: bool = True) -> WalletCopy:
        """Everything as it is now, cheaply: stored bets and sessions are replaced, never changed in place, and
        the ledger only grows, so shallow copies and the ledger's length stand for this moment.

        with_bets: False leaves `bets` empty, for a caller that reads them apart (SandboxState.consistent_copy)."""
        return WalletCopy(
            currencies=dict(self.currencies),
            counterparties=list(self.counterparties.values()),
            players=[dataclasses.replace(p) for p in self.players.values()],
            sessions=list(self.sessions.values()),
            bets=list(self.bets.values()) if with_bets else [],
            tombstones=list(self.tombstones.values()),
            ledger=self.ledger,
            ledger_length=len(self.ledger),
            last_transaction_id=self.last_transaction_id,
            now=self.clock(),
        )

    # -- provider operations -----------------------------------------------------------------------

    def apply(self, counterparty_id: str, session_id: str, command: Command, request_id: str | None = None) -> Outcome:
        """Run one provider bet operation."""
        if isinstance(command, PayIn):
            return self.pay_in(
                counterparty_id,
                session_id,
                command.bet_id,
                command.amount,
                game_round_id=command.game_round_id,
                request_id=request_id,
            )
        if isinstance(command, PayOut):
            return self.pay_out(
                counterparty_id,
                session_id,
                command.bet_id,
                command.win,
                game_round_id=command.game_round_id,
                win_odd=command.win_odd,
                request_id=request_id,
            )
        if isinstance(command, PayInOut):
            return self.pay_in_out(
                counterparty_id,
                session_id,
                command.bet_id,
                command.amount,
                command.win,
                game_round_id=command.game_round_id,
                win_odd=command.win_odd,
                request_id=request_id,
            )
        return self.refund(
            counterparty_id, session_id, command.bet_id, game_round_id=command.game_round_id, request_id=request_id
        )

    def balance(self, counterparty_id: str, session_id: str) -> Outcome:
        """The balance behind an active session (transaction_id 0: nothing was booked)."""
        _, player = self._session(counterparty_id, session_id, active=True)
        return self._answer(player, 0, repeated=False)

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
        session, player = self._session(counterparty_id, session_id, active=True)
        units = self._units(player, stake, "betAmount")
        key = (counterparty_id, bet_id)
        self._refuse_tombstoned(key, player)
        bet = self.bets.get(key)
        if bet is not None:
            same = bet.kind == PAY_IN and bet.stake == units and _same_context(bet, session, game_round_id)
            return self._repeat(bet, PAY_IN, player, same, self._placed_with(bet, player))
        self._check_stake(session, player, units)
        bet = Bet(counterparty_id, bet_id, session.id, player.id, PAY_IN, units, game_round_id)
        transaction_id = self._next_transaction_id()
        now = self.clock()
        self._commit(bet, player, [(transaction_id, "bet", -units)], request_id, now)
        return self._answer(player, transaction_id)

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
        session, player = self._session(counterparty_id, session_id, active=False)
        units = self._units(player, win, "winAmount")
        key = (counterparty_id, bet_id)
        bet = self.bets.get(key)
        if bet is None and self.settings.payOutWithoutBet == "accept" and key not in self.tombstones:
            # A new bet, so the rules for placing one hold: an active session and a player who may bet.
            self._session(counterparty_id, session_id, active=True)
            if player.blocked:
                raise self._error(LimitExceeded, player, f"player {shown(player.id)} is blocked")
            bet = Bet(counterparty_id, bet_id, session.id, player.id, PAY_OUT, 0, game_round_id)
            return self._credit_win(
                bet,
                player,
                units,
                win_odd,
                request_id,
                game_round_id,
                f"payOutWithoutBet: bet {shown(bet_id)} was never placed: booked with stake 0 and settled by "
                "this win because payOutWithoutBet is accept",
            )
        bet = self._placed_bet(counterparty_id, bet_id, session, player)
        if bet.status == REFUNDED:
            raise self._conflict(player, f"bet {shown(bet_id)} was refunded and cannot be paid out")
        pay_outs = [step.entry for step in self.history(bet) if step.operation == PAY_OUT]
        for entry in pay_outs:  # the same win of the same round: a retry (another round's equal win is not)
            if entry.amount == units and entry.game_round_id in (game_round_id, UNKNOWN_ROUND):
                return self._answer(player, entry.transaction_id, repeated=True)
        if bet.status == OPEN:
            return self._credit_win(bet, player, units, win_odd, request_id, game_round_id)
        if bet.kind == PAY_IN_OUT and not pay_outs:
            if self.settings.payOutAfterPayInOut != "additional":
                raise self._conflict(
                    player,
                    f"bet {shown(bet_id)} was placed and settled by pay-in-out "
                    "(setting payOutAfterPayInOut is conflict)",
                )
            return self._credit_win(
                bet,
                player,
                units,
                win_odd,
                request_id,
                game_round_id,
                f"payOutAfterPayInOut: bet {shown(bet_id)} was settled by pay-in-out: this pay-out credits an "
                "additional win because payOutAfterPayInOut is additional",
            )
        if self.settings.additionalPayOuts != "additional":
            paid = ", ".join(self._text(player, e.amount) for e in pay_outs)
            raise self._conflict(
                player,
                f"betId {shown(bet_id)} was already paid out (winAmount {paid}); "
                "another winAmount or gameRoundId is a conflict (setting additionalPayOuts)",
            )
        return self._credit_win(
            bet,
            player,
            units,
            win_odd,
            request_id,
            game_round_id,
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
        session, player = self._session(counterparty_id, session_id, active=True)
        stake_units = self._units(player, stake, "betAmount")
        win_units = self._units(player, win, "winAmount")
        key = (counterparty_id, bet_id)
        self._refuse_tombstoned(key, player)
        bet = self.bets.get(key)
        if bet is not None:
            same = (
                bet.kind == PAY_IN_OUT
                and bet.stake == stake_units
                and self._own_win(bet) == win_units
                and _same_context(bet, session, game_round_id)
            )
            return self._repeat(bet, PAY_IN_OUT, player, same, self._placed_with(bet, player))
        self._check_stake(session, player, stake_units)
        bet = Bet(
            counterparty_id,
            bet_id,
            session.id,
            player.id,
            PAY_IN_OUT,
            stake_units,
            game_round_id,
            SETTLED,
            win_units,
            win_odd,
        )
        transaction_id = self._next_transaction_id()
        self._commit(
            bet,
            player,
            [(transaction_id, "bet", -stake_units), (transaction_id, "win", win_units)],
            request_id,
            self.clock(),
        )
        return self._answer(player, transaction_id)

    def refund(
        self,
        counterparty_id: str,
        session_id: str,
        bet_id: str,
        *,
        game_round_id: str | None = None,
        request_id: str | None = None,
    ) -> Outcome:
        session, player = self._session(counterparty_id, session_id, active=False)
        key = (counterparty_id, bet_id)
        if key not in self.bets and key not in self.tombstones:
            tombstone = Tombstone(counterparty_id, bet_id, session.id, self.clock())
            self._save(tombstones=(tombstone,))
            self.tombstones[key] = tombstone
        bet = self._placed_bet(counterparty_id, bet_id, session, player)
        if bet.status == REFUNDED:
            return self._repeat(bet, REFUND, player, True, "")
        history = self.history(bet)
        if bet.kind == PAY_OUT or any(step.operation == PAY_OUT for step in history):
            raise self._conflict(player, f"bet {shown(bet_id)} was settled by pay-out and cannot be refunded")
        reversal = self._own_win(bet) if bet.kind == PAY_IN_OUT else None
        if reversal is not None and player.balance + bet.stake - reversal < 0:
            raise InsufficientFunds(
                f"refunding pay-in-out bet {shown(bet_id)} takes back its win {self._text(player, reversal)}, "
                f"more than the balance plus stake",
                balance=self._decimal(player, player.balance),
                currency=player.currency,
            )
        transaction_id = self._next_transaction_id()
        rows = [(transaction_id, "refund", bet.stake)]
        if reversal is not None:
            rows.append((transaction_id, "reversal", -reversal))
        self._commit(bet._replace(status=REFUNDED), player, rows, request_id, self.clock())
        return self._answer(player, transaction_id)

    # -- bets --------------------------------------------------------------------------------------------

    def history(self, bet: Bet) -> list[Step]:
        """Each applied operation of the bet with the ledger row that carries its answer. The answers are not
        stored apart: a repeat is answered from these rows."""
        return steps_of(bet, [self.ledger[row] for row in bet.entries])

    def created_at(self, bet: Bet) -> float:
        return self.ledger.time(bet.entries[0]) if bet.entries else 0.0

    # -- admin operations --------------------------------------------------------------------------

    def create_player(
        self, player_id: str | None, currency: str, balance: Decimal = Decimal(0), blocked: bool = False
    ) -> Player:
        player_id = self._new_id(player_id, "player", self.players)
        if currency not in self.currencies:
            raise AdminInputError(f"currency: unknown currency {shown(currency)} (known: {', '.join(self.currencies)})")
        units = self._admin_units("balance", balance, currency)
        player = Player(player_id, currency, units, blocked, opening_balance=units)
        self._save(players=(player,))
        self.players[player_id] = player
        return player

    def update_player(self, player_id: str, *, balance: Decimal | None = None, blocked: bool | None = None) -> Player:
        """Set the balance (recorded in the ledger as an `adjustment`) and/or the blocked flag."""
        player = self.player(player_id)
        units = None if balance is None else self._admin_units("balance", balance, player.currency)
        before = (player.balance, player.blocked, self.last_transaction_id)
        if units is not None and units != player.balance:
            delta = units - player.balance
            player.balance = units
            transaction_id = self._next_transaction_id()
            self.ledger.append(
                LedgerEntry(transaction_id, "adjustment", delta, units, player.id, None, None, None, None, self.clock())
            )
        if blocked is not None:
            player.blocked = blocked
        if self.recorder is not None:
            try:
                self._save(players=(player,))
            except SandboxError:
                player.balance, player.blocked, self.last_transaction_id = before
                raise
        return player

    def open_session(
        self,
        session_id: str | None,
        player_id: str | None = None,
        counterparty_id: str | None = None,
        *,
        currency: str | None = None,
        balance: Decimal | None = None,
        ttl_seconds: float | None = None,
        min_bet: Decimal | None = None,
        max_bet: Decimal | None = None,
    ) -> Session:
        """A session for an existing player, or with `currency` (+ `balance`) for a new one. All or nothing."""
        session_id = self._new_id(session_id, "session", self.sessions)
        if counterparty_id is None:
            counterparty_id = next(iter(self.counterparties))
        elif counterparty_id not in self.counterparties:
            raise AdminInputError(f"counterpartyId: unknown counterparty {shown(counterparty_id)}")
        if player_id is None:
            if currency is None:
                raise AdminInputError("playerId: is required (or currency + balance to create the player)")
            if currency not in self.currencies:
                raise AdminInputError(
                    f"currency: unknown currency {shown(currency)} (known: {', '.join(self.currencies)})"
                )
            new_player = Player(f"player-{uuid.uuid4().hex[:12]}", currency, 0)
            new_player.balance = new_player.opening_balance = self._admin_units(
                "balance", balance or Decimal(0), currency
            )
            player = new_player
        else:
            found = self.players.get(player_id)
            if found is None:
                raise AdminInputError(f"playerId: unknown player {shown(player_id)}")
            player = found
        session = self._changed_session(
            Session(session_id, player.id, counterparty_id),
            player,
            ttl_seconds=ttl_seconds,
            min_bet=min_bet,
            max_bet=max_bet,
        )
        self._save(players=(player,), sessions=(session,))
        self.players[player.id] = player
        self.sessions[session_id] = session
        return session

    def update_session(
        self,
        session_id: str,
        *,
        status: str | None = None,
        ttl_seconds: float | None = None,
        min_bet: Decimal | None = None,
        max_bet: Decimal | None = None,
    ) -> Session:
        session = self.session(session_id)
        updated = self._changed_session(
            session,
            self.players[session.player_id],
            status=status,
            ttl_seconds=ttl_seconds,
            min_bet=min_bet,
            max_bet=max_bet,
        )
        self._save(sessions=(updated,))
        self.sessions[session_id] = updated
        return updated

    def flag_session(self, session_id: str, *, demo: bool | None = None, launch_failed: bool | None = None) -> Session:
        """Set how the session came about: a demo launch, a launch that failed."""
        session = self.session(session_id)
        changes = {k: v for k, v in {"demo": demo, "launch_failed": launch_failed}.items() if v is not None}
        updated = dataclasses.replace(session, **changes)  # type: ignore[arg-type]
        self._save(sessions=(updated,))
        self.sessions[session_id] = updated
        return updated

    def delete_session(self, session_id: str) -> None:
        """Remove a session no bet or tombstone names (those keep it, so that an export stays importable)."""
        self.session(session_id)
        if any(b.session_id == session_id for b in self.bets.values()) or any(
            t.session_id == session_id for t in self.tombstones.values()
        ):
            raise AdminInputError(f"id: session {shown(session_id)} has bets: close it instead (PATCH status closed)")
        self._save(deleted_sessions=(session_id,))
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

    def _changed_session(
        self,
        session: Session,
        player: Player,
        *,
        status: str | None = None,
        ttl_seconds: float | None = None,
        min_bet: Decimal | None = None,
        max_bet: Decimal | None = None,
    ) -> Session:
        """The session with the changes, checked together: a bad one changes nothing."""
        changes: dict[str, object] = {}
        if status is not None:
            if status not in SESSION_STATUSES:
                raise AdminInputError(f"status: must be one of {', '.join(SESSION_STATUSES)}")
            changes["status"] = status
            if status == "active" and session.expires_at is not None and session.expires_at <= self.clock():
                changes["expires_at"] = None  # re-activating an expired session lifts its expiry
        if ttl_seconds is not None:
            if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
                raise AdminInputError(f"ttlSeconds: must be a number greater than 0 and at most {MAX_TTL_SECONDS}")
            changes["expires_at"] = self.clock() + float(ttl_seconds)
        if min_bet is not None:
            changes["min_bet"] = self._admin_units("minBet", min_bet, player.currency)
        if max_bet is not None:
            changes["max_bet"] = self._admin_units("maxBet", max_bet, player.currency)
        updated = dataclasses.replace(session, **changes)  # type: ignore[arg-type]
        if updated.min_bet is not None and updated.max_bet is not None and updated.min_bet > updated.max_bet:
            raise AdminInputError("minBet: must not be above maxBet")
        return updated

    def _admin_units(self, name: str, value: Decimal, currency: str) -> int:
        try:
            if value < 0:
                raise AmountError(f"must not be negative: {shown(value)}")
            return to_minor(value, self.currencies[currency], currency)
        except AmountError as exc:
            raise AdminInputError(f"{name}: {exc}") from None

    @staticmethod
    def _new_id(wanted: str | None, prefix: str, taken: Mapping[str, object]) -> str:
        if wanted is None:
            return f"{prefix}-{uuid.uuid4().hex[:12]}"
        if not wanted:
            raise AdminInputError("id: must be a non-empty string")
        if wanted in taken:
            raise AdminInputError(f"id: {prefix} {shown(wanted)} already exists")
        return wanted

    # -- reads -------------------------------------------------------------------------------------

    def session_balance(self, counterparty_id: str, session_id: str) -> tuple[Decimal, str] | None:
        """The balance and currency behind a session of this counterparty, if there is one (for error bodies)."""
        session = self.sessions.get(session_id)
        if session is None or session.counterparty_id != counterparty_id:
            return None
        player = self.players[session.player_id]
        return self._decimal(player, player.balance), player.currency

    def scale(self, currency: str) -> int:
        return self.currencies[currency]

    def decimal(self, currency: str, units: int | None) -> Decimal | None:
        """Minor units of a currency as a Decimal with its decimals."""
        return None if units is None else from_minor(units, self.currencies[currency])

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
                raise self._error(SessionNotFound, player, f"session {shown(session_id)} is {status}")
        return session, player

    def _units(self, player: Player, amount: Decimal, field_name: str) -> int:
        """The amount in minor units; InvalidRequest when it is finer than the currency (1.005 EUR)."""
        try:
            return to_minor(amount, self.currencies[player.currency], player.currency)
        except AmountError as exc:
            raise self._error(InvalidRequest, player, f"{field_name}: {exc}") from None

    def _minor(self, amount: Decimal, currency: str) -> int:
        return to_minor(amount, self.currencies[currency], currency)

    def _check_stake(self, session: Session, player: Player, stake: int) -> None:
        if player.blocked:
            raise self._error(LimitExceeded, player, f"player {shown(player.id)} is blocked")
        # A zero stake (a free round, let through by zeroStake) stakes nothing a minimum could apply to.
        if session.min_bet is not None and stake and stake < session.min_bet:
            raise self._error(
                LimitExceeded,
                player,
                f"betAmount {self._text(player, stake)} is below the session's "
                f"minBet {self._text(player, session.min_bet)}",
            )
        if session.max_bet is not None and stake > session.max_bet:
            raise self._error(
                LimitExceeded,
                player,
                f"betAmount {self._text(player, stake)} is above the session's "
                f"maxBet {self._text(player, session.max_bet)}",
            )
        if stake > player.balance:
            raise self._error(
                InsufficientFunds,
                player,
                f"betAmount {self._text(player, stake)} is above the balance {self._text(player, player.balance)}",
            )

    def _refuse_tombstoned(self, key: tuple[str, str], player: Player) -> None:
        if key in self.tombstones:
            raise self._conflict(
                player, f"bet {shown(key[1])} was refunded before it was placed: its stake can no longer be taken"
            )

    def _placed_bet(self, counterparty_id: str, bet_id: str, session: Session, player: Player) -> Bet:
        bet = self.bets.get((counterparty_id, bet_id))
        if bet is None:
            raise self._error(BetNotFound, player, f"bet {shown(bet_id)} was never accepted")
        if bet.session_id != session.id:
            raise self._conflict(
                player, f"bet {shown(bet_id)} belongs to session {shown(bet.session_id)}, not {shown(session.id)}"
            )
        return bet

    def _repeat(self, bet: Bet, operation: str, player: Player, identical: bool, difference: str) -> Outcome:
        """A second request for a bet: the same operation with the same data is answered as already done."""
        if bet.status == REFUNDED and operation != REFUND:
            raise self._conflict(player, f"bet {shown(bet.bet_id)} was refunded")
        step = next((s for s in self.history(bet) if s.operation == operation), None)
        if step is None or not identical:
            raise self._conflict(player, f"betId {shown(bet.bet_id)} was already used {difference}")
        return self._answer(player, step.entry.transaction_id, repeated=True)

    def _credit_win(
        self,
        bet: Bet,
        player: Player,
        win: int,
        win_odd: Decimal | None,
        request_id: str | None,
        game_round_id: str | None,
        warning: str | None = None,
    ) -> Outcome:
        """Book a pay-out's win on the bet, which is settled from then on."""
        transaction_id = self._next_transaction_id()
        total = win if bet.win is None else bet.win + win
        self._commit(
            bet._replace(status=SETTLED, win=total, win_odd=bet.win_odd if win_odd is None else win_odd),
            player,
            [(transaction_id, "win", win)],
            request_id,
            self.clock(),
            game_round_id,
        )
        outcome = self._answer(player, transaction_id)
        if warning is not None:
            outcome.warnings = [warning]
        return outcome

    def _own_win(self, bet: Bet) -> int | None:
        """The win leg of a pay-in-out: the win row booked with its stake."""
        rows = bet.entries
        if len(rows) >= 2 and self.ledger.type(rows[1]) == "win":
            return self.ledger.amount(rows[1])
        return None

    def _commit(
        self,
        bet: Bet,
        player: Player,
        rows: list[tuple[int, str, int]],
        request_id: str | None,
        now: float,
        game_round_id: str | _Marker | None = _THE_BETS,
    ) -> None:
        """Move the player's balance by each row, append the rows to the ledger, and store the bet with them.
        `game_round_id`: the operation's when it is not the bet's own (a pay-out names its own, or none)."""
        if isinstance(game_round_id, _Marker) or game_round_id == bet.game_round_id:
            game_round_id = bet.game_round_id  # one string object for both
        limit = 10 ** (MAX_BALANCE_DIGITS + self.currencies[player.currency])
        if player.balance + sum(amount for _, _, amount in rows) >= limit:  # checked before anything moves
            raise self._error(InvalidRequest, player, f"the balance would pass {MAX_BALANCE_DIGITS} integer digits")
        balance_before = player.balance
        added = []
        add = self.ledger.add
        for transaction_id, entry_type, amount in rows:
            player.balance += amount
            added.append(
                add(
                    transaction_id,
                    entry_type,
                    amount,
                    player.balance,
                    player.id,
                    bet.session_id,
                    bet.bet_id,
                    bet.counterparty_id,
                    request_id,
                    now,
                    game_round_id,
                )
            )
        # entries is the last field: a new record without NamedTuple._replace's generic (slow) path
        self.bets[(bet.counterparty_id, bet.bet_id)] = Bet(*bet[:-1], bet.entries + tuple(added))
        if self.recorder is not None:  # the rows and the bet went to the recorder's staging through the tables
            try:
                self._save(players=(player,))
            except SandboxError:
                player.balance = balance_before
                self.last_transaction_id = rows[0][0] - 1  # the operation's id was the last one taken
                raise

    def _save(
        self,
        *,
        players: Iterable[Player] = (),
        sessions: Iterable[Session] = (),
        deleted_sessions: Iterable[str] = (),
        tombstones: Iterable[Tombstone] = (),
    ) -> None:
        """Durable mode: report this operation's changes (an immediate write that fails raises; the caller then
        undoes what it changed in memory). In memory only: nothing to do."""
        if self.recorder is not None:
            self.recorder.commit(
                last_transaction_id=self.last_transaction_id,
                players=players,
                sessions=sessions,
                deleted_sessions=deleted_sessions,
                tombstones=tombstones,
            )

    def _next_transaction_id(self) -> int:
        self.last_transaction_id += 1
        return self.last_transaction_id

    def _answer(self, player: Player, transaction_id: int, *, repeated: bool = False) -> Outcome:
        return Outcome(transaction_id, repeated, player.balance, player.currency, self.currencies[player.currency])

    def _text(self, player: Player, units: int) -> str:
        return minor_text(units, self.currencies[player.currency])

    def _decimal(self, player: Player, units: int) -> Decimal:
        return from_minor(units, self.currencies[player.currency])

    def _error(self, kind: type[SandboxError], player: Player, message: str) -> SandboxError:
        return kind(message, balance=self._decimal(player, player.balance), currency=player.currency)

    def _conflict(self, player: Player, message: str) -> SandboxError:
        return self._error(BetConflict, player, message)

    def _placed_with(self, bet: Bet, player: Player) -> str:
        data = f"betAmount {self._text(player, bet.stake)}"
        if bet.kind == PAY_IN_OUT:
            own = self._own_win(bet)
            data += f", winAmount {'none' if own is None else self._text(player, own)}"
        return (
            f"by a {bet.kind} with other data ({data}, gameRoundId {shown(bet.game_round_id)}, "
            f"session {shown(bet.session_id)})"
        )


def steps_of(bet: Bet, entries: list[LedgerEntry]) -> list[Step]:
    """A bet's entries grouped into its operations: the entries of one operation share a transaction id, and the
    last of them carries the operation's answer (the balance after it)."""
    steps: list[Step] = []
    last_transaction = None
    for entry in entries:
        if entry.transaction_id == last_transaction:
            steps[-1] = Step(steps[-1].operation, entry)
        else:
            steps.append(Step(_OPERATION_OF_FIRST_ENTRY[entry.type] or bet.kind, entry))
            last_transaction = entry.transaction_id
    return steps


def _same_context(bet: Bet, session: Session, game_round_id: str | None) -> bool:
    return bet.session_id == session.id and game_round_id == bet.game_round_id
