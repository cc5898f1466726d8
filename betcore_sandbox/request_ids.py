"""X-Request-Ids already seen, per counterparty, remembered for a window in bounded memory.

Ids are kept per counterparty in a set, and for expiry in per-second buckets, so an id costs a set slot and a
deque slot; the id string itself is the one the ledger keeps anyway.
"""

from __future__ import annotations

from collections import deque

DEFAULT_CAPACITY = 500_000
_NEVER = 2**62


class SeenRequestIds:
    """Remembers each id for `window_ms` (at least), and at most `capacity` ids: past that the oldest go first."""

    __slots__ = ("_buckets", "_count", "_seen", "capacity")

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._seen: dict[str, set[str]] = {}
        # (expires at, counterparty, ids) oldest first; an id expires at the end of its bucket's second.
        self._buckets: deque[tuple[int, str, deque[str]]] = deque()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def clear(self) -> None:
        self._seen.clear()
        self._buckets.clear()
        self._count = 0

    def first_sighting(
        self, counterparty_id: str, request_id: str, now_ms: int, window_ms: int, timestamp_ms: int | None = None
    ) -> bool:
        """Record the id; False when it was already seen from this counterparty within the window.

        An id is kept until the window has passed both from now and from its own timestamp: a request stamped
        in the future stays acceptable that much longer, so its id must be remembered that much longer too."""
        self._forget(now_ms)
        seen = self._seen.get(counterparty_id)
        if seen is None:
            seen = self._seen[counterparty_id] = set()
        if request_id in seen:
            return False
        seen.add(request_id)
        # A disabled tolerance (0) means no window: ids are kept until capacity pushes them out.
        start = now_ms if timestamp_ms is None else max(now_ms, timestamp_ms)
        expires = (start + window_ms) // 1000 * 1000 + 999 if window_ms > 0 else _NEVER
        buckets = self._buckets
        if buckets and buckets[-1][0] == expires and buckets[-1][1] == counterparty_id:
            buckets[-1][2].append(request_id)
        else:
            buckets.append((expires, counterparty_id, deque((request_id,))))
        self._count += 1
        while self._count > self.capacity:
            self._drop_oldest()
        return True

    def _forget(self, now_ms: int) -> None:
        buckets = self._buckets
        while buckets and buckets[0][0] < now_ms:
            _, counterparty_id, ids = buckets.popleft()
            self._seen[counterparty_id].difference_update(ids)
            self._count -= len(ids)

    def _drop_oldest(self) -> None:
        _, counterparty_id, ids = self._buckets[0]
        self._seen[counterparty_id].discard(ids.popleft())
        self._count -= 1
        if not ids:
            self._buckets.popleft()
