"""Log set-up: one line per event, as text or as one JSON object per line.

Request fields and messages carry text a client sent (a betId, a percent-decoded path). In text, control
characters in them (C0, DEL, C1, U+2028/U+2029) are written escaped, as \\n or \\x1b, so that no value can end a
line, forge another one or drive the reader's terminal. The JSON encoder escapes C0 itself; the rest is escaped
after it, the same way, so a JSON line is also one line to readers that split on U+2028 or NEL.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import time
from typing import Any, TextIO

import msgspec
from aiohttp.http_exceptions import BadHttpMessage

LOG = logging.getLogger("betcore_sandbox")

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")

# Attributes every LogRecord has; anything else was passed through `extra` and is part of the event.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_encoder = msgspec.json.Encoder()

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# In encoded JSON, only inside strings: C0 is already escaped by the encoder.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029]")


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """Text with its control characters escaped, for one text log line."""
    if text.isprintable():  # the common case, one C-speed pass; isprintable() is False for every escaped character
        return text
    return _CONTROL.sub(_escape_char, text)


def _escape_lines(text: str) -> str:
    """Multi-line text (a traceback): each line escaped and indented, so none can pass for a new event."""
    return "\n".join("  " + escape(line) for line in text.split("\n"))


def _json_line(event: dict[str, Any]) -> str:
    try:
        line = _encoder.encode(event).decode()
    except UnicodeEncodeError:  # a lone surrogate, which JSON cannot carry
        line = _encoder.encode(
            {k: v.encode("utf-8", "backslashreplace").decode() if isinstance(v, str) else v for k, v in event.items()}
        ).decode()
    if line.isascii() and "\x7f" not in line:
        return line
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", line)


class TextFormatter(logging.Formatter):
    """`time LEVEL message`, with the message escaped. A record may carry `details`: lines of the sandbox's own that
    follow the message (the start-up banner), each escaped and indented."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = escape(super().formatMessage(record))
        details = getattr(record, "details", None)
        if details:
            line += "".join("\n  " + escape(str(detail)) for detail in details)
        return line

    def formatException(self, ei: Any) -> str:
        return _escape_lines(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _escape_lines(super().formatStack(stack_info))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                event[key] = value
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return _json_line(event)


class RequestLog:
    """One line per provider request, in the same format and stream as the other logs.

    A line is built with a cached timestamp and written with the others of the same event-loop turn in one
    write, instead of going through a logging.LogRecord each: logging must not be what limits throughput.
    """

    def __init__(self) -> None:
        self.enabled = False
        self.json = False
        self._stream: TextIO = sys.stderr
        self._pending: list[str] = []
        self._second = -1
        self._stamp = ""

    def configure(self, log_format: str, level: str, stream: TextIO) -> None:
        self.enabled = LEVELS.index(level) <= LEVELS.index("info")
        self.json = log_format == "json"
        self._stream = stream
        self._second = -1  # the cached stamp was in the other format

    def record(
        self,
        endpoint: str,
        session_id: str | None,
        bet_id: str | None,
        code: int | None,
        status: int | None,
        fault: str | None,
        ms: float,
    ) -> None:
        now = time.time()
        if self.json:
            line = _json_line(
                {
                    "time": self._timestamp(now),
                    "level": "info",
                    "logger": "betcore_sandbox.requests",
                    "message": "request",
                    "endpoint": endpoint,
                    "sessionId": session_id,
                    "betId": bet_id,
                    "responseCode": code,
                    "status": status,
                    "fault": fault,
                    "ms": ms,
                }
            )
        else:
            line = (
                f"{self._timestamp(now)} INFO {escape(endpoint)} session={session_id and escape(session_id)} "
                f"bet={escape(bet_id) if bet_id else '-'} "
                f"code={'-' if code is None else code} http={'-' if status is None else status} "
                f"fault={escape(fault) if fault else '-'} {ms:.1f}ms"
            )
        self._pending.append(line)
        if len(self._pending) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no loop: write at once
                self.flush()

    def flush(self) -> None:
        if self._pending:
            self._stream.write("\n".join(self._pending) + "\n")
            self._pending.clear()
            self._stream.flush()

    def _timestamp(self, now: float) -> str:
        """As the other log lines write it: UTC ISO 8601 in JSON, local time in text. Formatted once a second."""
        second = int(now)
        if second != self._second:
            self._second = second
            if self.json:
                self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            else:
                self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        millis = int((now - second) * 1000)
        return f"{self._stamp}.{millis:03d}Z" if self.json else f"{self._stamp},{millis:03d}"


REQUEST_LOG = RequestLog()


def configure(log_format: str = "text", level: str = "info", stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    REQUEST_LOG.configure(log_format, level, stream)
    handler = logging.StreamHandler(stream)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.server").addFilter(quiet_bad_requests)


def quiet_bad_requests(record: logging.LogRecord) -> bool:
    """Drop aiohttp's ERROR-with-traceback for a malformed request head: the client got its 400, and anyone could
    otherwise fill the log with tracebacks."""
    error = record.exc_info[1] if record.exc_info else None
    return not isinstance(error, BadHttpMessage)
