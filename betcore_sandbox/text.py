"""Text that goes back out — in messages, the journal, logs and admin views — whatever came in.

An echoed value is cut short (an error never amplifies its input), and bytes that were not UTF-8 are shown as
\\xNN escapes, so every answer and view can be encoded as JSON.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def clip(text: str, limit: int = 200) -> str:
    """Text cut to `limit` characters, saying how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def shown(value: object, limit: int = 40) -> str:
    """A value echoed in a message: its repr (a Decimal in plain notation), cut to `limit` characters."""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        text = f"{value:f}" if isinstance(exponent, int) and abs(exponent) <= limit else str(value)
    else:
        text = repr(value)
    return clip(text, limit)


def printable_bytes(raw: bytes) -> str:
    """Bytes as text: bytes that are not UTF-8 are shown as \\xNN."""
    return raw.decode("utf-8", "backslashreplace")


def printable(text: str) -> str:
    """Text the server decoded (undecodable bytes kept as surrogates), safe to encode as JSON."""
    try:
        text.encode()
        return text
    except UnicodeEncodeError:
        pass
    try:
        return printable_bytes(text.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:  # a surrogate that did not come from a byte
        return text.encode("utf-8", "backslashreplace").decode()


def clip_strings(value: Any, limit: int) -> Any:
    """The same JSON-like value with every string in it cut to `limit` characters."""
    if isinstance(value, str):
        return clip(value, limit)
    if isinstance(value, dict):
        return {key: clip_strings(item, limit) for key, item in value.items()}
    if isinstance(value, list):
        return [clip_strings(item, limit) for item in value]
    return value
