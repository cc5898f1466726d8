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
        self._second = -1
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """As logging writes it, with the date part formatted once a second (a request line each time adds up)."""
        second = int(record.created)
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%d %H:%M:%S", self.converter(second))
        return f"{self._stamp},{int(record.msecs):03d}"

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


REQUESTS = logging.getLogger("betcore_sandbox.requests")
_WITH_REASON = "%s session=%s bet=%s code=%s http=%s fault=%s %.1fms reason=%s"


class RequestLog:
    """One line per provider request, through `logging` (logger `betcore_sandbox.requests`), so that an embedding
    program sees it like any other log line: pytest's caplog and live logging, its own handlers. An app has its
    own; nothing is logged unless that logger is enabled for INFO."""

    __slots__ = ("logger",)

    def __init__(self, logger: logging.Logger = REQUESTS) -> None:
        self.logger = logger

    def record(
        self,
        endpoint: str,
        session_id: str | None,
        bet_id: str | None,
        code: int | None,
        status: int | None,
        fault: str | None,
        ms: float,
        reason: str | None = None,
    ) -> None:
        """`reason`: the message of the answer (why it failed) or why there was none; on the line when given."""
        if not self.logger.isEnabledFor(logging.INFO):
            return
        # A record made directly: logger.info() would walk the stack to find its caller, on every request. The
        # caller's frame alone is one cheap look-up, and gives formats with %(filename)s:%(lineno)d (pytest's
        # default) the place that logged the request, not "::0".
        logger = self.logger
        caller = sys._getframe(1)
        record = logger.makeRecord(
            logger.name,
            logging.INFO,
            caller.f_code.co_filename,
            caller.f_lineno,
            "%s session=%s bet=%s code=%s http=%s fault=%s %.1fms" if reason is None else _WITH_REASON,
            (
                endpoint,
                session_id or "-",
                bet_id or "-",
                "-" if code is None else code,
                "-" if status is None else status,
                fault or "-",
                ms,
                *(() if reason is None else (reason,)),
            ),
            None,
            func=caller.f_code.co_name,
            extra={
                "endpoint": endpoint,
                "sessionId": session_id,
                "betId": bet_id,
                "responseCode": code,
                "status": status,
                "fault": fault,
                "ms": ms,
                "reason": reason,
            },
        )
        logger.handle(record)


class BatchingHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes the lines of one event-loop turn in one write: under load, a write per request would cost more than
    the request's own logging. Without a running loop it writes at once."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._pending: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._pending.append(line)
        if len(self._pending) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no loop: write at once
                self.flush()

    def flush(self) -> None:
        if self._pending:
            lines, self._pending = self._pending, []
            self.stream.write("\n".join(lines) + "\n")
        super().flush()


def configure(log_format: str = "text", level: str = "info", stream: TextIO | None = None) -> None:
    """The server process's logging: every line, the request lines included, on one stream in one format."""
    stream = stream or sys.stderr
    handler = BatchingHandler(stream)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Fields no line of the server uses; each costs a lookup for every record.
    logging.logMultiprocessing = logging.logProcesses = logging.logThreads = False
    logging.getLogger("aiohttp.server").addFilter(quiet_bad_requests)


def quiet_bad_requests(record: logging.LogRecord) -> bool:
    """Drop aiohttp's ERROR-with-traceback for a malformed request head: the client got its 400, and anyone could
    otherwise fill the log with tracebacks."""
    error = record.exc_info[1] if record.exc_info else None
    return not isinstance(error, BadHttpMessage)
