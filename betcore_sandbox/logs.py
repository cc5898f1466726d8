"""Log set-up: one line per event, as text or as one JSON object per line."""

from __future__ import annotations

import logging
import sys
import time

import msgspec

REQUESTS = logging.getLogger("betcore_sandbox.requests")
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


def configure(log_format: str = "text", level: str = "info", stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
