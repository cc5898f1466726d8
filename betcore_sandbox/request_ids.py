"""X-Request-Ids already seen, per counterparty, remembered for a window in bounded memory."""

from __future__ import annotations

from collections import deque

DEFAULT_CAPACITY = 500_000


class SeenRequestIds:
    """Remembers each id for `window_ms` (at least), and at most `capacity` ids: past that the oldest go first."""

    __slots__ = ("capacity", "_expiry", "_seen")

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._seen: set[tuple[str, str]] = set()
        self._expiry: deque[tuple[int, tuple[str, str]]] = deque()

    def __len__(self) -> int:
        return len(self._seen)

    def clear(self) -> None:
        self._seen.clear()
        self._expiry.clear()

    def first_sighting(self, counterparty_id: str, request_id: str, now_ms: int, window_ms: int) -> bool:
        """Record the id; False when it was already seen from this counterparty within the window."""
        self._forget(now_ms)
        key = (counterparty_id, request_id)
        if key in self._seen:
            return False
        self._seen.add(key)
        # A disabled tolerance (0) means no window: ids are kept until capacity pushes them out.
        self._expiry.append((now_ms + window_ms if window_ms > 0 else 2**62, key))
        while len(self._expiry) > self.capacity:
            self._seen.discard(self._expiry.popleft()[1])
        return True

    def _forget(self, now_ms: int) -> None:
        expiry = self._expiry
        while expiry and expiry[0][0] < now_ms:
            self._seen.discard(expiry.popleft()[1])
