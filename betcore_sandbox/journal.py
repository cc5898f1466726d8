"""The request journal: what every provider request carried and what it got back, bounded in memory."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

DEFAULT_LIMIT = 10_000


@dataclass(slots=True)
class JournalEntry:
    time: float
    method: str
    path: str
    endpoint: str
    session_id: str | None
    headers: tuple[tuple[str, str], ...]
    body: bytes
    id: int = 0
    bet_id: str | None = None
    counterparty_id: str | None = None
    signature: str = "unchecked"  # valid | invalid | unchecked
    signature_error: str | None = None
    signature_debug: dict[str, Any] | None = None
    unknown_fields: tuple[str, ...] = ()
    status: int | None = None  # None: no HTTP answer was sent (an injected fault)
    response: bytes | None = None
    fault: dict[str, Any] | None = None
    duration_ms: float = 0.0
    error: str | None = field(default=None)  # an unexpected failure inside the sandbox


class Journal:
    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=limit)
        self._ids = itertools.count(1)

    @property
    def limit(self) -> int:
        return self._entries.maxlen or DEFAULT_LIMIT

    def resize(self, limit: int) -> None:
        if limit != self.limit:
            self._entries = deque(self._entries, maxlen=limit)

    def record(self, entry: JournalEntry) -> None:
        entry.id = next(self._ids)
        self._entries.append(entry)

    def clear(self) -> None:
        self._entries.clear()

    def reset(self) -> None:
        self._entries.clear()
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(tuple(self._entries))

    def find(
        self,
        *,
        endpoint: str | None = None,
        session_id: str | None = None,
        bet_id: str | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """Matching entries, oldest first; with `limit`, the newest `limit` of them."""
        found = [
            e
            for e in tuple(self._entries)
            if (endpoint is None or e.endpoint == endpoint)
            and (session_id is None or e.session_id == session_id)
            and (bet_id is None or e.bet_id == bet_id)
        ]
        return found[-limit:] if limit else found
