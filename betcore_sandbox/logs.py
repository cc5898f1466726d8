"""Log set-up: one line per event, as text or as one JSON object per line."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import TextIO

import msgspec

LOG = logging.getLogger("betcore_sandbox")

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")

# Attributes every LogRecord has; anything else was passed through `extra` and is part of the event.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_encoder = msgspec.json.Encoder()


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
        return _encoder.encode(event).decode()


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
            line = _encoder.encode(
                {"time": self._timestamp(now), "level": "info", "logger": "betcore_sandbox.requests",
                 "message": "request", "endpoint": endpoint, "sessionId": session_id, "betId": bet_id,
                 "responseCode": code, "status": status, "fault": fault, "ms": ms}
            ).decode()
        else:
            line = (
                f"{self._timestamp(now)} INFO {endpoint} session={session_id} bet={bet_id or '-'} "
                f"code={'-' if code is None else code} http={'-' if status is None else status} "
                f"fault={fault or '-'} {ms:.1f}ms"
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
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
