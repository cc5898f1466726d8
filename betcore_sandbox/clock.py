"""Sandbox time: wall time, or wall time moved by an offset (a virtual clock), one per sandbox.

Everything time-dependent reads it: session expiry, the X-Timestamp window, seen request ids, fault TTLs, and the
times of bets, ledger entries and tombstones. A virtual clock is an offset, not a frozen instant: set or advanced,
it keeps running with wall time, so a TTL or a window passes on its own as it would in production, and `advance`
only skips the part of the wait a test does not want to sit through.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .limits import MAX_CLOCK_MS

REAL = "real"
VIRTUAL = "virtual"


class ClockError(ValueError):
    """A clock change that is refused; the message says why (and names the input field first)."""


class Clock:
    """`now()` (epoch seconds, float) and `now_ms()` (epoch milliseconds, int): wall time plus the offset.

    Both are cheap enough for the request path: one clock read and one addition."""

    __slots__ = ("_offset_ms", "_offset_s", "_start_ms", "on_change", "virtual")

    def __init__(self, start_ms: int | None = None) -> None:
        """start_ms: the sandbox time to start at (virtual, running on from there); None for wall time."""
        if start_ms is not None:
            _check_range("setMs", start_ms)
        self._start_ms = start_ms
        self._offset_ms = 0
        self._offset_s = 0.0
        self.virtual = False
        # Called after every change (a durable sandbox writes the clock with the wallet's changes).
        self.on_change: Callable[[Clock], None] | None = None
        self.restart()

    def now(self) -> float:
        return time.time() + self._offset_s

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self._offset_ms

    @property
    def offset_ms(self) -> int:
        return self._offset_ms

    @property
    def mode(self) -> str:
        return VIRTUAL if self.virtual else REAL

    def restart(self) -> None:
        """Back to how it started: wall time, or the start time (running on from now)."""
        if self._start_ms is None:
            self._use(0, virtual=False)
        else:
            self._use(self._start_ms - _wall_ms(), virtual=True)

    def advance(self, ms: int) -> None:
        """Move sandbox time forward by `ms` (>= 0); the clock becomes virtual."""
        if ms < 0:
            raise ClockError("advanceMs: must be at least 0 (time only moves forward; use setMs to go back)")
        _check_range("advanceMs", self.now_ms() + ms)
        self._use(self._offset_ms + ms, virtual=True)

    def set(self, ms: int, *, not_before: float | None = None) -> None:
        """Set sandbox time to `ms` (epoch milliseconds), running on from there; the clock becomes virtual.

        not_before: the latest booked time (epoch seconds); going back before it is refused."""
        _check_range("setMs", ms)
        _check_not_before("setMs", ms, not_before)
        self._use(ms - _wall_ms(), virtual=True)

    def real(self, *, not_before: float | None = None) -> None:
        """Back to wall time; refused if that is before `not_before` (the latest booked time, epoch seconds)."""
        _check_not_before("mode", _wall_ms(), not_before)
        self._use(0, virtual=False)

    def carry_on(self, offset_ms: int) -> None:
        """Virtual at this offset from wall time (a resumed sandbox's clock, running on where it was)."""
        _check_range("offsetMs", _wall_ms() + offset_ms)
        self._use(offset_ms, virtual=True)

    def view(self) -> dict[str, Any]:
        """What the admin API shows: {"nowMs", "offsetMs", "mode"}."""
        return {"nowMs": self.now_ms(), "offsetMs": self._offset_ms, "mode": self.mode}

    def _use(self, offset_ms: int, *, virtual: bool) -> None:
        self._offset_ms = offset_ms
        self._offset_s = offset_ms / 1000
        self.virtual = virtual
        if self.on_change is not None:
            self.on_change(self)


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def iso_ms(ms: int | float) -> str:
    """Epoch milliseconds as ISO 8601 in UTC, to the millisecond."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _check_range(field: str, ms: int) -> None:
    if not 0 <= ms <= MAX_CLOCK_MS:
        raise ClockError(
            f"{field}: the sandbox clock must stay between 1970-01-01 and {iso_ms(MAX_CLOCK_MS)} "
            f"(epoch ms 0 to {MAX_CLOCK_MS}), so every expiry is still a valid date"
        )


def _check_not_before(field: str, ms: int, not_before: float | None) -> None:
    # The ledger, bets and tombstones carry times in booking order; a clock set back before the latest of them
    # would book entries dated before earlier ones and make a session expire before bets it already took.
    # Compared to the millisecond, the precision every view shows: the shown booking time itself is allowed.
    if not_before is not None and ms < math.floor(not_before * 1000):
        raise ClockError(
            f"{field}: {iso_ms(ms)} is before the latest booked time {iso_ms(not_before * 1000)}: sandbox time "
            "may not run back past what the wallet has booked (POST /__admin/reset first)"
        )
