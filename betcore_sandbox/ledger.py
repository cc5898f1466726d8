"""The ledger: every money movement, append-only, stored in columns.

A sandbox that runs for days books millions of entries. An object per entry costs about 300 bytes; a row across
typed columns costs about half, and most of that is the request id the contract asks to keep. Rows are read back
as `LedgerEntry` records. Amounts are integers in the currency's minor units.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from typing import NamedTuple

ENTRY_TYPES = ("bet", "win", "refund", "reversal", "adjustment")
# The game round of an entry from an export made before entries carried one: any round matches it.
UNKNOWN_ROUND = "\x00unknown round"
_TYPE_CODES = {name: code for code, name in enumerate(ENTRY_TYPES)}


class LedgerEntry(NamedTuple):
    """One money movement. `amount` is signed (what it did to the balance), in minor units."""

    transaction_id: int
    type: str  # bet | win | refund | reversal | adjustment
    amount: int
    balance_after: int
    player_id: str
    session_id: str | None
    bet_id: str | None
    counterparty_id: str | None
    request_id: str | None
    time: float
    game_round_id: str | None = None  # of the operation: with winAmount, what tells two pay-outs apart


class _IntColumn:
    """Integers in a compact array while they fit in 64 bits; a list of Python ints from the first that does not
    (an 18-decimal currency's amounts can)."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: array[int] | list[int] = array("q")

    def append(self, value: int) -> None:
        try:
            self.values.append(value)
        except OverflowError:
            self.values = list(self.values)
            self.values.append(value)


class Ledger:
    """Append-only. A row's index is its position; rows are never changed or removed."""

    __slots__ = (
        "_amount",
        "_balance",
        "_bet",
        "_counterparty",
        "_player",
        "_request",
        "_round",
        "_session",
        "_time",
        "_transaction",
        "_type",
    )

    def __init__(self) -> None:
        self._transaction = array("q")
        self._type = bytearray()
        self._amount = _IntColumn()
        self._balance = _IntColumn()
        self._player: list[str] = []
        self._session: list[str | None] = []
        self._bet: list[str | None] = []
        self._counterparty: list[str | None] = []
        self._request: list[str | None] = []
        self._time = array("d")
        self._round: list[str | None] = []

    def __len__(self) -> int:
        return len(self._transaction)

    def append(self, entry: LedgerEntry) -> int:
        """Add a row; its index."""
        return self.add(*entry)

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
        """Add a row from its fields (the hot path: no record is built); its index."""
        self._transaction.append(transaction_id)
        self._type.append(_TYPE_CODES[entry_type])
        self._amount.append(amount)
        self._balance.append(balance_after)
        self._player.append(player_id)
        self._session.append(session_id)
        self._bet.append(bet_id)
        self._counterparty.append(counterparty_id)
        self._request.append(request_id)
        self._time.append(time)
        self._round.append(game_round_id)
        return len(self._transaction) - 1

    def __getitem__(self, index: int) -> LedgerEntry:
        return LedgerEntry(
            self._transaction[index],
            ENTRY_TYPES[self._type[index]],
            self._amount.values[index],
            self._balance.values[index],
            self._player[index],
            self._session[index],
            self._bet[index],
            self._counterparty[index],
            self._request[index],
            self._time[index],
            self._round[index],
        )

    def entries(self, stop: int | None = None) -> Iterator[LedgerEntry]:
        """Rows in order, up to `stop` (rows appended meanwhile are not read)."""
        for index in range(len(self) if stop is None else stop):
            yield self[index]

    def rows_at(self, indices: Iterable[int]) -> dict[int, LedgerEntry]:
        """Many rows by index at once (a durable ledger reads them in one query)."""
        return {index: self[index] for index in indices}

    def amount(self, index: int) -> int:
        return self._amount.values[index]

    def type(self, index: int) -> str:
        return ENTRY_TYPES[self._type[index]]

    def transaction_id(self, index: int) -> int:
        return self._transaction[index]

    def time(self, index: int) -> float:
        return self._time[index]
