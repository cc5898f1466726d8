"""JSON decoding for every input: numbers as exact, size-bounded Decimals, and errors that name the problem."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from .money import json_number


class JsonError(ValueError):
    """Bytes that are not acceptable JSON; the message says why in a few words."""


_decoder = msgspec.json.Decoder(float_hook=json_number)


def decode(raw: bytes) -> Any:
    if not raw.strip():
        raise JsonError("is empty")
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


def refuse_duplicate_keys(raw: bytes, data: dict[str, Any]) -> None:
    """JsonError naming a key that appears twice in one object: which of two amounts was meant is anyone's guess.

    Every key is followed by a colon, so when the bytes hold no more colons than the object has keys there is no
    other key anywhere (none given twice, none nested); only otherwise (a colon inside a string, a nested object,
    or a duplicate) is the body parsed again to find out."""
    if raw.count(b":") == len(data):
        return
    try:
        json.loads(raw, object_pairs_hook=_unique_pairs)
    except _DuplicateKey as exc:
        raise JsonError(f"has the key {exc.args[0]!r} twice in one object") from None
    except (ValueError, RecursionError):
        return  # msgspec read it; a parser limit here is no reason to refuse it


class _DuplicateKey(ValueError):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key[:40])
        result[key] = value
    return result
