"""Who sent a provider request, and may it be trusted: headers, timestamp window, signature, replays."""

from __future__ import annotations

from collections.abc import Mapping

from .clock import iso_ms
from .errors import Unauthorized
from .limits import MAX_TIMESTAMP_DIGITS
from .request_ids import SeenRequestIds
from .settings import Settings
from .signing import compute_sign, explain_mismatch, signs_match, string_to_sign
from .text import shown

REQUIRED_HEADERS = ("X-Counterparty-Id", "X-Timestamp", "X-Request-Id", "X-Sign")


def authenticate(
    *,
    method: str,
    headers: Mapping[str, str],
    body: bytes,
    secrets: Mapping[str, str],
    settings: Settings,
    seen: SeenRequestIds,
    now_ms: int,
    clock_offset_ms: int | None = None,
) -> str:
    """The counterparty id of an authentic, fresh request; Unauthorized naming the problem otherwise.

    now_ms: sandbox time; clock_offset_ms: how far a virtual sandbox clock is from wall time (None: wall time)."""
    counterparty_id, timestamp, request_id, received = values = [headers.get(name) for name in REQUIRED_HEADERS]
    for name, value in zip(REQUIRED_HEADERS, values, strict=True):
        if not value:
            raise Unauthorized(f"missing header {name}")
    assert counterparty_id and timestamp and request_id and received

    secret = secrets.get(counterparty_id)
    if secret is None:
        raise Unauthorized(f"unknown counterparty {shown(counterparty_id)} in X-Counterparty-Id")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > MAX_TIMESTAMP_DIGITS:
        raise Unauthorized(f"X-Timestamp must be an integer of Unix epoch milliseconds, got {shown(timestamp)}")
    tolerance = settings.timestampToleranceMs
    timestamp_ms = int(timestamp)
    skew = now_ms - timestamp_ms
    if tolerance and abs(skew) > tolerance:
        raise Unauthorized(_skew_message(timestamp, skew, tolerance, now_ms, clock_offset_ms))

    message = string_to_sign(method, body, counterparty_id, timestamp, request_id)
    if not signs_match(compute_sign(secret, message), received):
        raise Unauthorized(
            "X-Sign does not match the request",
            debug=explain_mismatch(
                method=method,
                body=body,
                counterparty_id=counterparty_id,
                timestamp=timestamp,
                request_id=request_id,
                secret=secret,
                received=received,
                other_secrets=secrets,
            ),
        )
    if settings.rejectReplayedRequestIds and not seen.first_sighting(
        counterparty_id, request_id, now_ms, tolerance, timestamp_ms
    ):
        raise Unauthorized(
            f"X-Request-Id {shown(request_id)} was already used by this counterparty: every attempt, retries "
            "included, needs a new one"
        )
    return counterparty_id


def _skew_message(timestamp: str, skew: int, tolerance: int, now_ms: int, offset_ms: int | None) -> str:
    direction = "behind" if skew > 0 else "ahead of"
    message = (
        f"X-Timestamp {timestamp} is {abs(skew)} ms {direction} the sandbox clock ({now_ms}); "
        f"the tolerance is {tolerance} ms"
    )
    if abs(now_ms - int(timestamp) * 1000) <= max(tolerance, 60_000):
        message += ": it looks like seconds, send milliseconds"
    if offset_ms is not None:  # a client stamping with its wall clock meets a moved sandbox clock
        message += (
            f"; the sandbox clock is virtual, at {iso_ms(now_ms)}, {abs(offset_ms)} ms "
            f"{'ahead of' if offset_ms >= 0 else 'behind'} wall time (GET /__admin/clock)"
        )
    return message
