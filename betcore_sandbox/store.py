"""Durable state: the wallet kept in an SQLite database (WAL), so a sandbox survives restarts and kills.

The wallet reports what each operation changed (`Wallet.recorder`, `Store.commit`). On the event loop the changes
of one loop turn are written together, in one transaction, at the end of the turn (a group commit: one write for
all the requests the turn served), and every answer waits for that write (`Store.settled`), so no answer leaves
before its change is in the file. With `synchronous=NORMAL` a committed transaction survives the process being
killed (SIGKILL, OOM, a crash); a power loss or an OS crash can lose the last transactions (never half of one).

Players, sessions and tombstones stay in memory (they grow with admin work, not with traffic). Bets and ledger
rows live in the database only and are read back on demand (`StoredBets`, `StoredLedger`), so memory stays flat
however long the sandbox runs. Journal, faults, seen request ids and runtime settings are not stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import math
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from .clock import Clock, ClockError
from .errors import SandboxError
from .fixtures import Fixture, FixtureError
from .ledger import Ledger, LedgerEntry
from .wallet import OPEN, Bet, Counterparty, Player, Session, Tombstone, Wallet

__all__ = ["StateFileError", "StorageFailed", "Store", "StoredBets", "StoredLedger"]

FORMAT = "betcore-sandbox state 2"
# An older file is brought up to FORMAT when opened (in one transaction, so a failed upgrade leaves it as it was);
# a newer one is refused. Format 1 had no session flags (demo, launch failed): its sessions get them unset.
_UPGRADES = {
    "betcore-sandbox state 1": "ALTER TABLE sessions ADD COLUMN demo INTEGER NOT NULL DEFAULT 0; "
    "ALTER TABLE sessions ADD COLUMN launch_failed INTEGER NOT NULL DEFAULT 0;",
}
BUSY_TIMEOUT_MS = 2000
CHUNK = 1000  # rows per query of a long read
_INT64 = 2**63

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE players (id TEXT PRIMARY KEY, currency TEXT NOT NULL, balance, blocked INTEGER NOT NULL,
    opening_balance);
CREATE TABLE sessions (id TEXT PRIMARY KEY, player_id TEXT NOT NULL, counterparty_id TEXT NOT NULL, expires_at REAL,
    min_bet, max_bet, status TEXT NOT NULL, demo INTEGER NOT NULL DEFAULT 0,
    launch_failed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE tombstones (counterparty_id TEXT NOT NULL, bet_id TEXT NOT NULL, session_id TEXT NOT NULL,
    time REAL NOT NULL, PRIMARY KEY (counterparty_id, bet_id));
CREATE TABLE bets (counterparty_id TEXT NOT NULL, bet_id TEXT NOT NULL, session_id TEXT NOT NULL,
    player_id TEXT NOT NULL, kind TEXT NOT NULL, stake, game_round_id TEXT, status TEXT NOT NULL, win, win_odd TEXT,
    entries TEXT NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (counterparty_id, bet_id)) WITHOUT ROWID;
CREATE TABLE ledger (row INTEGER PRIMARY KEY, transaction_id INTEGER NOT NULL, type TEXT NOT NULL, amount,
    balance_after, player_id TEXT NOT NULL, session_id TEXT, bet_id TEXT, counterparty_id TEXT, request_id TEXT,
    time REAL NOT NULL, game_round_id TEXT);
"""
# Tables with a rowid keep their rows in the order they were first written (upserts keep the rowid): the order
# of the wallet's tables, which an export lists. Bets are keyed by their id alone (one b-tree to write per booking)
# and keep their order in `position`.
_TABLES = ("meta", "players", "sessions", "tombstones", "bets", "ledger")
_UPSERT_PLAYER = (
    "INSERT INTO players VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET currency = excluded.currency, "
    "balance = excluded.balance, blocked = excluded.blocked, opening_balance = excluded.opening_balance"
)
_UPSERT_SESSION = (
    "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET player_id = excluded.player_id, "
    "counterparty_id = excluded.counterparty_id, expires_at = excluded.expires_at, min_bet = excluded.min_bet, "
    "max_bet = excluded.max_bet, status = excluded.status, demo = excluded.demo, "
    "launch_failed = excluded.launch_failed"
)
_UPSERT_BET = (
    "INSERT INTO bets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET status = excluded.status, "
    "win = excluded.win, win_odd = excluded.win_odd, entries = excluded.entries"
)
_SET_LAST_TRANSACTION = "UPDATE meta SET value = ? WHERE key = 'last_transaction_id'"
_SET_CLOCK = "INSERT INTO meta VALUES ('clock', ?) ON CONFLICT DO UPDATE SET value = excluded.value"
_BET_COLUMNS = (
    "counterparty_id, bet_id, session_id, player_id, kind, stake, game_round_id, status, win, win_odd, entries"
)
_LEDGER_COLUMNS = (
    "transaction_id, type, amount, balance_after, player_id, session_id, bet_id, counterparty_id, request_id, time, "
    "game_round_id"
)


