"""The request journal: what every provider request carried and what it got back, bounded in count and bytes.

Headers are kept as the raw bytes that were sent (names in their own spelling, in order, duplicates included).
A request that failed authentication, and one to a path that is no endpoint (endpoint `unknown`), is kept as a
truncated record: anyone can send those, so they must not be able to fill the journal with their bodies.

Entries are listed in the order they were recorded, and an entry's `time` is that moment. A provider's call is
recorded when its answer was sent (or it ended without one), so a quick request lists in the order of its answers;
`received` keeps when it arrived. A call a `delay` or `timeout` fault holds is recorded when the hold begins (its
reason says so: it is visible while held) and completed in place when the hold ends, keeping its place and `time`.
The calls the sandbox itself makes to a provider (Games, Launch) are entries too, with direction `outgoing`:
recorded when sent, so they sit in order with the wallet calls the provider makes while answering, and completed
when the answer (bounded in size) arrives.

Requests to paths that are no endpoint are capped on their own (UNKNOWN_LIMIT, the oldest dropped first), and
when the journal is full they go before any wallet call does: a browser or a scanner cannot push out real calls.
"""

from __future__ import annotations

import itertools
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .limits import UNTRUSTED_BODY_BYTES, UNTRUSTED_HEADER_BYTES, UNTRUSTED_HEADERS
from .text import clip_strings

DEFAULT_LIMIT = 10_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
UNKNOWN_LIMIT = 100  # entries of requests to paths that are no endpoint, kept apart from the journal's limit
ENTRY_OVERHEAD = 400  # the fixed fields of an entry, roughly, in bytes

RawHeaders = tuple[tuple[bytes, bytes], ...]


@dataclass(slots=True)
class JournalEntry:
    time: float  # when recorded: an incoming call's answer was sent, or a fault began holding it; an outgoing call left
    method: str
    path: str
    endpoint: str
    session_id: str | None
    headers: RawHeaders
    body: bytes
    id: int = 0
    bet_id: str | None = None
    counterparty_id: str | None = None
    signature: str = "unchecked"  # valid | invalid | unchecked
    signature_error: str | None = None
    signature_debug: dict[str, Any] | None = None
    unknown_fields: tuple[str, ...] = ()
    warnings: list[str] | None = None  # lenient rules that let the request through
    status: int | None = None  # None: no HTTP answer was sent (an injected fault)
    response: bytes | None = None
    fault: dict[str, Any] | None = None
    duration_ms: float = 0.0
    error: str | None = field(default=None)  # an unexpected failure inside the sandbox
    body_size: int = 0  # as received, before any truncation
    headers_size: int = 0
    response_size: int = 0
    truncated: bool = False
    size: int = 0  # what the entry holds, roughly, in bytes
    direction: str = "incoming"  # incoming: a provider's wallet call; outgoing: the sandbox's call to a provider
    url: str | None = None  # an outgoing call's full URL
    sandbox_time: float | None = None  # the virtual clock's time at arrival, when it is not wall time
    received: float = 0.0  # when the request arrived (an outgoing call: when it was sent); 0: at `time`
    reason: str | None = None  # why it ended as it did, where the answer's message is not the short word (no endpoint)

    @property
    def arrived(self) -> float:
        """Wall time of the request's arrival."""
        return self.received or self.time

    def truncate(self) -> None:
        """Keep only the first bytes of what an unauthenticated sender controls."""
        self.body_size = max(self.body_size, len(self.body))  # more when the body was never read: its announced size
        self.headers_size = sum(len(name) + len(value) for name, value in self.headers)
        body = self.body[:UNTRUSTED_BODY_BYTES]
        headers = tuple(
            (name[:UNTRUSTED_HEADER_BYTES], value[:UNTRUSTED_HEADER_BYTES])
            for name, value in self.headers[:UNTRUSTED_HEADERS]
        )
        self.response_size = len(self.response or b"")
        response = None if self.response is None else self.response[:UNTRUSTED_BODY_BYTES]
        self.truncated = len(body) < self.body_size or headers != self.headers or response != self.response
        self.body, self.headers, self.response = body, headers, response
        if self.signature_debug is not None:
            self.signature_debug = clip_strings(self.signature_debug, UNTRUSTED_BODY_BYTES)


def _size(entry: JournalEntry) -> int:
    size = ENTRY_OVERHEAD + len(entry.body) + len(entry.path) + len(entry.response or b"")
    size += sum(map(len, itertools.chain.from_iterable(entry.headers))) + 16 * len(entry.headers)
    if entry.signature_debug is not None:
        size += _strings_size(entry.signature_debug)
    if entry.error is not None:
        size += len(entry.error)
    if entry.reason is not None:
        size += len(entry.reason)
    if entry.warnings:
        size += sum(len(w) for w in entry.warnings)
    if entry.unknown_fields:
        size += sum(map(len, entry.unknown_fields)) + 56 * len(entry.unknown_fields)
    return size


def _strings_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value) + 16
    if isinstance(value, dict):
        return sum(_strings_size(item) for item in value.values())
    if isinstance(value, list):
        return sum(_strings_size(item) for item in value)
    return 16


