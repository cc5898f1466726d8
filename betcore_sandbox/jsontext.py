"""JSON decoding for every input: numbers as exact, size-bounded Decimals, and errors that name the problem."""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

from .money import json_number


class JsonError(ValueError):
    """Bytes that are not acceptable JSON; the message says why in a few words."""


_decoder = msgspec.json.Decoder(float_hook=json_number)


BOM = b"\xef\xbb\xbf"  # what some editors (Windows ones) put before the text of a file


def decode(raw: bytes) -> Any:
    if not raw.strip():
        raise JsonError("is empty: a JSON object is expected")
    try:
        return _decoder.decode(raw)
    except msgspec.ValidationError as exc:  # a number out of range, from json_number, or an integer past 64 bits
        raise JsonError(f"has a number out of range: {exc}") from None
    except msgspec.DecodeError as exc:
        raise JsonError(f"is not valid JSON: {exc}") from None
    except UnicodeDecodeError:
        raise JsonError("is not valid UTF-8") from None
    except RecursionError:
        raise JsonError("is nested too deeply") from None


def decode_document(raw: bytes, *, bom: bool = False) -> Any:
    """A whole JSON document of the admin side (an admin body, a fixture file, a state import): decoded as by
    `decode`, and refused (JsonError) when an object has a key twice, as provider bodies are.

    bom: drop a leading UTF-8 byte order mark first (for files an editor may have written; provider bodies are
    signed bytes and never get this)."""
    if bom:
        raw = raw.removeprefix(BOM)
    data = decode(raw)
    refuse_duplicate_keys(raw, data)
    return data


def refuse_duplicate_keys(raw: bytes, data: Any) -> None:
    """JsonError naming a key that appears twice in one object: which of two amounts was meant is anyone's guess.

    raw: the bytes of a JSON document, already read without error into data. Every key is followed by exactly one
    colon outside a string, and a decoded object keeps one entry per distinct key, so the body has a key twice
    exactly when it has more such colons than the decoded objects have entries. Counting needs no recursion, so
    no depth of nesting hides a duplicate; the parse that names the key runs only once one is known to be there."""
    colons = raw.count(b":")
    if isinstance(data, dict) and colons == len(data):
        return  # not one colon in a string, nothing nested: the common flat body
    if not colons or _STRING.sub(b"", raw).count(b":") == _entries(data):
        return
    key = _duplicate_key(raw)
    raise JsonError(f"has the key {key!r} twice in one object" if key is not None else "has a key twice in one object")


_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"')  # one JSON string: outside strings a '"' only ever opens one


def _entries(data: Any) -> int:
    """How many entries the objects in a decoded document hold, all depths together."""
    count, pending = 0, [data]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            count += len(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return count


def _duplicate_key(raw: bytes) -> str | None:
    """The first key found given twice; None when the document is nested past what the standard parser reads."""
    try:
        json.loads(raw, object_pairs_hook=_unique_pairs)
    except _DuplicateKey as exc:
        return str(exc.args[0])
    except (ValueError, RecursionError):
        pass
    return None


class _DuplicateKey(ValueError):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key[:40])
        result[key] = value
    return result
