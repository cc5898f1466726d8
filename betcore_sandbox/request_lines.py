"""One readable line per journalled request, the same wherever a person reads it: `betcore-sandbox requests` and a
failing test's report. Made from a journal entry as the admin API shows it (`GET /__admin/requests`, or the event
stream's summary), so the command line, talking to a sandbox over HTTP, and the plugin share it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .logs import escape

__all__ = ["SUMMARY_FIELDS", "describe_all", "request_line", "summary"]

SUMMARY_FIELDS = (
    "id",
    "time",
    "method",
    "path",
    "endpoint",
    "sessionId",
    "betId",
    "counterpartyId",
    "fault",
    "durationMs",
    "error",
    "warnings",
    "direction",
    "url",
    "sandboxTime",
    "receivedAt",
    "reason",
)


def summary(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A journal entry's view (GET /__admin/requests) as the event stream summarises one (GET /__admin/events):
    without headers and bodies, with the answer's `status` and `code`. A summary stays as it is.
    entry: a view, a summary, or a `JournalEntry` record (which reads by the same keys)."""
    if "response" not in entry:
        return dict(entry)
    response = entry.get("response")
    signature = entry.get("signature")
    found = {name: entry.get(name) for name in SUMMARY_FIELDS}
    found.update(
        status=response.get("status") if isinstance(response, Mapping) else None,
        code=_code(response),
        signature=signature.get("verdict") if isinstance(signature, Mapping) else signature,
    )
    return found


def request_line(entry: Mapping[str, Any]) -> str:
    """One journal entry (a view, a summary or a record) as one line: time of day (UTC, ms), method and path,
    session, betId, HTTP status, response code, the fault that fired, the duration, and why it ended as it did.
    Control characters are escaped: a path or a betId is text the client sent."""
    entry = summary(entry)
    moment = str(entry.get("time") or "")
    clock = moment[11:23] if len(moment) >= 23 else moment
    if entry.get("direction") == "outgoing":
        target = f"-> {entry.get('method')} {entry.get('url') or entry.get('path')}"
    else:
        target = f"{entry.get('method')} {entry.get('path')}"
    status, code = entry.get("status"), entry.get("code")
    parts = [
        clock,
        target,
        f"session={entry.get('sessionId') or '-'}",
        f"bet={entry.get('betId') or '-'}",
        "no-answer" if status is None else f"http={status}",
        f"code={'-' if code is None else code}",
    ]
    fault = entry.get("fault")
    if isinstance(fault, Mapping):
        parts.append(f"fault={fault.get('kind')}/{fault.get('phase')}")
    duration = entry.get("durationMs")
    parts.append("-" if not isinstance(duration, int | float) else f"{float(duration):.1f}ms")
    line = " ".join(str(part) for part in parts)
    why = entry.get("reason")
    if why:
        line += f"  {why}"
    return escape(line)


def describe_all(entries: Sequence[Mapping[str, Any]], total: int | None = None) -> str:
    """The lines of `entries` (oldest first), under a heading saying how many of `total` they are."""
    total = len(entries) if total is None else total
    if not entries:
        return "no requests received"
    heading = f"the last {len(entries)} of {total} requests" if total > len(entries) else f"{total} request(s)"
    return "\n".join([f"{heading}, oldest first:", *(request_line(entry) for entry in entries)])


def _code(response: Any) -> int | None:
    """The answer's `_responseCode`, when its body is a JSON object that has one (a fault may have sent another)."""
    body = response.get("body") if isinstance(response, Mapping) else None
    if not isinstance(body, str):
        return None
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    code = answer.get("_responseCode") if isinstance(answer, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None