class Journal:
    def __init__(self, limit: int = DEFAULT_LIMIT, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._entries: deque[JournalEntry] = deque()
        self._unknown: deque[JournalEntry] = deque()  # those of `_entries` with endpoint `unknown`, oldest first
        self._ids = itertools.count(1)
        self.limit = limit
        self.max_bytes = max_bytes
        self.bytes = 0
        self._listeners: list[Callable[[JournalEntry | None], None]] = []
        self._completion_listeners: list[Callable[[JournalEntry], None]] = []
        self.dropped = 0  # entries pushed out by the limits since the last clear: evidence the report lacks
        self.unknown_dropped = 0  # unknown-path entries dropped (by UNKNOWN_LIMIT or the limits) since the last clear
        self.since = 0.0  # when it was last cleared: a request that arrived before (held by a fault) is of the past

    def listen(
        self,
        listener: Callable[[JournalEntry | None], None],
        completed: Callable[[JournalEntry], None] | None = None,
    ) -> Callable[[], None]:
        """Call `listener` with each entry as it is recorded, and with None when the journal is cleared; call
        `completed` (if given) with an outgoing entry when its answer or failure is in, while the journal holds it.

        They run inside `record` and `completed`, on the sandbox's loop, so they must be quick and must not raise.
        Returns the function that stops both."""
        self._listeners.append(listener)
        if completed is not None:
            self._completion_listeners.append(completed)

        def stop() -> None:
            self._listeners.remove(listener)
            if completed is not None:
                self._completion_listeners.remove(completed)

        return stop

    def resize(self, limit: int, max_bytes: int | None = None) -> None:
        self.limit = limit
        if max_bytes is not None:
            self.max_bytes = max_bytes
        self._evict()

    def record(self, entry: JournalEntry) -> None:
        if entry.signature != "valid" and entry.direction == "incoming":
            entry.truncate()
        entry.id = next(self._ids)
        entry.size = _size(entry)
        self._entries.append(entry)
        self.bytes += entry.size
        if entry.endpoint == "unknown":
            self._unknown.append(entry)
        self._evict()
        for listener in self._listeners:
            listener(entry)

    def completed(self, entry: JournalEntry) -> None:
        """An entry recorded before its end (an outgoing call, a call a fault held) got its answer or failure: count
        what it holds now, and tell the listeners; it keeps its place and `time`."""
        size = _size(entry)
        if self._holds(entry):  # not evicted, cleared or reset meanwhile
            self.bytes += size - entry.size
        entry.size = size
        self._evict()
        if self._holds(entry):  # one that is gone (evicted, cleared, reset) is of the past: nobody is told
            for listener in self._completion_listeners:
                listener(entry)

    def _holds(self, entry: JournalEntry) -> bool:
        # Ids rise along the journal (with gaps where unknown-path entries were dropped); a reset restarts the
        # ids, hence the identity check.
        index = self._index(entry.id)
        return index is not None and self._entries[index] is entry

    def _index(self, entry_id: int) -> int | None:
        entries = self._entries
        index = bisect_left(entries, entry_id, key=lambda e: e.id)
        return index if index < len(entries) and entries[index].id == entry_id else None

    def _evict(self) -> None:
        entries, unknown = self._entries, self._unknown
        while unknown and (len(unknown) > UNKNOWN_LIMIT or len(entries) > self.limit or self.bytes > self.max_bytes):
            # Unknown-path entries go first: anyone can send them, and they must not push out wallet calls.
            oldest = unknown.popleft()
            index = self._index(oldest.id)
            if index is not None:
                del entries[index]
            self.bytes -= oldest.size
            self.unknown_dropped += 1  # not `dropped`: they are no evidence of the wallet calls a report judges
        while entries and (len(entries) > self.limit or self.bytes > self.max_bytes):
            self.bytes -= entries.popleft().size
            self.dropped += 1

    def clear(self) -> None:
        self._entries.clear()
        self._unknown.clear()
        self.bytes = 0
        for listener in self._listeners:
            listener(None)
        self.unknown_dropped = 0
        self.dropped = 0  # a cleared journal starts a new record: what went before is not missing evidence
        self.since = time.time()

    def reset(self) -> None:
        self.clear()
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(tuple(self._entries))

    def get(self, entry_id: int) -> JournalEntry | None:
        """The entry with this id, if it is still kept (newest first: a dashboard asks about recent ones)."""
        for e in reversed(self._entries):
            if e.id <= entry_id:
                return e if e.id == entry_id else None
        return None

    def find(
        self,
        *,
        endpoint: str | None = None,
        session_id: str | None = None,
        bet_id: str | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """Matching entries, oldest first; with `limit`, the newest `limit` of them."""
        if limit:  # walk from the newest end: a small limit stays cheap on a full journal
            found: list[JournalEntry] = []
            for e in reversed(self._entries):
                if _matches(e, endpoint, session_id, bet_id):
                    found.append(e)
                    if len(found) == limit:
                        break
            found.reverse()
            return found
        return [e for e in tuple(self._entries) if _matches(e, endpoint, session_id, bet_id)]


def _matches(e: JournalEntry, endpoint: str | None, session_id: str | None, bet_id: str | None) -> bool:
    return (
        (endpoint is None or e.endpoint == endpoint)
        and (session_id is None or e.session_id == session_id)
        and (bet_id is None or e.bet_id == bet_id)
    )
