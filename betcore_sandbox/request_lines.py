"""One readable line per journalled request: what a failing test's report shows of what the sandbox received."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .logs import escape
from .records import JournalEntry

__all__ = ["describe", "describe_all"]


def describe(entry: JournalEntry) -> str:
    """`#id METHOD endpoint session=… bet=… -> http STATUS code CODE fault=… : reason`, control characters escaped
    (a betId or a path is text the client sent). entry: one journal entry."""
    if entry.direction == "outgoing":
        head = f"#{entry.id} {entry.method} {entry.endpoint} (sandbox -> provider {entry.url or entry.path})"
    else:
        session, bet = entry.session_id or "-", entry.bet_id or "-"
        head = f"#{entry.id} {entry.method} {entry.endpoint} session={session} bet={bet}"
    code, message = _answer(entry)
    if entry.response is None:
        outcome = "no answer (connection closed)"
    else:
        outcome = f"http {entry.response.get('status')} code {'-' if code is None else code}"
    line = f"{head} -> {outcome}"
    if entry.fault:
        line += f" fault={entry.fault.get('kind')} ({entry.fault.get('id')}, {entry.fault.get('phase')})"
    reason = message or entry.signature.get("error") or _last_line(entry.error)
    if reason:
        line += f": {reason}"
    return escape(line)


def describe_all(entries: Sequence[JournalEntry], total: int | None = None) -> str:
    """The lines of `entries` (oldest first), under a heading saying how many of `total` they are."""
    total = len(entries) if total is None else total
    if not entries:
        return "no requests received"
    heading = f"the last {len(entries)} of {total} requests" if total > len(entries) else f"{total} request(s)"
    return "\n".join([f"{heading}, oldest first:", *(describe(entry) for entry in entries)])


def _answer(entry: JournalEntry) -> tuple[object, str | None]:
    """The answer's _responseCode and message, when its body is a JSON object (a fault may have sent another)."""
    body = (entry.response or {}).get("body")
    if not isinstance(body, str):
        return None, None
    try:
        answer = json.loads(body)
    except ValueError:
        return None, "the body is not JSON" if body else None
    if not isinstance(answer, dict):
        return None, None
    message = answer.get("message")
    return answer.get("_responseCode"), message if isinstance(message, str) else None


def _last_line(text: str | None) -> str | None:
    if not text:
        return None
    lines = text.strip().splitlines()
    return lines[-1] if lines else None  # a traceback ends with the exception itself