class StateFileError(Exception):
    """The database cannot be used: not a sandbox state file, corrupt, unreadable, or in use by another sandbox."""


class StorageFailed(SandboxError):
    """A change could not be written: nothing of the operation was applied (answered as an internal error)."""

    code_name = "internal_error"


def _int(value: int | None) -> int | str | None:
    """An integer for SQLite: past 64 bits (an 18-decimal currency's amounts) as text."""
    if value is None or -_INT64 <= value < _INT64:
        return value
    return str(value)


def _back(value: int | str | None) -> int | None:
    return None if value is None else int(value)


class Store:
    """One SQLite database file, used by one sandbox at a time (an advisory lock says so)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._pending_rows: list[tuple[Any, ...]] = []
        self._pending_bets: dict[tuple[str, str], Bet] = {}
        # Changes taken and not yet written (see commit): the latest of each record.
        self._players: dict[str, Player] = {}
        self._sessions: dict[str, Session | None] = {}  # None: deleted
        self._tombstones: dict[tuple[str, str], Tombstone] = {}
        self._counterparties: Wallet | None = None
        self._last_transaction_id: int | None = None
        self._clock: Clock | None = None  # the sandbox clock, written with the changes once kept (keep_clock)
        self._clock_changed = False
        self._turn: asyncio.Future[StorageFailed | None] | None = None  # the write at the end of this loop turn
        self._wallet: Wallet | None = None
        self._lock_fd: int | None = None
        try:
            self._lock_fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._release_lock()
            raise StateFileError(f"{self.path}: in use by another sandbox") from None
        except OSError as exc:
            self._release_lock()
            raise StateFileError(f"{self.path}: cannot open the state database: {exc.strerror or exc}") from None
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            self._release_lock()
            raise StateFileError(f"{self.path}: cannot open the state database: {exc}") from None
        try:
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                self._db.executescript(f"BEGIN; {_SCHEMA} COMMIT;")
                self._db.execute("INSERT INTO meta VALUES ('format', ?)", (json.dumps(FORMAT),))
            meta = (
                dict(self._db.execute("SELECT key, value FROM meta WHERE key IN ('format', 'currencies')"))
                if "meta" in tables or not tables
                else {}
            )
            found = json.loads(meta.get("format", "null"))
            if not isinstance(found, str) or not set(_TABLES) <= (tables or set(_TABLES)):
                raise StateFileError(f"{self.path}: not a betcore-sandbox state database")
            if found != FORMAT:
                self._upgrade(found)
            # new until seeded: a start that stopped before (a bad fixture) leaves the schema only
            self.new = "currencies" not in meta
            if self.new:
                self._rows = self._next_position = 0
            else:
                last = self._db.execute("SELECT max(row) FROM ledger").fetchone()[0]
                self._rows = 0 if last is None else last + 1
                self._next_position = self._db.execute("SELECT coalesce(max(position) + 1, 0) FROM bets").fetchone()[0]
        except (sqlite3.Error, ValueError) as exc:
            self.close()
            raise StateFileError(f"{self.path}: cannot read the state database: {exc}") from None
        except StateFileError:
            self.close()
            raise

    def _upgrade(self, found: str) -> None:
        """Bring a file written by an older sandbox up to FORMAT; refuse a format this sandbox does not know."""
        upgrade = _UPGRADES.get(found)
        if upgrade is None:
            known = found.startswith(FORMAT.rsplit(" ", 1)[0])
            raise StateFileError(
                f"{self.path}: "
                + (
                    f"written by a newer betcore-sandbox ({found!r}; this one reads up to {FORMAT!r}): upgrade it"
                    if known
                    else "not a betcore-sandbox state database"
                )
            )
        self._db.executescript(
            f"BEGIN; {upgrade} UPDATE meta SET value = '{json.dumps(FORMAT)}' WHERE key = 'format'; COMMIT;"
        )

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases its flock
            self._lock_fd = None

    def close(self) -> None:
        """Write what is left, checkpoint the log into the database file and let go of it."""
        with contextlib.suppress(StorageFailed, AttributeError):
            self.flush()
        with contextlib.suppress(sqlite3.Error, AttributeError):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with contextlib.suppress(sqlite3.Error, AttributeError):
            self._db.close()
        self._release_lock()

    # -- the wallet ----------------------------------------------------------------------------------

    def attach(self, wallet: Wallet, fixture: Fixture | None = None) -> None:
        """Make the wallet durable: a new database is seeded with the wallet as loaded; an existing one is
        resumed into it (what the wallet held is replaced). With `fixture` (a merge), the fixture's currencies,
        counterparties, players and sessions that the database does not have are added to it."""
        if self.new:
            self.replace_all(wallet)
        else:
            self._resume(wallet)
        wallet.bets = StoredBets(self)
        wallet.ledger = StoredLedger(self)
        wallet.recorder = self
        self._wallet = wallet
        if fixture is not None and not self.new:
            merge(wallet, self, fixture)

    def _resume(self, wallet: Wallet) -> None:
        try:
            meta = {k: json.loads(v) for k, v in self._db.execute("SELECT key, value FROM meta")}
            wallet.currencies = dict(meta["currencies"])
            wallet.counterparties = {
                c["id"]: Counterparty(c["id"], c["secret"], c["name"]) for c in meta["counterparties"]
            }
            wallet.secrets = {c.id: c.secret for c in wallet.counterparties.values()}
            wallet.players = {
                row[0]: Player(row[0], row[1], int(row[2]), bool(row[3]), int(row[4]))
                for row in self._db.execute(
                    "SELECT id, currency, balance, blocked, opening_balance FROM players ORDER BY rowid"
                )
            }
            wallet.sessions = {
                row[0]: Session(
                    row[0], row[1], row[2], row[3], _back(row[4]), _back(row[5]), row[6], bool(row[7]), bool(row[8])
                )
                for row in self._db.execute(
                    "SELECT id, player_id, counterparty_id, expires_at, min_bet, max_bet, status, demo, launch_failed "
                    "FROM sessions ORDER BY rowid"
                )
            }
            wallet.tombstones = {
                (row[0], row[1]): Tombstone(*row)
                for row in self._db.execute(
                    "SELECT counterparty_id, bet_id, session_id, time FROM tombstones ORDER BY rowid"
                )
            }
            last = self._db.execute("SELECT transaction_id FROM ledger ORDER BY row DESC LIMIT 1").fetchone()
            wallet.last_transaction_id = max(int(meta["last_transaction_id"]), 0 if last is None else last[0])
        except (sqlite3.Error, KeyError, TypeError, ValueError) as exc:
            raise StateFileError(f"{self.path}: cannot read the state database: {exc!r}") from None

    def replace_all(self, wallet: Wallet) -> None:
        """Replace the whole database with the wallet's state, in one transaction (a seed, a reset, an import)."""
        self.flush()  # what this loop turn changed before comes first
        db = self._db
        try:
            db.execute("BEGIN")
            for table in _TABLES:
                db.execute(f"DELETE FROM {table}")  # the names are the constants above
            db.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [
                    ("format", json.dumps(FORMAT)),
                    ("currencies", json.dumps(wallet.currencies)),
                    ("counterparties", json.dumps(_counterparties(wallet))),
                    ("last_transaction_id", json.dumps(wallet.last_transaction_id)),
                ],
            )
            if self._clock is not None:
                db.execute(_SET_CLOCK, (_clock_value(self._clock),))
            db.executemany(_UPSERT_PLAYER, map(_player_row, wallet.players.values()))
            db.executemany(_UPSERT_SESSION, map(_session_row, wallet.sessions.values()))
            db.executemany("INSERT INTO tombstones VALUES (?, ?, ?, ?)", wallet.tombstones.values())
            db.executemany(_UPSERT_BET, ((*_bet_row(b), i) for i, b in enumerate(wallet.bets.values())))
            db.executemany(
                f"INSERT INTO ledger (row, {_LEDGER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((i, *_ledger_row(e)) for i, e in enumerate(wallet.ledger.entries())),
            )
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                if db.in_transaction:
                    db.execute("ROLLBACK")
            raise StorageFailed(f"the state database could not be replaced ({exc}); it is unchanged") from None
        self._rows = len(wallet.ledger)
        self._next_position = len(wallet.bets)

    def commit(
        self,
        *,
        last_transaction_id: int,
        players: Iterable[Player] = (),
        sessions: Iterable[Session] = (),
        deleted_sessions: Iterable[str] = (),
        tombstones: Iterable[Tombstone] = (),
        counterparties: Wallet | None = None,
    ) -> None:
        """Take one operation's changes — the ledger rows and bets staged through StoredLedger/StoredBets and the
        records given. On an event loop they are written with the other changes of this loop turn, in one
        transaction at its end (`settled()` waits for it: no answer may leave before); without a loop, and for
        counterparties, at once. StorageFailed when an immediate write fails; then memory is as in the file."""
        self._players.update((p.id, p) for p in players)  # written as they are at the write
        self._sessions.update((s.id, s) for s in sessions)
        self._sessions.update((session_id, None) for session_id in deleted_sessions)
        self._tombstones.update(((t.counterparty_id, t.bet_id), t) for t in tombstones)
        self._last_transaction_id = last_transaction_id
        if counterparties is not None:
            self._counterparties = counterparties
        self._taken(at_once=counterparties is not None)

    def keep_clock(self, clock: Clock, wallet: Wallet) -> None:
        """Carry sandbox time over restarts: a resumed database gives the clock back as it was (a virtual clock
        keeps its offset from wall time), and in any case the clock starts no earlier than the latest booking (a
        file written where wall time ran ahead); from here on every clock change is written like a wallet change."""
        try:
            found = self._db.execute("SELECT value FROM meta WHERE key = 'clock'").fetchone()
            stored = None if found is None else json.loads(found[0])
            if stored is not None and stored["mode"] == "virtual":
                clock.carry_on(int(stored["offsetMs"]))
        except (sqlite3.Error, KeyError, TypeError, ValueError, ClockError) as exc:
            raise StateFileError(f"{self.path}: cannot read the state database's clock: {exc!r}") from None
        latest = wallet.latest_booking()
        if latest is not None and clock.now_ms() < math.ceil(latest * 1000):
            clock.set(math.ceil(latest * 1000))
        self._clock = clock
        clock.on_change = self._clock_change
        self._clock_change(clock)

    def _clock_change(self, clock: Clock) -> None:
        self._clock_changed = True
        self._taken(at_once=False)

    def _taken(self, *, at_once: bool) -> None:
        """Changes were taken: written now without a loop (or when asked), else at the end of this loop turn."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or at_once:
            self.flush()
        elif self._turn is None:
            self._turn = loop.create_future()
            loop.call_soon(self._end_of_turn)

    async def settled(self) -> StorageFailed | None:
        """Wait until the changes taken so far are written; the failure if they could not be."""
        turn = self._turn
        return None if turn is None else await asyncio.shield(turn)

    def _end_of_turn(self) -> None:
        with contextlib.suppress(StorageFailed):  # the waiters learn it through their future
            self.flush()

    def flush(self) -> None:
        """Write everything taken and not yet written, in one transaction. When that fails, nothing of it is kept:
        the wallet is read back from the file (so memory is what the file says) and StorageFailed is raised."""
        turn, self._turn = self._turn, None
        rows, bets = self._pending_rows, self._pending_bets
        if self._last_transaction_id is None and not (rows or bets or self._clock_changed):  # nothing taken since
            if turn is not None:
                _settle(turn, None)
            return
        db = self._db
        written = len(rows)
        try:
            db.execute("BEGIN")
            if rows:
                db.executemany(
                    f"INSERT INTO ledger (row, {_LEDGER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
                )
            for bet in bets.values():
                db.execute(_UPSERT_BET, (*_bet_row(bet), self._next_position))
                self._next_position += 1  # used only when the bet is new; a gap after an update is harmless
            db.executemany(_UPSERT_PLAYER, map(_player_row, self._players.values()))
            for session_id, session in self._sessions.items():
                if session is None:
                    db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
                else:
                    db.execute(_UPSERT_SESSION, _session_row(session))
            db.executemany("INSERT OR REPLACE INTO tombstones VALUES (?, ?, ?, ?)", self._tombstones.values())
            if self._counterparties is not None:
                db.executemany(
                    "UPDATE meta SET value = ? WHERE key = ?",
                    [
                        (json.dumps(self._counterparties.currencies), "currencies"),
                        (json.dumps(_counterparties(self._counterparties)), "counterparties"),
                    ],
                )
            if self._last_transaction_id is not None:
                db.execute(_SET_LAST_TRANSACTION, (str(self._last_transaction_id),))
            if self._clock_changed and self._clock is not None:
                db.execute(_SET_CLOCK, (_clock_value(self._clock),))
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            clock_changed = self._clock_changed
            self._rollback()
            failure = StorageFailed(f"the change could not be saved ({exc}): nothing was booked")
            if self._wallet is not None:
                with contextlib.suppress(StateFileError):  # a file that cannot even be read: memory stays
                    self._resume(self._wallet)  # memory back to what the file holds
            if clock_changed:
                self._restore_clock()
            if turn is not None:
                _settle(turn, failure)
            raise failure from None
        self._clear_taken()
        self._rows += written
        if turn is not None:
            _settle(turn, None)

    def _restore_clock(self) -> None:
        """Put the clock back where the file has it: a clock change that could not be written is not kept either."""
        clock = self._clock
        if clock is None:
            return
        on_change, clock.on_change = clock.on_change, None  # putting it back is no change to write
        try:
            found = self._db.execute("SELECT value FROM meta WHERE key = 'clock'").fetchone()
            stored = None if found is None else json.loads(found[0])
            if stored is not None and stored["mode"] == "virtual":
                clock.carry_on(int(stored["offsetMs"]))
            elif stored is not None:
                clock.real()
        except (sqlite3.Error, KeyError, TypeError, ValueError, ClockError):
            pass  # a clock the file does not say: the sandbox's stays
        finally:
            clock.on_change = on_change

    def _clear_taken(self) -> None:
        self._pending_rows.clear()
        self._pending_bets.clear()
        self._players.clear()
        self._sessions.clear()
        self._tombstones.clear()
        self._counterparties = None
        self._last_transaction_id = None
        self._clock_changed = False

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        self._clear_taken()

    # -- bets and ledger rows, read on demand ------------------------------------------------------------

    def bet(self, key: tuple[str, str]) -> Bet | None:
        staged = self._pending_bets.get(key)
        if staged is not None:
            return staged
        row = self._db.execute(
            f"SELECT {_BET_COLUMNS} FROM bets WHERE counterparty_id = ? AND bet_id = ?", key
        ).fetchone()
        return None if row is None else _bet(row)

    def bets(self) -> Iterator[Bet]:
        """Every bet in booking order (a consistent read when consumed in one synchronous step)."""
        self.flush()
        for row in self._db.execute(f"SELECT {_BET_COLUMNS} FROM bets ORDER BY position"):
            yield _bet(row)

    def open_bets(self) -> list[Bet]:
        self.flush()
        found = self._db.execute(f"SELECT {_BET_COLUMNS} FROM bets WHERE status = ? ORDER BY position", (OPEN,))
        return [_bet(row) for row in found]

    def pinned_bets(self) -> Callable[[], list[Bet]]:
        """Every bet as it is now, read later, in any thread: a read-only connection of its own holds a snapshot
        of the file (WAL keeps it while writes go on) until the read is done. StorageFailed if none can be taken."""
        self.flush()
        try:
            reader = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StorageFailed(f"the state database cannot be read ({exc})") from None
        try:
            reader.execute("BEGIN")
            reader.execute("SELECT 1 FROM meta LIMIT 1").fetchall()  # the snapshot (of every table) starts here
        except sqlite3.Error as exc:
            reader.close()
            raise StorageFailed(f"the state database cannot be read ({exc})") from None

        def read() -> list[Bet]:
            try:
                return [_bet(row) for row in reader.execute(f"SELECT {_BET_COLUMNS} FROM bets ORDER BY position")]
            finally:
                reader.close()

        return read

    def bet_count(self) -> int:
        self.flush()
        count: int = self._db.execute("SELECT count(*) FROM bets").fetchone()[0]
        return count

    def stage_bet(self, bet: Bet) -> None:
        self._pending_bets[(bet.counterparty_id, bet.bet_id)] = bet

    def row_count(self) -> int:
        return self._rows + len(self._pending_rows)

    def stage_row(self, values: tuple[Any, ...]) -> int:
        index = self.row_count()
        self._pending_rows.append((index, *values))
        return index

    def row(self, index: int) -> LedgerEntry:
        if index >= self._rows:
            return _entry(self._pending_rows[index - self._rows][1:])
        found = self._db.execute(f"SELECT {_LEDGER_COLUMNS} FROM ledger WHERE row = ?", (index,)).fetchone()
        if found is None:
            raise IndexError(index)
        return _entry(found)

    def rows_at(self, indices: Iterable[int]) -> dict[int, LedgerEntry]:
        """Rows by index, in one query (the audit reads a chunk of bets' rows so)."""
        self.flush()
        wanted = json.dumps(list(indices))
        found = self._db.execute(
            f"SELECT row, {_LEDGER_COLUMNS} FROM ledger WHERE row IN (SELECT value FROM json_each(?))", (wanted,)
        ).fetchall()
        return {row[0]: _entry(row[1:]) for row in found}

    def rows(self, stop: int) -> Iterator[LedgerEntry]:
        """Rows before `stop`, in chunks: rows never change, so a server may serve other requests in between."""
        self.flush()
        start = 0
        while start < stop:
            end = min(start + CHUNK, stop)
            chunk = self._db.execute(  # read whole: no statement stays open while the reader pauses
                f"SELECT {_LEDGER_COLUMNS} FROM ledger WHERE row >= ? AND row < ? ORDER BY row", (start, end)
            ).fetchall()
            for found in chunk:
                yield _entry(found)
            start = end


class StoredBets(MutableMapping[tuple[str, str], Bet]):
    """The wallet's bets in durable mode: read from the database on demand; a stored bet is staged and written
    with its operation's commit."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getitem__(self, key: tuple[str, str]) -> Bet:
        found = self._store.bet(key)
        if found is None:
            raise KeyError(key)
        return found

    def get(self, key: tuple[str, str], default: Any = None) -> Any:
        found = self._store.bet(key)
        return default if found is None else found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and self._store.bet(key) is not None

    def __setitem__(self, key: tuple[str, str], bet: Bet) -> None:
        self._store.stage_bet(bet)

    def __delitem__(self, key: tuple[str, str]) -> None:
        raise TypeError("bets are never deleted")

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return ((b.counterparty_id, b.bet_id) for b in self._store.bets())

    def __len__(self) -> int:
        return self._store.bet_count()

    def values(self) -> Iterator[Bet]:  # type: ignore[override]
        return self._store.bets()

    def items(self) -> Iterator[tuple[tuple[str, str], Bet]]:  # type: ignore[override]
        return (((b.counterparty_id, b.bet_id), b) for b in self._store.bets())


class StoredLedger(Ledger):
    """The wallet's ledger in durable mode: rows are staged, written with their operation's commit, and read
    back from the database by index."""

    __slots__ = ("_store",)

    def __init__(self, store: Store) -> None:
        self._store = store

    def __len__(self) -> int:
        return self._store.row_count()

    def add(
        self,
        transaction_id: int,
        entry_type: str,
        amount: int,
        balance_after: int,
        player_id: str,
        session_id: str | None,
        bet_id: str | None,
        counterparty_id: str | None,
        request_id: str | None,
        time: float,
        game_round_id: str | None = None,
    ) -> int:
        return self._store.stage_row(
            (
                transaction_id,
                entry_type,
                _int(amount),
                _int(balance_after),
                player_id,
                session_id,
                bet_id,
                counterparty_id,
                request_id,
                time,
                game_round_id,
            )
        )

    def __getitem__(self, index: int) -> LedgerEntry:
        return self._store.row(index)

    def entries(self, stop: int | None = None) -> Iterator[LedgerEntry]:
        return self._store.rows(len(self) if stop is None else stop)

    def rows_at(self, indices: Iterable[int]) -> dict[int, LedgerEntry]:
        return self._store.rows_at(indices)

    def amount(self, index: int) -> int:
        return self[index].amount

    def type(self, index: int) -> str:
        return self[index].type

    def transaction_id(self, index: int) -> int:
        return self[index].transaction_id

    def time(self, index: int) -> float:
        return self[index].time


def merge(wallet: Wallet, store: Store, fixture: Fixture) -> None:
    """Add the fixture's currencies, counterparties, players and sessions that the wallet does not have (by id);
    what it has is kept as it is. A fixture with bets, ledger or tombstones (an export) cannot be merged."""
    if fixture.bets or fixture.ledger or fixture.tombstones:
        raise FixtureError(
            f"{fixture.source}: an export (bets, ledger, tombstones) cannot be merged into a state database: "
            "import it (PUT /__admin/state) or start a new database from it"
        )
    loaded = Wallet(wallet.clock, wallet.settings)
    loaded.load(fixture)
    for code, scale in loaded.currencies.items():
        wallet.currencies.setdefault(code, scale)
    for c in loaded.counterparties.values():
        if c.id not in wallet.counterparties:
            wallet.counterparties[c.id] = c
            wallet.secrets[c.id] = c.secret
    players = [p for p in loaded.players.values() if p.id not in wallet.players]
    sessions = [s for s in loaded.sessions.values() if s.id not in wallet.sessions]
    store.commit(
        last_transaction_id=wallet.last_transaction_id, players=players, sessions=sessions, counterparties=wallet
    )
    wallet.players.update((p.id, p) for p in players)
    wallet.sessions.update((s.id, s) for s in sessions)


def _settle(turn: asyncio.Future[StorageFailed | None], result: StorageFailed | None) -> None:
    # At shutdown the loop may be closed already (the last write comes from close()): nobody waits any more.
    with contextlib.suppress(RuntimeError):
        turn.set_result(result)


def _clock_value(clock: Clock) -> str:
    return json.dumps({"offsetMs": clock.offset_ms, "mode": clock.mode})


def _counterparties(wallet: Wallet) -> list[dict[str, str]]:
    return [{"id": c.id, "secret": c.secret, "name": c.name} for c in wallet.counterparties.values()]


def _player_row(p: Player) -> tuple[Any, ...]:
    return (p.id, p.currency, _int(p.balance), int(p.blocked), _int(p.opening_balance))


def _session_row(s: Session) -> tuple[Any, ...]:
    return (
        s.id,
        s.player_id,
        s.counterparty_id,
        s.expires_at,
        _int(s.min_bet),
        _int(s.max_bet),
        s.status,
        int(s.demo),
        int(s.launch_failed),
    )


def _bet_row(b: Bet) -> tuple[Any, ...]:
    return (
        b.counterparty_id,
        b.bet_id,
        b.session_id,
        b.player_id,
        b.kind,
        _int(b.stake),
        b.game_round_id,
        b.status,
        _int(b.win),
        None if b.win_odd is None else str(b.win_odd),
        " ".join(map(str, b.entries)),
    )


def _bet(row: tuple[Any, ...]) -> Bet:
    cp, bet_id, session_id, player_id, kind, stake, round_id, status, win, win_odd, entries = row
    return Bet(
        cp,
        bet_id,
        session_id,
        player_id,
        kind,
        int(stake),
        round_id,
        status,
        _back(win),
        None if win_odd is None else Decimal(win_odd),
        tuple(map(int, entries.split())),
    )


def _ledger_row(e: LedgerEntry) -> tuple[Any, ...]:
    return (e.transaction_id, e.type, _int(e.amount), _int(e.balance_after), *e[4:])


def _entry(row: tuple[Any, ...]) -> LedgerEntry:
    return LedgerEntry(row[0], row[1], int(row[2]), int(row[3]), *row[4:])
