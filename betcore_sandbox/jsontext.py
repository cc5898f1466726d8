"""JSON decoding for every input: numbers as exact, size-bounded Decimals, and errors that name the problem."""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

from .money import json_number


class JsonError(ValueError):
    """Bytes that are not acceptable JSON; the message says why in a few words.

    problem: those words alone; path: the JSON path of the object at fault ($ for the whole document), which the
    message names after them when it is not the whole document."""

    def __init__(self, problem: str, path: str = "$") -> None:
        super().__init__(problem if path == "$" else f"{problem} at {path}")
        self.problem = problem
        self.path = path


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
    found = _duplicate_key(raw)
    if found is None:
        raise JsonError("has a key twice in one object")
    key, path = found
    raise JsonError(f"has the key {key!r} twice in one object", path)


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


_TOKEN = re.compile(rb'"(?:[^"\\]++|\\.)*+"|[{}\[\],:]')  # a string, or a character of the structure
_PLAIN_KEY = re.compile(r"^[A-Za-z_$][\w$-]*$")  # written .key in a path; any other as ["key"]


def _duplicate_key(raw: bytes) -> tuple[str, str] | None:
    """(a key given twice, the JSON path of the object holding it). The standard parser marks the objects with a
    key twice and a walk with a list (no recursion) finds the first; a document nested past what that parser's
    recursion reads is scanned token by token instead.

    raw: a document that decodes without error."""
    try:
        data = json.loads(raw, object_pairs_hook=_marked)
    except (ValueError, RecursionError):
        return _scanned_duplicate_key(raw)
    pending: list[tuple[Any, str]] = [(data, "$")]
    while pending:
        item, path = pending.pop()
        if isinstance(item, _Twice):
            return item.key[:40], path
        if isinstance(item, dict):
            pending.extend((value, path + _step(key)) for key, value in reversed(item.items()))
        elif isinstance(item, list):
            pending.extend((value, f"{path}[{i}]") for i, value in reversed(list(enumerate(item))))
    return None


class _Twice(dict[str, Any]):
    """A decoded object that had `key` twice."""

    key = ""


def _marked(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) == len(pairs):
        return result
    marked = _Twice(result)
    seen: set[str] = set()
    marked.key = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
    return marked


def _step(key: str) -> str:
    name = key[:40]
    return f".{name}" if _PLAIN_KEY.match(name) else f"[{json.dumps(name)}]"


def _scanned_duplicate_key(raw: bytes) -> tuple[str, str] | None:
    """_duplicate_key by one pass over the tokens with a stack of open containers: bounded by the length of the
    document at any depth, and slower than the standard parser."""
    # Each open container: [keys seen, the current key] for an object, [None, the current index] for an array.
    stack: list[list[Any]] = []
    expect_key = False
    for token in _TOKEN.finditer(raw):
        text = token[0]
        first = text[:1]
        if first == b'"':
            if expect_key and stack and stack[-1][0] is not None:
                top = stack[-1]
                key = json.loads(text)
                if key in top[0]:
                    return key[:40], _path(stack[:-1])
                top[0].add(key)
                top[1] = key
                expect_key = False
        elif first == b"{":
            stack.append([set(), None])
            expect_key = True
        elif first == b"[":
            stack.append([None, 0])
            expect_key = False
        elif first in (b"}", b"]"):
            if stack:
                stack.pop()
            expect_key = False
        elif first == b",":
            if stack and stack[-1][0] is None:
                stack[-1][1] += 1
            else:
                expect_key = True
    return None


def _path(containers: list[list[Any]]) -> str:
    """The JSON path through the given open containers, by each one's current key or index."""
    return "$" + "".join(f"[{at}]" if keys is None else _step(str(at)) for keys, at in containers)
